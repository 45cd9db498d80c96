/** SHA-1 as Standard RDP Security uses it (the crypto/hmac.ts helpers cover MD5, HMAC-MD5 and SHA-256 only). */

import { createHash, createHmac } from 'node:crypto';

export function sha1(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function hmacSha1(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac('sha1', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** A 32-bit count little-endian, as the salted MAC and the FIPS MAC append it. */
export function u32le(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
}
