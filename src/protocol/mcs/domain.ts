/**
 * [T.125] domain PDUs RDP uses after Connect-Response ([MS-RDPBCGR] 2.2.1.5-2.2.1.8, 2.2.2.3), aligned PER.
 * The first octet holds the DomainMCSPDU choice in its top 6 bits; the low 2 bits belong to the PDU
 * (the optional-field bit of the confirms, the top of the Disconnect-Provider-Ultimatum reason).
 *
 * The result of Attach-User-Confirm / Channel-Join-Confirm: FreeRDP, IronRDP and rdesktop write it as a whole
 * octet after the first one, while strict aligned PER puts its 4 bits right after the optional bit (so it
 * straddles the two octets). For result 0 both are the same bytes; for any other result the two forms never
 * collide, so the decoder reads either and the encoder writes the whole-octet form every client reads.
 */
import { ByteReader } from '../codec/reader.js';
import { ByteWriter } from '../codec/writer.js';
import { DecodeError, EncodeError } from '../codec/errors.js';
import { readPerInteger, readPerLength, writePerInteger, writePerLength } from '../codec/per.js';
import {
  DOMAIN_MCSPDU_NAMES,
  DomainMcsPdu,
  MCS_BASE_CHANNEL_ID,
  MCS_PRIORITIES,
  mcsReasonName,
  mcsResultName,
  type McsPriority,
} from './constants.js';

export interface ErectDomainRequest {
  type: 'erect_domain_request';
  subHeight: number;
  subInterval: number;
}
export interface AttachUserRequest {
  type: 'attach_user_request';
}
export interface AttachUserConfirm {
  type: 'attach_user_confirm';
  result: number;
  resultName: string;
  /** The user channel id the server gave us (absent when the attach failed and the server left it out). */
  initiator?: number;
}
export interface ChannelJoinRequest {
  type: 'channel_join_request';
  initiator: number;
  channelId: number;
}
export interface ChannelJoinConfirm {
  type: 'channel_join_confirm';
  result: number;
  resultName: string;
  initiator: number;
  requested: number;
  channelId?: number;
}
export interface DisconnectProviderUltimatum {
  type: 'disconnect_provider_ultimatum';
  reason: number;
  reasonName: string;
}
export interface SendData {
  type: 'send_data_request' | 'send_data_indication';
  initiator: number;
  channelId: number;
  priority: McsPriority;
  /** [T.125] Segmentation bits: 0x2 begin, 0x1 end (RDP always sends both, 0x3). */
  segmentation: number;
  userData: Uint8Array;
}
export interface OtherDomainPdu {
  type: 'other';
  choice: number;
  name: string;
}

export type McsDomainPdu =
  | ErectDomainRequest
  | AttachUserRequest
  | AttachUserConfirm
  | ChannelJoinRequest
  | ChannelJoinConfirm
  | DisconnectProviderUltimatum
  | SendData
  | OtherDomainPdu;

export const SEGMENTATION_BEGIN = 0x2;
export const SEGMENTATION_END = 0x1;

// ---- encoders ----

export function encodeMcsErectDomainRequest(subHeight = 0, subInterval = 0): Uint8Array {
  const w = new ByteWriter(5);
  w.u8(DomainMcsPdu.ERECT_DOMAIN_REQUEST << 2);
  writePerInteger(w, subHeight);
  writePerInteger(w, subInterval);
  return w.finish();
}

export function encodeMcsAttachUserRequest(): Uint8Array {
  return Uint8Array.of(DomainMcsPdu.ATTACH_USER_REQUEST << 2);
}

export function encodeMcsAttachUserConfirm(p: { result: number; initiator?: number }): Uint8Array {
  const w = new ByteWriter(4);
  w.u8((DomainMcsPdu.ATTACH_USER_CONFIRM << 2) | (p.initiator !== undefined ? 2 : 0));
  w.u8(checkResult(p.result));
  if (p.initiator !== undefined) w.u16be(userIdOffset(p.initiator));
  return w.finish();
}

export function encodeMcsChannelJoinRequest(p: { initiator: number; channelId: number }): Uint8Array {
  return new ByteWriter(5).u8(DomainMcsPdu.CHANNEL_JOIN_REQUEST << 2).u16be(userIdOffset(p.initiator)).u16be(p.channelId).finish();
}

