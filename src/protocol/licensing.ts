/**
 * Licensing PDUs ([MS-RDPBCGR] 2.2.1.12, [MS-RDPELE] 2.2.2): the bytes inside the security header flagged
 * SEC_LICENSE_PKT. A preamble (bMsgType, flags, wMsgSize) comes first, then the message. The probe holds no
 * license and stops at the server's verdict: "valid client" (an error alert with STATUS_VALID_CLIENT), an
 * error alert, or the start of a real license exchange (License Request, Platform Challenge, New License).
 */
import { ByteReader } from './codec/reader.js';
import { ByteWriter } from './codec/writer.js';
import { DecodeError, EncodeError, nested } from './codec/errors.js';
import { utf16le } from './codec/bytes.js';
import { fromLatin1, fromUtf16le, latin1, nameOf } from './share/text.js';

/** SEC_LICENSE_PKT in the security header's flags (helper D's header carries it). */
export const SEC_LICENSE_PKT = 0x0080;

export const LicenseMsgType = {
  LICENSE_REQUEST: 0x01,
  PLATFORM_CHALLENGE: 0x02,
  NEW_LICENSE: 0x03,
  UPGRADE_LICENSE: 0x04,
  LICENSE_INFO: 0x12,
  NEW_LICENSE_REQUEST: 0x13,
  PLATFORM_CHALLENGE_RESPONSE: 0x15,
  ERROR_ALERT: 0xff,
} as const;

/** Preamble flags: the low 4 bits are the licensing protocol version. */
export const PREAMBLE_VERSION_2_0 = 0x02;
export const PREAMBLE_VERSION_3_0 = 0x03;
export const LICENSE_PROTOCOL_VERSION_MASK = 0x0f;
export const EXTENDED_ERROR_MSG_SUPPORTED = 0x80;
export const LICENSE_PREAMBLE_LENGTH = 4;

/** LICENSE_BINARY_BLOB wBlobType. */
export const BlobType = {
  BB_ANY_BLOB: 0x0000,
  BB_DATA_BLOB: 0x0001,
  BB_RANDOM_BLOB: 0x0002,
  BB_CERTIFICATE_BLOB: 0x0003,
  BB_ERROR_BLOB: 0x0004,
  BB_ENCRYPTED_DATA_BLOB: 0x0009,
  BB_KEY_EXCHG_ALG_BLOB: 0x000d,
  BB_SCOPE_BLOB: 0x000e,
  BB_CLIENT_USER_NAME_BLOB: 0x000f,
  BB_CLIENT_MACHINE_NAME_BLOB: 0x0010,
} as const;

export const KEY_EXCHANGE_ALG_RSA = 0x00000001;

/** [MS-RDPBCGR] 2.2.1.12.1.3 dwErrorCode. */
export const LicenseErrorCode = {
  ERR_INVALID_SERVER_CERTIFICATE: 0x00000001,
  ERR_NO_LICENSE: 0x00000002,
  ERR_INVALID_MAC: 0x00000003,
  ERR_INVALID_SCOPE: 0x00000004,
  ERR_NO_LICENSE_SERVER: 0x00000006,
  STATUS_VALID_CLIENT: 0x00000007,
  ERR_INVALID_CLIENT: 0x00000008,
  ERR_INVALID_PRODUCTID: 0x0000000b,
  ERR_INVALID_MESSAGE_LEN: 0x0000000c,
} as const;

/** Plain sentences for each error code, and which side sends it (2.2.1.12.1.3). */
export const LICENSE_ERROR_MEANINGS: Record<number, { sentBy: 'client' | 'server' | 'both'; meaning: string }> = {
  0x01: { sentBy: 'client', meaning: 'The client could not validate the server certificate sent with the license request.' },
  0x02: { sentBy: 'client', meaning: 'The client has no license to present.' },
  0x03: { sentBy: 'both', meaning: 'A licensing message failed its MAC check: the two sides do not agree on the licensing keys.' },
  0x04: { sentBy: 'server', meaning: 'The scope the client named is not one the server licenses.' },
  0x06: { sentBy: 'server', meaning: 'The server could not reach a license server to issue a client access license.' },
  0x07: { sentBy: 'server', meaning: 'The client is licensed (or needs no license): licensing is over and the connection goes on.' },
  0x08: { sentBy: 'server', meaning: 'The server rejected the client or the license it presented.' },
  0x0b: { sentBy: 'server', meaning: 'The product id in the client\'s licensing message is not one the server accepts.' },
  0x0c: { sentBy: 'server', meaning: 'A licensing message had a length the server could not accept.' },
};

