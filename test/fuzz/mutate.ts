/**
 * Mutations of real frames as fast-check arbitraries. Every mutation is plain data (positions are taken modulo
 * the current length), so fast-check shrinks a failing case to the fewest, smallest edits, and a failure prints
 * as a readable list of edits next to the input hex.
 */
import fc from 'fast-check';
import { concat } from '../../src/protocol/codec/bytes.js';

/** Values a length or offset field is set to: the edges where off-by-one and overflow bugs live. */
const EXTREMES = [0, 1, 2, 3, 4, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'truncate'; keep: number }
  | { op: 'delete'; at: number; n: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'duplicate'; at: number; n: number }
  | { op: 'splice'; at: number; other: number; from: number }
  /** A 1-, 2- or 4-byte field anywhere, either byte order, moved by `delta` or set to an extreme. */
  | { op: 'field'; at: number; width: 1 | 2 | 4; le: boolean; delta: number; extreme: number | undefined }
  /** The TPKT length (bytes 2-3, big-endian). */
  | { op: 'tpkt'; delta: number; extreme: number | undefined }
  /** The k-th BER/DER length (after a 0x30/0xa0-0xa5/0x04/0x02/0x7f65/0x7f66-style tag): inflated, deflated or made long-form. */
  | { op: 'ber'; k: number; delta: number; longForm: boolean }
  /** The k-th byte that reads as a PER two-byte length (0x80 set): its 14-bit value moved. */
  | { op: 'per'; k: number; delta: number }
  /** The k-th NTLM security buffer (len/maxlen u16 + offset u32 after "NTLMSSP\0" + type): length or offset moved. */
  | { op: 'secbuf'; k: number; which: 'len' | 'offset'; delta: number; extreme: number | undefined };

const pos = fc.nat({ max: 1 << 16 });
const delta = fc.oneof(fc.integer({ min: -4, max: 4 }), fc.integer({ min: -0x10000, max: 0x10000 }));
const extreme = fc.option(fc.constantFrom(...EXTREMES), { nil: undefined, freq: 2 });

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('flip' as const), at: pos, bit: fc.nat({ max: 7 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), at: pos, value: fc.oneof(fc.nat({ max: 255 }), fc.constantFrom(0, 0x80, 0xff, 0x7f, 0x30, 0x03)) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), keep: pos }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: pos, n: fc.integer({ min: 1, max: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('insert' as const), at: pos, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate' as const), at: pos, n: fc.integer({ min: 1, max: 256 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('splice' as const), at: pos, other: fc.nat(), from: pos }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('field' as const), at: pos, width: fc.constantFrom(1 as const, 2 as const, 4 as const), le: fc.boolean(), delta, extreme }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('tpkt' as const), delta, extreme }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('ber' as const), k: fc.nat({ max: 64 }), delta, longForm: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('per' as const), k: fc.nat({ max: 64 }), delta }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('secbuf' as const), k: fc.nat({ max: 7 }), which: fc.constantFrom('len' as const, 'offset' as const), delta, extreme }) },
);

function readField(b: Uint8Array, at: number, width: number, le: boolean): number {
  let v = 0;
  for (let i = 0; i < width; i++) v = v * 256 + b[at + (le ? width - 1 - i : i)]!;
  return v;
}

function writeField(b: Uint8Array, at: number, width: number, le: boolean, v: number): void {
  const max = 2 ** (8 * width);
  let x = ((v % max) + max) % max;
  for (let i = width - 1; i >= 0; i--) {
    b[at + (le ? width - 1 - i : i)] = x % 256;
    x = Math.floor(x / 256);
  }
}

const BER_TAGS = new Set([0x02, 0x04, 0x0a, 0x30, 0x31, 0x65, 0x66, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0x03, 0x05, 0x06, 0x01]);

/** Offsets of bytes that could be a BER length: right after a common tag byte. */
function berLengthSites(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < b.length && out.length < 256; i++) if (BER_TAGS.has(b[i]!)) out.push(i + 1);
  return out;
}

/** Replaces the BER length at `at` (short or long form) with `n`, short or long form. */
function setBerLength(b: Uint8Array, at: number, n: number, longForm: boolean): Uint8Array {
  const first = b[at]!;
  const oldLen = first < 0x80 ? 1 : 1 + Math.min(first & 0x7f, b.length - at - 1);
  const v = Math.max(0, Math.min(n, 0xffffffff));
  let enc: Uint8Array;
  if (!longForm && v < 0x80) enc = Uint8Array.of(v);
  else {
    const bytes: number[] = [];
    for (let x = v; x > 0; x = Math.floor(x / 256)) bytes.unshift(x % 256);
    if (bytes.length === 0) bytes.push(0);
    enc = Uint8Array.of(0x80 | bytes.length, ...bytes);
  }
  return concat(b.subarray(0, at), enc, b.subarray(at + oldLen));
}

function readBerLen(b: Uint8Array, at: number): number {
  const first = b[at]!;
  if (first < 0x80) return first;
  let v = 0;
  for (let i = 0; i < (first & 0x7f) && at + 1 + i < b.length; i++) v = v * 256 + b[at + 1 + i]!;
  return v;
}

const NTLMSSP = [0x4e, 0x54, 0x4c, 0x4d, 0x53, 0x53, 0x50, 0x00];

function ntlmStart(b: Uint8Array): number {
  outer: for (let i = 0; i + 8 <= b.length; i++) {
    for (let j = 0; j < 8; j++) if (b[i + j] !== NTLMSSP[j]) continue outer;
    return i;
  }
  return -1;
}

