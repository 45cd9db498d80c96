/**
 * The cleartext MCS/GCC of the shared captures, decoded; the expected facts are the ones public/MANIFEST.md
 * and the loopback/*.txt tshark transcripts list. Each real PDU is also re-encoded from its decoded form and
 * must come out byte for byte (where the encoder's choices are the sender's), or decode to the same value.
 */
import { describe, expect, it } from 'vitest';
import { decodeClientConnectInitial, encodeClientData, clientEarlyCapabilityNames, channelOptionNames } from '../../../src/protocol/gcc/client-data.js';
import { decodeServerConnectResponse, decodeServerData, encodeServerData, encodeServerConnectResponse } from '../../../src/protocol/gcc/server-data.js';
import { decodeGccConferenceCreateRequest, decodeGccConferenceCreateResponse, encodeGccConferenceCreateRequest, encodeGccConferenceCreateResponse } from '../../../src/protocol/gcc/conference.js';
import { decodeMcsConnectInitial, decodeMcsConnectResponse } from '../../../src/protocol/mcs/connect.js';
import { decodeMcsDomainPdu, type McsDomainPdu } from '../../../src/protocol/mcs/domain.js';
import { classifyMcs } from '../../../src/protocol/mcs.js';
import { CAPTURE_FILES, mcsFlow } from '../mcs/capture-frames.js';
import { X509Certificate } from 'node:crypto';

const CHANNEL_INIT_ENCRYPT_COMPRESS = 0x80000000 | 0x40000000;

