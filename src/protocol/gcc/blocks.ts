/** [MS-RDPBCGR] 2.2.1.3.1 user data block framing (TS_UD_HEADER) and flag naming, shared by client and server data. */
import { ByteReader } from '../codec/reader.js';
import { ByteWriter } from '../codec/writer.js';
import { DecodeError, EncodeError } from '../codec/errors.js';
import { fromUtf16le } from '../share/text.js';

export const UserDataType = {
  CS_CORE: 0xc001,
  CS_SECURITY: 0xc002,
  CS_NET: 0xc003,
  CS_CLUSTER: 0xc004,
  CS_MONITOR: 0xc005,
  CS_MCS_MSGCHANNEL: 0xc006,
  CS_MONITOR_EX: 0xc008,
  CS_UNUSED1: 0xc00c,
  CS_MULTITRANSPORT: 0xc00a,
  SC_CORE: 0x0c01,
  SC_SECURITY: 0x0c02,
  SC_NET: 0x0c03,
  SC_MCS_MSGCHANNEL: 0x0c04,
  SC_MULTITRANSPORT: 0x0c08,
} as const;

export function userDataTypeName(type: number): string {
  for (const [k, v] of Object.entries(UserDataType)) if (v === type) return k;
  return `0x${type.toString(16).padStart(4, '0')}`;
}

export interface RawBlock {
  type: number;
  /** The block's length field (header included). */
  length: number;
  /** The block body after the 4-byte header. */
  body: Uint8Array;
  /** Offset of the header in the concatenated blocks. */
  offset: number;
}

/** Splits concatenated blocks; each header's length must be at least 4 and fit in what is left. */
export function splitBlocks(bytes: Uint8Array, pdu: string): RawBlock[] {
  const r = new ByteReader(bytes, pdu);
  const out: RawBlock[] = [];
  while (r.remaining > 0) {
    const offset = r.offset;
    const type = r.u16le();
    const length = r.u16le();
    if (length < 4) throw new DecodeError(pdu, offset + 2, { kind: 'invalid_field', field: `${userDataTypeName(type)} length`, reason: `${length} is shorter than the header` });
    if (length - 4 > r.remaining) {
      throw new DecodeError(pdu, offset + 2, { kind: 'not_enough_bytes', received: r.remaining + 4, expected: length });
    }
    out.push({ type, length, body: r.bytesN(length - 4), offset });
  }
  return out;
}

/** Header plus body; the length field covers both. */
export function block(type: number, body: Uint8Array): Uint8Array {
  if (body.length + 4 > 0xffff) throw new EncodeError(`user data block ${userDataTypeName(type)} of ${body.length} bytes is too long`);
  return new ByteWriter(body.length + 4).u16le(type).u16le(body.length + 4).bytes(body).finish();
}

/** Names of the set bits found in `table`, then any unnamed rest as hex. Bit 31 safe. */
export function bitNames(flags: number, table: Record<string, number>): string[] {
  const out: string[] = [];
  let rest = flags >>> 0;
  for (const [k, v] of Object.entries(table)) {
    if (v !== 0 && ((flags & v) >>> 0) === v >>> 0) {
      out.push(k);
      rest = (rest & ~v) >>> 0;
    }
  }
  if (rest !== 0) out.push(`0x${rest.toString(16)}`);
  return out;
}

export function valueName(value: number, table: Record<string, number>): string {
  for (const [k, v] of Object.entries(table)) if (v === value) return k;
  return `unknown (0x${value.toString(16)})`;
}

/** A fixed-size UTF-16LE field, NUL-terminated within it (the terminator is optional when full). */
export function readUtf16Field(r: ByteReader, size: number): string {
  return fromUtf16le(r.bytesN(size));
}

/** Writes at most size/2 - 1 code units and NUL-pads to `size`. */
export function writeUtf16Field(w: ByteWriter, s: string, size: number): void {
  const max = size / 2 - 1;
  const t = s.slice(0, max);
  for (let i = 0; i < t.length; i++) w.u16le(t.charCodeAt(i));
  for (let i = t.length * 2; i < size; i++) w.u8(0);
}

/** A fixed-size ANSI field, NUL-terminated within it. */
export function readAnsiField(r: ByteReader, size: number): string {
  const b = r.bytesN(size);
  let s = '';
  for (const c of b) {
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

export function writeAnsiField(w: ByteWriter, s: string, size: number): void {
  if (s.length > size - 1 || /[^\x01-\x7e]/.test(s)) throw new EncodeError(`${JSON.stringify(s)} does not fit a ${size}-byte ANSI field`);
  for (let i = 0; i < s.length; i++) w.u8(s.charCodeAt(i));
  for (let i = s.length; i < size; i++) w.u8(0);
}

/** A block seen twice is malformed (the second would silently win otherwise). */
export function duplicateBlock(b: RawBlock): DecodeError {
  return new DecodeError(userDataTypeName(b.type), b.offset, { kind: 'invalid_field', field: 'block', reason: 'appears twice' });
}

/**
 * Runs a block decoder whose offsets count from the block body and moves them to count from the start of
 * the concatenated blocks, without adding a path level (the block's own name is the level).
 */
export function shiftOffset<T>(by: number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DecodeError) {
      // The same in-place shift DecodeError.within() does, minus the extra path element.
      (e as { offset: number }).offset = e.offset + by;
      e.message = e.describe();
    }
    throw e;
  }
}
