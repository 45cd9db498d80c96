import { describe, expect, it } from 'vitest';
import { DecodeError, type DecodeErrorDetail } from '../../src/protocol/codec/errors.js';
import { encodeNegFailure, encodeNegResponse, NegReqFlags } from '../../src/protocol/nego.js';
import {
  decodeMcsDisconnectProviderUltimatum,
  decodeX224Frame,
  encodeConnectionConfirm,
  encodeConnectionRequest,
  encodeDataTpdu,
  encodeDisconnectRequest,
  type ConnectionConfirm,
  type ConnectionRequest,
  type X224Pdu,
} from '../../src/protocol/x224.js';
import { ascii, cat, hex } from '../helpers/bytes.js';
import { decodeError } from '../helpers/errors.js';

// ---------------------------------------------------------------------------------------------------------------
// Connection Confirm ([MS-RDPBCGR] 2.2.1.2): TPKT (4), LI (1), CC code (1), dst-ref (2), src-ref (2), class (1),
// then an optional 8-byte RDP_NEG_RSP / RDP_NEG_FAILURE.

function encodeCc(cc: ConnectionConfirm): Uint8Array {
  const base = { dstRef: cc.dstRef, srcRef: cc.srcRef, classOption: cc.classOption };
  if (!cc.neg) return encodeConnectionConfirm(base);
  const neg = cc.neg.type === 'response' ? encodeNegResponse(cc.neg) : encodeNegFailure(cc.neg);
  return encodeConnectionConfirm({ ...base, neg });
}

const confirms: { name: string; pdu: ConnectionConfirm; frame: Uint8Array }[] = [
  {
    name: 'Windows: RDP_NEG_RSP selecting HYBRID_EX, flags 0x1f',
    pdu: { type: 'connection_confirm', dstRef: 0, srcRef: 0x1234, classOption: 0, neg: { type: 'response', flags: 0x1f, selectedProtocol: 0x08 } },
    frame: hex`
      03 00 00 13   # TPKT: version 3, reserved, length 19
      0e            # X.224 length indicator 14
      d0            # CC, credit 0
      00 00         # dst-ref
      12 34         # src-ref 0x1234
      00            # class 0
      02            # RDP_NEG_RSP
      1f            # flags: EXTENDED_CLIENT_DATA | DYNVC_GFX | RESERVED | RESTRICTED_ADMIN | REDIRECTED_AUTH
      08 00         # length 8 (LE)
      08 00 00 00   # selectedProtocol PROTOCOL_HYBRID_EX
    `,
  },
  {
    name: 'RDP_NEG_FAILURE SSL_NOT_ALLOWED_BY_SERVER',
    pdu: { type: 'connection_confirm', dstRef: 0, srcRef: 0x1234, classOption: 0, neg: { type: 'failure', flags: 0, failureCode: 2 } },
    frame: hex`
      03 00 00 13 0e d0 00 00 12 34 00  # TPKT + CC header
      03                                # RDP_NEG_FAILURE
      00                                # flags
      08 00                             # length 8
      02 00 00 00                       # failureCode SSL_NOT_ALLOWED_BY_SERVER
    `,
  },
  {
    name: 'MS-RDPBCGR 4.1.2: RDP_NEG_RSP selecting PROTOCOL_RDP',
    pdu: { type: 'connection_confirm', dstRef: 0, srcRef: 0x1234, classOption: 0, neg: { type: 'response', flags: 0, selectedProtocol: 0 } },
    frame: hex`03 00 00 13 0e d0 00 00 12 34 00 02 00 08 00 00 00 00 00`,
  },
  {
    name: 'legacy Connection Confirm without negotiation data',
    pdu: { type: 'connection_confirm', dstRef: 0, srcRef: 0x1234, classOption: 0 },
    frame: hex`
      03 00 00 0b   # TPKT length 11
      06            # LI 6: no variable part
      d0 00 00 12 34 00
    `,
  },
];

