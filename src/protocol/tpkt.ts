import { ByteReader } from './codec/reader.js';
import { DecodeError } from './codec/errors.js';
import { ByteWriter } from './codec/writer.js';

/** [T.123] / RFC 1006 TPKT header: version 3, reserved, length (u16be, includes the 4-byte header). */
export const TPKT_VERSION = 3;
export const TPKT_HEADER_LENGTH = 4;

export function encodeTpkt(payload: Uint8Array): Uint8Array {
  const w = new ByteWriter(payload.length + TPKT_HEADER_LENGTH);
  w.u8(TPKT_VERSION).u8(0).u16be(payload.length + TPKT_HEADER_LENGTH).bytes(payload);
  return w.finish();
}

/**
 * Framing: how long the TPKT frame at the start of `bytes` is.
 * Returns undefined while fewer than 4 bytes are there; throws DecodeError when the bytes cannot be TPKT.
 */
export function frameLengthTpkt(bytes: Uint8Array): number | undefined {
  if (bytes.length < 1) return undefined;
  if (bytes[0] !== TPKT_VERSION) {
    throw new DecodeError('TPKT', 0, { kind: 'unexpected_type', got: bytes[0]!, expected: TPKT_VERSION });
  }
  if (bytes.length < TPKT_HEADER_LENGTH) return undefined;
  const len = (bytes[2]! << 8) | bytes[3]!;
  if (len < 7) {
    // The smallest X.224 TPDU carried in TPKT (a Data TPDU header) is 3 bytes.
    throw new DecodeError('TPKT', 2, { kind: 'invalid_field', field: 'length', reason: `${len} is shorter than a TPKT header plus an X.224 header` });
  }
  return len;
}

/** Decodes exactly one TPKT frame (the whole buffer) and returns its payload. */
export function decodeTpkt(bytes: Uint8Array): Uint8Array {
  const r = new ByteReader(bytes, 'TPKT');
  const version = r.u8();
  if (version !== TPKT_VERSION) throw new DecodeError('TPKT', 0, { kind: 'unexpected_type', got: version, expected: TPKT_VERSION });
  r.u8();
  const length = r.u16be();
  if (length < TPKT_HEADER_LENGTH) {
    throw new DecodeError('TPKT', 2, { kind: 'invalid_field', field: 'length', reason: `${length} is shorter than the ${TPKT_HEADER_LENGTH}-byte header` });
  }
  if (length !== bytes.length) {
    if (length > bytes.length) {
      throw new DecodeError('TPKT', 2, { kind: 'not_enough_bytes', received: bytes.length, expected: length });
    }
    throw new DecodeError('TPKT', length, { kind: 'trailing_bytes', count: bytes.length - length });
  }
  return r.rest();
}
