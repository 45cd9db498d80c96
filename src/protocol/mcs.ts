/**
 * The little of [T.125] MCS the probe reads so far: which MCS PDU a server frame carries. Connect-Response is
 * BER (application tag 102, then the result ENUMERATED); domain PDUs are PER with the choice in the top 6 bits.
 */
import { ByteReader } from './codec/reader.js';
import { decodeMcsDisconnectProviderUltimatum } from './x224.js';

/** [T.125] 7 Result. */
export const MCS_RESULTS = [
  'rt-successful',
  'rt-domain-merging',
  'rt-domain-not-hierarchical',
  'rt-no-such-channel',
  'rt-no-such-domain',
  'rt-no-such-user',
  'rt-not-admitted',
  'rt-other-user-id',
  'rt-parameters-unacceptable',
  'rt-token-not-available',
  'rt-token-not-possessed',
  'rt-too-many-channels',
  'rt-too-many-tokens',
  'rt-too-many-users',
  'rt-unspecified-failure',
  'rt-user-rejected',
] as const;

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
      if (r.u8() !== 0x0a) return { type: 'other', firstByte: 0x7f };
      const len = r.u8();
      if (len !== 1) return { type: 'other', firstByte: 0x7f };
      const result = r.u8();
      return { type: 'connect_response', result, resultName: MCS_RESULTS[result] ?? `unknown (${result})` };
    } catch {
      return { type: 'other', firstByte: 0x7f };
    }
  }
  if (data[0] === 0x7f && data[1] === 0x65) return { type: 'connect_initial' };
  const dpu = decodeMcsDisconnectProviderUltimatum(data);
  if (dpu) return { type: 'disconnect_provider_ultimatum', ...dpu };
  return { type: 'other', firstByte: data[0] ?? -1 };
}

function readBerLength(r: ByteReader): number {
  const b = r.u8();
  if (b < 0x80) return b;
  const n = b & 0x7f;
  if (n === 0 || n > 4) r.fail('BER length', `${n} length bytes`);
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + r.u8();
  return v;
}
