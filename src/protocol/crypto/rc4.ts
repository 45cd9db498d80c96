/**
 * RC4 (ARCFOUR) in plain TypeScript.
 *
 * Node 20 links OpenSSL 3, where RC4 lives in the "legacy" provider that is not loaded by default, so
 * `crypto.createCipheriv('rc4', …)` throws on most systems. NTLM still needs it: the encrypted random session
 * key (MS-NLMP 3.1.5.1.2) and NTLMv2 sealing (3.4.3) are RC4. RC4 is broken; use it only where a protocol
 * demands it.
 */

import { EncodeError } from '../codec/errors.js';

/**
 * A keyed RC4 keystream. The state carries over between `update` calls, which is what NTLM sealing needs:
 * one handle per direction encrypts every message of a session in turn (MS-NLMP 3.4.3, "RC4(Handle, …)").
 */
export class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;

  /** `key` is 1..256 bytes (RFC 6229 tests 5..32). */
  constructor(key: Uint8Array) {
    if (key.length < 1 || key.length > 256) throw new EncodeError(`rc4 key must be 1..256 bytes, got ${key.length}`);
    const s = this.s;
    for (let k = 0; k < 256; k++) s[k] = k;
    let j = 0;
    for (let k = 0; k < 256; k++) {
      const sk = s[k]!;
      j = (j + sk + key[k % key.length]!) & 0xff;
      s[k] = s[j]!;
      s[j] = sk;
    }
  }

  /** Encrypts (or, the same thing, decrypts) `data`, advancing the keystream by `data.length` bytes. */
  update(data: Uint8Array): Uint8Array {
    const out = new Uint8Array(data.length);
    const s = this.s;
    let i = this.i;
    let j = this.j;
    for (let n = 0; n < data.length; n++) {
      i = (i + 1) & 0xff;
      const si = s[i]!;
      j = (j + si) & 0xff;
      const sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      out[n] = data[n]! ^ s[(si + sj) & 0xff]!;
    }
    this.i = i;
    this.j = j;
    return out;
  }

  /** The next `n` keystream bytes (RC4 of n zero bytes). */
  keystream(n: number): Uint8Array {
    return this.update(new Uint8Array(n));
  }
}

/** One-shot RC4 with a fresh key schedule: RC4K(key, data) in MS-NLMP section 6. */
export function rc4(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Rc4(key).update(data);
}
