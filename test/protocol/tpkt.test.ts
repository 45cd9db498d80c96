import { describe, expect, it } from 'vitest';
import { DecodeError, EncodeError } from '../../src/protocol/codec/errors.js';
import { decodeTpkt, encodeTpkt, frameLengthTpkt } from '../../src/protocol/tpkt.js';
import { cat, hex } from '../helpers/bytes.js';
import { decodeError } from '../helpers/errors.js';

/** [T.123] 8 / RFC 1006 6: version (1), reserved (1), length (2, big-endian, header included). */
const cases: { name: string; payload: Uint8Array; frame: Uint8Array }[] = [
  {
    name: 'xrdp MCS Disconnect Provider Ultimatum in a DT',
    payload: hex`02 f0 80 21 80`,
    frame: hex`
      03        # version 3
      00        # reserved
      00 09     # length 9 = 4 header + 5 payload
      02 f0 80  # X.224 DT
      21 80     # MCS DPUm rn-user-requested
    `,
  },
  {
    name: 'legacy Connection Confirm',
    payload: hex`06 d0 00 00 12 34 00`,
    frame: hex`
      03 00 00 0b           # version 3, reserved, length 11
      06 d0 00 00 12 34 00  # X.224 CC without negotiation data
    `,
  },
  { name: 'empty payload', payload: new Uint8Array(0), frame: hex`03 00 00 04` },
];

describe.each(cases)('TPKT: $name', ({ payload, frame }) => {
  it('encodes', () => {
    expect(encodeTpkt(payload)).toEqual(frame);
  });
  it('decodes', () => {
    expect(decodeTpkt(frame)).toEqual(payload);
  });
  it('round-trips', () => {
    expect(encodeTpkt(decodeTpkt(frame))).toEqual(frame);
  });
});

describe('encodeTpkt limits', () => {
  it('fills the 16-bit length up to 65535', () => {
    const frame = encodeTpkt(new Uint8Array(65531));
    expect(frame.length).toBe(65535);
    expect(Array.from(frame.subarray(0, 4))).toEqual([0x03, 0x00, 0xff, 0xff]);
  });
  it('refuses a payload that does not fit the length field', () => {
    expect(() => encodeTpkt(new Uint8Array(65532))).toThrow(EncodeError);
  });
});

describe('frameLengthTpkt', () => {
  it.each([[[]], [[0x03]], [[0x03, 0x00]], [[0x03, 0x00, 0x00]]])('returns undefined while the header is incomplete: %j', (b) => {
    expect(frameLengthTpkt(Uint8Array.from(b))).toBeUndefined();
  });

  it('reads the big-endian length from the header alone', () => {
    expect(frameLengthTpkt(hex`03 00 00 13`)).toBe(19);
    expect(frameLengthTpkt(hex`03 00 12 34`)).toBe(0x1234);
    expect(frameLengthTpkt(hex`03 00 ff ff 02`)).toBe(65535);
    expect(frameLengthTpkt(hex`03 00 00 07`)).toBe(7);
  });

  it('ignores what follows the frame', () => {
    expect(frameLengthTpkt(cat(hex`03 00 00 09 02 f0 80 21 80`, hex`16 03 03`))).toBe(9);
  });

  it('rejects a first byte other than 3 at once, before the header is complete', () => {
    const e = decodeError(() => frameLengthTpkt(hex`53`)); // 'S' of an SSH banner
    expect(e.path).toEqual(['TPKT']);
    expect(e.offset).toBe(0);
    expect(e.detail).toEqual({ kind: 'unexpected_type', got: 0x53, expected: 3 });
  });

  it.each([0, 4, 6])('rejects a length of %i (no room for an X.224 header)', (len) => {
    const e = decodeError(() => frameLengthTpkt(Uint8Array.from([3, 0, 0, len])));
    expect(e.path).toEqual(['TPKT']);
    expect(e.offset).toBe(2);
    expect(e.detail.kind).toBe('invalid_field');
    expect(e.detail).toMatchObject({ field: 'length' });
  });
});

describe('decodeTpkt errors', () => {
  it('rejects a wrong version', () => {
    const e = decodeError(() => decodeTpkt(hex`04 00 00 07 02 f0 80`));
    expect(e.path).toEqual(['TPKT']);
    expect(e.detail).toEqual({ kind: 'unexpected_type', got: 4, expected: 3 });
  });

  it('reports a truncated header', () => {
    const e = decodeError(() => decodeTpkt(hex`03 00 00`));
    expect(e.path).toEqual(['TPKT']);
    expect(e.detail).toEqual({ kind: 'not_enough_bytes', received: 1, expected: 2 });
  });

  it('reports a frame shorter than its length field', () => {
    const e = decodeError(() => decodeTpkt(hex`03 00 00 13 0e d0 00 00 12 34 00`));
    expect(e.path).toEqual(['TPKT']);
    expect(e.offset).toBe(2);
    expect(e.detail).toEqual({ kind: 'not_enough_bytes', received: 11, expected: 19 });
  });

  it('reports bytes beyond the length field as trailing', () => {
    const e = decodeError(() => decodeTpkt(hex`03 00 00 07 02 f0 80 ff ff`));
    expect(e.path).toEqual(['TPKT']);
    expect(e.offset).toBe(7);
    expect(e.detail).toEqual({ kind: 'trailing_bytes', count: 2 });
  });

  it.each([0, 1, 3])('rejects a length field of %i, shorter than the header itself', (len) => {
    const e = decodeError(() => decodeTpkt(Uint8Array.from([3, 0, 0, len, 0x02, 0xf0, 0x80])));
    expect(e.path).toEqual(['TPKT']);
    expect(e.offset).toBe(2);
    expect(e.detail.kind).toBe('invalid_field');
    expect(e.detail).toMatchObject({ field: 'length' });
  });
});
