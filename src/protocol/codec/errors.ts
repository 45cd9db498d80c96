/**
 * Typed decode/encode errors. Decoders in src/protocol throw only DecodeError; every read goes through
 * ByteReader.ensure(), so a short or malformed frame never becomes a RangeError.
 */

export type DecodeErrorDetail =
  | { kind: 'not_enough_bytes'; received: number; expected: number }
  | { kind: 'invalid_field'; field: string; reason: string }
  | { kind: 'unexpected_type'; got: number | string; expected?: number | string }
  | { kind: 'unsupported_value'; name: string; value: number | string }
  | { kind: 'trailing_bytes'; count: number };

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  /** PDU path from the outermost decoder inwards, e.g. ['TPKT', 'X.224 CC', 'RDP_NEG_RSP']. */
  readonly path: string[];
  /** Offset into the buffer handed to the innermost decoder. */
  readonly offset: number;
  readonly detail: DecodeErrorDetail;

  constructor(pdu: string, offset: number, detail: DecodeErrorDetail) {
    super('');
    this.path = [pdu];
    this.offset = offset;
    this.detail = detail;
    this.message = this.describe();
  }

  get pdu(): string {
    return this.path[this.path.length - 1] ?? '';
  }

  /** Used by an enclosing decoder: adds its own name in front of the path and shifts the offset. */
  within(outer: string, offsetShift = 0): DecodeError {
    this.path.unshift(outer);
    (this as { offset: number }).offset = this.offset + offsetShift;
    this.message = this.describe();
    return this;
  }

  describe(): string {
    const d = this.detail;
    let what: string;
    switch (d.kind) {
      case 'not_enough_bytes':
        what = `not enough bytes: need ${d.expected}, have ${d.received}`;
        break;
      case 'invalid_field':
        what = `invalid ${d.field}: ${d.reason}`;
        break;
      case 'unexpected_type':
        what = `unexpected type ${fmt(d.got)}${d.expected !== undefined ? ` (expected ${fmt(d.expected)})` : ''}`;
        break;
      case 'unsupported_value':
        what = `unsupported ${d.name} ${fmt(d.value)}`;
        break;
      case 'trailing_bytes':
        what = `${d.count} unexpected trailing byte(s)`;
        break;
    }
    return `${this.path.join(' > ')} at offset ${this.offset}: ${what}`;
  }
}

function fmt(v: number | string): string {
  return typeof v === 'number' ? `0x${v.toString(16).padStart(2, '0')}` : v;
}

/** Runs an inner decode and prefixes its DecodeError path with `outer`. */
export function nested<T>(outer: string, offsetShift: number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DecodeError) throw e.within(outer, offsetShift);
    throw e;
  }
}

export class EncodeError extends Error {
  override readonly name = 'EncodeError';
}
