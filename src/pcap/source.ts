/**
 * Forward access to the bytes of a capture: a whole buffer already in memory, or a file read in chunks into one
 * reusable buffer, so reading a capture costs a window of the file instead of the file.
 */
import fs from 'node:fs';

export interface ByteSource {
  /**
   * Up to `len` bytes at file offset `pos`, fewer only where the file ends. Offsets only move forward: a later call
   * never asks for bytes before an earlier `pos`. The view is valid until the next call (copy what you keep).
   */
  view(pos: number, len: number): Uint8Array;
}

/** A buffer the caller holds: views into it stay valid, so readers need not copy what they keep. */
export class MemorySource implements ByteSource {
  constructor(private readonly bytes: Uint8Array) {}
  view(pos: number, len: number): Uint8Array {
    return this.bytes.subarray(pos, pos + len);
  }
}

export function memorySource(bytes: Uint8Array): ByteSource {
  return new MemorySource(bytes);
}

/** Default window: large enough for the biggest block (16 MiB) is not needed up front; it grows on demand. */
const DEFAULT_WINDOW = 4 * 1024 * 1024;

/** A file read forward through one buffer; the caller closes the descriptor. */
export class FileSource implements ByteSource {
  /** A plain Uint8Array (not a Buffer), so callers' slice() copies as it does for any Uint8Array. */
  private buf: Uint8Array;
  /** File offset of buf[0]. */
  private base = 0;
  /** Valid bytes in buf. */
  private filled = 0;
  private eof = false;

  constructor(
    private readonly fd: number,
    window = DEFAULT_WINDOW,
  ) {
    this.buf = new Uint8Array(window);
  }

  view(pos: number, len: number): Uint8Array {
    const off = pos - this.base;
    if (off >= 0 && off + len <= this.filled) return this.buf.subarray(off, off + len);
    if (this.eof && off >= 0) return this.buf.subarray(Math.min(off, this.filled), this.filled);
    this.refill(pos, len);
    const o = pos - this.base;
    return this.buf.subarray(o, Math.min(o + len, this.filled));
  }

  /** Moves the bytes from `pos` to the front (growing the buffer for a record larger than it) and reads on. */
  private refill(pos: number, len: number): void {
    const keepFrom = pos - this.base;
    const kept = keepFrom >= 0 && keepFrom < this.filled ? this.filled - keepFrom : 0;
    if (len > this.buf.length) {
      const bigger = new Uint8Array(Math.max(len, this.buf.length * 2));
      if (kept > 0) bigger.set(this.buf.subarray(keepFrom, this.filled));
      this.buf = bigger;
    } else if (kept > 0) this.buf.copyWithin(0, keepFrom, this.filled);
    this.base = pos;
    this.filled = kept;
    while (this.filled < this.buf.length) {
      const n = fs.readSync(this.fd, this.buf, this.filled, this.buf.length - this.filled, this.base + this.filled);
      if (n === 0) {
        this.eof = true;
        break;
      }
      this.filled += n;
    }
  }
}