describe('zeek/rdp-proprietary-encryption (mstsc 6.0 -> Windows Server 2003)', () => {
  const f = mcsFlow(CAPTURE_FILES.proprietary);

  it('Connect-Initial: FROG-POND, build 6000, encryptionMethods 0x1b, four channels', () => {
    const ci = decodeClientConnectInitial(f.client[0]!);
    expect(ci.conferenceName).toBe('1');
    expect(ci.mcs.upwardFlag).toBe(true);
    expect(ci.mcs.targetParameters).toMatchObject({ maxChannelIds: 34, maxUserIds: 2, maxMcsPduSize: 65535, protocolVersion: 2 });
    expect(ci.mcs.maximumParameters).toMatchObject({ maxChannelIds: 65535, maxUserIds: 64535 }); // written 02 02 ff ff by Windows
    const { core, security, net, cluster } = ci.clientData;
    expect(core).toMatchObject({ version: 0x00080004, clientBuild: 6000, clientName: 'FROG-POND', desktopWidth: 1152, desktopHeight: 864 });
    expect(clientEarlyCapabilityNames(core!.earlyCapabilityFlags!)).toContain('RNS_UD_CS_SUPPORT_ERRINFO_PDU');
    expect(security!.encryptionMethods).toBe(0x1b);
    expect(net!.channels.map((c) => c.name)).toEqual(['rdpdr', 'rdpsnd', 'drdynvc', 'cliprdr']);
    expect(channelOptionNames(net!.channels[0]!.options)).toContain('CHANNEL_OPTION_INITIALIZED');
    expect(cluster!.flags & 1).toBe(1); // REDIRECTION_SUPPORTED
    expect(ci.clientData.blocks.map((b) => b.name)).toEqual(['CS_CORE', 'CS_CLUSTER', 'CS_SECURITY', 'CS_NET']);
  });

  it('Connect-Response: RDP 5.0-8.1, RC4 128-bit, level HIGH, 32-byte random, 184-byte proprietary certificate', () => {
    const cr = decodeServerConnectResponse(f.server[0]!);
    expect(cr.mcs).toMatchObject({ result: 0, resultName: 'rt-successful', calledConnectId: 0 });
    expect(cr.gcc).toMatchObject({ result: 0, resultName: 'success', declaredLength: 0x2a });
    const s = cr.serverData!;
    expect(s.core).toMatchObject({ version: 0x00080004, versionName: 'RDP 5.0-8.1', clientRequestedProtocols: 0 });
    expect(s.security).toMatchObject({ encryptionMethod: 0x02, encryptionMethodName: 'ENCRYPTION_METHOD_128BIT', encryptionLevel: 3, encryptionLevelName: 'ENCRYPTION_LEVEL_HIGH' });
    expect(s.security!.serverRandom).toHaveLength(32);
    expect(s.security!.serverCertificate).toHaveLength(184);
    const cert = s.security!.certificate!;
    expect(cert.kind).toBe('proprietary');
    if (cert.kind !== 'proprietary') return;
    expect(cert).toMatchObject({ temporary: false, sigAlgId: 1, keyAlgId: 1, keyLength: 72, bitLength: 512, dataLength: 63, publicExponent: 65537 });
    expect(cert.modulus).toHaveLength(64);
    expect(cert.signature).toHaveLength(72);
    expect(cert.signedBytes).toHaveLength(184 - 76);
    expect(s.net).toEqual({ mcsChannelId: 1003, channelIds: [1004, 1005, 1006, 1007] });
  });

  it('domain PDUs: erect domain, attach user (1008), joins of 1008, 1003-1007, all confirmed; then Send Data', () => {
    const client = f.client.slice(1).map(decodeMcsDomainPdu);
    const server = f.server.slice(1).map(decodeMcsDomainPdu);
    expect(client.slice(0, 2)).toEqual([{ type: 'erect_domain_request', subHeight: 0, subInterval: 0 }, { type: 'attach_user_request' }]);
    expect(server[0]).toEqual({ type: 'attach_user_confirm', result: 0, resultName: 'rt-successful', initiator: 1008 });
    const joins = client.filter((p) => p.type === 'channel_join_request');
    expect(joins.map((j) => j.type === 'channel_join_request' && [j.initiator, j.channelId])).toEqual([1008, 1003, 1004, 1005, 1006, 1007].map((c) => [1008, c]));
    const confirms = server.filter((p): p is Extract<McsDomainPdu, { type: 'channel_join_confirm' }> => p.type === 'channel_join_confirm');
    expect(confirms.map((c) => [c.result, c.requested, c.channelId])).toEqual([1008, 1003, 1004, 1005, 1006, 1007].map((c) => [0, c, c]));
    const sends = client.filter((p) => p.type === 'send_data_request');
    expect(sends.length).toBeGreaterThan(5);
    expect(sends[0]).toMatchObject({ initiator: 1008, channelId: 1003, priority: 'high', segmentation: 3 });
    expect(server.find((p) => p.type === 'send_data_indication')).toMatchObject({ initiator: 1002, channelId: 1003 });
  });
});

describe('zeek/rdp-x509 (Windows 8.1 client, X.509 chain in the server security data)', () => {
  const f = mcsFlow(CAPTURE_FILES.x509);

  it('Connect-Initial: JOHN-PC-LAPTOP, build 9600, 1920x1080', () => {
    const { core, security, net } = decodeClientConnectInitial(f.client[0]!).clientData;
    expect(core).toMatchObject({ clientBuild: 9600, clientName: 'JOHN-PC-LAPTOP', desktopWidth: 1920, desktopHeight: 1080 });
    // MANIFEST.md says keyboardLayout 0x0004041E; the CS_CORE bytes are 09 04 00 00 (US English).
    expect(core!.keyboardLayout).toBe(0x409);
    expect(security!.encryptionMethods).toBe(0x1b);
    expect(net!.channels.map((c) => c.name)).toEqual(['rdpdr', 'rdpsnd', 'cliprdr', 'drdynvc']);
    expect(core!.desktopScaleFactor).toBeDefined(); // the full 234-byte CS_CORE
  });

  it('Connect-Response: level CLIENT_COMPATIBLE, temporary X.509 chain of 2 certificates (SERVR)', () => {
    const s = decodeServerConnectResponse(f.server[0]!).serverData!;
    expect(s.security).toMatchObject({ encryptionMethod: 2, encryptionLevel: 2, encryptionLevelName: 'ENCRYPTION_LEVEL_CLIENT_COMPATIBLE' });
    expect(s.security!.serverCertificate).toHaveLength(1252);
    const cert = s.security!.certificate!;
    expect(cert.kind).toBe('x509');
    if (cert.kind !== 'x509') return;
    expect(cert.temporary).toBe(true);
    expect(cert.certificates).toHaveLength(2);
    const subjects = cert.certificates.map((der) => new X509Certificate(der).subject);
    expect(subjects[0]).toContain('CN=SERVR');
    expect(subjects[1]).toContain('CN=ncalrpc:SERVR');
  });
});

