/**
 * AUTHENTICATE_MESSAGE beyond the 4.2.4 example: the MIC path (server timestamp), the AV pairs added to the
 * NTLMv2 blob, channel bindings, KEY_EXCH on and off. Checked with an independent verifier written here
 * against node:crypto, reading the message by its field descriptors.
 */
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EncodeError } from '../../../src/protocol/codec/errors.js';
import { ntHash } from '../../../src/protocol/crypto/md4.js';
import { decodeAvPairs, type AvPair } from '../../../src/protocol/ntlm/av-pairs.js';
import { authenticateAvPairs, authenticateFlags, encodeNtlmAuthenticate } from '../../../src/protocol/ntlm/authenticate.js';
import { decodeNtlmChallenge, encodeNtlmChallenge } from '../../../src/protocol/ntlm/challenge.js';
import { AvId, NegotiateFlags } from '../../../src/protocol/ntlm/constants.js';
import { encodeNtlmNegotiate } from '../../../src/protocol/ntlm/negotiate.js';
import { channelBindingsHash, tlsServerEndPointAppData } from '../../../src/protocol/ntlm/ntlmv2.js';
import { hex, toSpacedHex } from '../../helpers/bytes.js';

const h = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const u16 = (s: string): Buffer => Buffer.from(s, 'utf16le');
const hmac = (key: Uint8Array, ...parts: Uint8Array[]): Buffer => {
  const m = createHmac('md5', key);
  for (const p of parts) m.update(p);
  return m.digest();
};

const TIMESTAMP = hex`22 01 83 f9 c3 9b da 01`;
const serverChallenge = hex`11 22 33 44 55 66 77 88`;
const clientChallenge = hex`01 02 03 04 05 06 07 08`;
const randomSessionKey = hex`a0 a1 a2 a3 a4 a5 a6 a7 a8 a9 aa ab ac ad ae af`;
const credentials = { user: 'alice', domain: 'LAB', password: 'S3cret!' };

function challengeBytes(opts: { timestamp?: boolean; flagsPair?: number; keyExch?: boolean } = {}): Uint8Array {
  const pairs: AvPair[] = [
    { id: AvId.MsvAvNbDomainName, value: u16('LAB') },
    { id: AvId.MsvAvNbComputerName, value: u16('WS22') },
    { id: AvId.MsvAvDnsComputerName, value: u16('ws22.lab.test') },
  ];
  if (opts.flagsPair !== undefined) pairs.push({ id: AvId.MsvAvFlags, value: hex`${[opts.flagsPair, 0, 0, 0]}` });
  if (opts.timestamp ?? true) pairs.push({ id: AvId.MsvAvTimestamp, value: TIMESTAMP });
  let flags = 0xe2898235;
  if (opts.keyExch === false) flags = (flags & ~NegotiateFlags.NTLMSSP_NEGOTIATE_KEY_EXCH) >>> 0;
  return encodeNtlmChallenge({
    negotiateFlags: flags,
    targetName: 'LAB',
    serverChallenge,
    targetInfo: pairs,
    version: { major: 10, minor: 0, build: 20348, ntlmRevision: 15 },
  });
}

/** Reads a payload field of the AUTHENTICATE_MESSAGE by its descriptor at `at`. */
function field(msg: Uint8Array, at: number): Uint8Array {
  const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const len = v.getUint16(at, true);
  const off = v.getUint32(at + 4, true);
  return msg.subarray(off, off + len);
}

