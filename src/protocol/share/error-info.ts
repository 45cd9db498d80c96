/**
 * [MS-RDPBCGR] 2.2.5.1.1 Set Error Info PDU (TS_SET_ERROR_INFO_PDU): a Data PDU with pduType2 0x2F whose body
 * is one u32, the ERRINFO code. Only the codec is here; names and meanings live in src/probe/codes/.
 */
import { ByteReader } from '../codec/reader.js';
import { ByteWriter } from '../codec/writer.js';
import { encodeShareDataPdu, PduType2 } from './data.js';

/** The body after the Share Data Header. Any u32 is accepted: unknown codes are data, not errors. */
export function decodeSetErrorInfoBody(body: Uint8Array): { errorInfo: number } {
  const r = new ByteReader(body, 'Set Error Info');
  const errorInfo = r.u32le();
  r.expectEnd();
  return { errorInfo };
}

/** A whole Set Error Info PDU; pduSource is 0 as the spec requires. */
export function encodeSetErrorInfo(o: { shareId: number; errorInfo: number }): Uint8Array {
  return encodeShareDataPdu({
    shareId: o.shareId,
    pduType2: PduType2.PDUTYPE2_SET_ERROR_INFO_PDU,
    pduSource: 0,
    body: new ByteWriter(4).u32le(o.errorInfo).finish(),
  });
}
