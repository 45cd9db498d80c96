/** Client and server data blocks: defaults, encoder/decoder round trips, strict lengths and error paths. */
import { describe, expect, it } from 'vitest';
import {
  ClientEarlyCapabilityFlags,
  clientEarlyCapabilityNames,
  decodeClientConnectInitial,
  decodeClientCoreData,
  decodeClientData,
  defaultClientSettings,
  encodeClientConnectInitial,
  encodeClientCoreData,
  encodeClientData,
  encryptionMethodNames,
  type ClientCoreData,
} from '../../../src/protocol/gcc/client-data.js';
import {
  decodeServerConnectResponse,
  decodeServerData,
  encodeServerConnectResponse,
  encodeServerCoreData,
  encodeServerData,
  encodeServerMultitransportData,
  encodeServerSecurityData,
  serverVersionName,
  SERVER_VERSIONS,
} from '../../../src/protocol/gcc/server-data.js';
import { encodeGccConferenceCreateResponse } from '../../../src/protocol/gcc/conference.js';
import { decodeServerCertificate, encodeProprietaryCertificate, encodeX509CertificateChain } from '../../../src/protocol/security/proprietary-cert.js';
import { encodeMcsConnectResponse } from '../../../src/protocol/mcs/connect.js';
import { EncodeError } from '../../../src/protocol/codec/errors.js';
import { concat } from '../../../src/protocol/codec/bytes.js';
import { hex } from '../../helpers/bytes.js';
import { decodeError } from '../../helpers/errors.js';

const body = (block: Uint8Array): Uint8Array => block.subarray(4);

describe('client data', () => {
  it('defaultClientSettings announces ERRINFO support and echoes the selected protocol', () => {
    const s = defaultClientSettings({ serverSelectedProtocol: 2, clientName: 'PROBE', console: true });
    const d = decodeClientConnectInitial(encodeClientConnectInitial(s)).clientData;
    expect(clientEarlyCapabilityNames(d.core!.earlyCapabilityFlags!)).toContain('RNS_UD_CS_SUPPORT_ERRINFO_PDU');
    expect(d.core).toMatchObject({ version: 0x00080004, clientName: 'PROBE', serverSelectedProtocol: 2 });
    expect(d.cluster!.flags).toBe(0x01 | (3 << 2) | 0x02); // REDIRECTION_SUPPORTED, version 4, console session
    expect(encryptionMethodNames(d.security!.encryptionMethods)).toEqual(['ENCRYPTION_METHOD_40BIT', 'ENCRYPTION_METHOD_128BIT', 'ENCRYPTION_METHOD_56BIT', 'ENCRYPTION_METHOD_FIPS']);
    expect(d).toMatchObject({ core: s.core, security: s.security, net: s.net, cluster: s.cluster });
    expect(d.blocks.map((b) => b.name)).toEqual(['CS_CORE', 'CS_CLUSTER', 'CS_SECURITY', 'CS_NET']);
  });

  it('CS_CORE: every prefix of the optional chain round-trips; a gap in the chain is an EncodeError', () => {
    const full: ClientCoreData = {
      ...defaultClientSettings({ version: 0x00080011 }).core,
      desktopPhysicalWidth: 300,
      desktopPhysicalHeight: 200,
      desktopOrientation: 90,
      desktopScaleFactor: 150,
      deviceScaleFactor: 140,
      clientDigProductId: 'abc-123',
    };
    const optional = ['postBeta2ColorDepth', 'clientProductId', 'serialNumber', 'highColorDepth', 'supportedColorDepths', 'earlyCapabilityFlags', 'clientDigProductId', 'connectionType', 'pad1octet', 'serverSelectedProtocol', 'desktopPhysicalWidth', 'desktopPhysicalHeight', 'desktopOrientation', 'desktopScaleFactor', 'deviceScaleFactor'] as const;
    const sizes: number[] = [];
    for (let keep = 0; keep <= optional.length; keep++) {
      const c: ClientCoreData = { ...full };
      for (const k of optional.slice(keep)) delete c[k];
      const enc = encodeClientCoreData(c);
      sizes.push(enc.length);
      expect(decodeClientCoreData(body(enc))).toEqual(c);
    }
    expect(sizes[0]).toBe(132);
    expect(sizes.at(-1)).toBe(234);
    const gap = { ...full };
    delete gap.serialNumber;
    expect(() => encodeClientCoreData(gap)).toThrow(/serialNumber/);
    // A name longer than 15 characters is cut to fit its 32 bytes with the NUL.
    expect(decodeClientCoreData(body(encodeClientCoreData({ ...full, clientName: 'A-VERY-LONG-COMPUTER-NAME' }))).clientName).toBe('A-VERY-LONG-COM');
  });

  it('strict lengths: a cut optional field, a short block, a block running past the data', () => {
    const core = encodeClientCoreData(defaultClientSettings().core);
    const half = decodeError(() => decodeClientCoreData(body(core).subarray(0, 128 + 1)));
    expect(half.path).toEqual(['CS_CORE']);
    const e = decodeError(() => decodeClientConnectInitial(encodeClientConnectInitial({ ...defaultClientSettings(), security: { encryptionMethods: 3, extEncryptionMethods: 0 } }).subarray(0, 200)));
    expect(e.path[0]).toBe('MCS Connect-Initial');
    const blocks = encodeClientData(defaultClientSettings());
    const lying = Uint8Array.from(blocks);
    lying[2] = 0xff; // CS_CORE length 0x..ff, beyond the data
    lying[3] = 0x7f;
    expect(decodeError(() => decodeClientData(lying)).path).toEqual(['client data']);
    expect(decodeError(() => decodeClientData(concat(blocks, blocks))).message).toMatch(/^CS_CORE at offset \d+: invalid block: appears twice/);
    const sec = hex`02 c0 08 00 03 00 00 00`; // CS_SECURITY without extEncryptionMethods
    const err = decodeError(() => decodeClientData(sec));
    expect(err.path).toEqual(['CS_SECURITY']);
    expect(err.offset).toBe(4 + 4);
    expect(() => encodeClientData({ ...defaultClientSettings(), net: { channels: [{ name: 'toolongname', options: 0 }] } })).toThrow(EncodeError);
  });

  it('names the early capability flags, keeping unknown bits', () => {
    expect(clientEarlyCapabilityNames(ClientEarlyCapabilityFlags.RNS_UD_CS_SUPPORT_ERRINFO_PDU | 0x8000)).toEqual(['RNS_UD_CS_SUPPORT_ERRINFO_PDU', '0x8000']);
  });
});

