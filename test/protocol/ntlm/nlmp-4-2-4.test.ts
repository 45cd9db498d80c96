/**
 * [MS-NLMP] 4.2.4 "NTLMv2 Authentication" worked example, every intermediate value.
 *
 * Sources of the expected values (values only):
 *  - MS-NLMP 4.2.4 and sub-pages on learn.microsoft.com
 *    (…/ms-nlmp/125f7a94-933e-4023-a146-a449e49bf774; 4.2.4.4 GSS_WrapEx: …/ms-nlmp/9cdb7bb2-17e6-409c-99cc-04590db064d4,
 *    which lists SealKey, SignKey, the sealed data, both checksums and the signature verbatim).
 *  - The 4.2.4.1.1 NTOWFv2, 4.2.4.2.1 LMv2, 4.2.4.2.2 NTProofStr, 4.2.4.1.2 SessionBaseKey, 4.2.4.2.3 encrypted
 *    session key and the 4.2.4.3 CHALLENGE_MESSAGE / AUTHENTICATE_MESSAGE bytes as quoted in go-ntlm's
 *    ntlm/ntlmv2_test.go (ThomsonReutersEikon/go-ntlm, e.g. the bigkraig/go-ntlm fork), which cites 4.2.4.
 *
 * 4.2.1 common values: User "User", UserDom "Domain", Passwd "Password", Workstation "COMPUTER",
 * RandomSessionKey 55×16, Time 0, ClientChallenge aa×8, ServerChallenge 0123456789abcdef.
 */
import { describe, expect, it } from 'vitest';
import { hmacMd5 } from '../../../src/protocol/crypto/hmac.js';
import { encodeNtlmAuthenticate } from '../../../src/protocol/ntlm/authenticate.js';
import { decodeNtlmChallenge, encodeNtlmChallenge } from '../../../src/protocol/ntlm/challenge.js';
import { AvId, NegotiateFlags, negotiateFlagNames } from '../../../src/protocol/ntlm/constants.js';
import { computeNtlmv2Response, ntowfv2 } from '../../../src/protocol/ntlm/ntlmv2.js';
import { NtlmSession, sealKey, signKey } from '../../../src/protocol/ntlm/session.js';
import { hex, toSpacedHex } from '../../helpers/bytes.js';

const h = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const credentials = { user: 'User', domain: 'Domain', password: 'Password' };
const clientChallenge = hex`aa aa aa aa aa aa aa aa`;
const serverChallenge = hex`01 23 45 67 89 ab cd ef`;
const randomSessionKey = new Uint8Array(16).fill(0x55);

/** 4.2.4.3 CHALLENGE_MESSAGE (104 bytes). */
const CHALLENGE = hex`
  4e 54 4c 4d 53 53 50 00   # Signature "NTLMSSP\0"
  02 00 00 00               # MessageType 2
  0c 00 0c 00 38 00 00 00   # TargetNameFields: Len 12, MaxLen 12, Offset 56
  33 82 8a e2               # NegotiateFlags 0xe28a8233
  01 23 45 67 89 ab cd ef   # ServerChallenge
  00 00 00 00 00 00 00 00   # Reserved
  24 00 24 00 44 00 00 00   # TargetInfoFields: Len 36, MaxLen 36, Offset 68
  06 00 70 17 00 00 00 0f   # Version 6.0 build 6000 (0x1770), NTLMRevisionCurrent 0x0f
  53 00 65 00 72 00 76 00 65 00 72 00           # TargetName "Server"
  02 00 0c 00 44 00 6f 00 6d 00 61 00 69 00 6e 00  # MsvAvNbDomainName "Domain"
  01 00 0c 00 53 00 65 00 72 00 76 00 65 00 72 00  # MsvAvNbComputerName "Server"
  00 00 00 00                                      # MsvAvEOL
`;

