import { ByteReader } from './codec/reader.js';
import { DecodeError, nested } from './codec/errors.js';
import { ByteWriter } from './codec/writer.js';
import { decodeNegMessage, encodeNegRequest, NEG_LENGTH, NEG_TYPE_CORRELATION_INFO, type NegMessage } from './nego.js';
import { decodeTpkt, encodeTpkt } from './tpkt.js';

/** [X.224] TPDU codes (upper nibble of the second byte), as used by [MS-RDPBCGR] 2.2.1.1 / 2.2.1.2. */
export const X224Code = {
  CONNECTION_REQUEST: 0xe0,
  CONNECTION_CONFIRM: 0xd0,
  DISCONNECT_REQUEST: 0x80,
  DATA: 0xf0,
  ERROR: 0x70,
} as const;

const CODE_NAMES: Record<number, string> = {
  0xe0: 'X.224 CR',
  0xd0: 'X.224 CC',
  0x80: 'X.224 DR',
  0xf0: 'X.224 DT',
  0x70: 'X.224 ER',
};

export interface ConnectionRequest {
  type: 'connection_request';
  /** `Cookie: mstshash=<value>` (the value only). */
  cookie?: string;
  /** `Cookie: msts=<value>` routing token (the value only). */
  routingToken?: string;
  neg?: { flags: number; requestedProtocols: number };
  /** RDP_NEG_CORRELATION_INFO present (36 bytes, not decoded further). */
  correlationInfo?: Uint8Array;
}

export interface ConnectionConfirm {
  type: 'connection_confirm';
  dstRef: number;
  srcRef: number;
  classOption: number;
  /** Absent for a legacy Connection Confirm without negotiation data. */
  neg?: Exclude<NegMessage, { type: 'request' }>;
}

export interface DisconnectRequest {
  type: 'disconnect_request';
  dstRef: number;
  srcRef: number;
  reason: number;
}

export interface DataTpdu {
  type: 'data';
  eot: boolean;
  data: Uint8Array;
}

export interface ErrorTpdu {
  type: 'error';
  rejectCause: number;
}

export type X224Pdu = ConnectionRequest | ConnectionConfirm | DisconnectRequest | DataTpdu | ErrorTpdu;

/** Builds a whole TPKT frame carrying an X.224 Connection Request with RDP_NEG_REQ. */
export function encodeConnectionRequest(cr: Omit<ConnectionRequest, 'type'>): Uint8Array {
  const variable = new ByteWriter(64);
  if (cr.routingToken !== undefined) variable.bytes(ascii(`Cookie: msts=${cr.routingToken}\r\n`));
  else if (cr.cookie !== undefined) variable.bytes(ascii(`Cookie: mstshash=${cr.cookie}\r\n`));
  if (cr.neg) variable.bytes(encodeNegRequest(cr.neg));
  if (cr.correlationInfo) variable.bytes(cr.correlationInfo);
  const v = variable.finish();
  const w = new ByteWriter(7 + v.length);
  w.u8(6 + v.length).u8(X224Code.CONNECTION_REQUEST).u16be(0).u16be(0).u8(0).bytes(v);
  return encodeTpkt(w.finish());
}

/** Builds a whole TPKT frame carrying an X.224 Connection Confirm (for the lab server and tests). */
export function encodeConnectionConfirm(cc: Omit<ConnectionConfirm, 'type' | 'neg'> & { neg?: Uint8Array }): Uint8Array {
  const v = cc.neg ?? new Uint8Array(0);
  const w = new ByteWriter(7 + v.length);
  w.u8(6 + v.length).u8(X224Code.CONNECTION_CONFIRM).u16be(cc.dstRef).u16be(cc.srcRef).u8(cc.classOption).bytes(v);
  return encodeTpkt(w.finish());
}

export function encodeDisconnectRequest(reason = 0): Uint8Array {
  const w = new ByteWriter(7);
  w.u8(6).u8(X224Code.DISCONNECT_REQUEST).u16be(0).u16be(0).u8(reason);
  return encodeTpkt(w.finish());
}

export function encodeDataTpdu(data: Uint8Array): Uint8Array {
  const w = new ByteWriter(3 + data.length);
  w.u8(2).u8(X224Code.DATA).u8(0x80).bytes(data);
  return encodeTpkt(w.finish());
}

/** Decodes one whole TPKT frame holding an X.224 TPDU. */
export function decodeX224Frame(frame: Uint8Array): X224Pdu {
  const payload = decodeTpkt(frame);
  return nested('TPKT', 4, () => decodeX224(payload));
}

