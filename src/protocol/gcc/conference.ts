/**
 * [T.124] GCC ConnectData around the RDP user data blocks ([MS-RDPBCGR] 2.2.1.3.1 / 2.2.1.4.1): the T.124
 * key object 0.0.20.124.0.1, a connectPDU holding Conference-Create-Request (client, H.221 key "Duca") or
 * Conference-Create-Response (server, H.221 key "McDn"), and one user data set whose value is the blocks.
 *
 * Windows writes the connectPDU length of its responses as 0x2a whatever the real size (every peer ignores
 * it), so the declared length is reported but not enforced; the blocks' own length is enforced exactly.
 */
import { ByteReader } from '../codec/reader.js';
import { ByteWriter } from '../codec/writer.js';
import { DecodeError, EncodeError } from '../codec/errors.js';
import {
  expectPerObjectIdentifier,
  readPerChoice,
  readPerEnumerated,
  readPerInteger,
  readPerInteger16,
  readPerLength,
  readPerNumberOfSets,
  readPerNumericString,
  readPerObjectIdentifier,
  readPerOctetString,
  readPerSelection,
  writePerChoice,
  writePerEnumerated,
  writePerInteger,
  writePerInteger16,
  writePerLength,
  writePerNumberOfSets,
  writePerNumericString,
  writePerObjectIdentifier,
  writePerOctetString,
  writePerPadding,
  writePerSelection,
} from '../codec/per.js';

/** { itu-t(0) recommendation(0) t(20) t124(124) version(0) 1 }. */
export const T124_OID: readonly number[] = Object.freeze([0, 0, 20, 124, 0, 1]);
export const H221_CLIENT_KEY = 'Duca';
export const H221_SERVER_KEY = 'McDn';

/** [T.124] ConferenceCreateResponse result. */
export const GCC_RESULTS = [
  'success',
  'userRejected',
  'resourcesNotAvailable',
  'rejectedForSymmetryBreaking',
  'lockedConferenceNotSupported',
] as const;

/** The first octet of ConnectGCCPDU: alternative index in bits 6-4 (after the extension bit). */
const CHOICE_CREATE_REQUEST = 0x00;
const CHOICE_CREATE_RESPONSE = 0x14; // index 1, then the response's extension bit 0 and "userData present"
/** ConferenceCreateRequest optional-field bitmap with only userData present. */
const SELECTION_USER_DATA = 0x08;
/** UserData element: value present, key = h221NonStandard. */
const USER_DATA_H221 = 0xc0;
const USER_DATA_VALUE_PRESENT = 0x80;
const USER_DATA_KEY_H221 = 0x40;
/** [T.125] UserID offset of the nodeID. */
const NODE_ID_MIN = 1001;

export interface GccConferenceCreateRequest {
  conferenceName: string;
  /** connectPDU length as written (FreeRDP and mstsc write the true value). */
  declaredLength: number;
  /** The client data blocks (the value keyed "Duca"). */
  clientData: Uint8Array;
}

export interface GccConferenceCreateResponse {
  nodeId: number;
  tag: number;
  result: number;
  resultName: string;
  declaredLength: number;
  /** The server data blocks (the value keyed "McDn"). */
  serverData: Uint8Array;
}

function writeConnectData(w: ByteWriter, connectPdu: Uint8Array): void {
  writePerChoice(w, 0); // Key: object
  writePerObjectIdentifier(w, T124_OID);
  writePerLength(w, connectPdu.length);
  w.bytes(connectPdu);
}

function writeH221UserData(w: ByteWriter, key: string, value: Uint8Array): void {
  writePerNumberOfSets(w, 1);
  writePerChoice(w, USER_DATA_H221);
  writePerOctetString(w, ascii(key), 4);
  writePerOctetString(w, value, 0);
}

export function encodeGccConferenceCreateRequest(clientData: Uint8Array, conferenceName = '1'): Uint8Array {
  const pdu = new ByteWriter(clientData.length + 16);
  writePerChoice(pdu, CHOICE_CREATE_REQUEST);
  writePerSelection(pdu, SELECTION_USER_DATA);
  writePerNumericString(pdu, conferenceName, 1);
  writePerPadding(pdu, 1); // lockedConference, listedConference, conductibleConference, terminationMethod: all 0
  writeH221UserData(pdu, H221_CLIENT_KEY, clientData);
  const w = new ByteWriter(clientData.length + 24);
  writeConnectData(w, pdu.finish());
  return w.finish();
}

export interface GccResponseOptions {
  nodeId?: number;
  tag?: number;
  result?: number;
  /** What to write as the connectPDU length; default the true length (Windows writes 0x2a). */
  declaredLength?: number;
}