export function encodeMcsChannelJoinConfirm(p: { result: number; initiator: number; requested: number; channelId?: number }): Uint8Array {
  const w = new ByteWriter(8);
  w.u8((DomainMcsPdu.CHANNEL_JOIN_CONFIRM << 2) | (p.channelId !== undefined ? 2 : 0));
  w.u8(checkResult(p.result));
  w.u16be(userIdOffset(p.initiator)).u16be(p.requested);
  if (p.channelId !== undefined) w.u16be(p.channelId);
  return w.finish();
}

export function encodeMcsDisconnectProviderUltimatum(reason: number): Uint8Array {
  if (!Number.isInteger(reason) || reason < 0 || reason > 7) throw new EncodeError(`DPUm reason ${reason} outside 0..7`);
  return Uint8Array.of((DomainMcsPdu.DISCONNECT_PROVIDER_ULTIMATUM << 2) | (reason >> 1), (reason & 1) << 7);
}

export interface SendDataInput {
  initiator: number;
  channelId: number;
  priority?: McsPriority;
  segmentation?: number;
  userData: Uint8Array;
}

export function encodeMcsSendDataRequest(p: SendDataInput): Uint8Array {
  return encodeSendData(DomainMcsPdu.SEND_DATA_REQUEST, p);
}

export function encodeMcsSendDataIndication(p: SendDataInput): Uint8Array {
  return encodeSendData(DomainMcsPdu.SEND_DATA_INDICATION, p);
}

function encodeSendData(choice: number, p: SendDataInput): Uint8Array {
  const segmentation = p.segmentation ?? SEGMENTATION_BEGIN | SEGMENTATION_END;
  if (!Number.isInteger(segmentation) || segmentation < 0 || segmentation > 3) throw new EncodeError(`segmentation ${segmentation}`);
  const w = new ByteWriter(p.userData.length + 8);
  w.u8(choice << 2).u16be(userIdOffset(p.initiator)).u16be(p.channelId);
  w.u8((MCS_PRIORITIES.indexOf(p.priority ?? 'high') << 6) | (segmentation << 4));
  writePerLength(w, p.userData.length);
  w.bytes(p.userData);
  return w.finish();
}

function userIdOffset(id: number): number {
  if (!Number.isInteger(id) || id < MCS_BASE_CHANNEL_ID || id > 0xffff) throw new EncodeError(`user id ${id} outside ${MCS_BASE_CHANNEL_ID}..65535`);
  return id - MCS_BASE_CHANNEL_ID;
}
function checkResult(result: number): number {
  if (!Number.isInteger(result) || result < 0 || result > 15) throw new EncodeError(`MCS result ${result} outside 0..15`);
  return result;
}

// ---- decoders ----

/**
 * Names the domain PDU in an X.224 Data TPDU's user data. Strict for the PDUs it knows (exact length,
 * DecodeError otherwise); any other choice is `{ type: 'other' }` and never an error.
 */
