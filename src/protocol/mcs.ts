/**
 * Quick classification of an MCS PDU in a server frame, for the offline analyzer; the full codecs live in
 * ./mcs/ (connect and domain PDUs) and ./gcc/ (the user data inside Connect-Initial / Connect-Response).
 * Lenient on purpose: a Connect-Response cut short by a capture still yields its result.
 */
import { ByteReader } from './codec/reader.js';
import { readBerEnumerated, readBerLength } from './codec/ber.js';
import { decodeMcsDomainPdu } from './mcs/domain.js';
import { MCS_RESULTS, mcsResultName } from './mcs/constants.js';

export { MCS_RESULTS, MCS_REASONS, mcsResultName, mcsReasonName } from './mcs/constants.js';

export type McsPdu =
  | { type: 'connect_response'; result: number; resultName: string }
  | { type: 'connect_initial' }
  | { type: 'disconnect_provider_ultimatum'; reason: number; reasonName: string }
  | { type: 'other'; firstByte: number };

/** Names the MCS PDU in an X.224 Data TPDU's user data. Never throws. */
export function classifyMcs(data: Uint8Array): McsPdu {
  if (data[0] === 0x7f && data[1] === 0x66) {
    try {
      const r = new ByteReader(data, 'MCS Connect-Response');
      r.skip(2);
      readBerLength(r);
      const at = r.offset;
      if (r.u8() !== 0x0a || r.u8() !== 1) return { type: 'other', firstByte: 0x7f };
      const rr = new ByteReader(data.subarray(at), 'MCS Connect-Response');
      const result = readBerEnumerated(rr, 'result');
      return { type: 'connect_response', result, resultName: MCS_RESULTS[result] ?? mcsResultName(result) };
    } catch {
      return { type: 'other', firstByte: 0x7f };
    }
  }
  if (data[0] === 0x7f && data[1] === 0x65) return { type: 'connect_initial' };
  if (data.length >= 2 && data[0]! >> 2 === 8) {
    // Only the first two octets matter; a DPUm followed by padding still counts.
    try {
      const dpu = decodeMcsDomainPdu(data.subarray(0, 2));
      if (dpu.type === 'disconnect_provider_ultimatum') return { type: 'disconnect_provider_ultimatum', reason: dpu.reason, reasonName: dpu.reasonName };
    } catch {
      // fall through
    }
  }
  return { type: 'other', firstByte: data[0] ?? -1 };
}