describe('encodeNtlmAuthenticate with a server timestamp (MIC path)', () => {
  const negotiate = encodeNtlmNegotiate();
  const chBytes = challengeBytes();
  const challenge = decodeNtlmChallenge(chBytes);
  const appData = tlsServerEndPointAppData(new Uint8Array(32).fill(0xcd));
  const a = encodeNtlmAuthenticate({
    negotiateMessage: negotiate,
    challenge,
    credentials,
    clientChallenge,
    randomSessionKey,
    channelBindings: appData,
    targetName: 'TERMSRV/ws22.lab.test',
  });
  const msg = a.message;

  it('lays out the header with Version and MIC (payload at 88)', () => {
    expect(toSpacedHex(msg.subarray(0, 12))).toBe('4e 54 4c 4d 53 53 50 00 03 00 00 00');
    expect(a.flags).toBe(0xe2888235);
    expect(new DataView(msg.buffer).getUint32(60, true)).toBe(0xe2888235);
    expect(toSpacedHex(msg.subarray(64, 72))).toBe('06 01 b1 1d 00 00 00 0f');
    expect(new DataView(msg.buffer).getUint32(32, true)).toBe(88); // DomainName comes first in the payload
    expect(Buffer.from(field(msg, 28)).toString('utf16le')).toBe('LAB');
    expect(Buffer.from(field(msg, 36)).toString('utf16le')).toBe('alice');
    expect(field(msg, 44).length).toBe(0); // no workstation
  });

  it('zeroes the LMv2 response (MsvAvTimestamp present)', () => {
    expect(h(field(msg, 12))).toBe('00'.repeat(24));
  });

  it('the blob echoes the server timestamp and carries MsvAvFlags 0x2, channel bindings, target name', () => {
    const nt = field(msg, 20);
    const blob = nt.subarray(16);
    expect(toSpacedHex(blob.subarray(0, 8))).toBe('01 01 00 00 00 00 00 00');
    expect(h(blob.subarray(8, 16))).toBe(h(TIMESTAMP));
    expect(h(blob.subarray(16, 24))).toBe(h(clientChallenge));
    expect(h(blob.subarray(24, 28))).toBe('00000000');
    expect(h(blob.subarray(blob.length - 4))).toBe('00000000'); // Z(4) after MsvAvEOL
    const info = decodeAvPairs(blob.subarray(28, blob.length - 4));
    expect(info.pairs.map((p) => p.id)).toEqual([2, 1, 3, 7, 6, 10, 9]);
    expect(info.flags).toBe(2);
    expect(info.targetName).toBe('TERMSRV/ws22.lab.test');
    // Independent gss_channel_bindings_struct: 4 × u32 0, u32 length, application data.
    const cbs = Buffer.concat([Buffer.alloc(16), Buffer.from([appData.length, 0, 0, 0]), appData]);
    expect(h(info.channelBindings!)).toBe(createHash('md5').update(cbs).digest('hex'));
    expect(Buffer.from(appData.subarray(0, 21)).toString('ascii')).toBe('tls-server-end-point:');
  });

  it('a verifier recomputes NTProofStr, the session key and the MIC', () => {
    const nt = field(msg, 20);
    const responseKeyNT = hmac(ntHash('S3cret!'), u16('ALICE' + 'LAB'));
    const ntProofStr = hmac(responseKeyNT, serverChallenge, nt.subarray(16));
    expect(h(nt.subarray(0, 16))).toBe(ntProofStr.toString('hex'));
    const sessionBaseKey = hmac(responseKeyNT, ntProofStr);
    expect(h(a.sessionBaseKey)).toBe(sessionBaseKey.toString('hex'));
    // KEY_EXCH: the server decrypts the random session key with RC4(KeyExchangeKey = SessionBaseKey).
    expect(h(field(msg, 52))).toBe(h(a.encryptedRandomSessionKey));
    expect(h(a.exportedSessionKey)).toBe(h(randomSessionKey));
    const zeroed = msg.slice();
    zeroed.fill(0, 72, 88);
    const mic = hmac(randomSessionKey, negotiate, chBytes, zeroed);
    expect(h(msg.subarray(72, 88))).toBe(mic.toString('hex'));
    expect(h(a.mic!)).toBe(mic.toString('hex'));
  });
});