/** [MS-RDPBCGR] 2.2.1.12.1.3 dwStateTransition ([MS-RDPELE] 3.1.5.2). */
export const LicenseStateTransition = {
  ST_TOTAL_ABORT: 0x00000001,
  ST_NO_TRANSITION: 0x00000002,
  ST_RESET_PHASE_TO_START: 0x00000003,
  ST_RESEND_LAST_MESSAGE: 0x00000004,
} as const;

export const LICENSE_STATE_MEANINGS: Record<number, string> = {
  0x01: 'Licensing is abandoned: the server will end the connection.',
  0x02: 'No change: with STATUS_VALID_CLIENT, licensing is complete and the connection continues.',
  0x03: 'Licensing starts over from the beginning.',
  0x04: 'The receiver should send its last licensing message again.',
};

export function licenseErrorName(code: number): string {
  return nameOf(code, LicenseErrorCode, 8);
}
export function licenseStateName(state: number): string {
  return nameOf(state, LicenseStateTransition, 8);
}
export function licenseMsgTypeName(t: number): string {
  return nameOf(t, LicenseMsgType);
}

export interface LicensePreamble {
  msgType: number;
  msgTypeName: string;
  flags: number;
  /** flags & 0x0F: 2 for RDP 4.0, 3 for RDP 5.0 and later. */
  version: number;
  extendedErrorSupported: boolean;
  msgSize: number;
}

export interface LicenseBlob {
  blobType: number;
  data: Uint8Array;
}

export interface ProductInfo {
  version: number;
  companyName: string;
  productId: string;
}

export type LicensingPdu =
  | {
      type: 'license_request';
      preamble: LicensePreamble;
      serverRandom: Uint8Array;
      productInfo: ProductInfo;
      keyExchangeList: number[];
      /** The server certificate blob (empty under TLS, where the certificate came with TLS). */
      serverCertificate: Uint8Array;
      scopes: string[];
    }
  | { type: 'platform_challenge'; preamble: LicensePreamble; connectFlags: number; encryptedPlatformChallenge: Uint8Array; macData: Uint8Array }
  /** Encrypted with keys the probe never derives: only that it came and how long it was. */
  | { type: 'new_license' | 'upgrade_license'; preamble: LicensePreamble; size: number }
  | {
      type: 'error_alert';
      preamble: LicensePreamble;
      errorCode: number;
      errorName: string;
      errorMeaning: string;
      stateTransition: number;
      stateName: string;
      stateMeaning: string;
      /** STATUS_VALID_CLIENT with ST_NO_TRANSITION: the server's "you are licensed, go on". */
      validClient: boolean;
      errorInfo: LicenseBlob;
    }
  | {
      type: 'new_license_request';
      preamble: LicensePreamble;
      preferredKeyExchangeAlg: number;
      platformId: number;
      clientRandom: Uint8Array;
      encryptedPreMasterSecret: Uint8Array;
      clientUserName: string;
      clientMachineName: string;
    }
  /** Client messages the probe never decodes further (License Info, Platform Challenge Response) and unknown types. */
  | { type: 'other'; preamble: LicensePreamble; body: Uint8Array };

function readPreamble(r: ByteReader, total: number): LicensePreamble {
  const msgType = r.u8();
  const flags = r.u8();
  const msgSize = r.u16le();
  if (msgSize < LICENSE_PREAMBLE_LENGTH) r.fail('wMsgSize', `${msgSize} is shorter than the preamble`, 2);
  if (msgSize !== total) {
    if (msgSize > total) throw new DecodeError(r.pdu, 2, { kind: 'not_enough_bytes', received: total, expected: msgSize });
    throw new DecodeError(r.pdu, msgSize, { kind: 'trailing_bytes', count: total - msgSize });
  }
  return {
    msgType,
    msgTypeName: licenseMsgTypeName(msgType),
    flags,
    version: flags & LICENSE_PROTOCOL_VERSION_MASK,
    extendedErrorSupported: (flags & EXTENDED_ERROR_MSG_SUPPORTED) !== 0,
    msgSize,
  };
}

