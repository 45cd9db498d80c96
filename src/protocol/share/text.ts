/** String fields of the RDP PDUs after MCS: UTF-16LE and single-byte text, with and without terminators. */
import { ByteWriter } from '../codec/writer.js';
import { DecodeError } from '../codec/errors.js';

/** UTF-16LE code units as text; stops at the first NUL unit (fixed-size fields are NUL-padded). */
export function fromUtf16le(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i + 1 < b.length; i += 2) {
    const u = b[i]! | (b[i + 1]! << 8);
    if (u === 0) break;
    s += String.fromCharCode(u);
  }
  return s;
}

/** Single-byte text (ANSI code page or ASCII) read as Latin-1; stops at the first NUL. */
export function fromLatin1(b: Uint8Array): string {
  let s = '';
  for (const c of b) {
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

/** Latin-1 bytes of an ASCII/Latin-1 string; characters above 0xFF become '?'. */
export function latin1(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => {
    const u = c.charCodeAt(0);
    return u > 0xff ? 0x3f : u;
  });
}

/** Writes `len` bytes of `b`, zero-filled or cut, for fixed-size fields. */
export function writeFixed(w: ByteWriter, b: Uint8Array, len: number): void {
  const out = new Uint8Array(len);
  out.set(b.subarray(0, len));
  w.bytes(out);
}

/** Names of the bits set in `flags` per `table`, with leftover bits as one hex entry. */
export function bitNames(flags: number, table: Record<string, number>): string[] {
  const out: string[] = [];
  let rest = flags >>> 0;
  for (const [k, v] of Object.entries(table)) {
    if (v !== 0 && (flags & v) >>> 0 === v) {
      out.push(k);
      rest = (rest & ~v) >>> 0;
    }
  }
  if (rest !== 0) out.push(`0x${rest.toString(16)}`);
  return out;
}

/** Reverse lookup in a name→value table; unknown values give `unknown (0x..)`. */
export function nameOf(value: number, table: Record<string, number>, width = 2): string {
  for (const [k, v] of Object.entries(table)) if (v === value) return k;
  return `unknown (0x${value.toString(16).padStart(width, '0')})`;
}

/** Runs an inner decode over a sub-array and moves a DecodeError's offset by `by`, without a new path entry. */
export function shifted<T>(by: number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DecodeError) (e as { offset: number }).offset = e.offset + by;
    if (e instanceof DecodeError) e.message = e.describe();
    throw e;
  }
}
