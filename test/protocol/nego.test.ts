import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/protocol/codec/errors.js';
import {
  decodeNegMessage,
  encodeNegFailure,
  encodeNegRequest,
  encodeNegResponse,
  flagNames,
  NegReqFlags,
  NegRspFlags,
  negFailureName,
  protocolNames,
  type NegMessage,
} from '../../src/protocol/nego.js';
import { hex } from '../helpers/bytes.js';
import { decodeError } from '../helpers/errors.js';

function encode(m: NegMessage): Uint8Array {
  switch (m.type) {
    case 'request':
      return encodeNegRequest({ flags: m.flags, requestedProtocols: m.requestedProtocols });
    case 'response':
      return encodeNegResponse({ flags: m.flags, selectedProtocol: m.selectedProtocol });
    case 'failure':
      return encodeNegFailure({ flags: m.flags, failureCode: m.failureCode });
  }
}

/** [MS-RDPBCGR] 2.2.1.1.1 / 2.2.1.2.1 / 2.2.1.2.2: type (1), flags (1), length (2, LE, always 8), value (4, LE). */
const cases: { name: string; msg: NegMessage; bytes: Uint8Array }[] = [
  {
    name: 'RDP_NEG_REQ PROTOCOL_RDP (MS-RDPBCGR 4.1.1)',
    msg: { type: 'request', flags: 0, requestedProtocols: 0 },
    bytes: hex`
      01           # type TYPE_RDP_NEG_REQ
      00           # flags
      08 00        # length 8
      00 00 00 00  # requestedProtocols PROTOCOL_RDP
    `,
  },
  {
    name: 'RDP_NEG_REQ SSL|HYBRID|HYBRID_EX (mstsc default)',
    msg: { type: 'request', flags: 0, requestedProtocols: 0x0b },
    bytes: hex`01 00 08 00 0b 00 00 00`,
  },
  {
    name: 'RDP_NEG_REQ with CORRELATION_INFO_PRESENT',
    msg: { type: 'request', flags: NegReqFlags.CORRELATION_INFO_PRESENT, requestedProtocols: 0x03 },
    bytes: hex`01 08 08 00 03 00 00 00`,
  },
  {
    name: 'RDP_NEG_RSP PROTOCOL_RDP (MS-RDPBCGR 4.1.2)',
    msg: { type: 'response', flags: 0, selectedProtocol: 0 },
    bytes: hex`02 00 08 00 00 00 00 00`,
  },
  {
    name: 'RDP_NEG_RSP Windows: HYBRID_EX, flags 0x1f',
    msg: { type: 'response', flags: 0x1f, selectedProtocol: 0x08 },
    bytes: hex`
      02           # type TYPE_RDP_NEG_RSP
      1f           # flags: EXTENDED_CLIENT_DATA | DYNVC_GFX | RESERVED | RESTRICTED_ADMIN | REDIRECTED_AUTH
      08 00        # length 8
      08 00 00 00  # selectedProtocol PROTOCOL_HYBRID_EX
    `,
  },
  {
    name: 'RDP_NEG_FAILURE SSL_NOT_ALLOWED_BY_SERVER',
    msg: { type: 'failure', flags: 0, failureCode: 2 },
    bytes: hex`
      03           # type TYPE_RDP_NEG_FAILURE
      00           # flags
      08 00        # length 8
      02 00 00 00  # failureCode SSL_NOT_ALLOWED_BY_SERVER
    `,
  },
  {
    name: 'RDP_NEG_FAILURE with a code above 2^31 (u32, not negative)',
    msg: { type: 'failure', flags: 0, failureCode: 0xfffffffe },
    bytes: hex`03 00 08 00 fe ff ff ff`,
  },
];

describe.each(cases)('$name', ({ msg, bytes }) => {
  it('encodes', () => {
    expect(encode(msg)).toEqual(bytes);
  });
  it('decodes', () => {
    expect(decodeNegMessage(bytes)).toEqual(msg);
  });
  it('round-trips', () => {
    expect(encode(decodeNegMessage(bytes))).toEqual(bytes);
  });
});

