/**
 * The BER subset [T.125] MCS uses for Connect-Initial / Connect-Response: identifier octets (including the
 * high-tag-number form, since connect-initial is [APPLICATION 101]), definite lengths of at most 4 octets,
 * INTEGER, ENUMERATED, BOOLEAN, OCTET STRING and constructed values. Readers work in place on one
 * ByteReader so every DecodeError offset is an offset into the whole PDU.
 *
 * Leniency, on purpose: Windows encodes INTEGER 65535 as `02 02 ff ff` (no leading zero octet), so INTEGERs
 * are read as unsigned magnitudes, as every RDP peer reads them. Long-form lengths for short values are
 * accepted (BER allows them; Windows uses `82 xx xx` for every user data length).
 */
import type { ByteReader } from './reader.js';
import { ByteWriter } from './writer.js';
import { EncodeError } from './errors.js';
import { concat } from './bytes.js';

export type BerClass = 'universal' | 'application' | 'context' | 'private';

export interface BerTag {
  cls: BerClass;
  constructed: boolean;
  number: number;
}

export const BER_UNIVERSAL = {
  BOOLEAN: 1,
  INTEGER: 2,
  OCTET_STRING: 4,
  ENUMERATED: 10,
  SEQUENCE: 16,
} as const;

const CLASSES: readonly BerClass[] = ['universal', 'application', 'context', 'private'];
/** Tag numbers above this are not used by any RDP structure; refusing them bounds the loop. */
const MAX_TAG_NUMBER = 0x3fff;

export function readBerTag(r: ByteReader): BerTag {
  const at = r.offset;
  const first = r.u8();
  const cls = CLASSES[first >> 6]!;
  const constructed = (first & 0x20) !== 0;
  let number = first & 0x1f;
  if (number === 0x1f) {
    number = 0;
    for (let i = 0; ; i++) {
      if (i === 2) r.fail('BER tag', 'tag number longer than 2 octets', at);
      const b = r.u8();
      if (i === 0 && b === 0x80) r.fail('BER tag', 'tag number with a leading zero octet', at);
      number = number * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
    if (number < 0x1f) r.fail('BER tag', `high-tag-number form for tag ${number}`, at);
    if (number > MAX_TAG_NUMBER) r.fail('BER tag', `tag number ${number} too large`, at);
  }
  return { cls, constructed, number };
}

/** A definite length of at most 4 length octets; indefinite (0x80) and longer forms are DecodeErrors. */
export function readBerLength(r: ByteReader): number {
  const at = r.offset;
  const first = r.u8();
  if (first < 0x80) return first;
  if (first === 0x80) r.fail('BER length', 'indefinite length', at);
  const n = first & 0x7f;
  if (n > 4) r.fail('BER length', `${n} length octets (at most 4)`, at);
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + r.u8();
  return len;
}

/**
 * Reads an identifier and length, checks the tag is the expected one and that the content fits in the
 * buffer, and returns the content length. The content starts at r.offset.
 */
export function expectBerHeader(r: ByteReader, cls: BerClass, constructed: boolean, number: number, field: string): number {
  const at = r.offset;
  const tag = readBerTag(r);
  if (tag.cls !== cls || tag.constructed !== constructed || tag.number !== number) {
    r.fail(field, `expected ${describeTag({ cls, constructed, number })}, got ${describeTag(tag)}`, at);
  }
  const len = readBerLength(r);
  r.ensure(len);
  return len;
}

function describeTag(t: BerTag): string {
  const n = t.cls === 'universal' ? universalName(t.number) : `[${t.cls.toUpperCase()} ${t.number}]`;
  return `${n}${t.constructed ? ' (constructed)' : ''}`;
}
function universalName(n: number): string {
  const names: Record<number, string> = { 1: 'BOOLEAN', 2: 'INTEGER', 4: 'OCTET STRING', 10: 'ENUMERATED', 16: 'SEQUENCE' };
  return names[n] ?? `UNIVERSAL ${n}`;
}

/** Unsigned INTEGER of 1..4 value octets (5 when the first is a sign-padding zero). */
export function readBerInteger(r: ByteReader, field = 'INTEGER'): number {
  const at = r.offset;
  const len = expectBerHeader(r, 'universal', false, BER_UNIVERSAL.INTEGER, field);
  return readUnsigned(r, len, field, at);
}

export function readBerEnumerated(r: ByteReader, field = 'ENUMERATED'): number {
  const at = r.offset;
  const len = expectBerHeader(r, 'universal', false, BER_UNIVERSAL.ENUMERATED, field);
  return readUnsigned(r, len, field, at);
}

function readUnsigned(r: ByteReader, len: number, field: string, at: number): number {
  if (len === 0) r.fail(field, 'no value octets', at);
  if (len > 5 || (len === 5 && r.peekU8() !== 0)) r.fail(field, `${len} value octets do not fit 32 bits`, at);
  let v = 0;
  for (let i = 0; i < len; i++) v = v * 256 + r.u8();
  return v;
}

export function readBerBoolean(r: ByteReader, field = 'BOOLEAN'): boolean {
  const at = r.offset;
  const len = expectBerHeader(r, 'universal', false, BER_UNIVERSAL.BOOLEAN, field);
  if (len !== 1) r.fail(field, `length ${len}, must be 1`, at);
  return r.u8() !== 0;
}

export function readBerOctetString(r: ByteReader, field = 'OCTET STRING'): Uint8Array {
  const len = expectBerHeader(r, 'universal', false, BER_UNIVERSAL.OCTET_STRING, field);
  return r.bytesN(len);
}

/** SEQUENCE header; returns the offset where its content ends (check with `expectBerEnd`). */
export function readBerSequence(r: ByteReader, field = 'SEQUENCE'): number {
  const len = expectBerHeader(r, 'universal', true, BER_UNIVERSAL.SEQUENCE, field);
  return r.offset + len;
}

/** [APPLICATION n] constructed header; returns the offset where its content ends. */
export function readBerApplication(r: ByteReader, number: number, field: string): number {
  const len = expectBerHeader(r, 'application', true, number, field);
  return r.offset + len;
}

/** A constructed value's members must end exactly where its length said. */
export function expectBerEnd(r: ByteReader, end: number, field: string): void {
  if (r.offset !== end) r.fail(field, r.offset < end ? `${end - r.offset} byte(s) left inside the value` : 'members run past the value', r.offset);
}

// ---- encoders: each returns the whole TLV, so nesting is composition ----

export function berTag(tag: BerTag): Uint8Array {
  const first = (CLASSES.indexOf(tag.cls) << 6) | (tag.constructed ? 0x20 : 0);
  if (!Number.isInteger(tag.number) || tag.number < 0 || tag.number > MAX_TAG_NUMBER) throw new EncodeError(`BER tag number ${tag.number}`);
  if (tag.number < 0x1f) return Uint8Array.of(first | tag.number);
  if (tag.number < 0x80) return Uint8Array.of(first | 0x1f, tag.number);
  return Uint8Array.of(first | 0x1f, 0x80 | (tag.number >> 7), tag.number & 0x7f);
}

/** Shortest definite form. */
export function berLength(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new EncodeError(`BER length ${n}`);
  if (n < 0x80) return Uint8Array.of(n);
  const octets: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) octets.unshift(v % 256);
  return Uint8Array.of(0x80 | octets.length, ...octets);
}

