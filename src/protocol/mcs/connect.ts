/**
 * [T.125] 11.1-11.3 MCS Connect-Initial and Connect-Response, BER-encoded, as [MS-RDPBCGR] 2.2.1.3 / 2.2.1.4
 * carry them in the X.224 Data TPDU's user data. The GCC payload (userData) is left as bytes here; see
 * ../gcc/ for what is inside it.
 */
import { ByteReader } from '../codec/reader.js';
import {
  berApplication,
  berBoolean,
  berEnumerated,
  berInteger,
  berOctetString,
  berSequence,
  expectBerEnd,
  readBerApplication,
  readBerBoolean,
  readBerEnumerated,
  readBerInteger,
  readBerOctetString,
  readBerSequence,
} from '../codec/ber.js';
import { MCS_RESULTS, mcsResultName } from './constants.js';

export const MCS_CONNECT_INITIAL_TAG = 101;
export const MCS_CONNECT_RESPONSE_TAG = 102;

/** [T.125] DomainParameters, in ASN.1 order. */
export interface DomainParameters {
  maxChannelIds: number;
  maxUserIds: number;
  maxTokenIds: number;
  numPriorities: number;
  minThroughput: number;
  maxHeight: number;
  maxMcsPduSize: number;
  protocolVersion: number;
}

/** What mstsc sends ([MS-RDPBCGR] 4.1.3 and every Windows capture): target, minimum and maximum. */
export const WINDOWS_TARGET_PARAMETERS: DomainParameters = Object.freeze({
  maxChannelIds: 34,
  maxUserIds: 2,
  maxTokenIds: 0,
  numPriorities: 1,
  minThroughput: 0,
  maxHeight: 1,
  maxMcsPduSize: 65535,
  protocolVersion: 2,
});
export const WINDOWS_MINIMUM_PARAMETERS: DomainParameters = Object.freeze({
  maxChannelIds: 1,
  maxUserIds: 1,
  maxTokenIds: 1,
  numPriorities: 1,
  minThroughput: 0,
  maxHeight: 1,
  maxMcsPduSize: 1056,
  protocolVersion: 2,
});
export const WINDOWS_MAXIMUM_PARAMETERS: DomainParameters = Object.freeze({
  maxChannelIds: 65535,
  maxUserIds: 64535,
  maxTokenIds: 65535,
  numPriorities: 1,
  minThroughput: 0,
  maxHeight: 1,
  maxMcsPduSize: 65535,
  protocolVersion: 2,
});

export interface McsConnectInitial {
  callingDomainSelector: Uint8Array;
  calledDomainSelector: Uint8Array;
  upwardFlag: boolean;
  targetParameters: DomainParameters;
  minimumParameters: DomainParameters;
  maximumParameters: DomainParameters;
  /** The GCC Conference Create Request. */
  userData: Uint8Array;
}

export interface McsConnectInitialOptions {
  callingDomainSelector?: Uint8Array;
  calledDomainSelector?: Uint8Array;
  upwardFlag?: boolean;
  targetParameters?: DomainParameters;
  minimumParameters?: DomainParameters;
  maximumParameters?: DomainParameters;
}

export interface McsConnectResponse {
  result: number;
  resultName: string;
  calledConnectId: number;
  domainParameters: DomainParameters;
  /** The GCC Conference Create Response. */
  userData: Uint8Array;
}

export interface McsConnectResponseInput {
  result: number;
  calledConnectId?: number;
  domainParameters?: DomainParameters;
  userData: Uint8Array;
}

/** What Windows answers with (target parameters cut down to what it accepts). */
export const WINDOWS_RESPONSE_PARAMETERS: DomainParameters = Object.freeze({
  maxChannelIds: 34,
  maxUserIds: 3,
  maxTokenIds: 0,
  numPriorities: 1,
  minThroughput: 0,
  maxHeight: 1,
  maxMcsPduSize: 65528,
  protocolVersion: 2,
});

export function encodeDomainParameters(p: DomainParameters): Uint8Array {
  return berSequence(
    berInteger(p.maxChannelIds),
    berInteger(p.maxUserIds),
    berInteger(p.maxTokenIds),
    berInteger(p.numPriorities),
    berInteger(p.minThroughput),
    berInteger(p.maxHeight),
    berInteger(p.maxMcsPduSize),
    berInteger(p.protocolVersion),
  );
}

