/**
 * MD5, HMAC-MD5 and SHA-256 as NTLM and CredSSP use them. MD5 is in OpenSSL 3's default provider, so
 * node:crypto serves (unlike MD4 and RC4, see md4.ts and rc4.ts). Every function takes its input as a list
 * of parts, because the specs write them as ConcatenationOf(…).
 */

import { createHash, createHmac } from 'node:crypto';

function u8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** MD5(ConcatenationOf(parts)) — 16 bytes. */
export function md5(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return u8(h.digest());
}

/** HMAC_MD5(key, ConcatenationOf(parts)) — 16 bytes (RFC 2104, MS-NLMP section 6). */
export function hmacMd5(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac('md5', key);
  for (const p of parts) h.update(p);
  return u8(h.digest());
}

/** SHA-256(ConcatenationOf(parts)) — 32 bytes. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return u8(h.digest());
}

/** Constant-time comparison of two byte strings of possibly different length. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