describe('server data', () => {
  it('version names for every SC_CORE.version in MS-RDPBCGR 2.2.1.4.2', () => {
    expect(serverVersionName(0x00080001)).toBe('RDP 4.0');
    expect(serverVersionName(0x00080004)).toBe('RDP 5.0-8.1');
    for (let minor = 0; minor <= 12; minor++) expect(serverVersionName(0x00080005 + minor)).toBe(`RDP 10.${minor}`);
    expect(Object.keys(SERVER_VERSIONS)).toHaveLength(15);
    expect(serverVersionName(0x00080012)).toBe('unknown (0x00080012)');
  });

  it('a lab server answer round-trips: 10.12, echoed protocols, skip-channel-join, proprietary certificate, multitransport, an unknown block', () => {
    const modulus = new Uint8Array(64).fill(0x5a);
    const cert = encodeProprietaryCertificate({ publicExponent: 65537, modulus });
    expect(cert).toHaveLength(184);
    const data = concat(
      encodeServerData({
        core: { version: 0x00080011, clientRequestedProtocols: 3, earlyCapabilityFlags: 0x8 },
        security: { encryptionMethod: 0x2, encryptionLevel: 2, serverRandom: new Uint8Array(32).fill(9), serverCertificate: cert },
        net: { mcsChannelId: 1003, channelIds: [1004, 1005, 1006] },
        messageChannel: { mcsChannelId: 1007 },
        multitransportFlags: 0x101,
      }),
      hex`99 0c 06 00 ab cd`,
    );
    const r = decodeServerConnectResponse(encodeServerConnectResponse({ result: 0, serverData: data }));
    const s = r.serverData!;
    expect(s.core).toEqual({ version: 0x00080011, versionName: 'RDP 10.12', clientRequestedProtocols: 3, earlyCapabilityFlags: 8, earlyCapabilityFlagNames: ['RNS_UD_SC_SKIP_CHANNELJOIN_SUPPORTED'] });
    expect(s.security).toMatchObject({ encryptionMethodName: 'ENCRYPTION_METHOD_128BIT', encryptionLevelName: 'ENCRYPTION_LEVEL_CLIENT_COMPATIBLE' });
    expect(s.security!.certificate).toMatchObject({ kind: 'proprietary', publicExponent: 65537, bitLength: 512, keyLength: 72, dataLength: 63, modulus });
    expect(s.net).toEqual({ mcsChannelId: 1003, channelIds: [1004, 1005, 1006] });
    expect(s.messageChannel).toEqual({ mcsChannelId: 1007 });
    expect(s.multitransport).toEqual({ flags: 0x101, flagNames: ['TRANSPORTTYPE_UDPFECR', 'TRANSPORTTYPE_UDP_PREFERRED'] });
    expect(s.unknown).toEqual([{ type: 0x0c99, length: 6 }]);
    expect(r.gcc).toMatchObject({ result: 0, nodeId: 31219 });
  });

  it('X.509 chain: certificates split out, temporary bit, padding', () => {
    const chain = encodeX509CertificateChain([hex`30 03 02 01 01`, hex`30 03 02 01 02`], true);
    expect(decodeServerCertificate(chain)).toEqual({ kind: 'x509', temporary: true, certificates: [hex`30 03 02 01 01`, hex`30 03 02 01 02`] });
    expect(chain.length).toBe(8 + 2 * (4 + 5) + 8 + 4 * 2);
    expect(decodeError(() => decodeServerCertificate(hex`02 00 00 00 00 00 00 00`)).message).toMatch(/NumCertBlobs/);
    expect(decodeError(() => decodeServerCertificate(hex`03 00 00 00`)).detail.kind).toBe('unsupported_value');
    expect(decodeError(() => decodeServerCertificate(hex`02 00 00 00 01 00 00 00 ff 00 00 00 30`)).detail.kind).toBe('not_enough_bytes');
  });

  it('a short SC_SECURITY gives a DecodeError with the path MCS Connect-Response > GCC > SC_SECURITY', () => {
    const sec = encodeServerSecurityData({ encryptionMethod: 2, encryptionLevel: 3, serverRandom: new Uint8Array(32), serverCertificate: new Uint8Array(0) });
    const lyingSec = Uint8Array.from(sec);
    lyingSec[4 + 8] = 33; // serverRandomLen 33, one more than the block holds
    const data = concat(encodeServerCoreData({ version: 0x00080004 }), lyingSec);
    const e = decodeError(() => decodeServerConnectResponse(encodeServerConnectResponse({ result: 0, serverData: data })));
    expect(e.path).toEqual(['MCS Connect-Response', 'GCC', 'SC_SECURITY']);
    expect(e.message).toMatch(/^MCS Connect-Response > GCC > SC_SECURITY at offset \d+: not enough bytes/);
    // A bad certificate inside it: one level more.
    const badCert = concat(encodeServerCoreData({ version: 0x00080004 }), encodeServerSecurityData({ encryptionMethod: 2, encryptionLevel: 3, serverRandom: new Uint8Array(32), serverCertificate: hex`01 00 00 00 01 00 00 00 01 00 00 00 06 00 05 00 00` }));
    const ce = decodeError(() => decodeServerConnectResponse(encodeServerConnectResponse({ result: 0, serverData: badCert })));
    expect(ce.path).toEqual(['MCS Connect-Response', 'GCC', 'SC_SECURITY', 'Server Proprietary Certificate']);
    // SC_CORE, SC_NET and SC_MULTITRANSPORT are length-checked too.
    expect(decodeError(() => decodeServerData(hex`01 0c 06 00 04 00`)).path).toEqual(['SC_CORE']);
    expect(decodeError(() => decodeServerData(hex`03 0c 0a 00 eb 03 02 00 ec 03`)).path).toEqual(['SC_NET']);
    expect(decodeError(() => decodeServerData(concat(encodeServerMultitransportData(1), hex`00`))).path).toEqual(['server data']);
    expect(decodeError(() => decodeServerData(concat(encodeServerCoreData({ version: 1 }), encodeServerCoreData({ version: 1 })))).message).toMatch(/appears twice/);
  });

  it('a failed Connect-Response keeps its user data raw when it is not GCC', () => {
    const r = decodeServerConnectResponse(encodeMcsConnectResponse({ result: 15, userData: hex`de ad` }));
    expect(r).toMatchObject({ mcs: { result: 15, resultName: 'rt-user-rejected' }, userData: hex`de ad` });
    expect(r.serverData).toBeUndefined();
    const ok = decodeError(() => decodeServerConnectResponse(encodeMcsConnectResponse({ result: 0, userData: hex`de ad` })));
    expect(ok.path.slice(0, 2)).toEqual(['MCS Connect-Response', 'GCC']);
    // GCC refusing the conference is decoded and named.
    const gccFail = decodeServerConnectResponse(encodeMcsConnectResponse({ result: 0, userData: encodeGccConferenceCreateResponse(new Uint8Array(0), { result: 1 }) }));
    expect(gccFail.gcc).toMatchObject({ result: 1, resultName: 'userRejected' });
    expect(gccFail.serverData).toEqual({ blocks: [], unknown: [] });
  });

  it('SC_CORE earlyCapabilityFlags without clientRequestedProtocols cannot be encoded', () => {
    expect(() => encodeServerCoreData({ version: 0x00080005, earlyCapabilityFlags: 1 })).toThrow(EncodeError);
    expect(decodeServerData(concat(encodeServerCoreData({ version: 0x00080005 }))).core).toEqual({ version: 0x00080005, versionName: 'RDP 10.0' });
  });
});
