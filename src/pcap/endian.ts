/**
 * Byte-order-switchable reading on top of the codec's bounds-checked ByteReader.
 *
 * Capture files are written in the byte order of the machine that wrote them (pcap-savefile(5): "the
 * magic number ... can be used to distinguish between big-endian and little-endian"; the pcapng draft:
 * "Byte-Order Magic ... 0x1A2B3C4D"), so the readers here take the order as a constructor flag instead
 * of naming it on every call. Every read still goes through ByteReader and throws only DecodeError.
 */
import { ByteReader } from '../protocol/codec/reader.js';
import { DecodeError, nested } from '../protocol/codec/errors.js';

export class OrderedReader extends ByteReader {
  constructor(
    bytes: Uint8Array,
    pdu: string,
    readonly littleEndian: boolean,
  ) {
    super(bytes, pdu);
  }

  u16(): number {
    return this.littleEndian ? this.u16le() : this.u16be();
  }

  u32(): number {
    return this.littleEndian ? this.u32le() : this.u32be();
  }

  /**
   * pcapng packet timestamps: two 32-bit words, the upper half first, each in the section's byte order
   * (so NOT a plain little-endian 64-bit integer in a little-endian section).
   */
  highLow(): { high: number; low: number } {
    const high = this.u32();
    return { high, low: this.u32() };
  }

  /** Signed 64-bit integer in the reader's byte order, as a bigint (if_tsoffset, SHB Section Length). */
  i64(): bigint {
    const a = this.u32();
    const b = this.u32();
    const [high, low] = this.littleEndian ? [b, a] : [a, b];
    return BigInt.asIntN(64, (BigInt(high) << 32n) | BigInt(low));
  }
}

/** Reads an unsigned 32-bit value at `at` without a reader; the caller has checked the bounds. */
export function peekU32(bytes: Uint8Array, at: number, littleEndian: boolean): number {
  const b0 = bytes[at] ?? 0;
  const b1 = bytes[at + 1] ?? 0;
  const b2 = bytes[at + 2] ?? 0;
  const b3 = bytes[at + 3] ?? 0;
  return littleEndian ? b3 * 0x1000000 + ((b2 << 16) | (b1 << 8) | b0) : b0 * 0x1000000 + ((b1 << 16) | (b2 << 8) | b3);
}

/**
 * Runs `fn` on a sub-range of the file and re-labels any DecodeError with the outer PDU name and an
 * absolute file offset, so errors read "capture > pcapng EPB at offset 1234: ...".
 */
export function atFileOffset<T>(outer: string, start: number, fn: () => T): T {
  return nested(outer, start, fn);
}

export function invalid(pdu: string, offset: number, field: string, reason: string): DecodeError {
  return new DecodeError(pdu, offset, { kind: 'invalid_field', field, reason });
}