export function encodeGccConferenceCreateResponse(serverData: Uint8Array, opts: GccResponseOptions = {}): Uint8Array {
  const pdu = new ByteWriter(serverData.length + 20);
  writePerChoice(pdu, CHOICE_CREATE_RESPONSE);
  writePerInteger16(pdu, opts.nodeId ?? 31219, NODE_ID_MIN);
  writePerInteger(pdu, opts.tag ?? 1);
  writePerEnumerated(pdu, opts.result ?? 0, GCC_RESULTS.length);
  writeH221UserData(pdu, H221_SERVER_KEY, serverData);
  const body = pdu.finish();
  const w = new ByteWriter(body.length + 10);
  writePerChoice(w, 0);
  writePerObjectIdentifier(w, T124_OID);
  writePerLength(w, opts.declaredLength ?? body.length);
  w.bytes(body);
  return w.finish();
}

function readConnectDataHeader(r: ByteReader): number {
  const at = r.offset;
  const key = readPerChoice(r);
  if (key !== 0) r.fail('ConnectData.t124Identifier', `key choice ${key}, expected 0 (object)`, at);
  expectPerObjectIdentifier(r, T124_OID, 'ConnectData.t124Identifier');
  return readPerLength(r, 'ConnectData.connectPDU length');
}

/** Reads the UserData SET and returns the value under the H.221 key `key`; other members are skipped. */
function readH221UserData(r: ByteReader, key: string): Uint8Array {
  const count = readPerNumberOfSets(r);
  let found: Uint8Array | undefined;
  for (let i = 0; i < count; i++) {
    const at = r.offset;
    const choice = readPerChoice(r);
    if ((choice & 0x3f) !== 0) r.fail('UserData', `element choice 0x${choice.toString(16)}`, at);
    let k: string | undefined;
    if (choice & USER_DATA_KEY_H221) k = latin1(readPerOctetString(r, 4, 'UserData.key'));
    else readPerObjectIdentifier(r, 'UserData.key');
    const value = choice & USER_DATA_VALUE_PRESENT ? readPerOctetString(r, 0, 'UserData.value') : undefined;
    if (k === key && value !== undefined && found === undefined) found = value;
  }
  if (found === undefined) r.fail('UserData', `no value under the H.221 key "${key}"`);
  return found;
}

export function decodeGccConferenceCreateRequest(bytes: Uint8Array): GccConferenceCreateRequest {
  const r = new ByteReader(bytes, 'Conference-Create-Request');
  const declaredLength = readConnectDataHeader(r);
  const at = r.offset;
  const choice = readPerChoice(r);
  if (choice !== CHOICE_CREATE_REQUEST) {
    throw new DecodeError(r.pdu, at, { kind: 'unexpected_type', got: choice, expected: CHOICE_CREATE_REQUEST });
  }
  const selAt = r.offset;
  const selection = readPerSelection(r);
  if (selection !== SELECTION_USER_DATA) {
    // Passwords, privileges, descriptions: no RDP client sends them, and their PER does not fit this octet layout.
    r.fail('ConferenceCreateRequest selection', `0x${selection.toString(16)} (only userData, 0x08, is supported)`, selAt);
  }
  const conferenceName = readPerNumericString(r, 1, 'conferenceName');
  r.skip(1); // the three BOOLEANs and terminationMethod
  const clientData = readH221UserData(r, H221_CLIENT_KEY);
  r.expectEnd();
  return { conferenceName, declaredLength, clientData };
}

export function decodeGccConferenceCreateResponse(bytes: Uint8Array): GccConferenceCreateResponse {
  const r = new ByteReader(bytes, 'Conference-Create-Response');
  const declaredLength = readConnectDataHeader(r);
  const at = r.offset;
  const choice = readPerChoice(r);
  if (choice !== CHOICE_CREATE_RESPONSE) {
    throw new DecodeError(r.pdu, at, { kind: 'unexpected_type', got: choice, expected: CHOICE_CREATE_RESPONSE });
  }
  const nodeId = readPerInteger16(r, NODE_ID_MIN);
  const tag = readPerInteger(r, 'tag');
  const result = readPerEnumerated(r, 16, 'result');
  const serverData = readH221UserData(r, H221_SERVER_KEY);
  r.expectEnd();
  return { nodeId, tag, result, resultName: GCC_RESULTS[result] ?? `unknown (${result})`, declaredLength, serverData };
}

function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7e) throw new EncodeError(`non-ASCII H.221 key ${JSON.stringify(s)}`);
    out[i] = c;
  }
  return out;
}
function latin1(b: Uint8Array): string {
  return String.fromCharCode(...b);
}
