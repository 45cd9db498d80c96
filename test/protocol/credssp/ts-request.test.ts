/** TSRequest ([MS-CSSP] 2.2.1): hand-built DER, round trips, negative errorCode, strictness, fuzz. */
import { describe, expect, it } from 'vitest';
import { DecodeError, EncodeError } from '../../../src/protocol/codec/errors.js';
import { decodeTsRequest, encodeTsRequest, type TsRequest } from '../../../src/protocol/credssp/ts-request.js';
import { hex, toSpacedHex } from '../../helpers/bytes.js';
import { prng } from '../../helpers/prng.js';

const NEGOTIATE_START = hex`4e 54 4c 4d 53 53 50 00 01 00 00 00`;
const NONCE = Uint8Array.from({ length: 32 }, (_, i) => i);

const CASES: { name: string; pdu: TsRequest; der: Uint8Array }[] = [
  {
    name: 'version 6 with one negoToken',
    pdu: { version: 6, negoTokens: [NEGOTIATE_START] },
    der: hex`
      30 1b                   # TSRequest SEQUENCE, 27 bytes
        a0 03 02 01 06        # [0] version INTEGER 6
        a1 14                 # [1] negoTokens, 20 bytes
          30 12               # NegoData SEQUENCE OF, 18 bytes
            30 10             # NegoDataItem SEQUENCE, 16 bytes
              a0 0e           # [0] negoToken, 14 bytes
                04 0c 4e 54 4c 4d 53 53 50 00 01 00 00 00   # OCTET STRING, 12 bytes
    `,
  },
  {
    name: 'every other field, errorCode 0xC000006D as a negative INTEGER',
    pdu: { version: 6, authInfo: hex`aa bb`, pubKeyAuth: hex`01 02 03 04`, errorCode: 0xc000006d, clientNonce: NONCE },
    der: hex`
      30 3f                   # TSRequest SEQUENCE, 63 bytes
        a0 03 02 01 06        # [0] version 6
        a2 04 04 02 aa bb     # [2] authInfo
        a3 06 04 04 01 02 03 04                 # [3] pubKeyAuth
        a4 06 02 04 c0 00 00 6d                 # [4] errorCode INTEGER -1073741715 = 0xC000006D
        a5 22 04 20 ${NONCE}                    # [5] clientNonce, 32 bytes
    `,
  },
  {
    name: 'version 2 alone',
    pdu: { version: 2 },
    der: hex`30 05 a0 03 02 01 02`,
  },
  {
    name: 'a 200-byte token (long-form lengths)',
    pdu: { version: 3, negoTokens: [new Uint8Array(200).fill(0x5a)] },
    der: hex`
      30 81 dc                # SEQUENCE, 220 bytes
        a0 03 02 01 03        # [0] version 3
        a1 81 d4              # [1] 212 bytes
          30 81 d1            # SEQUENCE OF, 209 bytes
            30 81 ce          # SEQUENCE, 206 bytes
              a0 81 cb        # [0] 203 bytes
                04 81 c8 ${new Uint8Array(200).fill(0x5a)}   # OCTET STRING, 200 bytes
    `,
  },
  {
    name: 'two negoTokens and errorCode 0',
    pdu: { version: 4, negoTokens: [hex`01`, hex`02 03`], errorCode: 0 },
    der: hex`
      30 1d                   # SEQUENCE, 29 bytes
        a0 03 02 01 04        # [0] version 4
        a1 11 30 0f           # [1] negoTokens: SEQUENCE OF, 15 bytes
          30 05 a0 03 04 01 01        # { [0] 01 }
          30 06 a0 04 04 02 02 03     # { [0] 02 03 }
        a4 03 02 01 00        # errorCode 0
    `,
  },
];

describe.each(CASES)('TSRequest: $name', ({ pdu, der }) => {
  it('encodes', () => {
    expect(toSpacedHex(encodeTsRequest(pdu))).toBe(toSpacedHex(der));
  });
  it('decodes', () => {
    expect(decodeTsRequest(der)).toEqual(pdu);
  });
  it('round-trips', () => {
    expect(decodeTsRequest(encodeTsRequest(pdu))).toEqual(pdu);
  });
  it('every truncation is a DecodeError', () => {
    for (let n = 0; n < der.length; n++) expect(() => decodeTsRequest(der.subarray(0, n)), `length ${n}`).toThrow(DecodeError);
  });
});

function err(bytes: Uint8Array): DecodeError {
  try {
    decodeTsRequest(bytes);
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw e;
  }
  throw new Error(`decoded ${toSpacedHex(bytes)} without error`);
}

