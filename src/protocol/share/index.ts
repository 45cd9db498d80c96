/**
 * One entry point for the slow-path PDUs a server sends after licensing: the connector hands every frame's
 * payload (after MCS Send Data Indication and the security header) to decodeSharePdu. Malformed bytes throw a
 * DecodeError with the PDU path; unknown pduTypes, pduType2s and codes come back as data.
 */
import { ByteReader } from '../codec/reader.js';
import { DecodeError, nested } from '../codec/errors.js';
import { FLOW_PDU_MARKER, readShareControlHeader, SharePduType, SHARE_CONTROL_HEADER_LENGTH, type ShareControlHeader } from './control.js';
import { decodeFinalizationBody, PduType2, readShareDataHeader, type FinalizationBody, type ShareDataHeader } from './data.js';
import { decodeConfirmActiveBody, decodeDeactivateAllBody, decodeDemandActiveBody, type ConfirmActive, type DeactivateAll, type DemandActive } from './demand-active.js';
import { decodeSetErrorInfoBody } from './error-info.js';
import { decodeServerRedirectionPacket, type ServerRedirection } from './redirection.js';
import { decodeSaveSessionInfoBody, type SaveSessionInfo } from './save-session-info.js';
import { shifted } from './text.js';

export type SharePdu =
  | { type: 'demand_active'; header: ShareControlHeader; demandActive: DemandActive }
  | { type: 'confirm_active'; header: ShareControlHeader; confirmActive: ConfirmActive }
  | { type: 'deactivate_all'; header: ShareControlHeader; deactivateAll: DeactivateAll }
  | { type: 'set_error_info'; header: ShareControlHeader; dataHeader: ShareDataHeader; errorInfo: number }
  | { type: 'save_session_info'; header: ShareControlHeader; dataHeader: ShareDataHeader; saveSessionInfo: SaveSessionInfo }
  | { type: 'redirection'; header: ShareControlHeader; redirection: ServerRedirection }
  /** Any other Data PDU (or a compressed one, whose body is not read); finalization bodies are decoded. */
  | { type: 'data'; header: ShareControlHeader; dataHeader: ShareDataHeader; body: Uint8Array; finalization?: FinalizationBody }
  /** A T.128 FlowPDU (totalLength 0x8000), which the spec says to ignore. */
  | { type: 'flow'; pduTypeFlow: number; pduSource: number }
  | { type: 'other'; header: ShareControlHeader; body: Uint8Array };

const FLOW_PDU_LENGTH = 8;

/** Decodes exactly one share PDU filling `bytes`. */
export function decodeSharePdu(bytes: Uint8Array): SharePdu {
  const { pdu, length } = decodeOneAt(bytes, 0);
  if (length !== bytes.length) {
    throw new DecodeError('Share Control', length, { kind: 'trailing_bytes', count: bytes.length - length });
  }
  return pdu;
}

/** Decodes the share PDUs packed back to back in one payload (servers may concatenate them). */
export function decodeSharePdus(bytes: Uint8Array, max = 64): SharePdu[] {
  const out: SharePdu[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (out.length >= max) throw new DecodeError('Share Control', at, { kind: 'invalid_field', field: 'count', reason: `more than ${max} PDUs in one payload` });
    const { pdu, length } = decodeOneAt(bytes, at);
    out.push(pdu);
    at += length;
  }
  return out;
}

function decodeOneAt(all: Uint8Array, at: number): { pdu: SharePdu; length: number } {
  const bytes = all.subarray(at);
  return nested('Share Control', at, () => {
    const r = new ByteReader(bytes, 'Share Control Header');
    if (bytes.length >= 2 && (bytes[0]! | (bytes[1]! << 8)) === FLOW_PDU_MARKER) {
      r.ensure(FLOW_PDU_LENGTH);
      r.skip(3);
      const pduTypeFlow = r.u8();
      r.skip(2);
      const pduSource = r.u16le();
      return { pdu: { type: 'flow', pduTypeFlow, pduSource }, length: FLOW_PDU_LENGTH };
    }
    const header = readShareControlHeader(r);
    const body = bytes.subarray(SHARE_CONTROL_HEADER_LENGTH, header.totalLength);
    return { pdu: decodeBody(header, body), length: header.totalLength };
  });
}

function decodeBody(header: ShareControlHeader, body: Uint8Array): SharePdu {
  const at = SHARE_CONTROL_HEADER_LENGTH;
  switch (header.pduType) {
    case SharePduType.PDUTYPE_DEMANDACTIVEPDU:
      return { type: 'demand_active', header, demandActive: shifted(at, () => decodeDemandActiveBody(body)) };
    case SharePduType.PDUTYPE_CONFIRMACTIVEPDU:
      return { type: 'confirm_active', header, confirmActive: shifted(at, () => decodeConfirmActiveBody(body)) };
    case SharePduType.PDUTYPE_DEACTIVATEALLPDU:
      return { type: 'deactivate_all', header, deactivateAll: shifted(at, () => decodeDeactivateAllBody(body)) };
    case SharePduType.PDUTYPE_SERVER_REDIR_PKT: {
      // 2.2.13.3.1: pad2Octets, then the packet.
      const r = new ByteReader(body, 'Redirection PDU');
      r.skip(2);
      return { type: 'redirection', header, redirection: shifted(at + 2, () => decodeServerRedirectionPacket(r.rest())) };
    }
    case SharePduType.PDUTYPE_DATAPDU:
      return decodeData(header, body);
    default:
      return { type: 'other', header, body };
  }
}

function decodeData(header: ShareControlHeader, body: Uint8Array): SharePdu {
  const r = new ByteReader(body, 'Share Data Header');
  const dataHeader = shifted(SHARE_CONTROL_HEADER_LENGTH, () => readShareDataHeader(r));
  const payload = r.rest();
  const at = SHARE_CONTROL_HEADER_LENGTH + 12;
  if (!dataHeader.compressed) {
    switch (dataHeader.pduType2) {
      case PduType2.PDUTYPE2_SET_ERROR_INFO_PDU:
        return { type: 'set_error_info', header, dataHeader, errorInfo: shifted(at, () => decodeSetErrorInfoBody(payload)).errorInfo };
      case PduType2.PDUTYPE2_SAVE_SESSION_INFO:
        return { type: 'save_session_info', header, dataHeader, saveSessionInfo: shifted(at, () => decodeSaveSessionInfoBody(payload)) };
      default: {
        const finalization = shifted(at, () => decodeFinalizationBody(dataHeader.pduType2, payload));
        return { type: 'data', header, dataHeader, body: payload, ...(finalization ? { finalization } : {}) };
      }
    }
  }
  return { type: 'data', header, dataHeader, body: payload };
}

export * from './control.js';
export * from './data.js';
export * from './capabilities.js';
export * from './demand-active.js';
export * from './error-info.js';
export * from './redirection.js';
export * from './save-session-info.js';