/** 4.2.4.3 AUTHENTICATE_MESSAGE (232 bytes, no MIC: the challenge carries no MsvAvTimestamp). */
const AUTHENTICATE = hex`
  4e 54 4c 4d 53 53 50 00   # Signature
  03 00 00 00               # MessageType 3
  18 00 18 00 6c 00 00 00   # LmChallengeResponseFields: 24 @108
  54 00 54 00 84 00 00 00   # NtChallengeResponseFields: 84 @132
  0c 00 0c 00 48 00 00 00   # DomainNameFields: 12 @72
  08 00 08 00 54 00 00 00   # UserNameFields: 8 @84
  10 00 10 00 5c 00 00 00   # WorkstationFields: 16 @92
  10 00 10 00 d8 00 00 00   # EncryptedRandomSessionKeyFields: 16 @216
  35 82 88 e2               # NegotiateFlags 0xe2888235
  05 01 28 0a 00 00 00 0f   # Version 5.1 build 2600, revision 0x0f
  44 00 6f 00 6d 00 61 00 69 00 6e 00               # "Domain"
  55 00 73 00 65 00 72 00                           # "User"
  43 00 4f 00 4d 00 50 00 55 00 54 00 45 00 52 00   # "COMPUTER"
  86 c3 50 97 ac 9c ec 10 25 54 76 4a 57 cc cc 19 aa aa aa aa aa aa aa aa   # LMv2 response
  68 cd 0a b8 51 e5 1c 96 aa bc 92 7b eb ef 6a 1c   # NTProofStr
  01 01 00 00 00 00 00 00   # RespType, HiRespType, Reserved1, Reserved2
  00 00 00 00 00 00 00 00   # TimeStamp 0
  aa aa aa aa aa aa aa aa   # ChallengeFromClient
  00 00 00 00               # Reserved3
  02 00 0c 00 44 00 6f 00 6d 00 61 00 69 00 6e 00   # MsvAvNbDomainName "Domain"
  01 00 0c 00 53 00 65 00 72 00 76 00 65 00 72 00   # MsvAvNbComputerName "Server"
  00 00 00 00               # MsvAvEOL
  00 00 00 00               # Z(4)
  c5 da d2 54 4f c9 79 90 94 ce 1c e9 0b c9 d0 3e   # EncryptedRandomSessionKey
`;

describe('MS-NLMP 4.2.4.1 / 4.2.4.2: NTLMv2 values', () => {
  it('4.2.4.1.1 NTOWFv2 (ResponseKeyNT = ResponseKeyLM)', () => {
    expect(h(ntowfv2(credentials))).toBe('0c868a403bfd7a93a3001ef22ef02e3f');
  });

  it('accepts the NT hash instead of the password', () => {
    const nt = hex`a4 f4 9c 40 65 10 bd ca b6 82 4e e7 c3 0f d8 52`; // NTOWFv1("Password"), 4.2.2.1.2
    expect(h(ntowfv2({ user: 'user', domain: 'Domain', ntHash: nt }))).toBe('0c868a403bfd7a93a3001ef22ef02e3f');
  });

  it('4.2.4.2.1 LMv2, 4.2.4.2.2 NTProofStr, 4.2.4.1.2 SessionBaseKey', () => {
    const challenge = decodeNtlmChallenge(CHALLENGE);
    const rsp = computeNtlmv2Response({
      responseKeyNT: ntowfv2(credentials),
      serverChallenge,
      clientChallenge,
      timestamp: 0n,
      avPairs: challenge.targetInfoBytes,
    });
    expect(h(rsp.lmChallengeResponse)).toBe('86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa');
    expect(h(rsp.ntProofStr)).toBe('68cd0ab851e51c96aabc927bebef6a1c');
    expect(h(rsp.sessionBaseKey)).toBe('8de40ccadbc14a82f15cb0ad0de95ca3');
    expect(h(rsp.ntChallengeResponse)).toBe(h(AUTHENTICATE.subarray(132, 132 + 84)));
  });
});

describe('MS-NLMP 4.2.4.3: messages', () => {
  it('decodes every field of the CHALLENGE_MESSAGE', () => {
    const c = decodeNtlmChallenge(CHALLENGE);
    expect(c.negotiateFlags).toBe(0xe28a8233);
    expect(negotiateFlagNames(c.negotiateFlags)).toEqual([
      'NTLMSSP_NEGOTIATE_UNICODE',
      'NTLM_NEGOTIATE_OEM',
      'NTLMSSP_NEGOTIATE_SIGN',
      'NTLMSSP_NEGOTIATE_SEAL',
      'NTLMSSP_NEGOTIATE_NTLM',
      'NTLMSSP_NEGOTIATE_ALWAYS_SIGN',
      'NTLMSSP_TARGET_TYPE_SERVER',
      'NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY',
      'NTLMSSP_NEGOTIATE_TARGET_INFO',
      'NTLMSSP_NEGOTIATE_VERSION',
      'NTLMSSP_NEGOTIATE_128',
      'NTLMSSP_NEGOTIATE_KEY_EXCH',
      'NTLMSSP_NEGOTIATE_56',
    ]);
    expect(c.targetName).toBe('Server');
    expect(h(c.serverChallenge)).toBe('0123456789abcdef');
    expect(h(c.reserved)).toBe('0000000000000000');
    expect(c.version).toEqual({ major: 6, minor: 0, build: 6000, ntlmRevision: 15, windowsName: 'Windows Vista' });
    expect(c.targetInfo).toEqual({
      pairs: [
        { id: AvId.MsvAvNbDomainName, value: hex`44 00 6f 00 6d 00 61 00 69 00 6e 00` },
        { id: AvId.MsvAvNbComputerName, value: hex`53 00 65 00 72 00 76 00 65 00 72 00` },
      ],
      nbDomainName: 'Domain',
      nbComputerName: 'Server',
    });
    expect(h(c.targetInfoBytes)).toBe(h(CHALLENGE.subarray(68)));
    expect(c.message).toBe(CHALLENGE);
  });

  it('re-encodes the CHALLENGE_MESSAGE byte for byte', () => {
    const c = decodeNtlmChallenge(CHALLENGE);
    const again = encodeNtlmChallenge({
      negotiateFlags: c.negotiateFlags,
      targetName: c.targetName!,
      serverChallenge: c.serverChallenge,
      targetInfo: c.targetInfo!.pairs,
      version: c.version!,
    });
    expect(toSpacedHex(again)).toBe(toSpacedHex(CHALLENGE));
  });

  it('encodes the AUTHENTICATE_MESSAGE byte for byte, with every intermediate value', () => {
    const challenge = decodeNtlmChallenge(CHALLENGE);
    const a = encodeNtlmAuthenticate({
      negotiateMessage: new Uint8Array(0),
      challenge,
      credentials,
      workstation: 'COMPUTER',
      clientChallenge,
      randomSessionKey,
      timestamp: 0n,
      channelBindings: false, // the example's blob holds the server's pairs only
      version: { major: 5, minor: 1, build: 2600, ntlmRevision: 15 },
    });
    expect(a.flags).toBe(0xe2888235);
    expect(h(a.responseKeyNT)).toBe('0c868a403bfd7a93a3001ef22ef02e3f');
    expect(h(a.ntProofStr)).toBe('68cd0ab851e51c96aabc927bebef6a1c');
    expect(h(a.lmChallengeResponse)).toBe('86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa');
    expect(h(a.sessionBaseKey)).toBe('8de40ccadbc14a82f15cb0ad0de95ca3');
    expect(h(a.keyExchangeKey)).toBe('8de40ccadbc14a82f15cb0ad0de95ca3');
    expect(h(a.exportedSessionKey)).toBe('55555555555555555555555555555555');
    expect(h(a.encryptedRandomSessionKey)).toBe('c5dad2544fc9799094ce1ce90bc9d03e'); // 4.2.4.2.3
    expect(a.mic).toBeUndefined();
    expect(toSpacedHex(a.message)).toBe(toSpacedHex(AUTHENTICATE));
  });
});

