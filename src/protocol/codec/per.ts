/**
 * The aligned-PER pieces [T.125] domain PDUs and [T.124] GCC use in RDP, octet by octet as Windows, FreeRDP
 * and IronRDP put them on the wire: choices, selections (optional-field bitmaps) and enumerations each fill
 * one octet; constrained 16-bit integers are offsets from their lower bound; OBJECT IDENTIFIER is a length
 * octet and the BER content octets. Fragmented lengths (16K and more) never occur in RDP and are refused.
 */
import type { ByteReader } from './reader.js';
import type { ByteWriter } from './writer.js';
import { EncodeError } from './errors.js';

/** Largest length a single (unfragmented) PER length determinant carries. */
export const PER_MAX_LENGTH = 0x3fff;

// ---- readers ----

/** Length determinant: one octet below 0x80, else two octets with the top bits 10. */
export function readPerLength(r: ByteReader, field = 'PER length'): number {
  const at = r.offset;
  const first = r.u8();
  if ((first & 0x80) === 0) return first;
  if ((first & 0x40) !== 0) r.fail(field, 'fragmented length (16K or more) is not used in RDP', at);
  return ((first & 0x3f) << 8) | r.u8();
}

export function readPerChoice(r: ByteReader): number {
  return r.u8();
}

export function readPerSelection(r: ByteReader): number {
  return r.u8();
}

/** One octet; values at or above `count` are a DecodeError. */
export function readPerEnumerated(r: ByteReader, count: number, field = 'ENUMERATED'): number {
  const at = r.offset;
  const v = r.u8();
  if (v >= count) r.fail(field, `value ${v} outside 0..${count - 1}`, at);
  return v;
}

/** Unconstrained/semi-constrained INTEGER: a length (1, 2 or 4) then big-endian octets. */
export function readPerInteger(r: ByteReader, field = 'INTEGER'): number {
  const at = r.offset;
  const len = readPerLength(r, field);
  switch (len) {
    case 1:
      return r.u8();
    case 2:
      return r.u16be();
    case 4:
      return r.u32be();
    default:
      return r.fail(field, `integer of ${len} octets (1, 2 or 4 expected)`, at);
  }
}

/** INTEGER (min..min+65535) as two octets holding value - min. */
export function readPerInteger16(r: ByteReader, min: number): number {
  return r.u16be() + min;
}

export function readPerObjectIdentifier(r: ByteReader, field = 'OBJECT IDENTIFIER'): number[] {
  const at = r.offset;
  const len = readPerLength(r, field);
  if (len === 0) r.fail(field, 'empty', at);
  const content = r.bytesN(len);
  const arcs: number[] = [];
  let v = 0;
  for (let i = 0; i < content.length; i++) {
    const b = content[i]!;
    if (v > 0xffffff) r.fail(field, 'arc too large', at);
    v = v * 128 + (b & 0x7f);
    if (b & 0x80) {
      if (i === content.length - 1) r.fail(field, 'last arc unterminated', at);
      continue;
    }
    if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
    else arcs.push(v);
    v = 0;
  }
  return arcs;
}

/** Reads an OBJECT IDENTIFIER and fails unless it is `oid`. */
export function expectPerObjectIdentifier(r: ByteReader, oid: readonly number[], field: string): void {
  const at = r.offset;
  const got = readPerObjectIdentifier(r, field);
  if (got.join('.') !== oid.join('.')) r.fail(field, `expected ${oid.join('.')}, got ${got.join('.')}`, at);
}

/** OCTET STRING (SIZE (min..)): length - min, then the octets. */
export function readPerOctetString(r: ByteReader, min: number, field = 'OCTET STRING'): Uint8Array {
  const len = readPerLength(r, field) + min;
  return r.bytesN(len);
}