describe('nDPI/rdp3 (Windows XP client, no negotiation)', () => {
  const f = mcsFlow(CAPTURE_FILES.rdp3);

  it('SEPTU, build 2600, encryptionMethods 0x0b, three channels; no serverSelectedProtocol in CS_CORE', () => {
    const { core, security, net } = decodeClientConnectInitial(f.client[0]!).clientData;
    expect(core).toMatchObject({ clientBuild: 2600, clientName: 'SEPTU', version: 0x00080004 });
    expect(core!.serverSelectedProtocol).toBeUndefined();
    expect(security!.encryptionMethods).toBe(0x0b);
    expect(net!.channels.map((c) => c.name)).toEqual(['rdpdr', 'cliprdr', 'rdpsnd']);
  });

  it('RC4 128-bit, CLIENT_COMPATIBLE, 184-byte proprietary certificate, odd channel count with its pad', () => {
    const s = decodeServerConnectResponse(f.server[0]!).serverData!;
    expect(s.security).toMatchObject({ encryptionMethod: 2, encryptionLevel: 2 });
    expect(s.security!.certificate).toMatchObject({ kind: 'proprietary', bitLength: 512 });
    expect(s.security!.serverCertificate).toHaveLength(184);
    expect(s.net).toEqual({ mcsChannelId: 1003, channelIds: [1004, 1005, 1006] });
  });
});

describe('loopback: xfreerdp against xrdp and FreeRDP shadow, standard security', () => {
  it('xrdp: 2048-bit proprietary key, SC_CORE of version only, joins 1008 and 1003-1007, then DPUm rn-user-requested', () => {
    const f = mcsFlow(CAPTURE_FILES.xrdp);
    const ci = decodeClientConnectInitial(f.client[0]!);
    expect(ci.clientData.core).toMatchObject({ version: 0x0008000c, clientName: 'vm' });
    const s = decodeServerConnectResponse(f.server[0]!).serverData!;
    expect(s.core).toEqual({ version: 0x00080004, versionName: 'RDP 5.0-8.1' });
    expect(s.security).toMatchObject({ encryptionMethod: 2, encryptionLevel: 3 });
    expect(s.security!.certificate).toMatchObject({ kind: 'proprietary', bitLength: 2048, keyLength: 264 });
    const server = f.server.slice(1).map(decodeMcsDomainPdu);
    expect(server.filter((p) => p.type === 'channel_join_confirm')).toHaveLength(6);
    expect(server.at(-1)).toEqual({ type: 'disconnect_provider_ultimatum', reason: 3, reasonName: 'rn-user-requested' });
    expect(classifyMcs(f.server.at(-1)!)).toEqual({ type: 'disconnect_provider_ultimatum', reason: 3, reasonName: 'rn-user-requested' });
    expect(classifyMcs(f.server[0]!)).toEqual({ type: 'connect_response', result: 0, resultName: 'rt-successful' });
  });

  it('shadow: RDP 10.7, no encryption (8-byte SC_SECURITY), message channel 1008, user 1009', () => {
    const f = mcsFlow(CAPTURE_FILES.shadow);
    const ci = decodeClientConnectInitial(f.client[0]!);
    expect(ci.clientData.blocks.map((b) => b.name)).toEqual(['CS_CORE', 'CS_CLUSTER', 'CS_SECURITY', 'CS_NET', 'CS_MCS_MSGCHANNEL', 'CS_MULTITRANSPORT']);
    const s = decodeServerConnectResponse(f.server[0]!).serverData!;
    expect(s.core).toMatchObject({ version: 0x0008000c, versionName: 'RDP 10.7', clientRequestedProtocols: 0, earlyCapabilityFlags: 0 });
    expect(s.security).toEqual({ encryptionMethod: 0, encryptionMethodName: 'ENCRYPTION_METHOD_NONE', encryptionLevel: 0, encryptionLevelName: 'ENCRYPTION_LEVEL_NONE' });
    expect(s.messageChannel).toEqual({ mcsChannelId: 1008 });
    expect(s.unknown).toEqual([]);
    const server = f.server.slice(1).map(decodeMcsDomainPdu);
    expect(server[0]).toMatchObject({ type: 'attach_user_confirm', initiator: 1009 });
    expect(server.find((p) => p.type === 'send_data_indication')).toMatchObject({ initiator: 1009, channelId: 1003 });
  });
});