describe.each(confirms)('X.224 CC: $name', ({ pdu, frame }) => {
  it('encodes', () => {
    expect(encodeCc(pdu)).toEqual(frame);
  });
  it('decodes', () => {
    expect(decodeX224Frame(frame)).toStrictEqual(pdu);
  });
  it('round-trips', () => {
    expect(encodeCc(decodeX224Frame(frame) as ConnectionConfirm)).toEqual(frame);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Connection Request ([MS-RDPBCGR] 2.2.1.1): cookie or routing token line, RDP_NEG_REQ, RDP_NEG_CORRELATION_INFO.

const correlationInfo = hex`
  06                                               # TYPE_RDP_CORRELATION_INFO
  00                                               # flags
  24 00                                            # length 36
  5a 1c 24 e3 4b 6f 41 19 a8 b0 03 2e 51 7c 60 d1  # correlationId (first byte not 00 / f4)
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  # reserved
`;

const requests: { name: string; pdu: ConnectionRequest; frame: Uint8Array }[] = [
  {
    name: 'MS-RDPBCGR 4.1.1: mstshash cookie "eltons", PROTOCOL_RDP',
    pdu: { type: 'connection_request', cookie: 'eltons', neg: { flags: 0, requestedProtocols: 0 } },
    frame: hex`
      03 00 00 2c        # TPKT length 44
      27                 # LI 39
      e0                 # CR, credit 0
      00 00 00 00 00     # dst-ref, src-ref, class
      43 6f 6f 6b 69 65 3a 20 6d 73 74 73 68 61 73 68 3d 65 6c 74 6f 6e 73 0d 0a  # "Cookie: mstshash=eltons\r\n"
      01 00 08 00        # RDP_NEG_REQ, flags 0, length 8
      00 00 00 00        # requestedProtocols PROTOCOL_RDP
    `,
  },
  {
    name: 'no cookie, SSL|HYBRID|HYBRID_EX (the probe default)',
    pdu: { type: 'connection_request', neg: { flags: 0, requestedProtocols: 0x0b } },
    frame: hex`
      03 00 00 13        # TPKT length 19
      0e e0 00 00 00 00 00
      01 00 08 00 0b 00 00 00
    `,
  },
  {
    name: 'routing token, SSL|HYBRID',
    pdu: { type: 'connection_request', routingToken: '3640205228.15629.0000', neg: { flags: 0, requestedProtocols: 0x03 } },
    frame: cat(
      hex`03 00 00 37   # TPKT length 55 = 4 + 7 + 36 (token line) + 8
          32 e0 00 00 00 00 00`,
      ascii('Cookie: msts=3640205228.15629.0000\r\n'),
      hex`01 00 08 00 03 00 00 00`,
    ),
  },
  {
    name: 'cookie, RDP_NEG_REQ with CORRELATION_INFO_PRESENT and the correlation info',
    pdu: {
      type: 'connection_request',
      cookie: 'admin',
      neg: { flags: NegReqFlags.CORRELATION_INFO_PRESENT, requestedProtocols: 0x0b },
      correlationInfo,
    },
    frame: cat(
      hex`03 00 00 4f   # TPKT length 79 = 4 + 7 + 24 (cookie line) + 8 + 36
          4a e0 00 00 00 00 00`,
      ascii('Cookie: mstshash=admin\r\n'),
      hex`01 08 08 00 0b 00 00 00  # RDP_NEG_REQ, flags CORRELATION_INFO_PRESENT`,
      correlationInfo,
    ),
  },
  {
    name: 'bare CR without negotiation request (FreeRDP /sec:rdp)',
    pdu: { type: 'connection_request', cookie: 'rdpuser' },
    frame: cat(hex`03 00 00 25 20 e0 00 00 00 00 00`, ascii('Cookie: mstshash=rdpuser\r\n')),
  },
];

function encodeCr(pdu: ConnectionRequest): Uint8Array {
  const { type: _type, ...rest } = pdu;
  return encodeConnectionRequest(rest);
}

describe.each(requests)('X.224 CR: $name', ({ pdu, frame }) => {
  it('encodes', () => {
    expect(encodeCr(pdu)).toEqual(frame);
  });
  it('decodes', () => {
    expect(decodeX224Frame(frame)).toStrictEqual(pdu);
  });
  it('round-trips', () => {
    expect(encodeCr(decodeX224Frame(frame) as ConnectionRequest)).toEqual(frame);
  });
});

it('a routing token takes the place of the cookie when both are given', () => {
  const frame = encodeConnectionRequest({ cookie: 'ignored', routingToken: 'tok', neg: { flags: 0, requestedProtocols: 1 } });
  expect(decodeX224Frame(frame)).toStrictEqual({ type: 'connection_request', routingToken: 'tok', neg: { flags: 0, requestedProtocols: 1 } });
});

// ---------------------------------------------------------------------------------------------------------------
// Disconnect Request, Data, Error TPDUs.

const others: { name: string; pdu: X224Pdu; frame: Uint8Array; encode?: () => Uint8Array }[] = [
  {
    name: 'xrdp MCS Disconnect Provider Ultimatum in a DT',
    pdu: { type: 'data', eot: true, data: hex`21 80` },
    frame: hex`
      03 00 00 09   # TPKT length 9
      02            # LI 2
      f0            # DT
      80            # EOT
      21 80         # MCS DPUm, reason rn-user-requested
    `,
    encode: () => encodeDataTpdu(hex`21 80`),
  },
  {
    name: 'empty DT',
    pdu: { type: 'data', eot: true, data: new Uint8Array(0) },
    frame: hex`03 00 00 07 02 f0 80`,
    encode: () => encodeDataTpdu(new Uint8Array(0)),
  },
  {
    name: 'DT without EOT',
    pdu: { type: 'data', eot: false, data: hex`7f` },
    frame: hex`03 00 00 08 02 f0 00 7f`,
  },
  {
    name: 'Disconnect Request, reason 1',
    pdu: { type: 'disconnect_request', dstRef: 0, srcRef: 0, reason: 1 },
    frame: hex`
      03 00 00 0b   # TPKT length 11
      06 80         # LI 6, DR
      00 00 00 00   # dst-ref, src-ref
      01            # reason 1 (congestion)
    `,
    encode: () => encodeDisconnectRequest(1),
  },
  {
    name: 'Disconnect Request with an additional-information parameter',
    pdu: { type: 'disconnect_request', dstRef: 0x0102, srcRef: 0x0304, reason: 0 },
    frame: hex`03 00 00 0e 09 80 01 02 03 04 00 e0 01 41`,
  },
  {
    name: 'Error TPDU, reject cause 2 (invalid parameter code)',
    pdu: { type: 'error', rejectCause: 2 },
    frame: hex`
      03 00 00 0d   # TPKT length 13
      08 70         # LI 8, ER
      00 00         # dst-ref
      02            # reject cause
      c1 02 e0 00   # parameter: invalid TPDU, 2 bytes
    `,
  },
];

describe.each(others)('X.224: $name', ({ pdu, frame }) => {
  it('decodes', () => {
    expect(decodeX224Frame(frame)).toStrictEqual(pdu);
  });
});

describe.each(others.filter((o) => o.encode !== undefined))('X.224: $name', ({ frame, encode }) => {
  it('encodes', () => {
    expect(encode!()).toEqual(frame);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Errors: kind, field and path exactly.

const errors: {
  name: string;
  frame: Uint8Array;
  path: string[];
  offset: number;
  detail: Partial<DecodeErrorDetail> & { kind: DecodeErrorDetail['kind'] };
}[] = [
  {
    name: "zeek's RDP_NEG_RSP with length field 3",
    frame: hex`
      03 00 00 13 0e d0 00 00 12 34 00
      02 00        # RDP_NEG_RSP, flags 0
      03 00        # length 3: must be 8
      00 00 00 00
    `,
    path: ['TPKT', 'X.224 CC', 'RDP_NEG_RSP'],
    offset: 13,
    detail: { kind: 'invalid_field', field: 'length' },
  },
  {
    name: '7 bytes of negotiation data',
    frame: hex`03 00 00 12 0d d0 00 00 12 34 00 02 00 08 00 08 00 00`,
    path: ['TPKT', 'X.224 CC', 'RDP_NEG_RSP'],
    offset: 11,
    detail: { kind: 'invalid_field', field: 'length' },
  },
  {
    name: '9 bytes of negotiation failure data',
    frame: hex`03 00 00 14 0f d0 00 00 12 34 00 03 00 08 00 05 00 00 00 00`,
    path: ['TPKT', 'X.224 CC', 'RDP_NEG_FAILURE'],
    offset: 11,
    detail: { kind: 'invalid_field', field: 'length' },
  },
  {
    name: 'a CC carrying an RDP_NEG_REQ',
    frame: hex`03 00 00 13 0e d0 00 00 12 34 00 01 00 08 00 03 00 00 00`,
    path: ['TPKT', 'X.224 CC', 'RDP_NEG_REQ'],
    offset: 11,
    detail: { kind: 'unexpected_type', got: 1, expected: 'RDP_NEG_RSP or RDP_NEG_FAILURE' },
  },
  {
    name: 'a CC with an unknown negotiation type',
    frame: hex`03 00 00 13 0e d0 00 00 12 34 00 09 00 08 00 03 00 00 00`,
    path: ['TPKT', 'X.224 CC', 'RDP_NEG'],
    offset: 11,
    detail: { kind: 'unexpected_type', got: 9 },
  },
  {
    name: 'a length indicator that disagrees with the TPKT length',
    frame: hex`03 00 00 13 0d d0 00 00 12 34 00 02 00 08 00 00 00 00 00`,
    path: ['TPKT', 'X.224 CC'],
    offset: 4,
    detail: { kind: 'invalid_field', field: 'length indicator' },
  },
  {
    name: 'a CC too short for its fixed part',
    frame: hex`03 00 00 07 02 d0 00`,
    path: ['TPKT', 'X.224 CC'],
    offset: 6,
    detail: { kind: 'not_enough_bytes', received: 1, expected: 2 },
  },
  {
    name: 'an unknown TPDU code (DC)',
    frame: hex`03 00 00 0b 06 c0 00 00 00 00 00`,
    path: ['TPKT', 'X.224'],
    offset: 5,
    detail: { kind: 'unexpected_type', got: 0xc0 },
  },
  {
    name: 'a DT whose length indicator is not 2',
    frame: hex`03 00 00 0a 03 f0 80 21 80 00`,
    path: ['TPKT', 'X.224 DT'],
    offset: 4,
    detail: { kind: 'invalid_field', field: 'length indicator' },
  },
  {
    name: 'a TPKT payload of one byte',
    frame: hex`03 00 00 05 00`,
    path: ['TPKT', 'X.224'],
    offset: 5,
    detail: { kind: 'not_enough_bytes', received: 0, expected: 1 },
  },
  {
    name: 'a CR cookie without CR LF',
    frame: cat(hex`03 00 00 20 1b e0 00 00 00 00 00`, ascii('Cookie: mstshash=user')),
    path: ['TPKT', 'X.224 CR'],
    offset: 11,
    detail: { kind: 'invalid_field', field: 'cookie' },
  },
  {
    name: 'a CR carrying an RDP_NEG_RSP',
    frame: hex`03 00 00 13 0e e0 00 00 00 00 00 02 00 08 00 01 00 00 00`,
    path: ['TPKT', 'X.224 CR'],
    offset: 11,
    detail: { kind: 'unexpected_type', got: 2, expected: 1 },
  },
  {
    name: 'a CR with an RDP_NEG_REQ of length 3',
    frame: hex`03 00 00 13 0e e0 00 00 00 00 00 01 00 03 00 01 00 00 00`,
    path: ['TPKT', 'X.224 CR', 'RDP_NEG_REQ'],
    offset: 13,
    detail: { kind: 'invalid_field', field: 'length' },
  },
  {
    name: 'a CR with 3 bytes after the RDP_NEG_REQ',
    frame: hex`03 00 00 16 11 e0 00 00 00 00 00 01 00 08 00 01 00 00 00 aa bb cc`,
    path: ['TPKT', 'X.224 CR'],
    offset: 19,
    detail: { kind: 'trailing_bytes', count: 3 },
  },
  {
    name: 'a TPKT frame shorter than its length field',
    frame: hex`03 00 00 13 0e d0 00 00 12 34 00`,
    path: ['TPKT'],
    offset: 2,
    detail: { kind: 'not_enough_bytes', received: 11, expected: 19 },
  },
  {
    name: 'a TPKT version other than 3',
    frame: hex`16 03 01 00 05 01 00 00 01 00`,
    path: ['TPKT'],
    offset: 0,
    detail: { kind: 'unexpected_type', got: 0x16, expected: 3 },
  },
];

describe.each(errors)('decodeX224Frame rejects $name', ({ frame, path, offset, detail }) => {
  it('with the exact path, offset and detail', () => {
    const e = decodeError(() => decodeX224Frame(frame));
    expect(e.path).toEqual(path);
    expect(e.offset).toBe(offset);
    expect(e.detail).toMatchObject(detail);
    expect(e.message.startsWith(`${path.join(' > ')} at offset ${offset}: `)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// [T.125] Disconnect-Provider-Ultimatum: PER choice 8 in the top 6 bits, reason in the next 3.

describe('decodeMcsDisconnectProviderUltimatum', () => {
  it.each([
    [0, 'rn-domain-disconnected', hex`20 00`],
    [1, 'rn-provider-initiated', hex`20 80`],
    [2, 'rn-token-purged', hex`21 00`],
    [3, 'rn-user-requested', hex`21 80`],
    [4, 'rn-channel-purged', hex`22 00`],
  ])('reason %i = %s', (reason, reasonName, data) => {
    expect(decodeMcsDisconnectProviderUltimatum(data)).toEqual({ reason, reasonName });
  });

  it('keeps an unknown reason as a number', () => {
    expect(decodeMcsDisconnectProviderUltimatum(hex`23 80`)).toEqual({ reason: 7, reasonName: 'unknown (7)' });
  });

  it('ignores other MCS PDUs and short data', () => {
    expect(decodeMcsDisconnectProviderUltimatum(hex`7f 66 82 01 00`)).toBeUndefined(); // BER Connect-Response
    expect(decodeMcsDisconnectProviderUltimatum(hex`04 01 00 01`)).toBeUndefined(); // Erect-Domain-Request
    expect(decodeMcsDisconnectProviderUltimatum(hex`21`)).toBeUndefined();
  });
});