/** NTLM security buffer field offsets after the signature and type (CHALLENGE: 12, 40; AUTHENTICATE: 12..52). */
const SECBUF_AT = [12, 20, 28, 36, 44, 52, 40];

/** Applies one mutation; `others` are the other seeds, for splicing. */
export function applyMutation(src: Uint8Array, m: Mutation, others: readonly Uint8Array[]): Uint8Array {
  const b = src.slice();
  const n = b.length;
  const at = 'at' in m && n > 0 ? m.at % n : 0;
  switch (m.op) {
    case 'flip':
      if (n > 0) b[at] = b[at]! ^ (1 << m.bit);
      return b;
    case 'set':
      if (n > 0) b[at] = m.value;
      return b;
    case 'truncate':
      return b.subarray(0, m.keep % (n + 1));
    case 'delete':
      return concat(b.subarray(0, at), b.subarray(at + m.n));
    case 'insert':
      return concat(b.subarray(0, at), m.bytes, b.subarray(at));
    case 'duplicate':
      return concat(b.subarray(0, at + m.n), b.subarray(at, at + m.n), b.subarray(at + m.n));
    case 'splice': {
      const o = others.length > 0 ? others[m.other % others.length]! : src;
      return concat(b.subarray(0, at), o.subarray(o.length === 0 ? 0 : m.from % o.length));
    }
    case 'field': {
      if (n < m.width) return b;
      const p = at % (n - m.width + 1);
      const v = m.extreme ?? readField(b, p, m.width, m.le) + m.delta;
      writeField(b, p, m.width, m.le, v);
      return b;
    }
    case 'tpkt':
      if (n < 4) return b;
      writeField(b, 2, 2, false, m.extreme ?? readField(b, 2, 2, false) + m.delta);
      return b;
    case 'ber': {
      const sites = berLengthSites(b);
      if (sites.length === 0) return b;
      const p = sites[m.k % sites.length]!;
      return setBerLength(b, p, readBerLen(b, p) + m.delta, m.longForm);
    }
    case 'per': {
      const sites: number[] = [];
      for (let i = 0; i + 1 < n && sites.length < 256; i++) if ((b[i]! & 0xc0) === 0x80) sites.push(i);
      if (sites.length === 0) return b;
      const p = sites[m.k % sites.length]!;
      const v = (((b[p]! & 0x3f) << 8) | b[p + 1]!) + m.delta;
      const x = ((v % 0x4000) + 0x4000) % 0x4000;
      b[p] = 0x80 | (x >> 8);
      b[p + 1] = x & 0xff;
      return b;
    }
    case 'secbuf': {
      const base = ntlmStart(b);
      if (base < 0) return b;
      const f = base + SECBUF_AT[m.k % SECBUF_AT.length]!;
      if (m.which === 'len') {
        if (f + 4 > n) return b;
        const v = m.extreme ?? readField(b, f, 2, true) + m.delta;
        writeField(b, f, 2, true, v);
        writeField(b, f + 2, 2, true, v);
      } else {
        if (f + 8 > n) return b;
        writeField(b, f + 4, 4, true, m.extreme ?? readField(b, f + 4, 4, true) + m.delta);
      }
      return b;
    }
  }
}

export function applyMutations(src: Uint8Array, ms: readonly Mutation[], others: readonly Uint8Array[]): Uint8Array {
  let b = src;
  for (const m of ms) {
    b = applyMutation(b, m, others);
    if (b.length > 1 << 20) b = b.subarray(0, 1 << 20);
  }
  return b;
}

export function describeMutations(ms: readonly Mutation[]): string {
  return JSON.stringify(ms, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
}

/** A fuzz input with how it was made, so a failure says which seed and which edits. */
export interface FuzzInput {
  bytes: Uint8Array;
  /** 'random', or the seed and the edits made to it (built only when a failure is reported). */
  how: () => string;
}

export interface InputOptions {
  /** Seeds the target accepts (mutated most often). */
  accepted: readonly Uint8Array[];
  /** Every other corpus unit (mutated sometimes: other layers' frames, wrong-layer inputs). */
  others: readonly Uint8Array[];
  maxRandom?: number;
}

/** Random bytes, and mutated seeds: mostly the accepted ones, sometimes any corpus unit. */
export function inputArb(o: InputOptions): fc.Arbitrary<FuzzInput> {
  const max = o.maxRandom ?? 256;
  const random = fc.uint8Array({ maxLength: max }).map((bytes) => ({ bytes, how: () => 'random' }));
  const mutated = (pool: readonly Uint8Array[], label: string): fc.Arbitrary<FuzzInput> =>
    fc.tuple(fc.nat({ max: pool.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 4 })).map(([i, ms]) => ({
      bytes: applyMutations(pool[i]!, ms, pool),
      how: () => `${label}[${i}] + ${describeMutations(ms)}`,
    }));
  const arms: { weight: number; arbitrary: fc.Arbitrary<FuzzInput> }[] = [{ weight: 1, arbitrary: random }];
  if (o.accepted.length > 0) {
    arms.push({ weight: 5, arbitrary: mutated(o.accepted, 'accepted') });
    // Unmutated seeds too: a real frame must decode (and keeps the property honest).
    arms.push({ weight: 1, arbitrary: fc.nat({ max: o.accepted.length - 1 }).map((i) => ({ bytes: o.accepted[i]!, how: () => `accepted[${i}] as is` })) });
  }
  if (o.others.length > 0) arms.push({ weight: 2, arbitrary: mutated(o.others, 'corpus') });
  return fc.oneof(...arms);
}
