/**
 * [MS-RDPBCGR] 2.2.10.1 Save Session Info PDU (pduType2 0x26): the server's word that a user logged on (names
 * and session id), or, with INFO_LOGONERRORS, a logon error or arbitration notice. The auto-reconnect cookie's
 * random bits are credential-equivalent and are never returned; only that a cookie came, and its logon id.
 */
import { ByteReader } from '../codec/reader.js';
import { ByteWriter } from '../codec/writer.js';
import { utf16le } from '../codec/bytes.js';
import { encodeShareDataPdu, PduType2 } from './data.js';
import { fromUtf16le, nameOf, writeFixed, bitNames } from './text.js';

export const InfoType = {
  INFOTYPE_LOGON: 0x00000000,
  INFOTYPE_LOGON_LONG: 0x00000001,
  INFOTYPE_LOGON_PLAINNOTIFY: 0x00000002,
  INFOTYPE_LOGON_EXTENDED_INFO: 0x00000003,
} as const;

export const LogonExFields = {
  LOGON_EX_AUTORECONNECTCOOKIE: 0x00000001,
  LOGON_EX_LOGONERRORS: 0x00000002,
} as const;

/** 2.2.10.1.1.4.1.1 ErrorNotificationType. */
export const LogonErrorType = {
  LOGON_MSG_SESSION_BUSY_OPTIONS: 0xfffffff8,
  LOGON_MSG_DISCONNECT_REFUSED: 0xfffffff9,
  LOGON_MSG_NO_PERMISSION: 0xfffffffa,
  LOGON_MSG_BUMP_OPTIONS: 0xfffffffb,
  LOGON_MSG_RECONNECT_OPTIONS: 0xfffffffc,
  LOGON_MSG_SESSION_TERMINATE: 0xfffffffd,
  LOGON_MSG_SESSION_CONTINUE: 0xfffffffe,
} as const;

/** ErrorNotificationData when the type is not one of the LOGON_MSG_* (then it is a logon failure code). */
export const LogonErrorData = {
  LOGON_FAILED_BAD_PASSWORD: 0x00000000,
  LOGON_FAILED_UPDATE_PASSWORD: 0x00000001,
  LOGON_FAILED_OTHER: 0x00000002,
  LOGON_WARNING: 0x00000003,
} as const;

const LOGON_INFO_DOMAIN = 52;
const LOGON_INFO_USERNAME = 512;
const LOGON_INFO_V2_PAD = 558;
const PLAIN_NOTIFY_PAD = 576;
const LOGON_EXTENDED_PAD = 570;

export interface LogonErrors {
  notificationType: number;
  notificationTypeName: string;
  notificationData: number;
  /** Named only for the LOGON_FAILED_* values; for LOGON_MSG_* types the data is a session id. */
  notificationDataName?: string;
}

export interface SaveSessionInfo {
  infoType: number;
  infoTypeName: string;
  domain?: string;
  userName?: string;
  sessionId?: number;
  /** INFOTYPE_LOGON_EXTENDED_INFO only. */
  fieldsPresent?: number;
  fieldsPresentNames?: string[];
  logonErrors?: LogonErrors;
  /** An auto-reconnect cookie came; its random bits are deliberately not kept. */
  autoReconnect?: { version: number; logonId: number };
}

/**
 * The body after the Share Data Header. Fixed-size padding is skipped as far as it is present: servers differ,
 * and the facts come before it. Unknown infoTypes give the type with no facts.
 */
