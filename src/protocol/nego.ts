import { ByteReader } from './codec/reader.js';
import { DecodeError } from './codec/errors.js';
import { ByteWriter } from './codec/writer.js';

/** [MS-RDPBCGR] 2.2.1.1.1 requestedProtocols / 2.2.1.2.1 selectedProtocol flags. */
export const SecurityProtocol = {
  PROTOCOL_RDP: 0x00,
  PROTOCOL_SSL: 0x01,
  PROTOCOL_HYBRID: 0x02,
  PROTOCOL_RDSTLS: 0x04,
  PROTOCOL_HYBRID_EX: 0x08,
  PROTOCOL_RDSAAD: 0x10,
} as const;

/** [MS-RDPBCGR] 2.2.1.1.1 RDP_NEG_REQ flags. */
export const NegReqFlags = {
  RESTRICTED_ADMIN_MODE_REQUIRED: 0x01,
  REDIRECTED_AUTHENTICATION_MODE_REQUIRED: 0x02,
  CORRELATION_INFO_PRESENT: 0x08,
} as const;

/** [MS-RDPBCGR] 2.2.1.2.1 RDP_NEG_RSP flags. */
export const NegRspFlags = {
  EXTENDED_CLIENT_DATA_SUPPORTED: 0x01,
  DYNVC_GFX_PROTOCOL_SUPPORTED: 0x02,
  NEGRSP_FLAG_RESERVED: 0x04,
  RESTRICTED_ADMIN_MODE_SUPPORTED: 0x08,
  REDIRECTED_AUTHENTICATION_MODE_SUPPORTED: 0x10,
} as const;

/** [MS-RDPBCGR] 2.2.1.2.2 RDP_NEG_FAILURE failureCode. */
export const NegFailureCode = {
  SSL_REQUIRED_BY_SERVER: 0x01,
  SSL_NOT_ALLOWED_BY_SERVER: 0x02,
  SSL_CERT_NOT_ON_SERVER: 0x03,
  INCONSISTENT_FLAGS: 0x04,
  HYBRID_REQUIRED_BY_SERVER: 0x05,
  SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER: 0x06,
} as const;

export const NEG_TYPE_REQ = 0x01;
export const NEG_TYPE_RSP = 0x02;
export const NEG_TYPE_FAILURE = 0x03;
export const NEG_TYPE_CORRELATION_INFO = 0x06;
export const NEG_LENGTH = 8;

export interface NegRequest {
  type: 'request';
  flags: number;
  requestedProtocols: number;
}
export interface NegResponse {
  type: 'response';
  flags: number;
  selectedProtocol: number;
}
export interface NegFailure {
  type: 'failure';
  flags: number;
  failureCode: number;
}
export type NegMessage = NegRequest | NegResponse | NegFailure;

export function encodeNegRequest(req: Omit<NegRequest, 'type'>): Uint8Array {
  return new ByteWriter(NEG_LENGTH).u8(NEG_TYPE_REQ).u8(req.flags).u16le(NEG_LENGTH).u32le(req.requestedProtocols).finish();
}

export function encodeNegResponse(rsp: Omit<NegResponse, 'type'>): Uint8Array {
  return new ByteWriter(NEG_LENGTH).u8(NEG_TYPE_RSP).u8(rsp.flags).u16le(NEG_LENGTH).u32le(rsp.selectedProtocol).finish();
}

export function encodeNegFailure(f: Omit<NegFailure, 'type'>): Uint8Array {
  return new ByteWriter(NEG_LENGTH).u8(NEG_TYPE_FAILURE).u8(f.flags).u16le(NEG_LENGTH).u32le(f.failureCode).finish();
}

const NEG_PDU_NAMES: Record<number, string> = {
  [NEG_TYPE_REQ]: 'RDP_NEG_REQ',
  [NEG_TYPE_RSP]: 'RDP_NEG_RSP',
  [NEG_TYPE_FAILURE]: 'RDP_NEG_FAILURE',
};

/** Decodes one 8-byte negotiation structure (the whole buffer). */
export function decodeNegMessage(bytes: Uint8Array): NegMessage {
  const type = bytes[0];
  const name = type !== undefined ? (NEG_PDU_NAMES[type] ?? 'RDP_NEG') : 'RDP_NEG';
  const r = new ByteReader(bytes, name);
  r.u8();
  const flags = r.u8();
  const lengthAt = r.offset;
  const length = r.u16le();
  if (length !== NEG_LENGTH) r.fail('length', `must be ${NEG_LENGTH}, got ${length}`, lengthAt);
  const value = r.u32le();
  r.expectEnd();
  switch (type) {
    case NEG_TYPE_REQ:
      return { type: 'request', flags, requestedProtocols: value };
    case NEG_TYPE_RSP:
      return { type: 'response', flags, selectedProtocol: value };
    case NEG_TYPE_FAILURE:
      return { type: 'failure', flags, failureCode: value };
    default:
      throw new DecodeError(name, 0, { kind: 'unexpected_type', got: type ?? -1 });
  }
}

export function negFailureName(code: number): string {
  for (const [k, v] of Object.entries(NegFailureCode)) if (v === code) return k;
  return `unknown (0x${code.toString(16).padStart(8, '0')})`;
}

/** 'SSL|HYBRID' style rendering of a protocol bit set; 0 is 'RDP'. */
export function protocolNames(bits: number): string {
  if (bits === 0) return 'RDP';
  const names: string[] = [];
  let rest = bits;
  for (const [k, v] of Object.entries(SecurityProtocol)) {
    if (v !== 0 && (bits & v) === v) {
      names.push(k.replace('PROTOCOL_', ''));
      rest = (rest & ~v) >>> 0; // stay unsigned: a u32 value may have bit 31 set
    }
  }
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names.join('|');
}

export function flagNames(flags: number, table: Record<string, number>): string[] {
  const out: string[] = [];
  let rest = flags;
  for (const [k, v] of Object.entries(table)) {
    if ((flags & v) === v && v !== 0) {
      out.push(k);
      rest = (rest & ~v) >>> 0;
    }
  }
  if (rest !== 0) out.push(`0x${rest.toString(16)}`);
  return out;
}