export function readDomainParameters(r: ByteReader, field: string): DomainParameters {
  const end = readBerSequence(r, field);
  const p: DomainParameters = {
    maxChannelIds: readBerInteger(r, `${field}.maxChannelIds`),
    maxUserIds: readBerInteger(r, `${field}.maxUserIds`),
    maxTokenIds: readBerInteger(r, `${field}.maxTokenIds`),
    numPriorities: readBerInteger(r, `${field}.numPriorities`),
    minThroughput: readBerInteger(r, `${field}.minThroughput`),
    maxHeight: readBerInteger(r, `${field}.maxHeight`),
    maxMcsPduSize: readBerInteger(r, `${field}.maxMCSPDUsize`),
    protocolVersion: readBerInteger(r, `${field}.protocolVersion`),
  };
  expectBerEnd(r, end, field);
  return p;
}

export function encodeMcsConnectInitial(userData: Uint8Array, opts: McsConnectInitialOptions = {}): Uint8Array {
  return berApplication(
    MCS_CONNECT_INITIAL_TAG,
    berOctetString(opts.callingDomainSelector ?? Uint8Array.of(1)),
    berOctetString(opts.calledDomainSelector ?? Uint8Array.of(1)),
    berBoolean(opts.upwardFlag ?? true),
    encodeDomainParameters(opts.targetParameters ?? WINDOWS_TARGET_PARAMETERS),
    encodeDomainParameters(opts.minimumParameters ?? WINDOWS_MINIMUM_PARAMETERS),
    encodeDomainParameters(opts.maximumParameters ?? WINDOWS_MAXIMUM_PARAMETERS),
    berOctetString(userData),
  );
}

/** Strict: the whole buffer is one Connect-Initial. */
export function decodeMcsConnectInitial(bytes: Uint8Array): McsConnectInitial {
  const r = new ByteReader(bytes, 'MCS Connect-Initial');
  const end = readBerApplication(r, MCS_CONNECT_INITIAL_TAG, 'Connect-Initial');
  const out: McsConnectInitial = {
    callingDomainSelector: readBerOctetString(r, 'callingDomainSelector').slice(),
    calledDomainSelector: readBerOctetString(r, 'calledDomainSelector').slice(),
    upwardFlag: readBerBoolean(r, 'upwardFlag'),
    targetParameters: readDomainParameters(r, 'targetParameters'),
    minimumParameters: readDomainParameters(r, 'minimumParameters'),
    maximumParameters: readDomainParameters(r, 'maximumParameters'),
    userData: readBerOctetString(r, 'userData'),
  };
  expectBerEnd(r, end, 'Connect-Initial');
  r.expectEnd();
  return out;
}

export function encodeMcsConnectResponse(input: McsConnectResponseInput): Uint8Array {
  return berApplication(
    MCS_CONNECT_RESPONSE_TAG,
    berEnumerated(input.result),
    berInteger(input.calledConnectId ?? 0),
    encodeDomainParameters(input.domainParameters ?? WINDOWS_RESPONSE_PARAMETERS),
    berOctetString(input.userData),
  );
}

/** Strict: the whole buffer is one Connect-Response. A result outside [T.125] 7 is kept and named `unknown (n)`. */
export function decodeMcsConnectResponse(bytes: Uint8Array): McsConnectResponse {
  const r = new ByteReader(bytes, 'MCS Connect-Response');
  const end = readBerApplication(r, MCS_CONNECT_RESPONSE_TAG, 'Connect-Response');
  const result = readBerEnumerated(r, 'result');
  const calledConnectId = readBerInteger(r, 'calledConnectId');
  const domainParameters = readDomainParameters(r, 'domainParameters');
  const userData = readBerOctetString(r, 'userData');
  expectBerEnd(r, end, 'Connect-Response');
  r.expectEnd();
  return { result, resultName: mcsResultName(result), calledConnectId, domainParameters, userData };
}

export { MCS_RESULTS };
