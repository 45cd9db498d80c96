/**
 * Strict DER checks and framing for the CredSSP structures. asn1js (the project's DER library) parses BER
 * leniently — indefinite lengths, long-form lengths for short values, padded INTEGERs and trailing bytes all
 * pass with at most a warning — so every buffer is walked here first and must be canonical DER.
 */

import { ByteReader } from '../codec/reader.js';
import { DecodeError } from '../codec/errors.js';

/** The largest TSRequest frame accepted (the whole TLV, header included). */
export const MAX_DER_FRAME_LENGTH = 64 * 1024;

const MAX_DEPTH = 16;
const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;
const TAG_SEQUENCE = 0x30;

interface Tlv {
  tag: number;
  headerAt: number;
  contentAt: number;
  length: number;
}

/** Reads one DER length at the reader's position: definite, minimal, at most 4 length octets. */
function readLength(r: ByteReader): number {
  const at = r.offset;
  const first = r.u8();
  if (first < 0x80) return first;
  if (first === 0x80) r.fail('length', 'indefinite length is not DER', at);
  const n = first & 0x7f;
  if (n > 4) r.fail('length', `${n} length octets`, at);
  let len = 0;
  for (let i = 0; i < n; i++) {
    const b = r.u8();
    if (i === 0 && b === 0) r.fail('length', 'length with a leading zero octet is not DER', at);
    len = len * 256 + b;
  }
  if (len < 0x80) r.fail('length', `long form for length ${len} is not DER`, at);
  return len;
}

function readTlv(r: ByteReader): Tlv {
  const headerAt = r.offset;
  const tag = r.u8();
  if ((tag & 0x1f) === 0x1f) r.fail('tag', 'high tag numbers are not used here', headerAt);
  const length = readLength(r);
  const contentAt = r.offset;
  r.ensure(length);
  return { tag, headerAt, contentAt, length };
}

function walk(bytes: Uint8Array, r: ByteReader, end: number, depth: number): void {
  while (r.offset < end) {
    const t = readTlv(r);
    const contentEnd = t.contentAt + t.length;
    if (contentEnd > end) {
      throw new DecodeError(r.pdu, t.headerAt, { kind: 'invalid_field', field: 'length', reason: 'runs past the enclosing value' });
    }
    if (t.tag & 0x20) {
      if (depth >= MAX_DEPTH) r.fail('depth', `nesting deeper than ${MAX_DEPTH}`, t.headerAt);
      walk(bytes, r, contentEnd, depth + 1);
      continue;
    }
    // Universal primitives with DER rules of their own.
    if (t.tag === TAG_INTEGER) {
      if (t.length === 0) r.fail('INTEGER', 'empty', t.headerAt);
      if (t.length > 1) {
        const b0 = bytes[t.contentAt]!;
        const b1 = bytes[t.contentAt + 1]!;
        if ((b0 === 0x00 && b1 < 0x80) || (b0 === 0xff && b1 >= 0x80)) r.fail('INTEGER', 'not minimally encoded', t.headerAt);
      }
    } else if (t.tag === TAG_BIT_STRING && t.length === 0) {
      r.fail('BIT STRING', 'empty', t.headerAt);
    } else if (t.tag === (TAG_SEQUENCE & ~0x20) || t.tag === 0x11) {
      r.fail('tag', 'SEQUENCE/SET must be constructed', t.headerAt);
    }
    r.skip(t.length);
  }
}

/**
 * Throws DecodeError unless `bytes` is exactly one well-formed DER TLV whose outer tag is SEQUENCE: definite
 * minimal lengths, nested values that fill their parents exactly, minimal INTEGERs, primitive OCTET STRINGs
 * (a constructed 0x24 is BER only and is rejected as an unexpected type later), no trailing bytes.
 */
export function checkDer(bytes: Uint8Array, pdu: string): void {
  const r = new ByteReader(bytes, pdu);
  if (bytes.length === 0) r.ensure(1);
  if (bytes[0] !== TAG_SEQUENCE) {
    throw new DecodeError(pdu, 0, { kind: 'unexpected_type', got: bytes[0]!, expected: TAG_SEQUENCE });
  }
  const t = readTlv(r);
  walk(bytes, r, t.contentAt + t.length, 1);
  r.expectEnd();
}

/**
 * Framing: the total length (header + content) of the DER SEQUENCE at the start of `bytes`, or undefined
 * while the length octets have not all arrived. DecodeError when the first byte is not SEQUENCE (0x30), the
 * length is indefinite or not minimal, or the frame would exceed {@link MAX_DER_FRAME_LENGTH}.
 */
export function frameLengthDer(bytes: Uint8Array, pdu = 'TSRequest'): number | undefined {
  if (bytes.length < 1) return undefined;
  if (bytes[0] !== TAG_SEQUENCE) {
    throw new DecodeError(pdu, 0, { kind: 'unexpected_type', got: bytes[0]!, expected: TAG_SEQUENCE });
  }
  if (bytes.length < 2) return undefined;
  const first = bytes[1]!;
  let header = 2;
  let length = first;
  if (first === 0x80) {
    throw new DecodeError(pdu, 1, { kind: 'invalid_field', field: 'length', reason: 'indefinite length is not DER' });
  }
  if (first > 0x80) {
    const n = first & 0x7f;
    if (n > 3) {
      throw new DecodeError(pdu, 1, { kind: 'invalid_field', field: 'length', reason: `${n} length octets: frame over ${MAX_DER_FRAME_LENGTH} bytes` });
    }
    if (bytes.length < 2 + n) return undefined;
    if (bytes[2] === 0) {
      throw new DecodeError(pdu, 1, { kind: 'invalid_field', field: 'length', reason: 'length with a leading zero octet is not DER' });
    }
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + bytes[2 + i]!;
    if (length < 0x80) {
      throw new DecodeError(pdu, 1, { kind: 'invalid_field', field: 'length', reason: `long form for length ${length} is not DER` });
    }
    header = 2 + n;
  }
  const total = header + length;
  if (total > MAX_DER_FRAME_LENGTH) {
    throw new DecodeError(pdu, 1, { kind: 'invalid_field', field: 'length', reason: `frame of ${total} bytes is over ${MAX_DER_FRAME_LENGTH}` });
  }
  return total;
}

