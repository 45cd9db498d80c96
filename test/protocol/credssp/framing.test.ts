/** frameLengthDer: the DER framing hint for TSRequests on the TLS stream (pg-protocol style splits). */
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../src/protocol/codec/errors.js';
import { MAX_DER_FRAME_LENGTH, frameLengthDer } from '../../../src/protocol/credssp/der.js';
import { encodeTsRequest } from '../../../src/protocol/credssp/ts-request.js';
import { hex } from '../../helpers/bytes.js';

function err(bytes: Uint8Array): DecodeError {
  try {
    frameLengthDer(bytes);
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('frameLengthDer', () => {
  it.each([
    ['nothing yet', hex``, undefined],
    ['tag only', hex`30`, undefined],
    ['short form', hex`30 05`, 7],
    ['short form 127', hex`30 7f`, 129],
    ['long form, length octets missing', hex`30 81`, undefined],
    ['long form, 1 octet', hex`30 81 dc`, 223],
    ['long form, 2 octets, second missing', hex`30 82 01`, undefined],
    ['long form, 2 octets', hex`30 82 01 00`, 260],
    ['exactly 64 KiB', hex`30 82 ff fc`, 65536],
  ])('%s', (_name, bytes, expected) => {
    expect(frameLengthDer(bytes)).toBe(expected);
  });

  it.each([
    ['first byte not SEQUENCE', hex`04`, { kind: 'unexpected_type', got: 0x04, expected: 0x30 }],
    ['indefinite length', hex`30 80`, { kind: 'invalid_field', field: 'length' }],
    ['long form for a short length', hex`30 81 05`, { kind: 'invalid_field', field: 'length' }],
    ['leading zero length octet', hex`30 82 00 85`, { kind: 'invalid_field', field: 'length' }],
    ['one byte over 64 KiB', hex`30 82 ff fd`, { kind: 'invalid_field', field: 'length' }],
    ['three length octets over 64 KiB', hex`30 83 01 00 00`, { kind: 'invalid_field', field: 'length' }],
    ['four length octets', hex`30 84`, { kind: 'invalid_field', field: 'length' }],
    ['TLS alert instead of DER', hex`15 03 03 00 02 02 50`, { kind: 'unexpected_type', got: 0x15 }],
  ])('%s → DecodeError', (_name, bytes, detail) => {
    const e = err(bytes);
    expect(e.detail).toMatchObject(detail);
    expect(e.path).toEqual(['TSRequest']);
  });

  it('the limit is 64 KiB', () => {
    expect(MAX_DER_FRAME_LENGTH).toBe(65536);
  });

  it('a frame split at every offset: undefined until the header is complete, then the total', () => {
    const frame = encodeTsRequest({ version: 6, negoTokens: [new Uint8Array(300).fill(1)] });
    const total = frame.length;
    expect(frame[1]).toBe(0x82);
    for (let n = 0; n <= total; n++) {
      expect(frameLengthDer(frame.subarray(0, n)), `prefix ${n}`).toBe(n < 4 ? undefined : total);
    }
  });

  it('two frames back to back at every boundary: the first length is always the first frame', () => {
    const a = encodeTsRequest({ version: 6, negoTokens: [hex`01 02 03`] });
    const b = encodeTsRequest({ version: 6, pubKeyAuth: new Uint8Array(200) });
    const both = Uint8Array.from([...a, ...b]);
    for (let n = 2; n <= both.length; n++) expect(frameLengthDer(both.subarray(0, n))).toBe(a.length);
    expect(frameLengthDer(both.subarray(a.length))).toBe(b.length);
  });
});