/** Decodes an X.224 TPDU (the TPKT payload). Strict: the length indicator must match the payload. */
export function decodeX224(bytes: Uint8Array): X224Pdu {
  const r = new ByteReader(bytes, 'X.224');
  const li = r.u8();
  const codeByte = r.u8();
  const code = codeByte & 0xf0;
  const name = CODE_NAMES[code];
  if (name === undefined) throw new DecodeError('X.224', 1, { kind: 'unexpected_type', got: codeByte });
  if (code === X224Code.DATA) {
    if (li !== 2) throw new DecodeError(name, 0, { kind: 'invalid_field', field: 'length indicator', reason: `must be 2 for a Data TPDU, got ${li}` });
    const eot = r.u8();
    return { type: 'data', eot: (eot & 0x80) !== 0, data: r.rest() };
  }
  if (li !== bytes.length - 1) {
    throw new DecodeError(name, 0, {
      kind: 'invalid_field',
      field: 'length indicator',
      reason: `says ${li} bytes follow, ${bytes.length - 1} do`,
    });
  }
  const body = new ByteReader(bytes, name);
  body.skip(2);
  switch (code) {
    case X224Code.CONNECTION_CONFIRM: {
      const dstRef = body.u16be();
      const srcRef = body.u16be();
      const classOption = body.u8();
      if (body.remaining === 0) return { type: 'connection_confirm', dstRef, srcRef, classOption };
      const at = body.offset;
      if (body.remaining !== NEG_LENGTH) {
        // RDP_NEG_RSP / RDP_NEG_FAILURE are the only variable part a server may send.
        const negName = bytes[at] === 3 ? 'RDP_NEG_FAILURE' : bytes[at] === 2 ? 'RDP_NEG_RSP' : 'RDP_NEG';
        throw new DecodeError(negName, 0, {
          kind: 'invalid_field',
          field: 'length',
          reason: `negotiation data is ${body.remaining} bytes, must be ${NEG_LENGTH}`,
        }).within(name, at);
      }
      const neg = nested(name, at, () => decodeNegMessage(body.rest()));
      if (neg.type === 'request') {
        throw new DecodeError('RDP_NEG_REQ', 0, { kind: 'unexpected_type', got: 1, expected: 'RDP_NEG_RSP or RDP_NEG_FAILURE' }).within(name, at);
      }
      return { type: 'connection_confirm', dstRef, srcRef, classOption, neg };
    }
    case X224Code.DISCONNECT_REQUEST: {
      const dstRef = body.u16be();
      const srcRef = body.u16be();
      const reason = body.u8();
      // Optional parameters (e.g. additional information) may follow; they are ignored.
      return { type: 'disconnect_request', dstRef, srcRef, reason };
    }
    case X224Code.ERROR: {
      body.skip(2);
      const rejectCause = body.u8();
      return { type: 'error', rejectCause };
    }
    case X224Code.CONNECTION_REQUEST:
      return decodeConnectionRequestBody(body);
    default:
      throw new DecodeError(name, 1, { kind: 'unexpected_type', got: codeByte });
  }
}

function decodeConnectionRequestBody(r: ByteReader): ConnectionRequest {
  r.skip(5); // dst-ref, src-ref, class option
  const out: ConnectionRequest = { type: 'connection_request' };
  const bytes = r.rest();
  let pos = 0;
  if (startsWithAscii(bytes, 'Cookie: ')) {
    const end = indexOfCrLf(bytes, 0);
    if (end < 0) throw new DecodeError('X.224 CR', 7, { kind: 'invalid_field', field: 'cookie', reason: 'no CR LF terminator' });
    const line = String.fromCharCode(...bytes.subarray(0, end));
    if (line.startsWith('Cookie: mstshash=')) out.cookie = line.slice('Cookie: mstshash='.length);
    else if (line.startsWith('Cookie: msts=')) out.routingToken = line.slice('Cookie: msts='.length);
    else out.cookie = line.slice('Cookie: '.length);
    pos = end + 2;
  }
  if (pos < bytes.length) {
    const neg = nested('X.224 CR', 7 + pos, () => decodeNegMessage(bytes.subarray(pos, pos + NEG_LENGTH)));
    if (neg.type !== 'request') throw new DecodeError('X.224 CR', 7 + pos, { kind: 'unexpected_type', got: bytes[pos]!, expected: 1 });
    out.neg = { flags: neg.flags, requestedProtocols: neg.requestedProtocols };
    pos += NEG_LENGTH;
    if (pos < bytes.length) {
      if (bytes[pos] !== NEG_TYPE_CORRELATION_INFO || bytes.length - pos !== 36) {
        throw new DecodeError('X.224 CR', 7 + pos, { kind: 'trailing_bytes', count: bytes.length - pos });
      }
      out.correlationInfo = bytes.slice(pos);
    }
  }
  return out;
}

function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0x7f;
  return out;
}
function startsWithAscii(b: Uint8Array, s: string): boolean {
  if (b.length < s.length) return false;
  for (let i = 0; i < s.length; i++) if (b[i] !== s.charCodeAt(i)) return false;
  return true;
}
function indexOfCrLf(b: Uint8Array, from: number): number {
  for (let i = from; i + 1 < b.length; i++) if (b[i] === 0x0d && b[i + 1] === 0x0a) return i;
  return -1;
}

/**
 * [T.125] MCS Disconnect-Provider-Ultimatum, as servers send it inside an X.224 Data TPDU when they give up
 * (xrdp after a negotiation failure or a TLS setup failure). PER: choice 8 in the top 6 bits, reason in the
 * next 3 bits.
 */
export function decodeMcsDisconnectProviderUltimatum(data: Uint8Array): { reason: number; reasonName: string } | undefined {
  if (data.length < 2) return undefined;
  if (data[0]! >> 2 !== 8) return undefined;
  const reason = ((data[0]! & 0x03) << 1) | (data[1]! >> 7);
  const names = ['rn-domain-disconnected', 'rn-provider-initiated', 'rn-token-purged', 'rn-user-requested', 'rn-channel-purged'];
  return { reason, reasonName: names[reason] ?? `unknown (${reason})` };
}
