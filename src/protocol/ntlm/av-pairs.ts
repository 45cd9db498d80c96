/** [MS-NLMP] 2.2.2.1 AV_PAIR lists (TargetInfo in CHALLENGE, the NTLMv2 client blob in AUTHENTICATE). */

import { ByteReader } from '../codec/reader.js';
import { DecodeError } from '../codec/errors.js';
import { ByteWriter } from '../codec/writer.js';
import { AvId } from './constants.js';
import { fileTimeToIso, fromUtf16le, readFileTime } from './common.js';

export const AV_PAIR_LIST = 'AV_PAIR list';

/** One AV_PAIR as on the wire: AvId (u16le), AvLen (u16le), Value. */
export interface AvPair {
  id: number;
  value: Uint8Array;
}

/** The pairs of a TargetInfo, with the well-known ones decoded. */
export interface NtlmTargetInfo {
  /** In wire order, without the terminating MsvAvEOL. Unknown AvIds are kept here untouched. */
  pairs: AvPair[];
  nbComputerName?: string;
  nbDomainName?: string;
  dnsComputerName?: string;
  dnsDomainName?: string;
  dnsTreeName?: string;
  /** MsvAvFlags (u32le). */
  flags?: number;
  /** MsvAvTimestamp as ISO 8601 UTC (millisecond precision). */
  timestamp?: string;
  /** MsvAvTimestamp as FILETIME ticks (exact). */
  timestampFileTime?: bigint;
  /** MsvAvSingleHost, raw (Single_Host_Data, 2.2.2.2). */
  singleHost?: Uint8Array;
  /** MsvAvTargetName (an SPN such as 'TERMSRV/host'). */
  targetName?: string;
  /** MsvAvChannelBindings (16-byte MD5 of gss_channel_bindings_struct). */
  channelBindings?: Uint8Array;
}

const NAME_FIELDS: Record<number, keyof NtlmTargetInfo> = {
  [AvId.MsvAvNbComputerName]: 'nbComputerName',
  [AvId.MsvAvNbDomainName]: 'nbDomainName',
  [AvId.MsvAvDnsComputerName]: 'dnsComputerName',
  [AvId.MsvAvDnsDomainName]: 'dnsDomainName',
  [AvId.MsvAvDnsTreeName]: 'dnsTreeName',
  [AvId.MsvAvTargetName]: 'targetName',
};

/**
 * Decodes a whole AV_PAIR list (the buffer is exactly the list). Strict: it must end with MsvAvEOL (AvLen 0),
 * nothing may follow it, string values have even length, MsvAvFlags is 4 bytes, MsvAvTimestamp 8 bytes,
 * MsvAvChannelBindings 16 bytes, and no AvId appears twice.
 */
export function decodeAvPairs(bytes: Uint8Array): NtlmTargetInfo {
  const r = new ByteReader(bytes, AV_PAIR_LIST);
  const info: NtlmTargetInfo = { pairs: [] };
  const seen = new Set<number>();
  for (;;) {
    const at = r.offset;
    const id = r.u16le();
    const len = r.u16le();
    if (id === AvId.MsvAvEOL) {
      if (len !== 0) r.fail('MsvAvEOL.AvLen', `must be 0, got ${len}`, at + 2);
      break;
    }
    const value = r.bytesN(len);
    if (seen.has(id)) r.fail('AvId', `0x${id.toString(16).padStart(4, '0')} appears twice`, at);
    seen.add(id);
    info.pairs.push({ id, value });
    const nameField = NAME_FIELDS[id];
    if (nameField !== undefined) {
      if (len % 2 !== 0) r.fail(`${nameField}.AvLen`, `UTF-16 value of odd length ${len}`, at + 2);
      (info as unknown as Record<string, string>)[nameField] = fromUtf16le(value);
      continue;
    }
    switch (id) {
      case AvId.MsvAvFlags:
        if (len !== 4) r.fail('MsvAvFlags.AvLen', `must be 4, got ${len}`, at + 2);
        info.flags = (value[0]! | (value[1]! << 8) | (value[2]! << 16) | (value[3]! << 24)) >>> 0;
        break;
      case AvId.MsvAvTimestamp: {
        if (len !== 8) r.fail('MsvAvTimestamp.AvLen', `must be 8, got ${len}`, at + 2);
        const ft = readFileTime(value);
        info.timestampFileTime = ft;
        info.timestamp = fileTimeToIso(ft);
        break;
      }
      case AvId.MsvAvSingleHost:
        info.singleHost = value;
        break;
      case AvId.MsvAvChannelBindings:
        if (len !== 16) r.fail('MsvAvChannelBindings.AvLen', `must be 16, got ${len}`, at + 2);
        info.channelBindings = value;
        break;
      default:
        break; // unknown AvId: kept in `pairs` only
    }
  }
  if (r.remaining !== 0) {
    throw new DecodeError(AV_PAIR_LIST, r.offset, { kind: 'trailing_bytes', count: r.remaining });
  }
  return info;
}

/** Encodes pairs followed by MsvAvEOL. */
export function encodeAvPairs(pairs: readonly AvPair[]): Uint8Array {
  const w = new ByteWriter(64);
  for (const p of pairs) w.u16le(p.id).u16le(p.value.length).bytes(p.value);
  w.u16le(AvId.MsvAvEOL).u16le(0);
  return w.finish();
}

export function avIdName(id: number): string {
  for (const [k, v] of Object.entries(AvId)) if (v === id) return k;
  return `unknown (0x${id.toString(16).padStart(4, '0')})`;
}