describe('decodeTsRequest: values', () => {
  it('errorCode inside a TSRequest: a4 06 02 04 c0 00 00 6d → 0xC000006D', () => {
    const r = decodeTsRequest(hex`30 0d a0 03 02 01 06 a4 06 02 04 c0 00 00 6d`);
    expect(r.errorCode).toBe(0xc000006d);
  });

  it('also accepts the positive 5-byte form of an NTSTATUS', () => {
    expect(decodeTsRequest(hex`30 0e a0 03 02 01 06 a4 07 02 05 00 c0 00 00 6d`).errorCode).toBe(0xc000006d);
  });

  it('rejects an errorCode outside 32 bits', () => {
    expect(err(hex`30 0e a0 03 02 01 06 a4 07 02 05 01 00 00 00 00`).detail).toMatchObject({ field: 'errorCode' });
  });

  it('keeps a version above 6 (nmap sends 0x60)', () => {
    expect(decodeTsRequest(hex`30 05 a0 03 02 01 60`).version).toBe(0x60);
    expect(decodeTsRequest(hex`30 05 a0 03 02 01 07`).version).toBe(7);
  });

  it('rejects versions 0, 1 and negative ones', () => {
    expect(err(hex`30 05 a0 03 02 01 01`).detail).toEqual({ kind: 'unsupported_value', name: 'version', value: 1 });
    expect(err(hex`30 05 a0 03 02 01 00`).detail).toMatchObject({ kind: 'unsupported_value', name: 'version' });
    expect(err(hex`30 05 a0 03 02 01 ff`).detail).toEqual({ kind: 'unsupported_value', name: 'version', value: -1 });
    expect(err(hex`30 09 a0 07 02 05 01 00 00 00 00`).detail).toMatchObject({ kind: 'unsupported_value', name: 'version' });
  });

  it('rejects a clientNonce that is not 32 bytes', () => {
    const e = err(hex`30 0b a0 03 02 01 06 a5 04 04 02 00 00`);
    expect(e.detail).toMatchObject({ kind: 'invalid_field', field: 'clientNonce' });
    expect(e.offset).toBe(9);
  });
});

describe('decodeTsRequest: strict DER', () => {
  it.each([
    ['not a SEQUENCE', hex`31 05 a0 03 02 01 06`, { kind: 'unexpected_type', got: 0x31, expected: 0x30 }],
    ['long-form length for a short value', hex`30 81 05 a0 03 02 01 06`, { kind: 'invalid_field', field: 'length' }],
    ['indefinite length', hex`30 80 a0 03 02 01 06 00 00`, { kind: 'invalid_field', field: 'length' }],
    ['length with a leading zero', hex`30 82 00 05 a0 03 02 01 06`, { kind: 'invalid_field', field: 'length' }],
    ['trailing bytes', hex`30 05 a0 03 02 01 06 00`, { kind: 'trailing_bytes', count: 1 }],
    ['INTEGER padded with 00', hex`30 06 a0 04 02 02 00 06`, { kind: 'invalid_field', field: 'INTEGER' }],
    ['INTEGER padded with ff', hex`30 06 a0 04 02 02 ff ff`, { kind: 'invalid_field', field: 'INTEGER' }],
    ['empty INTEGER', hex`30 04 a0 02 02 00`, { kind: 'invalid_field', field: 'INTEGER' }],
    ['inner length past the parent', hex`30 05 a0 02 02 01 06`, { kind: 'invalid_field', field: 'length' }],
  ])('%s', (_name, bytes, detail) => {
    expect(err(bytes).detail).toMatchObject(detail);
  });
});

