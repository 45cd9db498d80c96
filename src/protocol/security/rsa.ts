/**
 * Raw ("textbook") RSA on little-endian byte strings, as Standard RDP Security uses it: the client random
 * (5.3.4) and the proprietary certificate signature (5.3.3.1) are plain m^e mod n with no padding scheme,
 * and every number travels least significant byte first. node:crypto has no padding-free little-endian
 * mode, so this is BigInt.
 */

import { EncodeError } from '../codec/errors.js';

/** An RSA public key. `modulus` is big-endian (as X.509 and people write it), without leading zeros. */
export interface RsaPublicKey {
  publicExponent: number;
  modulus: Uint8Array;
}

/** An RSA private key for the lab side: the private exponent is big-endian too. */
export interface RsaPrivateKey extends RsaPublicKey {
  privateExponent: Uint8Array;
}

export function bigFromBytesBE(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

export function bigFromBytesLE(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

/** `length` bytes, least significant first. Throws EncodeError when the value does not fit. */
export function bigToBytesLE(v: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = v;
  for (let i = 0; i < length; i++) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  if (x !== 0n) throw new EncodeError(`value does not fit in ${length} bytes`);
  return out;
}

export function bigToBytesBE(v: bigint, length: number): Uint8Array {
  return bigToBytesLE(v, length).reverse();
}

/** base^exp mod m by square-and-multiply. */
export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  if (m === 1n) return 0n;
  let result = 1n;
  let b = base % m;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % m;
    e >>= 1n;
    b = (b * b) % m;
  }
  return result;
}

/** Big-endian bytes without leading zero bytes (at least one byte). */
export function stripLeadingZeros(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

/**
 * m^exponent mod n for a little-endian input; the result is little-endian and as long as the modulus.
 * Throws EncodeError when the input is not smaller than the modulus (raw RSA would lose it).
 */
export function rawRsaLE(input: Uint8Array, exponent: bigint, modulusBE: Uint8Array): Uint8Array {
  const n = bigFromBytesBE(modulusBE);
  if (n < 2n) throw new EncodeError('RSA modulus must be at least 2');
  const m = bigFromBytesLE(input);
  if (m >= n) throw new EncodeError('RSA input is not smaller than the modulus');
  return bigToBytesLE(modPow(m, exponent, n), stripLeadingZeros(modulusBE).length);
}
