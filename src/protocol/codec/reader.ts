import { DecodeError } from './errors.js';

/** Bounds-checked cursor over a byte array. Every read states its byte order. */
export class ByteReader {
  private pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly pdu: string,
  ) {}

  get offset(): number {
    return this.pos;
  }
  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  ensure(n: number): void {
    if (n < 0 || this.pos + n > this.bytes.length) {
      throw new DecodeError(this.pdu, this.pos, { kind: 'not_enough_bytes', received: this.remaining, expected: n });
    }
  }

  u8(): number {
    this.ensure(1);
    return this.bytes[this.pos++]!;
  }
  u16be(): number {
    this.ensure(2);
    const v = (this.bytes[this.pos]! << 8) | this.bytes[this.pos + 1]!;
    this.pos += 2;
    return v;
  }
  u16le(): number {
    this.ensure(2);
    const v = this.bytes[this.pos]! | (this.bytes[this.pos + 1]! << 8);
    this.pos += 2;
    return v;
  }
  u32le(): number {
    this.ensure(4);
    const b = this.bytes;
    const p = this.pos;
    this.pos += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
  }
  u32be(): number {
    this.ensure(4);
    const b = this.bytes;
    const p = this.pos;
    this.pos += 4;
    return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }
  bytesN(n: number): Uint8Array {
    this.ensure(n);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  rest(): Uint8Array {
    const v = this.bytes.subarray(this.pos);
    this.pos = this.bytes.length;
    return v;
  }
  skip(n: number): void {
    this.ensure(n);
    this.pos += n;
  }
  peekU8(at = 0): number | undefined {
    return this.bytes[this.pos + at];
  }

  fail(field: string, reason: string, at = this.pos): never {
    throw new DecodeError(this.pdu, at, { kind: 'invalid_field', field, reason });
  }

  /** Strict decoders call this last: a PDU with bytes left over is malformed. */
  expectEnd(): void {
    if (this.remaining !== 0) {
      throw new DecodeError(this.pdu, this.pos, { kind: 'trailing_bytes', count: this.remaining });
    }
  }
}