describe('decodeTsRequest: structure', () => {
  it.each([
    ['missing version', hex`30 06 a3 04 04 02 aa bb`, { kind: 'invalid_field', field: 'version', reason: 'missing' }],
    ['empty SEQUENCE', hex`30 00`, { kind: 'invalid_field', field: 'version', reason: 'missing' }],
    ['fields out of order', hex`30 11 a0 03 02 01 06 a3 04 04 02 aa bb a2 04 04 02 aa bb`, { kind: 'unexpected_type', got: '[2]', expected: '[4]..[5]' }],
    ['a field twice', hex`30 11 a0 03 02 01 06 a3 04 04 02 aa bb a3 04 04 02 aa bb`, { kind: 'unexpected_type', got: '[3]' }],
    ['unknown tag [6]', hex`30 0b a0 03 02 01 06 a6 04 04 02 aa bb`, { kind: 'unexpected_type', got: '[6]' }],
    ['primitive [0]', hex`30 03 80 01 06`, { kind: 'unexpected_type', got: '[0]' }],
    ['universal element', hex`30 08 a0 03 02 01 06 04 01 00`, { kind: 'unexpected_type', got: 'OCTET STRING' }],
    ['two values in one explicit tag', hex`30 08 a0 06 02 01 06 02 01 06`, { kind: 'invalid_field', field: 'version' }],
    ['OCTET STRING where INTEGER belongs', hex`30 05 a0 03 04 01 06`, { kind: 'invalid_field', field: 'version' }],
    ['INTEGER where OCTET STRING belongs', hex`30 0a a0 03 02 01 06 a3 03 02 01 00`, { kind: 'invalid_field', field: 'pubKeyAuth' }],
    ['constructed OCTET STRING (BER only)', hex`30 0e a0 03 02 01 06 a3 07 24 05 04 03 01 02 03`, { kind: 'invalid_field', field: 'pubKeyAuth' }],
  ])('%s', (_name, bytes, detail) => {
    const e = err(bytes);
    expect(e.detail).toMatchObject(detail);
    expect(e.path).toEqual(['TSRequest']);
  });

  it.each([
    ['empty NegoData', hex`30 09 a0 03 02 01 06 a1 02 30 00`, { field: 'NegoData', reason: 'empty' }],
    ['NegoData item with a second field', hex`30 12 a0 03 02 01 06 a1 0b 30 09 30 07 a0 03 04 01 01 a1 00`, { field: 'NegoDataItem' }],
    ['negoToken with the wrong tag', hex`30 0f a0 03 02 01 06 a1 08 30 06 30 04 a1 02 04 00`, { kind: 'unexpected_type', got: '[1]' }],
    ['negoToken not an OCTET STRING', hex`30 10 a0 03 02 01 06 a1 09 30 07 30 05 a0 03 02 01 01`, { field: 'negoToken' }],
    ['NegoData not a SEQUENCE', hex`30 0a a0 03 02 01 06 a1 03 04 01 00`, { field: 'NegoData' }],
  ])('%s', (_name, bytes, detail) => {
    const e = err(bytes);
    expect(e.detail).toMatchObject(detail);
    expect(e.path).toEqual(['TSRequest', 'NegoData']);
  });

  it('reports the offset of the offending element', () => {
    expect(err(hex`30 0b a0 03 02 01 06 a6 04 04 02 aa bb`).offset).toBe(7);
  });
});

describe('encodeTsRequest: refusals', () => {
  it.each([
    ['negative version', { version: -1 }],
    ['fractional version', { version: 2.5 }],
    ['empty negoTokens', { version: 6, negoTokens: [] }],
    ['negative errorCode', { version: 6, errorCode: -5 }],
    ['errorCode over 32 bits', { version: 6, errorCode: 0x100000000 }],
    ['short clientNonce', { version: 6, clientNonce: new Uint8Array(31) }],
  ])('%s', (_name, pdu) => {
    expect(() => encodeTsRequest(pdu as TsRequest)).toThrow(EncodeError);
  });
});

describe('decodeTsRequest: fuzz', () => {
  it('seeded random mutations of valid encodings give a value or a DecodeError', () => {
    const r = prng(0xc5c5);
    const seeds = CASES.map((c) => c.der);
    for (let i = 0; i < 5000; i++) {
      const s = seeds[r.int(seeds.length)]!.slice();
      const mode = r.int(4);
      let input: Uint8Array = s;
      if (mode === 0) {
        for (let k = 1 + r.int(3); k > 0; k--) s[r.int(s.length)] = r.int(256);
      } else if (mode === 1) {
        input = s.subarray(0, r.int(s.length + 1));
      } else if (mode === 2) {
        const at = r.int(s.length);
        input = Uint8Array.from([...s.subarray(0, at), r.int(256), ...s.subarray(at)]);
      } else {
        const at = r.int(s.length);
        input = Uint8Array.from([...s.subarray(0, at), ...s.subarray(at + 1)]);
      }
      try {
        const v = decodeTsRequest(input);
        // Whatever decodes must re-encode to the same bytes: the decoder accepts canonical DER only.
        // (The positive 5-byte errorCode form is the one exception, and mutations cannot produce it here.)
        expect(toSpacedHex(encodeTsRequest(v))).toBe(toSpacedHex(input));
      } catch (e) {
        if (!(e instanceof DecodeError)) throw new Error(`non-DecodeError for ${toSpacedHex(input)}: ${String(e)}`);
      }
    }
  });

  it('random bytes after a SEQUENCE header give a value or a DecodeError', () => {
    const r = prng(99);
    for (let i = 0; i < 3000; i++) {
      const n = r.int(40);
      const body = Uint8Array.from({ length: n }, () => (r.int(3) === 0 ? [0xa0, 0xa1, 0xa3, 0xa4, 0x30, 0x02, 0x04][r.int(7)]! : r.int(256)));
      const input = Uint8Array.from([0x30, n, ...body]);
      try {
        decodeTsRequest(input);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw new Error(`non-DecodeError for ${toSpacedHex(input)}: ${String(e)}`);
      }
    }
  });
});
