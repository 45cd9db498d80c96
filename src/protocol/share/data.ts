/**
 * [MS-RDPBCGR] 2.2.8.1.1.1.2 Share Data Header (TS_SHAREDATAHEADER): the 12 bytes after the Share Control
 * Header of every Data PDU (pduType 7): shareId, pad, streamId, uncompressedLength, pduType2,
 * compressedType, compressedLength.
 */
import { ByteReader } from '../codec/reader.js';
import { ByteWriter } from '../codec/writer.js';
import { encodeShareControl, SharePduType, SHARE_CONTROL_HEADER_LENGTH } from './control.js';
import { nameOf } from './text.js';

export const SHARE_DATA_HEADER_LENGTH = 12;

/** pduType2 values (2.2.8.1.1.1.2). */
export const PduType2 = {
  PDUTYPE2_UPDATE: 0x02,
  PDUTYPE2_CONTROL: 0x14,
  PDUTYPE2_POINTER: 0x1b,
  PDUTYPE2_INPUT: 0x1c,
  PDUTYPE2_SYNCHRONIZE: 0x1f,
  PDUTYPE2_REFRESH_RECT: 0x21,
  PDUTYPE2_PLAY_SOUND: 0x22,
  PDUTYPE2_SUPPRESS_OUTPUT: 0x23,
  PDUTYPE2_SHUTDOWN_REQUEST: 0x24,
  PDUTYPE2_SHUTDOWN_DENIED: 0x25,
  PDUTYPE2_SAVE_SESSION_INFO: 0x26,
  PDUTYPE2_FONTLIST: 0x27,
  PDUTYPE2_FONTMAP: 0x28,
  PDUTYPE2_SET_KEYBOARD_INDICATORS: 0x29,
  PDUTYPE2_BITMAPCACHE_PERSISTENT_LIST: 0x2b,
  PDUTYPE2_BITMAPCACHE_ERROR_PDU: 0x2c,
  PDUTYPE2_SET_KEYBOARD_IME_STATUS: 0x2d,
  PDUTYPE2_OFFSCRCACHE_ERROR_PDU: 0x2e,
  PDUTYPE2_SET_ERROR_INFO_PDU: 0x2f,
  PDUTYPE2_DRAWNINEGRID_ERROR_PDU: 0x30,
  PDUTYPE2_DRAWGDIPLUS_ERROR_PDU: 0x31,
  PDUTYPE2_ARC_STATUS_PDU: 0x32,
  PDUTYPE2_STATUS_INFO_PDU: 0x36,
  PDUTYPE2_MONITOR_LAYOUT_PDU: 0x37,
} as const;

export const StreamId = { STREAM_UNDEFINED: 0x00, STREAM_LOW: 0x01, STREAM_MED: 0x02, STREAM_HI: 0x04 } as const;

/** compressedType bits: the low 4 bits are the compression type, the high ones the MPPC flags. */
export const CompressedTypeFlags = {
  PACKET_COMPRESSED: 0x20,
  PACKET_AT_FRONT: 0x40,
  PACKET_FLUSHED: 0x80,
} as const;

export interface ShareDataHeader {
  shareId: number;
  streamId: number;
  uncompressedLength: number;
  pduType2: number;
  pduType2Name: string;
  compressedType: number;
  compressedLength: number;
  /** PACKET_COMPRESSED is set: the body is bulk-compressed and is not decoded here. */
  compressed: boolean;
}

export function pduType2Name(t: number): string {
  return nameOf(t, PduType2);
}

export function readShareDataHeader(r: ByteReader): ShareDataHeader {
  const shareId = r.u32le();
  r.u8(); // pad1
  const streamId = r.u8();
  const uncompressedLength = r.u16le();
  const pduType2 = r.u8();
  const compressedType = r.u8();
  const compressedLength = r.u16le();
  return {
    shareId,
    streamId,
    uncompressedLength,
    pduType2,
    pduType2Name: pduType2Name(pduType2),
    compressedType,
    compressedLength,
    compressed: (compressedType & CompressedTypeFlags.PACKET_COMPRESSED) !== 0,
  };
}

export interface ShareDataPduOptions {
  shareId: number;
  pduType2: number;
  body: Uint8Array;
  /** Windows servers send 0x03EA; the Set Error Info PDU must carry 0 (2.2.5.1.1). */
  pduSource?: number;
  streamId?: number;
}

/**
 * A whole uncompressed Data PDU. uncompressedLength is written as the body plus the 4 bytes from pduType2 on
 * (inferred reading of the spec's "uncompressed length of the packet"; FreeRDP's shadow server writes the bare
 * body length, and readers ignore the field when the data is not compressed).
 */
