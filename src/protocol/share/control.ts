/**
 * [MS-RDPBCGR] 2.2.8.1.1.1.1 Share Control Header (TS_SHARECONTROLHEADER): the 6 bytes in front of every
 * slow-path PDU after the security header: totalLength, pduType (type in bits 0-3, protocol version in bits
 * 4-15) and pduSource (the sender's MCS channel or user id).
 */
import { ByteReader } from '../codec/reader.js';
import { ByteWriter } from '../codec/writer.js';
import { EncodeError } from '../codec/errors.js';
import { nameOf } from './text.js';

/** pduType low 4 bits. */
export const SharePduType = {
  PDUTYPE_DEMANDACTIVEPDU: 0x1,
  PDUTYPE_CONFIRMACTIVEPDU: 0x3,
  PDUTYPE_DEACTIVATEALLPDU: 0x6,
  PDUTYPE_DATAPDU: 0x7,
  PDUTYPE_SERVER_REDIR_PKT: 0xa,
} as const;

/** TS_PROTOCOL_VERSION, in the top 12 bits of pduType. */
export const TS_PROTOCOL_VERSION = 0x1;
export const SHARE_CONTROL_HEADER_LENGTH = 6;
/** A totalLength of 0x8000 marks a T.128 FlowPDU, which the spec says to ignore. */
export const FLOW_PDU_MARKER = 0x8000;
/** pduSource Windows servers send: 1002, the server channel id (FreeRDP's shadow server sends the client's user id). */
export const SERVER_CHANNEL_ID = 0x03ea;

export interface ShareControlHeader {
  totalLength: number;
  /** The low 4 bits of pduType. */
  pduType: number;
  pduTypeName: string;
  /** The top 12 bits of pduType (1 on every known implementation). */
  version: number;
  pduSource: number;
}

export function sharePduTypeName(t: number): string {
  return nameOf(t, SharePduType);
}

/**
 * Reads the header at the reader's position. totalLength must cover the header and fit in what is left; the
 * caller decides what to do with bytes past totalLength.
 */
export function readShareControlHeader(r: ByteReader): ShareControlHeader {
  const start = r.offset;
  const totalLength = r.u16le();
  const rawType = r.u16le();
  // A FlowPDU has no pduSource in the usual sense; the caller checks the marker before reading on.
  const pduSource = r.u16le();
  if (totalLength !== FLOW_PDU_MARKER) {
    if (totalLength < SHARE_CONTROL_HEADER_LENGTH) {
      r.fail('totalLength', `${totalLength} is shorter than the ${SHARE_CONTROL_HEADER_LENGTH}-byte header`, start);
    }
    if (totalLength > r.bytes.length - start) {
      r.fail('totalLength', `${totalLength} but only ${r.bytes.length - start} byte(s) present`, start);
    }
  }
  const pduType = rawType & 0x000f;
  return { totalLength, pduType, pduTypeName: sharePduTypeName(pduType), version: rawType >>> 4, pduSource };
}

/** Share Control Header + body; totalLength is computed. */
export function encodeShareControl(pduType: number, pduSource: number, body: Uint8Array): Uint8Array {
  const total = SHARE_CONTROL_HEADER_LENGTH + body.length;
  if (total > 0xffff) throw new EncodeError(`share control PDU of ${total} bytes exceeds 65535`);
  return new ByteWriter(total)
    .u16le(total)
    .u16le((pduType & 0x0f) | (TS_PROTOCOL_VERSION << 4))
    .u16le(pduSource)
    .bytes(body)
    .finish();
}