describe('encodeNtlmAuthenticate: options and errors', () => {
  const negotiateMessage = encodeNtlmNegotiate();

  it('without a server timestamp: needs the caller\'s time, sends LMv2 and no MIC', () => {
    const challenge = decodeNtlmChallenge(challengeBytes({ timestamp: false }));
    expect(() =>
      encodeNtlmAuthenticate({ negotiateMessage, challenge, credentials, clientChallenge, randomSessionKey }),
    ).toThrow(EncodeError);
    const a = encodeNtlmAuthenticate({ negotiateMessage, challenge, credentials, clientChallenge, randomSessionKey, timestamp: 0x01d9000000000000n });
    expect(a.mic).toBeUndefined();
    expect(new DataView(a.message.buffer).getUint32(32, true)).toBe(72);
    expect(h(a.lmChallengeResponse.subarray(16))).toBe(h(clientChallenge));
    const blob = a.ntChallengeResponse.subarray(16);
    expect(h(blob.subarray(8, 16))).toBe('000000000000d901');
    expect(decodeAvPairs(a.blobAvPairs).flags).toBeUndefined();
  });

  it('ORs the MIC bit into a server MsvAvFlags instead of adding a second one', () => {
    const challenge = decodeNtlmChallenge(challengeBytes({ flagsPair: 0x1 }));
    const a = encodeNtlmAuthenticate({ negotiateMessage, challenge, credentials, clientChallenge, randomSessionKey });
    const info = decodeAvPairs(a.blobAvPairs);
    expect(info.flags).toBe(0x3);
    expect(info.pairs.filter((p) => p.id === AvId.MsvAvFlags)).toHaveLength(1);
  });

  it('channel bindings default to 16 zero bytes; false leaves them out', () => {
    const challenge = decodeNtlmChallenge(challengeBytes());
    const a = encodeNtlmAuthenticate({ negotiateMessage, challenge, credentials, clientChallenge, randomSessionKey });
    expect(h(decodeAvPairs(a.blobAvPairs).channelBindings!)).toBe('00'.repeat(16));
    const b = encodeNtlmAuthenticate({ negotiateMessage, challenge, credentials, clientChallenge, randomSessionKey, channelBindings: false });
    expect(decodeAvPairs(b.blobAvPairs).channelBindings).toBeUndefined();
    expect(channelBindingsHash()).toEqual(new Uint8Array(16));
  });

  it('mic: false overrides the default', () => {
    const challenge = decodeNtlmChallenge(challengeBytes());
    const a = encodeNtlmAuthenticate({ negotiateMessage, challenge, credentials, clientChallenge, randomSessionKey, mic: false });
    expect(a.mic).toBeUndefined();
    expect(decodeAvPairs(a.blobAvPairs).flags).toBeUndefined();
  });

  it('KEY_EXCH needs a 16-byte random session key', () => {
    const challenge = decodeNtlmChallenge(challengeBytes());
    expect(() => encodeNtlmAuthenticate({ negotiateMessage, challenge, credentials, clientChallenge })).toThrow(EncodeError);
    expect(() =>
      encodeNtlmAuthenticate({ negotiateMessage, challenge, credentials, clientChallenge, randomSessionKey: new Uint8Array(8) }),
    ).toThrow(EncodeError);
  });

  it('without KEY_EXCH: ExportedSessionKey = SessionBaseKey and no encrypted key field', () => {
    const challenge = decodeNtlmChallenge(challengeBytes({ keyExch: false }));
    const a = encodeNtlmAuthenticate({ negotiateMessage, challenge, credentials, clientChallenge });
    expect(a.flags & NegotiateFlags.NTLMSSP_NEGOTIATE_KEY_EXCH).toBe(0);
    expect(h(a.exportedSessionKey)).toBe(h(a.sessionBaseKey));
    expect(a.encryptedRandomSessionKey.length).toBe(0);
    expect(field(a.message, 52).length).toBe(0);
  });

  it('keeps only the negotiable bits the server kept', () => {
    expect(authenticateFlags(0xe28a8233)).toBe(0xe2888235); // MS-NLMP 4.2.4.3
    const weak = (0xe2898235 & ~(NegotiateFlags.NTLMSSP_NEGOTIATE_128 | NegotiateFlags.NTLMSSP_NEGOTIATE_SEAL)) >>> 0;
    const f = authenticateFlags(weak);
    expect(f & NegotiateFlags.NTLMSSP_NEGOTIATE_128).toBe(0);
    expect(f & NegotiateFlags.NTLMSSP_NEGOTIATE_SEAL).toBe(0);
    expect(f & NegotiateFlags.NTLMSSP_TARGET_TYPE_DOMAIN).toBe(0);
    expect((f & NegotiateFlags.NTLMSSP_REQUEST_TARGET) >>> 0).toBe(NegotiateFlags.NTLMSSP_REQUEST_TARGET);
    expect((f & NegotiateFlags.NTLMSSP_NEGOTIATE_56) >>> 0).toBe(NegotiateFlags.NTLMSSP_NEGOTIATE_56);
  });

  it('rejects a client challenge that is not 8 bytes', () => {
    const challenge = decodeNtlmChallenge(challengeBytes());
    expect(() =>
      encodeNtlmAuthenticate({ negotiateMessage, challenge, credentials, clientChallenge: new Uint8Array(7), randomSessionKey }),
    ).toThrow(EncodeError);
  });

  it('authenticateAvPairs replaces server channel-binding/target-name pairs rather than duplicating them', () => {
    const out = authenticateAvPairs(
      [
        { id: AvId.MsvAvTargetName, value: u16('x') },
        { id: AvId.MsvAvChannelBindings, value: new Uint8Array(16).fill(1) },
      ],
      { mic: false, targetName: 'TERMSRV/h' },
    );
    expect(out.map((p) => p.id)).toEqual([AvId.MsvAvChannelBindings, AvId.MsvAvTargetName]);
    expect(h(out[0]!.value)).toBe('00'.repeat(16));
  });
});
