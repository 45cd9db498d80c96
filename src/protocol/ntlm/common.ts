/** Helpers shared by the NTLM message codecs: strings, payload fields, FILETIME. */

import { ByteReader } from '../codec/reader.js';
import { DecodeError } from '../codec/errors.js';

export { concat, utf16le } from '../codec/bytes.js';

/** Decodes UTF-16LE code units one by one (no validation: lone surrogates survive). Length must be even. */
export function fromUtf16le(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i + 1 < b.length; i += 2) s += String.fromCharCode(b[i]! | (b[i + 1]! << 8));
  return s;
}

/** OEM strings (only without NTLMSSP_NEGOTIATE_UNICODE): decoded as Latin-1, byte for byte. */
export function fromOem(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += String.fromCharCode(c);
  return s;
}

/**
 * Windows-style upper-casing (RtlUpcaseUnicodeString): each UTF-16 code unit on its own, so the length never
 * changes ('ß' stays 'ß', where String#toUpperCase would give 'SS').
 */
export function upcaseUnits(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const up = c.toUpperCase();
    out += up.length === 1 ? up : c;
  }
  return out;
}

/** An 8-byte payload descriptor: Len (u16le), MaxLen (u16le), BufferOffset (u32le). */
export interface PayloadField {
  len: number;
  maxLen: number;
  offset: number;
  /** Where the descriptor itself sits in the message, for error offsets. */
  at: number;
}

export function readField(r: ByteReader): PayloadField {
  const at = r.offset;
  const len = r.u16le();
  const maxLen = r.u16le();
  const offset = r.u32le();
  return { len, maxLen, offset, at };
}

/**
 * The bytes a payload field points at. Strict: a non-empty buffer may not overlap the fixed header and must
 * lie inside the message.
 */
export function fieldBytes(msg: Uint8Array, f: PayloadField, name: string, headerLength: number, pdu: string): Uint8Array {
  if (f.len === 0) return new Uint8Array(0);
  if (f.offset < headerLength) {
    throw new DecodeError(pdu, f.at, {
      kind: 'invalid_field',
      field: `${name}BufferOffset`,
      reason: `${f.offset} points into the ${headerLength}-byte header`,
    });
  }
  const end = f.offset + f.len;
  if (end > msg.length) {
    throw new DecodeError(pdu, f.at, { kind: 'not_enough_bytes', received: msg.length, expected: end });
  }
  return msg.subarray(f.offset, end);
}

/** Ticks of 100 ns between 1601-01-01 and 1970-01-01. */
const FILETIME_UNIX_EPOCH_MS = 11644473600000;

/** FILETIME (100 ns ticks since 1601-01-01 UTC) from a little-endian 8-byte value. */
export function readFileTime(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[i] ?? 0);
  return v;
}

export function writeFileTime(ft: bigint): Uint8Array {
  const out = new Uint8Array(8);
  let v = BigInt.asUintN(64, ft);
  for (let i = 0; i < 8; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** FILETIME for a Unix time in milliseconds (the caller owns the clock). */
export function fileTimeFromUnixMs(ms: number): bigint {
  return (BigInt(Math.trunc(ms)) + BigInt(FILETIME_UNIX_EPOCH_MS)) * 10000n;
}

/**
 * ISO 8601 UTC with milliseconds ('2024-05-01T12:00:00.000Z'), computed without Date so that every 64-bit
 * FILETIME (up to year 60056) has a rendering. Sub-millisecond ticks are truncated.
 */
export function fileTimeToIso(ft: bigint): string {
  const ms = Number(BigInt.asUintN(64, ft) / 10000n) - FILETIME_UNIX_EPOCH_MS;
  const days = Math.floor(ms / 86400000);
  let rem = ms - days * 86400000;
  // Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil inverse).
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hh = Math.floor(rem / 3600000);
  rem -= hh * 3600000;
  const mm = Math.floor(rem / 60000);
  rem -= mm * 60000;
  const ss = Math.floor(rem / 1000);
  const milli = rem - ss * 1000;
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(year, 4)}-${p(month)}-${p(day)}T${p(hh)}:${p(mm)}:${p(ss)}.${p(milli, 3)}Z`;
}


export function u32le(v: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, v >>> 0, true);
  return out;
}

export function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
}