export function decodeMcsDomainPdu(bytes: Uint8Array): McsDomainPdu {
  const r = new ByteReader(bytes, 'MCS');
  const first = r.u8();
  const choice = first >> 2;
  const name = DOMAIN_MCSPDU_NAMES[choice] ?? `unknown (${choice})`;
  const pdu = new ByteReader(bytes, `MCS ${name}`);
  pdu.skip(1);
  let out: McsDomainPdu;
  switch (choice) {
    case DomainMcsPdu.ERECT_DOMAIN_REQUEST:
      out = { type: 'erect_domain_request', subHeight: readPerInteger(pdu, 'subHeight'), subInterval: readPerInteger(pdu, 'subInterval') };
      break;
    case DomainMcsPdu.ATTACH_USER_REQUEST:
      out = { type: 'attach_user_request' };
      break;
    case DomainMcsPdu.ATTACH_USER_CONFIRM: {
      const result = readResult(pdu, first);
      out = { type: 'attach_user_confirm', result, resultName: mcsResultName(result) };
      if (first & 2) out.initiator = readUserId(pdu, 'initiator');
      break;
    }
    case DomainMcsPdu.CHANNEL_JOIN_REQUEST:
      out = { type: 'channel_join_request', initiator: readUserId(pdu, 'initiator'), channelId: pdu.u16be() };
      break;
    case DomainMcsPdu.CHANNEL_JOIN_CONFIRM: {
      const result = readResult(pdu, first);
      out = { type: 'channel_join_confirm', result, resultName: mcsResultName(result), initiator: readUserId(pdu, 'initiator'), requested: pdu.u16be() };
      if (first & 2) out.channelId = pdu.u16be();
      break;
    }
    case DomainMcsPdu.DISCONNECT_PROVIDER_ULTIMATUM: {
      const reason = ((first & 0x03) << 1) | (pdu.u8() >> 7);
      out = { type: 'disconnect_provider_ultimatum', reason, reasonName: mcsReasonName(reason) };
      break;
    }
    case DomainMcsPdu.SEND_DATA_REQUEST:
    case DomainMcsPdu.SEND_DATA_INDICATION: {
      const initiator = readUserId(pdu, 'initiator');
      const channelId = pdu.u16be();
      const flags = pdu.u8();
      const len = readPerLength(pdu, 'userData length');
      out = {
        type: choice === DomainMcsPdu.SEND_DATA_REQUEST ? 'send_data_request' : 'send_data_indication',
        initiator,
        channelId,
        priority: MCS_PRIORITIES[flags >> 6]!,
        segmentation: (flags >> 4) & 0x3,
        userData: pdu.bytesN(len),
      };
      break;
    }
    default:
      return { type: 'other', choice, name };
  }
  pdu.expectEnd();
  return out;
}

/** [T.125] UserId: a u16 offset from 1001, and the id itself at most 65535 (so offsets past 64534 are not ids). */
function readUserId(r: ByteReader, field: string): number {
  const at = r.offset;
  const id = r.u16be() + MCS_BASE_CHANNEL_ID;
  if (id > 0xffff) r.fail(field, `user id ${id} is outside ${MCS_BASE_CHANNEL_ID}..65535`, at);
  return id;
}

/** Reads the confirm's result in either form (see the file comment). */
function readResult(r: ByteReader, first: number): number {
  const at = r.offset;
  const b = r.u8();
  if ((first & 1) === 0 && b <= 15) return b;
  if ((b & 0x1f) === 0) return ((first & 1) << 3) | (b >> 5);
  return r.fail('result', `octet 0x${b.toString(16)} is not a Result in either encoding`, at);
}

type Of<T extends McsDomainPdu['type']> = Extract<McsDomainPdu, { type: T }>;

function decodeAs<T extends McsDomainPdu['type']>(bytes: Uint8Array, ...types: T[]): Of<T> {
  const pdu = decodeMcsDomainPdu(bytes);
  if (!(types as string[]).includes(pdu.type)) {
    const got = pdu.type === 'other' ? pdu.name : pdu.type;
    throw new DecodeError('MCS', 0, { kind: 'unexpected_type', got, expected: types.join(' or ') });
  }
  return pdu as Of<T>;
}

export const decodeMcsErectDomainRequest = (b: Uint8Array): ErectDomainRequest => decodeAs(b, 'erect_domain_request');
export const decodeMcsAttachUserRequest = (b: Uint8Array): AttachUserRequest => decodeAs(b, 'attach_user_request');
export const decodeMcsAttachUserConfirm = (b: Uint8Array): AttachUserConfirm => decodeAs(b, 'attach_user_confirm');
export const decodeMcsChannelJoinRequest = (b: Uint8Array): ChannelJoinRequest => decodeAs(b, 'channel_join_request');
export const decodeMcsChannelJoinConfirm = (b: Uint8Array): ChannelJoinConfirm => decodeAs(b, 'channel_join_confirm');
export const decodeMcsDisconnectProviderUltimatum = (b: Uint8Array): DisconnectProviderUltimatum => decodeAs(b, 'disconnect_provider_ultimatum');
export const decodeMcsSendDataRequest = (b: Uint8Array): SendData => decodeAs(b, 'send_data_request');
export const decodeMcsSendDataIndication = (b: Uint8Array): SendData => decodeAs(b, 'send_data_indication');
