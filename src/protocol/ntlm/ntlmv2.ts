/** [MS-NLMP] 3.3.2 NTLM v2 authentication: NTOWFv2, the responses and the session base key. */

import { EncodeError } from '../codec/errors.js';
import { hmacMd5, md5 } from '../crypto/hmac.js';
import { ntHash } from '../crypto/md4.js';
import { ascii, concat, u32le, upcaseUnits, utf16le, writeFileTime } from './common.js';

/** A password, or its NT hash (NTOWFv1 = MD4(UTF-16LE(password))) when only the hash is known. */
export type NtlmCredentials =
  | { user: string; domain: string; password: string }
  | { user: string; domain: string; ntHash: Uint8Array };

/**
 * NTOWFv2(Passwd, User, UserDom) = HMAC_MD5(MD4(UNICODE(Passwd)), UNICODE(ConcatenationOf(Uppercase(User),
 * UserDom))). This is both ResponseKeyNT and ResponseKeyLM (LMOWFv2 is the same function).
 */
export function ntowfv2(c: NtlmCredentials): Uint8Array {
  const nt = 'password' in c ? ntHash(c.password) : c.ntHash;
  if (nt.length !== 16) throw new EncodeError(`NT hash must be 16 bytes, got ${nt.length}`);
  return hmacMd5(nt, utf16le(upcaseUnits(c.user) + c.domain));
}

export interface Ntlmv2ResponseInput {
  responseKeyNT: Uint8Array;
  serverChallenge: Uint8Array;
  /** 8 random bytes from the caller. */
  clientChallenge: Uint8Array;
  /** FILETIME for the blob's TimeStamp (the server's MsvAvTimestamp when it sent one). */
  timestamp: bigint;
  /** The encoded AV_PAIR list for the blob, MsvAvEOL included. */
  avPairs: Uint8Array;
  /** Send Z(24) as LmChallengeResponse (when the CHALLENGE carried MsvAvTimestamp, 3.1.5.2.1). */
  zeroLmResponse?: boolean;
}

export interface Ntlmv2Response {
  /** temp = 0x01 0x01 Z(6) Time ClientChallenge Z(4) ServerName Z(4) — the NTLMv2_CLIENT_CHALLENGE plus padding. */
  temp: Uint8Array;
  /** HMAC_MD5(ResponseKeyNT, ServerChallenge ‖ temp). */
  ntProofStr: Uint8Array;
  /** NTProofStr ‖ temp. */
  ntChallengeResponse: Uint8Array;
  /** HMAC_MD5(ResponseKeyLM, ServerChallenge ‖ ClientChallenge) ‖ ClientChallenge, or Z(24). */
  lmChallengeResponse: Uint8Array;
  /** HMAC_MD5(ResponseKeyNT, NTProofStr). */
  sessionBaseKey: Uint8Array;
}

/** ComputeResponse() for NTLM v2 ([MS-NLMP] 3.3.2). */
export function computeNtlmv2Response(i: Ntlmv2ResponseInput): Ntlmv2Response {
  if (i.serverChallenge.length !== 8) throw new EncodeError('ServerChallenge must be 8 bytes');
  if (i.clientChallenge.length !== 8) throw new EncodeError('ClientChallenge must be 8 bytes');
  const temp = concat(
    Uint8Array.of(0x01, 0x01), // Responserversion, HiResponserversion
    new Uint8Array(6), // Z(6)
    writeFileTime(i.timestamp),
    i.clientChallenge,
    new Uint8Array(4), // Z(4)
    i.avPairs, // ServerName (the AV pairs)
    new Uint8Array(4), // Z(4)
  );
  const ntProofStr = hmacMd5(i.responseKeyNT, i.serverChallenge, temp);
  const lmChallengeResponse = i.zeroLmResponse
    ? new Uint8Array(24)
    : concat(hmacMd5(i.responseKeyNT, i.serverChallenge, i.clientChallenge), i.clientChallenge);
  return {
    temp,
    ntProofStr,
    ntChallengeResponse: concat(ntProofStr, temp),
    lmChallengeResponse,
    sessionBaseKey: hmacMd5(i.responseKeyNT, ntProofStr),
  };
}

/** RFC 5929 application data for TLS: 'tls-server-end-point:' ‖ hash of the server certificate. */
export function tlsServerEndPointAppData(certificateHash: Uint8Array): Uint8Array {
  return concat(ascii('tls-server-end-point:'), certificateHash);
}

/**
 * MsvAvChannelBindings value: MD5 of a gss_channel_bindings_struct (RFC 2744 4.9) whose initiator and acceptor
 * address types and lengths are 0 and whose application data is `appData`:
 * u32le 0, u32le 0, u32le 0, u32le 0, u32le len(appData), appData. Without application data Windows sends 16
 * zero bytes ("no bindings"), and so does this.
 */
export function channelBindingsHash(appData?: Uint8Array): Uint8Array {
  if (appData === undefined) return new Uint8Array(16);
  return md5(new Uint8Array(16), u32le(appData.length), appData);
}