export function berTlv(tag: BerTag, content: Uint8Array): Uint8Array {
  return concat(berTag(tag), berLength(content.length), content);
}

/** Non-negative INTEGER, minimal two's-complement octets (a zero octet in front when the top bit is set). */
export function berInteger(v: number): Uint8Array {
  return berTlv({ cls: 'universal', constructed: false, number: BER_UNIVERSAL.INTEGER }, unsignedOctets(v));
}

export function berEnumerated(v: number): Uint8Array {
  return berTlv({ cls: 'universal', constructed: false, number: BER_UNIVERSAL.ENUMERATED }, unsignedOctets(v));
}

function unsignedOctets(v: number): Uint8Array {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new EncodeError(`BER INTEGER ${v} out of range 0..2^32-1`);
  const w = new ByteWriter(5);
  const octets: number[] = [];
  for (let x = v; x > 0; x = Math.floor(x / 256)) octets.unshift(x % 256);
  if (octets.length === 0 || octets[0]! >= 0x80) octets.unshift(0);
  for (const o of octets) w.u8(o);
  return w.finish();
}

export function berBoolean(v: boolean): Uint8Array {
  return berTlv({ cls: 'universal', constructed: false, number: BER_UNIVERSAL.BOOLEAN }, Uint8Array.of(v ? 0xff : 0x00));
}

export function berOctetString(b: Uint8Array): Uint8Array {
  return berTlv({ cls: 'universal', constructed: false, number: BER_UNIVERSAL.OCTET_STRING }, b);
}

export function berSequence(...members: Uint8Array[]): Uint8Array {
  return berTlv({ cls: 'universal', constructed: true, number: BER_UNIVERSAL.SEQUENCE }, concat(...members));
}

export function berApplication(number: number, ...members: Uint8Array[]): Uint8Array {
  return berTlv({ cls: 'application', constructed: true, number }, concat(...members));
}