describe('decodeNegMessage errors', () => {
  it("rejects zeek's RDP_NEG_RSP with length field 3", () => {
    const e = decodeError(() => decodeNegMessage(hex`02 00 03 00 00 00 00 00`));
    expect(e.path).toEqual(['RDP_NEG_RSP']);
    expect(e.offset).toBe(2);
    expect(e.detail.kind).toBe('invalid_field');
    expect(e.detail).toMatchObject({ field: 'length' });
  });

  it('reports a truncated structure', () => {
    const e = decodeError(() => decodeNegMessage(hex`03 00 08 00 05 00 00`));
    expect(e.path).toEqual(['RDP_NEG_FAILURE']);
    expect(e.offset).toBe(4);
    expect(e.detail).toEqual({ kind: 'not_enough_bytes', received: 3, expected: 4 });
  });

  it('reports an empty buffer', () => {
    const e = decodeError(() => decodeNegMessage(new Uint8Array(0)));
    expect(e.path).toEqual(['RDP_NEG']);
    expect(e.detail).toEqual({ kind: 'not_enough_bytes', received: 0, expected: 1 });
  });

  it('rejects trailing bytes', () => {
    const e = decodeError(() => decodeNegMessage(hex`02 00 08 00 01 00 00 00 00`));
    expect(e.path).toEqual(['RDP_NEG_RSP']);
    expect(e.offset).toBe(8);
    expect(e.detail).toEqual({ kind: 'trailing_bytes', count: 1 });
  });

  it('rejects an unknown type', () => {
    const e = decodeError(() => decodeNegMessage(hex`07 00 08 00 00 00 00 00`));
    expect(e.path).toEqual(['RDP_NEG']);
    expect(e.detail).toEqual({ kind: 'unexpected_type', got: 7 });
  });
});

describe('names', () => {
  it.each([
    [1, 'SSL_REQUIRED_BY_SERVER'],
    [2, 'SSL_NOT_ALLOWED_BY_SERVER'],
    [3, 'SSL_CERT_NOT_ON_SERVER'],
    [4, 'INCONSISTENT_FLAGS'],
    [5, 'HYBRID_REQUIRED_BY_SERVER'],
    [6, 'SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER'],
    [99, 'unknown (0x00000063)'],
    [0, 'unknown (0x00000000)'],
  ])('negFailureName(%i) = %s', (code, name) => {
    expect(negFailureName(code)).toBe(name);
  });

  it.each([
    [0x00, 'RDP'],
    [0x01, 'SSL'],
    [0x03, 'SSL|HYBRID'],
    [0x0b, 'SSL|HYBRID|HYBRID_EX'],
    [0x1f, 'SSL|HYBRID|RDSTLS|HYBRID_EX|RDSAAD'],
    [0x20, '0x20'],
    [0x21, 'SSL|0x20'],
    [0x80000001, 'SSL|0x80000000'],
  ])('protocolNames(%i) = %s', (bits, names) => {
    expect(protocolNames(bits)).toBe(names);
  });

  it('names every RDP_NEG_RSP flag and keeps unknown bits', () => {
    expect(flagNames(0x1f, NegRspFlags)).toEqual([
      'EXTENDED_CLIENT_DATA_SUPPORTED',
      'DYNVC_GFX_PROTOCOL_SUPPORTED',
      'NEGRSP_FLAG_RESERVED',
      'RESTRICTED_ADMIN_MODE_SUPPORTED',
      'REDIRECTED_AUTHENTICATION_MODE_SUPPORTED',
    ]);
    expect(flagNames(0x28, NegRspFlags)).toEqual(['RESTRICTED_ADMIN_MODE_SUPPORTED', '0x20']);
    expect(flagNames(0, NegRspFlags)).toEqual([]);
  });
});