export function decodeSaveSessionInfoBody(body: Uint8Array): SaveSessionInfo {
  const r = new ByteReader(body, 'Save Session Info');
  const infoType = r.u32le();
  const base = { infoType, infoTypeName: nameOf(infoType, InfoType, 8) };
  switch (infoType) {
    case InfoType.INFOTYPE_LOGON: {
      const cbDomain = r.u32le();
      const domainField = r.bytesN(LOGON_INFO_DOMAIN);
      const cbUserName = r.u32le();
      const userField = r.bytesN(LOGON_INFO_USERNAME);
      const sessionId = r.u32le();
      if (cbDomain > LOGON_INFO_DOMAIN) r.fail('cbDomain', `${cbDomain} exceeds the ${LOGON_INFO_DOMAIN}-byte field`, 4);
      if (cbUserName > LOGON_INFO_USERNAME) r.fail('cbUserName', `${cbUserName} exceeds the ${LOGON_INFO_USERNAME}-byte field`, 8 + LOGON_INFO_DOMAIN);
      return { ...base, domain: fromUtf16le(domainField.subarray(0, cbDomain)), userName: fromUtf16le(userField.subarray(0, cbUserName)), sessionId };
    }
    case InfoType.INFOTYPE_LOGON_LONG: {
      r.u16le(); // Version (SAVE_SESSION_PDU_VERSION_ONE)
      r.u32le(); // Size (18)
      const sessionId = r.u32le();
      const cbDomain = r.u32le();
      const cbUserName = r.u32le();
      r.skip(LOGON_INFO_V2_PAD);
      const domain = fromUtf16le(r.bytesN(cbDomain));
      const userName = fromUtf16le(r.bytesN(cbUserName));
      return { ...base, domain, userName, sessionId };
    }
    case InfoType.INFOTYPE_LOGON_PLAINNOTIFY:
      r.skip(Math.min(PLAIN_NOTIFY_PAD, r.remaining));
      return base;
    case InfoType.INFOTYPE_LOGON_EXTENDED_INFO: {
      r.u16le(); // Length
      const fieldsPresent = r.u32le();
      const out: SaveSessionInfo = { ...base, fieldsPresent, fieldsPresentNames: bitNames(fieldsPresent, LogonExFields) };
      if (fieldsPresent & LogonExFields.LOGON_EX_AUTORECONNECTCOOKIE) {
        const at = r.offset;
        const cb = r.u32le();
        const field = new ByteReader(r.bytesN(cb), 'ARC_SC_PRIVATE_PACKET');
        const cbLen = field.u32le();
        if (cbLen !== 28) r.fail('ARC_SC_PRIVATE_PACKET.cbLen', `must be 28, got ${cbLen}`, at + 4);
        const version = field.u32le();
        const logonId = field.u32le();
        field.skip(16); // ArcRandomBits: not kept
        out.autoReconnect = { version, logonId };
      }
      if (fieldsPresent & LogonExFields.LOGON_EX_LOGONERRORS) {
        const cb = r.u32le();
        const field = new ByteReader(r.bytesN(cb), 'TS_LOGON_ERRORS_INFO');
        const notificationType = field.u32le();
        const notificationData = field.u32le();
        const isMsg = Object.values(LogonErrorType).includes(notificationType as never);
        const dataName = isMsg ? undefined : nameOf(notificationData, LogonErrorData, 8);
        out.logonErrors = {
          notificationType,
          notificationTypeName: isMsg ? nameOf(notificationType, LogonErrorType, 8) : `logon failure (0x${notificationType.toString(16).padStart(8, '0')})`,
          notificationData,
          ...(dataName !== undefined ? { notificationDataName: dataName } : {}),
        };
      }
      r.skip(Math.min(LOGON_EXTENDED_PAD, r.remaining));
      return out;
    }
    default:
      return base;
  }
}

export type SaveSessionInfoInput =
  | { infoType: 'logon'; domain: string; userName: string; sessionId: number }
  | { infoType: 'logon_long'; domain: string; userName: string; sessionId: number }
  | { infoType: 'plain_notify' }
  | {
      infoType: 'logon_extended';
      logonErrors?: { notificationType: number; notificationData: number };
      /** The lab's cookie: logon id and 16 random bytes. */
      autoReconnect?: { logonId: number; randomBits: Uint8Array };
    };

function z(s: string): Uint8Array {
  const b = utf16le(s);
  const out = new Uint8Array(b.length + 2);
  out.set(b);
  return out;
}

/** The body after the Share Data Header. */
export function encodeSaveSessionInfoBody(info: SaveSessionInfoInput): Uint8Array {
  const w = new ByteWriter(600);
  switch (info.infoType) {
    case 'logon': {
      const d = z(info.domain);
      const u = z(info.userName);
      w.u32le(InfoType.INFOTYPE_LOGON).u32le(Math.min(d.length, LOGON_INFO_DOMAIN));
      writeFixed(w, d, LOGON_INFO_DOMAIN);
      w.u32le(Math.min(u.length, LOGON_INFO_USERNAME));
      writeFixed(w, u, LOGON_INFO_USERNAME);
      w.u32le(info.sessionId);
      break;
    }
    case 'logon_long': {
      const d = z(info.domain);
      const u = z(info.userName);
      w.u32le(InfoType.INFOTYPE_LOGON_LONG).u16le(1).u32le(18).u32le(info.sessionId).u32le(d.length).u32le(u.length);
      w.bytes(new Uint8Array(LOGON_INFO_V2_PAD)).bytes(d).bytes(u);
      break;
    }
    case 'plain_notify':
      w.u32le(InfoType.INFOTYPE_LOGON_PLAINNOTIFY).bytes(new Uint8Array(PLAIN_NOTIFY_PAD));
      break;
    case 'logon_extended': {
      const fields = new ByteWriter(64);
      let present = 0;
      if (info.autoReconnect) {
        present |= LogonExFields.LOGON_EX_AUTORECONNECTCOOKIE;
        fields.u32le(28).u32le(28).u32le(1).u32le(info.autoReconnect.logonId);
        writeFixed(fields, info.autoReconnect.randomBits, 16);
      }
      if (info.logonErrors) {
        present |= LogonExFields.LOGON_EX_LOGONERRORS;
        fields.u32le(8).u32le(info.logonErrors.notificationType).u32le(info.logonErrors.notificationData);
      }
      const f = fields.finish();
      w.u32le(InfoType.INFOTYPE_LOGON_EXTENDED_INFO).u16le(6 + f.length).u32le(present).bytes(f).bytes(new Uint8Array(LOGON_EXTENDED_PAD));
      break;
    }
  }
  return w.finish();
}

/** A whole Save Session Info PDU. */
export function encodeSaveSessionInfo(o: { shareId: number; info: SaveSessionInfoInput; pduSource?: number }): Uint8Array {
  return encodeShareDataPdu({
    shareId: o.shareId,
    pduType2: PduType2.PDUTYPE2_SAVE_SESSION_INFO,
    body: encodeSaveSessionInfoBody(o.info),
    ...(o.pduSource !== undefined ? { pduSource: o.pduSource } : {}),
  });
}