/** NumericString (SIZE (min..)): length - min, then the digits packed two per octet (4 bits each). */
export function readPerNumericString(r: ByteReader, min: number, field = 'NumericString'): string {
  const at = r.offset;
  const len = readPerLength(r, field) + min;
  const packed = r.bytesN(Math.ceil(len / 2));
  let s = '';
  for (let i = 0; i < len; i++) {
    const nibble = i % 2 === 0 ? packed[i >> 1]! >> 4 : packed[i >> 1]! & 0x0f;
    if (nibble > 9) r.fail(field, `nibble ${nibble} is not a digit`, at);
    s += String(nibble);
  }
  return s;
}

export function readPerPadding(r: ByteReader, n: number): void {
  r.skip(n);
}

export function readPerNumberOfSets(r: ByteReader): number {
  return r.u8();
}

// ---- writers ----

export function writePerLength(w: ByteWriter, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > PER_MAX_LENGTH) throw new EncodeError(`PER length ${n} out of range 0..${PER_MAX_LENGTH}`);
  if (n < 0x80) w.u8(n);
  else w.u16be(0x8000 | n);
}

export function writePerChoice(w: ByteWriter, choice: number): void {
  w.u8(choice);
}

export function writePerSelection(w: ByteWriter, selection: number): void {
  w.u8(selection);
}

export function writePerEnumerated(w: ByteWriter, v: number, count: number): void {
  if (!Number.isInteger(v) || v < 0 || v >= count) throw new EncodeError(`PER enumerated ${v} outside 0..${count - 1}`);
  w.u8(v);
}

/** Shortest of 1, 2 or 4 octets. */
export function writePerInteger(w: ByteWriter, v: number): void {
  if (v <= 0xff) {
    writePerLength(w, 1);
    w.u8(v);
  } else if (v <= 0xffff) {
    writePerLength(w, 2);
    w.u16be(v);
  } else {
    writePerLength(w, 4);
    w.u32be(v);
  }
}

export function writePerInteger16(w: ByteWriter, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min || v - min > 0xffff) throw new EncodeError(`PER integer ${v} outside ${min}..${min + 0xffff}`);
  w.u16be(v - min);
}

export function writePerObjectIdentifier(w: ByteWriter, oid: readonly number[]): void {
  if (oid.length < 2 || oid[0]! > 2 || (oid[0]! < 2 && oid[1]! >= 40)) throw new EncodeError(`bad OBJECT IDENTIFIER ${oid.join('.')}`);
  const content: number[] = [];
  const arcs = [oid[0]! * 40 + oid[1]!, ...oid.slice(2)];
  for (const arc of arcs) {
    if (!Number.isInteger(arc) || arc < 0 || arc > 0xfffffff) throw new EncodeError(`bad OBJECT IDENTIFIER arc ${arc}`);
    const septets: number[] = [];
    for (let v = arc; ; v = Math.floor(v / 128)) {
      septets.unshift(v % 128);
      if (v < 128) break;
    }
    septets.forEach((s, i) => content.push(i < septets.length - 1 ? s | 0x80 : s));
  }
  writePerLength(w, content.length);
  for (const b of content) w.u8(b);
}

export function writePerOctetString(w: ByteWriter, b: Uint8Array, min: number): void {
  if (b.length < min) throw new EncodeError(`PER octet string of ${b.length} octets, at least ${min} required`);
  writePerLength(w, b.length - min);
  w.bytes(b);
}

export function writePerNumericString(w: ByteWriter, s: string, min: number): void {
  if (!/^[0-9]*$/.test(s) || s.length < min) throw new EncodeError(`PER numeric string ${JSON.stringify(s)}`);
  writePerLength(w, s.length - min);
  for (let i = 0; i < s.length; i += 2) {
    const hi = s.charCodeAt(i) - 0x30;
    const lo = i + 1 < s.length ? s.charCodeAt(i + 1) - 0x30 : 0;
    w.u8((hi << 4) | lo);
  }
}

export function writePerPadding(w: ByteWriter, n: number): void {
  for (let i = 0; i < n; i++) w.u8(0);
}

export function writePerNumberOfSets(w: ByteWriter, n: number): void {
  w.u8(n);
}
