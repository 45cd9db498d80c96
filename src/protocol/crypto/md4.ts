/**
 * MD4 (RFC 1320) in plain TypeScript.
 *
 * Node 20 links OpenSSL 3, where MD4 lives in the "legacy" provider that is not loaded by default, so
 * `crypto.createHash('md4')` throws on most systems. NTLM still needs it: the NT hash of a password is
 * MD4(UTF-16LE(password)). MD4 is broken as a general-purpose hash; use it only where a protocol demands it.
 */

import { utf16le } from '../codec/bytes.js';

const ROUND2 = 0x5a827999;
const ROUND3 = 0x6ed9eba1;

function rotl(x: number, n: number): number {
  return (x << n) | (x >>> (32 - n));
}

/** Compresses one 64-byte block (`words` = 16 little-endian u32) into `state`. */
function compress(state: Uint32Array, words: Uint32Array): void {
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  const x = (i: number): number => words[i]!;

  // Round 1: F(b,c,d) = (b & c) | (~b & d); order 0..15; shifts 3, 7, 11, 19.
  for (let i = 0; i < 16; i += 4) {
    a = rotl((a + ((b & c) | (~b & d)) + x(i)) | 0, 3);
    d = rotl((d + ((a & b) | (~a & c)) + x(i + 1)) | 0, 7);
    c = rotl((c + ((d & a) | (~d & b)) + x(i + 2)) | 0, 11);
    b = rotl((b + ((c & d) | (~c & a)) + x(i + 3)) | 0, 19);
  }
  // Round 2: G(b,c,d) = majority; order column-wise (0,4,8,12, 1,5,9,13, ...); shifts 3, 5, 9, 13.
  for (let i = 0; i < 4; i++) {
    a = rotl((a + ((b & c) | (b & d) | (c & d)) + x(i) + ROUND2) | 0, 3);
    d = rotl((d + ((a & b) | (a & c) | (b & c)) + x(i + 4) + ROUND2) | 0, 5);
    c = rotl((c + ((d & a) | (d & b) | (a & b)) + x(i + 8) + ROUND2) | 0, 9);
    b = rotl((b + ((c & d) | (c & a) | (d & a)) + x(i + 12) + ROUND2) | 0, 13);
  }
  // Round 3: H(b,c,d) = b ^ c ^ d; order 0,8,4,12, 2,10,6,14, 1,9,5,13, 3,11,7,15; shifts 3, 9, 11, 15.
  for (const i of [0, 2, 1, 3]) {
    a = rotl((a + (b ^ c ^ d) + x(i) + ROUND3) | 0, 3);
    d = rotl((d + (a ^ b ^ c) + x(i + 8) + ROUND3) | 0, 9);
    c = rotl((c + (d ^ a ^ b) + x(i + 4) + ROUND3) | 0, 11);
    b = rotl((b + (c ^ d ^ a) + x(i + 12) + ROUND3) | 0, 15);
  }

  state[0] = state[0]! + a;
  state[1] = state[1]! + b;
  state[2] = state[2]! + c;
  state[3] = state[3]! + d;
}

/** MD4 digest (16 bytes) of `data`. */
export function md4(data: Uint8Array): Uint8Array {
  const state = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);

  // Padding: 0x80, zeros up to 56 mod 64, then the bit length as a 64-bit little-endian integer.
  const paddedLength = (((data.length + 8) >>> 6) + 1) << 6;
  const padded = new Uint8Array(paddedLength);
  padded.set(data);
  padded[data.length] = 0x80;
  const view = new DataView(padded.buffer);
  const bitLength = data.length * 8; // exact up to 2^53 bits
  view.setUint32(paddedLength - 8, bitLength >>> 0, true);
  view.setUint32(paddedLength - 4, Math.floor(bitLength / 0x1_0000_0000) >>> 0, true);

  const words = new Uint32Array(16);
  for (let off = 0; off < paddedLength; off += 64) {
    for (let i = 0; i < 16; i++) words[i] = view.getUint32(off + i * 4, true);
    compress(state, words);
  }

  const out = new Uint8Array(16);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) outView.setUint32(i * 4, state[i]!, true);
  return out;
}

/** NT hash (NTOWFv1) of a password: MD4(UTF-16LE(password)). */
export function ntHash(password: string): Uint8Array {
  return md4(utf16le(password));
}