export function encodeShareDataPdu(o: ShareDataPduOptions): Uint8Array {
  const w = new ByteWriter(SHARE_DATA_HEADER_LENGTH + o.body.length);
  w.u32le(o.shareId)
    .u8(0)
    .u8(o.streamId ?? StreamId.STREAM_LOW)
    .u16le(o.body.length + 4)
    .u8(o.pduType2)
    .u8(0)
    .u16le(0)
    .bytes(o.body);
  return encodeShareControl(SharePduType.PDUTYPE_DATAPDU, o.pduSource ?? 0x03ea, w.finish());
}

/** Offset of a Data PDU's body from the start of its Share Control Header. */
export const DATA_PDU_BODY_OFFSET = SHARE_CONTROL_HEADER_LENGTH + SHARE_DATA_HEADER_LENGTH;

/** [MS-RDPBCGR] 2.2.1.14.1 / 2.2.1.15.1 / 2.2.1.22.1: the finalization PDUs' small bodies. */
export const ControlAction = {
  CTRLACTION_REQUEST_CONTROL: 0x0001,
  CTRLACTION_GRANTED_CONTROL: 0x0002,
  CTRLACTION_DETACH: 0x0003,
  CTRLACTION_COOPERATE: 0x0004,
} as const;

export type FinalizationBody =
  | { kind: 'synchronize'; messageType: number; targetUser: number }
  | { kind: 'control'; action: number; actionName: string; grantId: number; controlId: number }
  | { kind: 'font_map'; numberEntries: number; totalNumEntries: number; mapFlags: number; entrySize: number }
  | { kind: 'font_list'; numberFonts: number; totalNumFonts: number; listFlags: number; entrySize: number };

/** Decodes the body of a Synchronize, Control, Font List or Font Map PDU; undefined for other pduType2. */
export function decodeFinalizationBody(pduType2: number, body: Uint8Array): FinalizationBody | undefined {
  const r = new ByteReader(body, pduType2Name(pduType2));
  switch (pduType2) {
    case PduType2.PDUTYPE2_SYNCHRONIZE: {
      const v = { kind: 'synchronize' as const, messageType: r.u16le(), targetUser: r.u16le() };
      r.expectEnd();
      return v;
    }
    case PduType2.PDUTYPE2_CONTROL: {
      const action = r.u16le();
      const v = { kind: 'control' as const, action, actionName: nameOf(action, ControlAction, 4), grantId: r.u16le(), controlId: r.u32le() };
      r.expectEnd();
      return v;
    }
    case PduType2.PDUTYPE2_FONTMAP: {
      const v = { kind: 'font_map' as const, numberEntries: r.u16le(), totalNumEntries: r.u16le(), mapFlags: r.u16le(), entrySize: r.u16le() };
      r.expectEnd();
      return v;
    }
    case PduType2.PDUTYPE2_FONTLIST: {
      const v = { kind: 'font_list' as const, numberFonts: r.u16le(), totalNumFonts: r.u16le(), listFlags: r.u16le(), entrySize: r.u16le() };
      r.expectEnd();
      return v;
    }
    default:
      return undefined;
  }
}

/** Server-side finalization PDUs for the lab (2.2.1.19 - 2.2.1.22). */
export function encodeSynchronizePdu(shareId: number, targetUser: number, pduSource?: number): Uint8Array {
  const body = new ByteWriter(4).u16le(1).u16le(targetUser).finish();
  return encodeShareDataPdu({ shareId, pduType2: PduType2.PDUTYPE2_SYNCHRONIZE, body, ...(pduSource !== undefined ? { pduSource } : {}) });
}

export function encodeControlPdu(shareId: number, action: number, grantId = 0, controlId = 0, pduSource?: number): Uint8Array {
  const body = new ByteWriter(8).u16le(action).u16le(grantId).u32le(controlId).finish();
  return encodeShareDataPdu({ shareId, pduType2: PduType2.PDUTYPE2_CONTROL, body, ...(pduSource !== undefined ? { pduSource } : {}) });
}

export function encodeFontMapPdu(shareId: number, pduSource?: number): Uint8Array {
  // numberEntries 0, totalNumEntries 0, FONTMAP_FIRST|FONTMAP_LAST, entrySize 4 (2.2.1.22.1).
  const body = new ByteWriter(8).u16le(0).u16le(0).u16le(0x0003).u16le(0x0004).finish();
  return encodeShareDataPdu({ shareId, pduType2: PduType2.PDUTYPE2_FONTMAP, body, ...(pduSource !== undefined ? { pduSource } : {}) });
}