describe('MS-NLMP 4.2.4.4: GSS_WrapEx', () => {
  const flags = 0xe2888235;
  const plaintext = hex`50 00 6c 00 61 00 69 00 6e 00 74 00 65 00 78 00 74 00`; // "Plaintext" UTF-16LE

  it('SealKey and SignKey (client-to-server)', () => {
    expect(h(sealKey(randomSessionKey, flags, 'client-to-server'))).toBe('59f600973cc4960a25480a7c196e4c58');
    expect(h(signKey(randomSessionKey, 'client-to-server'))).toBe('4788dc861b4782f35d43fd98fe1a2d39');
  });

  it('seals "Plaintext" with SeqNum 0', () => {
    const s = new NtlmSession({ exportedSessionKey: randomSessionKey, flags });
    expect(h(s.clientSealingKey)).toBe('59f600973cc4960a25480a7c196e4c58');
    expect(h(s.clientSigningKey)).toBe('4788dc861b4782f35d43fd98fe1a2d39');
    // Checksum before RC4: HMAC_MD5(SigningKey, SeqNum ‖ Message)[0..7]
    expect(h(hmacMd5(s.clientSigningKey, hex`00 00 00 00`, plaintext).subarray(0, 8))).toBe('70352851f2564309');
    const { signature, sealed } = s.seal(plaintext);
    expect(h(sealed)).toBe('54e50165bf1936dc996020c1811b0f06fb5f');
    expect(h(signature.subarray(4, 12))).toBe('7fb38ec5c55d4976'); // RC4(Checksum)
    expect(h(signature)).toBe('010000007fb38ec5c55d497600000000');
    expect(s.sendSequence).toBe(1);
  });

  it('the server end unseals and verifies it', () => {
    const server = new NtlmSession({ exportedSessionKey: randomSessionKey, flags, role: 'server' });
    const out = server.unseal(hex`54 e5 01 65 bf 19 36 dc 99 60 20 c1 81 1b 0f 06 fb 5f`, hex`01 00 00 00 7f b3 8e c5 c5 5d 49 76 00 00 00 00`);
    expect(h(out)).toBe(h(plaintext));
    expect(server.receiveSequence).toBe(1);
  });

  it('NEGOTIATE_56 and 40-bit sealing keys truncate the session key before hashing', () => {
    const f56 = (flags & ~NegotiateFlags.NTLMSSP_NEGOTIATE_128) >>> 0;
    const f40 = (f56 & ~NegotiateFlags.NTLMSSP_NEGOTIATE_56) >>> 0;
    const k56 = sealKey(randomSessionKey, f56, 'client-to-server');
    const k40 = sealKey(randomSessionKey, f40, 'client-to-server');
    expect(h(k56)).not.toBe(h(k40));
    expect(h(k56)).toBe(h(sealKey(randomSessionKey.subarray(0, 7), (f56 | NegotiateFlags.NTLMSSP_NEGOTIATE_128) >>> 0, 'client-to-server')));
  });
});
