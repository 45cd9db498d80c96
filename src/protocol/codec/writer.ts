import { EncodeError } from './errors.js';

/** Growable byte writer with explicit byte order and back-filled lengths. */
export class ByteWriter {
  private buf: Uint8Array;
  private pos = 0;
  constructor(initial = 64) {
    this.buf = new Uint8Array(initial);
  }
  get length(): number {
    return this.pos;
  }
  private grow(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
  u8(v: number): this {
    check(v, 0xff);
    this.grow(1);
    this.buf[this.pos++] = v;
    return this;
  }
  u16be(v: number): this {
    check(v, 0xffff);
    this.grow(2);
    this.buf[this.pos++] = v >>> 8;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }
  u16le(v: number): this {
    check(v, 0xffff);
    this.grow(2);
    this.buf[this.pos++] = v & 0xff;
    this.buf[this.pos++] = v >>> 8;
    return this;
  }
  u32le(v: number): this {
    check(v, 0xffffffff);
    this.grow(4);
    for (let i = 0; i < 4; i++) this.buf[this.pos++] = Math.floor(v / 2 ** (8 * i)) & 0xff;
    return this;
  }
  u32be(v: number): this {
    check(v, 0xffffffff);
    this.grow(4);
    for (let i = 3; i >= 0; i--) this.buf[this.pos++] = Math.floor(v / 2 ** (8 * i)) & 0xff;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.grow(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  /** Reserves `n` bytes and returns their offset, for a length patched in later. */
  reserve(n: number): number {
    this.grow(n);
    const at = this.pos;
    this.pos += n;
    return at;
  }
  patchU16be(at: number, v: number): void {
    check(v, 0xffff);
    this.buf[at] = v >>> 8;
    this.buf[at + 1] = v & 0xff;
  }
  patchU8(at: number, v: number): void {
    check(v, 0xff);
    this.buf[at] = v;
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

function check(v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new EncodeError(`value ${v} out of range 0..${max}`);
}