/**
 * LICENSE_BINARY_BLOB. The spec lets wBlobType be anything when wBlobLen is 0, and servers use that, so the type
 * is checked only for non-empty blobs, and only when `expected` is given.
 */
function readBlob(r: ByteReader, field: string, expected?: number): LicenseBlob {
  const at = r.offset;
  const blobType = r.u16le();
  const len = r.u16le();
  if (len > r.remaining) r.fail(`${field}.wBlobLen`, `${len} but only ${r.remaining} byte(s) left`, at + 2);
  const data = r.bytesN(len);
  if (expected !== undefined && len > 0 && blobType !== expected) {
    r.fail(`${field}.wBlobType`, `expected 0x${expected.toString(16).padStart(4, '0')}, got 0x${blobType.toString(16).padStart(4, '0')}`, at);
  }
  return { blobType, data };
}

/** Decodes one licensing PDU filling `bytes` (from the preamble on). */
export function decodeLicensingPdu(bytes: Uint8Array): LicensingPdu {
  const name = bytes[0] !== undefined ? licenseMsgTypeName(bytes[0]).replace(/^unknown.*/, 'Licensing PDU') : 'Licensing PDU';
  const r = new ByteReader(bytes, name);
  const preamble = readPreamble(r, bytes.length);
  switch (preamble.msgType) {
    case LicenseMsgType.ERROR_ALERT: {
      const errorCode = r.u32le();
      const stateTransition = r.u32le();
      const errorInfo = readBlob(r, 'bbErrorInfo');
      r.expectEnd();
      return {
        type: 'error_alert',
        preamble,
        errorCode,
        errorName: licenseErrorName(errorCode),
        errorMeaning: LICENSE_ERROR_MEANINGS[errorCode]?.meaning ?? 'Not a license error code the specification defines.',
        stateTransition,
        stateName: licenseStateName(stateTransition),
        stateMeaning: LICENSE_STATE_MEANINGS[stateTransition] ?? 'Not a state transition the specification defines.',
        validClient: errorCode === LicenseErrorCode.STATUS_VALID_CLIENT && stateTransition === LicenseStateTransition.ST_NO_TRANSITION,
        errorInfo,
      };
    }
    case LicenseMsgType.LICENSE_REQUEST: {
      const serverRandom = r.bytesN(32);
      const productInfo = nested('ProductInfo', r.offset, () => readProductInfo(r));
      const kx = readBlob(r, 'KeyExchangeList', BlobType.BB_KEY_EXCHG_ALG_BLOB);
      if (kx.data.length % 4 !== 0) r.fail('KeyExchangeList', `${kx.data.length} bytes is not a list of u32`);
      const keyExchangeList: number[] = [];
      const kr = new ByteReader(kx.data, 'KeyExchangeList');
      while (kr.remaining > 0) keyExchangeList.push(kr.u32le());
      const cert = readBlob(r, 'ServerCertificate', BlobType.BB_CERTIFICATE_BLOB);
      const scopeCount = r.u32le();
      // Each scope is at least a 4-byte blob header: a count beyond that is malformed, not a reason to loop.
      if (scopeCount > r.remaining / 4) r.fail('ScopeCount', `${scopeCount} scopes cannot fit in ${r.remaining} byte(s)`);
      const scopes: string[] = [];
      for (let i = 0; i < scopeCount; i++) scopes.push(fromLatin1(readBlob(r, `ScopeArray[${i}]`, BlobType.BB_SCOPE_BLOB).data));
      r.expectEnd();
      return { type: 'license_request', preamble, serverRandom, productInfo, keyExchangeList, serverCertificate: cert.data, scopes };
    }
    case LicenseMsgType.PLATFORM_CHALLENGE: {
      const connectFlags = r.u32le();
      const challenge = readBlob(r, 'EncryptedPlatformChallenge');
      const macData = r.bytesN(16);
      r.expectEnd();
      return { type: 'platform_challenge', preamble, connectFlags, encryptedPlatformChallenge: challenge.data, macData };
    }
    case LicenseMsgType.NEW_LICENSE:
    case LicenseMsgType.UPGRADE_LICENSE:
      return { type: preamble.msgType === LicenseMsgType.NEW_LICENSE ? 'new_license' : 'upgrade_license', preamble, size: preamble.msgSize };
    case LicenseMsgType.NEW_LICENSE_REQUEST: {
      const preferredKeyExchangeAlg = r.u32le();
      const platformId = r.u32le();
      const clientRandom = r.bytesN(32);
      const secret = readBlob(r, 'EncryptedPreMasterSecret', BlobType.BB_RANDOM_BLOB);
      const user = readBlob(r, 'ClientUserName', BlobType.BB_CLIENT_USER_NAME_BLOB);
      const machine = readBlob(r, 'ClientMachineName', BlobType.BB_CLIENT_MACHINE_NAME_BLOB);
      r.expectEnd();
      return {
        type: 'new_license_request',
        preamble,
        preferredKeyExchangeAlg,
        platformId,
        clientRandom,
        encryptedPreMasterSecret: secret.data,
        clientUserName: fromLatin1(user.data),
        clientMachineName: fromLatin1(machine.data),
      };
    }
    default:
      return { type: 'other', preamble, body: r.rest() };
  }
}