describe('re-encoding the real PDUs', () => {
  for (const [name, file] of Object.entries(CAPTURE_FILES)) {
    it(`${name}: client and server blocks, GCC and MCS round-trip`, () => {
      const f = mcsFlow(file);
      const initial = decodeMcsConnectInitial(f.client[0]!);
      const gccReq = decodeGccConferenceCreateRequest(initial.userData);
      // The GCC wrapper is exactly what mstsc/xfreerdp send.
      expect(Buffer.from(encodeGccConferenceCreateRequest(gccReq.clientData))).toEqual(Buffer.from(initial.userData));
      const decoded = decodeClientConnectInitial(f.client[0]!).clientData;
      const known = { core: decoded.core!, security: decoded.security!, ...(decoded.net ? { net: decoded.net } : {}), ...(decoded.cluster ? { cluster: decoded.cluster } : {}) };
      const rebuiltClient = encodeClientData(known);
      if (decoded.blocks.length === 4) {
        // Same four blocks in mstsc's order: byte for byte.
        expect(Buffer.from(rebuiltClient).toString('hex')).toBe(Buffer.from(gccReq.clientData).toString('hex'));
      } else {
        expect(Buffer.from(gccReq.clientData.subarray(0, rebuiltClient.length)).toString('hex')).toBe(Buffer.from(rebuiltClient).toString('hex'));
      }

      const response = decodeMcsConnectResponse(f.server[0]!);
      const gccRsp = decodeGccConferenceCreateResponse(response.userData);
      // Windows' fixed 0x2a connectPDU length is reproduced when asked for.
      const wrapped = encodeGccConferenceCreateResponse(gccRsp.serverData, { nodeId: gccRsp.nodeId, tag: gccRsp.tag, result: gccRsp.result, declaredLength: gccRsp.declaredLength });
      expect(Buffer.from(wrapped)).toEqual(Buffer.from(response.userData));
      const s = decodeServerData(gccRsp.serverData);
      const rebuilt = encodeServerData({
        core: s.core!,
        security: s.security!,
        net: s.net!,
        ...(s.messageChannel ? { messageChannel: s.messageChannel } : {}),
      });
      // Windows orders SC_CORE, SC_NET, SC_SECURITY; the encoder writes SC_SECURITY second: compare decoded.
      expect({ ...decodeServerData(rebuilt), blocks: [] }).toEqual({ ...s, blocks: [] });
      const full = encodeServerConnectResponse({ result: response.result, calledConnectId: response.calledConnectId, domainParameters: response.domainParameters, serverData: rebuilt });
      expect(decodeServerConnectResponse(full).serverData).toEqual(decodeServerData(rebuilt));
    });
  }
});
