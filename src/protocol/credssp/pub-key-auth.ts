/**
 * [MS-CSSP] 3.1.5 pubKeyAuth: binding the CredSSP exchange to the TLS server key.
 *
 * v2–4: the client seals the server's SubjectPublicKey; the server answers with the same key, first byte + 1.
 * v5+: the client seals SHA-256("CredSSP Client-To-Server Binding Hash\0" ‖ clientNonce ‖ SubjectPublicKey);
 * the server answers with SHA-256("CredSSP Server-To-Client Binding Hash\0" ‖ clientNonce ‖ SubjectPublicKey).
 * `SubjectPublicKey` is the contents of the certificate's subjectPublicKey BIT STRING (CertificateFacts
 * .subjectPublicKey), e.g. the DER RSAPublicKey. On the wire the field is the NTLM signature (16 bytes)
 * followed by the sealed data (FreeRDP nla.c, Windows).
 */

import { EncodeError } from '../codec/errors.js';
import { bytesEqual, sha256 } from '../crypto/hmac.js';
import { ascii, concat } from '../ntlm/common.js';
import { NTLM_SIGNATURE_LENGTH, NtlmSignatureError, type NtlmSession } from '../ntlm/session.js';
import { CLIENT_NONCE_LENGTH } from './ts-request.js';

export const CLIENT_SERVER_HASH_MAGIC = ascii('CredSSP Client-To-Server Binding Hash\0');
export const SERVER_CLIENT_HASH_MAGIC = ascii('CredSSP Server-To-Client Binding Hash\0');

/** SHA-256(ClientServerHashMagic ‖ clientNonce ‖ SubjectPublicKey) — what a v5+ client seals. */
export function clientServerHash(clientNonce: Uint8Array, subjectPublicKey: Uint8Array): Uint8Array {
  checkNonce(clientNonce);
  return sha256(CLIENT_SERVER_HASH_MAGIC, clientNonce, subjectPublicKey);
}

/** SHA-256(ServerClientHashMagic ‖ clientNonce ‖ SubjectPublicKey) — what a v5+ server seals in reply. */
export function serverClientHash(clientNonce: Uint8Array, subjectPublicKey: Uint8Array): Uint8Array {
  checkNonce(clientNonce);
  return sha256(SERVER_CLIENT_HASH_MAGIC, clientNonce, subjectPublicKey);
}

function checkNonce(n: Uint8Array): void {
  if (n.length !== CLIENT_NONCE_LENGTH) throw new EncodeError(`clientNonce must be ${CLIENT_NONCE_LENGTH} bytes, got ${n.length}`);
}

/** Signature ‖ sealed data, the layout of pubKeyAuth and authInfo. */
export function sealToken(session: NtlmSession, plaintext: Uint8Array): Uint8Array {
  const { signature, sealed } = session.seal(plaintext);
  return concat(signature, sealed);
}

/** Splits signature ‖ sealed and unseals; NtlmSignatureError when it does not verify. */
export function unsealToken(session: NtlmSession, token: Uint8Array): Uint8Array {
  if (token.length < NTLM_SIGNATURE_LENGTH) {
    throw new NtlmSignatureError('bad_length', `token of ${token.length} bytes is shorter than a signature`);
  }
  return session.unseal(token.subarray(NTLM_SIGNATURE_LENGTH), token.subarray(0, NTLM_SIGNATURE_LENGTH));
}

/** v2–4 client pubKeyAuth: the sealed SubjectPublicKey. */
export function pubKeyAuthV2(session: NtlmSession, subjectPublicKey: Uint8Array): Uint8Array {
  return sealToken(session, subjectPublicKey);
}

/** v5+ client pubKeyAuth: the sealed client-to-server hash. */
export function pubKeyAuthV5(session: NtlmSession, clientNonce: Uint8Array, subjectPublicKey: Uint8Array): Uint8Array {
  return sealToken(session, clientServerHash(clientNonce, subjectPublicKey));
}

/** The client's pubKeyAuth for the negotiated CredSSP version (`clientNonce` is required from v5). */
export function clientPubKeyAuth(
  session: NtlmSession,
  version: number,
  subjectPublicKey: Uint8Array,
  clientNonce?: Uint8Array,
): Uint8Array {
  if (version < 5) return pubKeyAuthV2(session, subjectPublicKey);
  if (clientNonce === undefined) throw new EncodeError(`CredSSP v${version} needs a clientNonce`);
  return pubKeyAuthV5(session, clientNonce, subjectPublicKey);
}

/** What the server should have sealed in its pubKeyAuth reply. */
export function expectedServerPubKeyAuth(version: number, subjectPublicKey: Uint8Array, clientNonce?: Uint8Array): Uint8Array {
  if (version < 5) {
    if (subjectPublicKey.length === 0) throw new EncodeError('empty SubjectPublicKey');
    const k = subjectPublicKey.slice();
    k[0] = (k[0]! + 1) & 0xff;
    return k;
  }
  if (clientNonce === undefined) throw new EncodeError(`CredSSP v${version} needs a clientNonce`);
  return serverClientHash(clientNonce, subjectPublicKey);
}

export type ServerPubKeyAuthResult =
  | { ok: true }
  | { ok: false; reason: 'bad_signature'; kind: NtlmSignatureError['kind']; message: string }
  | { ok: false; reason: 'mismatch'; message: string };

/**
 * Checks the server's pubKeyAuth: it must unseal under the server-to-client keys and equal
 * {@link expectedServerPubKeyAuth}. A failure is a result (the server could not prove it holds the TLS key,
 * or the session keys disagree), not an exception. The session's receive state advances either way.
 */
export function verifyServerPubKeyAuth(
  session: NtlmSession,
  version: number,
  subjectPublicKey: Uint8Array,
  serverPubKeyAuth: Uint8Array,
  clientNonce?: Uint8Array,
): ServerPubKeyAuthResult {
  const expected = expectedServerPubKeyAuth(version, subjectPublicKey, clientNonce);
  let got: Uint8Array;
  try {
    got = unsealToken(session, serverPubKeyAuth);
  } catch (e) {
    if (e instanceof NtlmSignatureError) return { ok: false, reason: 'bad_signature', kind: e.kind, message: e.message };
    throw e;
  }
  if (!bytesEqual(got, expected)) {
    const what = version < 5 ? 'the server public key plus one' : 'the server-to-client binding hash';
    return { ok: false, reason: 'mismatch', message: `pubKeyAuth does not hold ${what}` };
  }
  return { ok: true };
}