function readProductInfo(r: ByteReader): ProductInfo {
  const version = r.u32le();
  const cbCompany = r.u32le();
  if (cbCompany > r.remaining) r.fail('cbCompanyName', `${cbCompany} but only ${r.remaining} byte(s) left`);
  const companyName = fromUtf16le(r.bytesN(cbCompany));
  const cbProduct = r.u32le();
  if (cbProduct > r.remaining) r.fail('cbProductId', `${cbProduct} but only ${r.remaining} byte(s) left`);
  const productId = fromUtf16le(r.bytesN(cbProduct));
  return { version, companyName, productId };
}

function pdu(msgType: number, body: Uint8Array, flags: number): Uint8Array {
  const size = LICENSE_PREAMBLE_LENGTH + body.length;
  if (size > 0xffff) throw new EncodeError(`licensing PDU of ${size} bytes exceeds 65535`);
  return new ByteWriter(size).u8(msgType).u8(flags).u16le(size).bytes(body).finish();
}

function blob(w: ByteWriter, blobType: number, data: Uint8Array): void {
  w.u16le(blobType).u16le(data.length).bytes(data);
}

/** Preamble flags a server or a client of RDP 5.0+ sends. */
export const DEFAULT_PREAMBLE_FLAGS = PREAMBLE_VERSION_3_0 | EXTENDED_ERROR_MSG_SUPPORTED;

/** An Error Alert with any code and transition; the error blob is empty unless given. */
export function encodeLicenseErrorAlert(o: { errorCode: number; stateTransition: number; errorInfo?: LicenseBlob; flags?: number }): Uint8Array {
  const w = new ByteWriter(16).u32le(o.errorCode).u32le(o.stateTransition);
  blob(w, o.errorInfo?.blobType ?? BlobType.BB_ERROR_BLOB, o.errorInfo?.data ?? new Uint8Array(0));
  return pdu(LicenseMsgType.ERROR_ALERT, w.finish(), o.flags ?? PREAMBLE_VERSION_3_0);
}

/** The server's "valid client" verdict (2.2.1.12.1.3): STATUS_VALID_CLIENT, ST_NO_TRANSITION, an empty error blob. */
export function encodeValidClientAlert(flags: number = PREAMBLE_VERSION_3_0): Uint8Array {
  return encodeLicenseErrorAlert({ errorCode: LicenseErrorCode.STATUS_VALID_CLIENT, stateTransition: LicenseStateTransition.ST_NO_TRANSITION, flags });
}

