/**
 * Capability exchange and its undoing: [MS-RDPBCGR] 2.2.1.13.1 Demand Active (server), 2.2.1.13.2 Confirm
 * Active (client) and 2.2.3.1 Deactivate All (server). Each body follows the Share Control Header.
 */
import { ByteReader } from '../codec/reader.js';
import { ByteWriter } from '../codec/writer.js';
import { EncodeError, nested } from '../codec/errors.js';
import { decodeCapabilitySets, encodeCapabilitySets, type CapabilitySet, type RawCapabilitySet } from './capabilities.js';
import { encodeShareControl, SharePduType } from './control.js';
import { fromLatin1, latin1 } from './text.js';

export interface DemandActive {
  shareId: number;
  /** sourceDescriptor as text ("RDP" from Windows and FreeRDP). */
  sourceDescriptor: string;
  numberCapabilities: number;
  capabilities: CapabilitySet[];
  /** Absent from RDP 4.0 and 5.0 servers. */
  sessionId?: number;
}

export interface ConfirmActive {
  shareId: number;
  originatorId: number;
  sourceDescriptor: string;
  numberCapabilities: number;
  capabilities: CapabilitySet[];
}

export interface DeactivateAll {
  shareId: number;
  sourceDescriptor: string;
}

/** The bytes after the Share Control Header of a Demand Active PDU. */
export function decodeDemandActiveBody(body: Uint8Array): DemandActive {
  const r = new ByteReader(body, 'Demand Active');
  const shareId = r.u32le();
  const { sourceDescriptor, numberCapabilities, capabilities } = readCapabilityBlock(r);
  let sessionId: number | undefined;
  if (r.remaining >= 4) sessionId = r.u32le();
  r.expectEnd();
  return { shareId, sourceDescriptor, numberCapabilities, capabilities, ...(sessionId !== undefined ? { sessionId } : {}) };
}

/** The bytes after the Share Control Header of a Confirm Active PDU (for the lab). */
export function decodeConfirmActiveBody(body: Uint8Array): ConfirmActive {
  const r = new ByteReader(body, 'Confirm Active');
  const shareId = r.u32le();
  const originatorId = r.u16le();
  const { sourceDescriptor, numberCapabilities, capabilities } = readCapabilityBlock(r);
  r.expectEnd();
  return { shareId, originatorId, sourceDescriptor, numberCapabilities, capabilities };
}

/**
 * lengthSourceDescriptor, lengthCombinedCapabilities, sourceDescriptor, then numberCapabilities, pad2Octets and
 * the sets, which lengthCombinedCapabilities covers.
 */
function readCapabilityBlock(r: ByteReader): { sourceDescriptor: string; numberCapabilities: number; capabilities: CapabilitySet[] } {
  const lengthSourceDescriptor = r.u16le();
  const combinedAt = r.offset;
  const lengthCombinedCapabilities = r.u16le();
  const sourceDescriptor = fromLatin1(r.bytesN(lengthSourceDescriptor));
  if (lengthCombinedCapabilities < 4) r.fail('lengthCombinedCapabilities', `${lengthCombinedCapabilities} is shorter than numberCapabilities + pad2Octets`, combinedAt);
  if (lengthCombinedCapabilities > r.remaining) {
    r.fail('lengthCombinedCapabilities', `${lengthCombinedCapabilities} but only ${r.remaining} byte(s) left`, combinedAt);
  }
  const setsAt = r.offset + 4;
  const numberCapabilities = r.u16le();
  r.u16le(); // pad2Octets
  const sets = r.bytesN(lengthCombinedCapabilities - 4);
  const capabilities = nested(r.pdu, setsAt, () => decodeCapabilitySets(sets, numberCapabilities));
  return { sourceDescriptor, numberCapabilities, capabilities };
}

function capabilityBlock(sourceDescriptor: string, sets: readonly RawCapabilitySet[]): Uint8Array {
  const src = latin1(sourceDescriptor);
  const caps = encodeCapabilitySets(sets);
  if (caps.length + 4 > 0xffff) throw new EncodeError('capability sets exceed 65535 bytes');
  return new ByteWriter(8 + src.length + caps.length)
    .u16le(src.length)
    .u16le(caps.length + 4)
    .bytes(src)
    .u16le(sets.length)
    .u16le(0)
    .bytes(caps)
    .finish();
}

export interface DemandActiveOptions {
  shareId: number;
  capabilities: readonly RawCapabilitySet[];
  sourceDescriptor?: string;
  sessionId?: number;
  pduSource?: number;
}

/** A whole Demand Active PDU (Share Control Header included), as a server sends it. */
export function encodeDemandActive(o: DemandActiveOptions): Uint8Array {
  const block = capabilityBlock(o.sourceDescriptor ?? 'RDP\0', o.capabilities);
  const body = new ByteWriter(8 + block.length).u32le(o.shareId).bytes(block).u32le(o.sessionId ?? 0).finish();
  return encodeShareControl(SharePduType.PDUTYPE_DEMANDACTIVEPDU, o.pduSource ?? 0x03ea, body);
}

export interface ConfirmActiveOptions {
  shareId: number;
  capabilities: readonly RawCapabilitySet[];
  /** The client's MCS user id, as pduSource. */
  pduSource: number;
  sourceDescriptor?: string;
}

/** A whole Confirm Active PDU; originatorId is the server channel 0x03EA as 2.2.1.13.2.1 requires. */
export function encodeConfirmActive(o: ConfirmActiveOptions): Uint8Array {
  const block = capabilityBlock(o.sourceDescriptor ?? 'MSTSC\0', o.capabilities);
  const body = new ByteWriter(6 + block.length).u32le(o.shareId).u16le(0x03ea).bytes(block).finish();
  return encodeShareControl(SharePduType.PDUTYPE_CONFIRMACTIVEPDU, o.pduSource, body);
}

/**
 * The bytes after the Share Control Header of a Deactivate All PDU. Some servers send no sourceDescriptor at
 * all (lengthSourceDescriptor missing), which is read as an empty one.
 */
export function decodeDeactivateAllBody(body: Uint8Array): DeactivateAll {
  const r = new ByteReader(body, 'Deactivate All');
  const shareId = r.u32le();
  if (r.remaining === 0) return { shareId, sourceDescriptor: '' };
  const len = r.u16le();
  const sourceDescriptor = fromLatin1(r.bytesN(len));
  r.expectEnd();
  return { shareId, sourceDescriptor };
}

/** A whole Deactivate All PDU; the source descriptor defaults to a single NUL byte. */
export function encodeDeactivateAll(o: { shareId: number; sourceDescriptor?: string; pduSource?: number }): Uint8Array {
  const src = latin1(o.sourceDescriptor ?? '\0');
  const body = new ByteWriter(6 + src.length).u32le(o.shareId).u16le(src.length).bytes(src).finish();
  return encodeShareControl(SharePduType.PDUTYPE_DEACTIVATEALLPDU, o.pduSource ?? 0x03ea, body);
}