function zUtf16(s: string): Uint8Array {
  const b = utf16le(s);
  const out = new Uint8Array(b.length + 2);
  out.set(b);
  return out;
}
function zLatin1(s: string): Uint8Array {
  const b = latin1(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

export interface LicenseRequestInput {
  serverRandom: Uint8Array;
  productInfo: ProductInfo;
  keyExchangeList?: number[];
  serverCertificate?: Uint8Array;
  scopes: string[];
  flags?: number;
}

/** A SERVER_LICENSE_REQUEST ([MS-RDPELE] 2.2.2.1), for the lab. */
export function encodeLicenseRequest(o: LicenseRequestInput): Uint8Array {
  if (o.serverRandom.length !== 32) throw new EncodeError('serverRandom must be 32 bytes');
  const w = new ByteWriter(256).bytes(o.serverRandom);
  const company = zUtf16(o.productInfo.companyName);
  const product = zUtf16(o.productInfo.productId);
  w.u32le(o.productInfo.version).u32le(company.length).bytes(company).u32le(product.length).bytes(product);
  const kx = new ByteWriter(8);
  for (const k of o.keyExchangeList ?? [KEY_EXCHANGE_ALG_RSA]) kx.u32le(k);
  blob(w, BlobType.BB_KEY_EXCHG_ALG_BLOB, kx.finish());
  blob(w, BlobType.BB_CERTIFICATE_BLOB, o.serverCertificate ?? new Uint8Array(0));
  w.u32le(o.scopes.length);
  for (const s of o.scopes) blob(w, BlobType.BB_SCOPE_BLOB, zLatin1(s));
  return pdu(LicenseMsgType.LICENSE_REQUEST, w.finish(), o.flags ?? DEFAULT_PREAMBLE_FLAGS);
}

/** A SERVER_PLATFORM_CHALLENGE ([MS-RDPELE] 2.2.2.4), for the lab; the challenge bytes are opaque here. */
export function encodePlatformChallenge(o: { connectFlags?: number; encryptedPlatformChallenge: Uint8Array; macData: Uint8Array; flags?: number }): Uint8Array {
  if (o.macData.length !== 16) throw new EncodeError('macData must be 16 bytes');
  const w = new ByteWriter(64).u32le(o.connectFlags ?? 0);
  blob(w, BlobType.BB_ANY_BLOB, o.encryptedPlatformChallenge);
  w.bytes(o.macData);
  return pdu(LicenseMsgType.PLATFORM_CHALLENGE, w.finish(), o.flags ?? DEFAULT_PREAMBLE_FLAGS);
}

export interface NewLicenseRequestInput {
  clientRandom: Uint8Array;
  /** The premaster secret already RSA-encrypted to the server's key (the caller does the RSA). */
  encryptedPreMasterSecret: Uint8Array;
  /** Sent as the license's user name; not a credential. */
  clientUserName: string;
  clientMachineName: string;
  /** [MS-RDPELE] 2.2.2.2 PlatformId; defaults to CLIENT_OS_ID_WINNT_POST_52 (0x04000000) with no vendor id. */
  platformId?: number;
  flags?: number;
}

/**
 * A CLIENT_NEW_LICENSE_REQUEST ([MS-RDPELE] 2.2.2.2). Pure framing: the RSA encryption of the premaster secret
 * and the licensing key derivation belong to whoever runs the exchange.
 */
export function encodeClientNewLicenseRequest(o: NewLicenseRequestInput): Uint8Array {
  if (o.clientRandom.length !== 32) throw new EncodeError('clientRandom must be 32 bytes');
  const w = new ByteWriter(256).u32le(KEY_EXCHANGE_ALG_RSA).u32le(o.platformId ?? 0x04000000).bytes(o.clientRandom);
  blob(w, BlobType.BB_RANDOM_BLOB, o.encryptedPreMasterSecret);
  blob(w, BlobType.BB_CLIENT_USER_NAME_BLOB, zLatin1(o.clientUserName));
  blob(w, BlobType.BB_CLIENT_MACHINE_NAME_BLOB, zLatin1(o.clientMachineName));
  return pdu(LicenseMsgType.NEW_LICENSE_REQUEST, w.finish(), o.flags ?? DEFAULT_PREAMBLE_FLAGS);
}
