/**
 * Every decoder that reads bytes from the network or a file, as one fuzz target each, and the contract they all
 * share: a value or a DecodeError, nothing else, in bounded time.
 */
import { analyzeCapture } from '../../src/pcap/analyze.js';
import { flowsFromCapture } from '../../src/pcap/index.js';
import { DecodeError } from '../../src/protocol/codec/errors.js';
import { checkDer, frameLengthDer } from '../../src/protocol/credssp/der.js';
import { decodeEarlyUserAuthResult } from '../../src/protocol/credssp/early-user-auth.js';
import { decodeTsCredentials, decodeTsPasswordCreds } from '../../src/protocol/credssp/ts-credentials.js';
import { decodeTsRequest } from '../../src/protocol/credssp/ts-request.js';
import { decodeClientInfo } from '../../src/protocol/client-info.js';
import {
  decodeClientClusterData,
  decodeClientConnectInitial,
  decodeClientCoreData,
  decodeClientData,
  decodeClientNetworkData,
  decodeClientSecurityData,
} from '../../src/protocol/gcc/client-data.js';
import { decodeGccConferenceCreateRequest, decodeGccConferenceCreateResponse } from '../../src/protocol/gcc/conference.js';
import {
  decodeServerConnectResponse,
  decodeServerCoreData,
  decodeServerData,
  decodeServerMessageChannelData,
  decodeServerMultitransportData,
  decodeServerNetworkData,
  decodeServerSecurityData,
} from '../../src/protocol/gcc/server-data.js';
import { decodeLicensingPdu } from '../../src/protocol/licensing.js';
import { classifyMcs } from '../../src/protocol/mcs.js';
import { decodeMcsConnectInitial, decodeMcsConnectResponse } from '../../src/protocol/mcs/connect.js';
import { decodeMcsDomainPdu } from '../../src/protocol/mcs/domain.js';
import { decodeNegMessage } from '../../src/protocol/nego.js';
import { decodeAvPairs } from '../../src/protocol/ntlm/av-pairs.js';
import { decodeNtlmChallenge } from '../../src/protocol/ntlm/challenge.js';
import { decodeSecurityExchangePdu } from '../../src/protocol/security/exchange.js';
import { decodeSecurityHeader, unwrapSecured } from '../../src/protocol/security/header.js';
import { decodeProprietaryCertificate, decodeServerCertificate } from '../../src/protocol/security/proprietary-cert.js';
import { decodeCapabilitySets } from '../../src/protocol/share/capabilities.js';
import { decodeConfirmActiveBody, decodeDemandActiveBody } from '../../src/protocol/share/demand-active.js';
import { decodeSharePdu, decodeSharePdus } from '../../src/protocol/share/index.js';
import { decodeServerRedirectionPacket } from '../../src/protocol/share/redirection.js';
import { decodeSaveSessionInfoBody } from '../../src/protocol/share/save-session-info.js';
import { certificateList, inspectServerFlight, plaintextHandshakeMessages, splitTlsRecords } from '../../src/protocol/tls-records.js';
import { decodeTpkt, frameLengthTpkt } from '../../src/protocol/tpkt.js';
import { decodeCertificate } from '../../src/protocol/x509.js';
import { decodeX224, decodeX224Frame } from '../../src/protocol/x224.js';
import { decodeNtlmAuthenticate, decodeNtlmNegotiateFlags } from '../../src/lab/credssp-server.js';

export interface DecoderTarget {
  name: string;
  /** The decoder under test, on the whole input. */
  decode: (bytes: Uint8Array) => unknown;
  /** Corpus layers whose units are its real inputs (the others are still used, less often). */
  layers: readonly string[];
  /** Decoders documented as total ("never throws"): a DecodeError is a failure too. */
  neverThrows?: boolean;
  /** Longest random input (whole captures are bigger). */
  maxRandom?: number;
  /** Fewer CI runs for slow targets. */
  ciRuns?: number;
}

export const DECODERS: readonly DecoderTarget[] = [
  // framing, X.224, negotiation
  { name: 'frameLengthTpkt', decode: frameLengthTpkt, layers: ['tpkt'] },
  { name: 'decodeTpkt', decode: decodeTpkt, layers: ['tpkt'] },
  { name: 'decodeX224Frame', decode: decodeX224Frame, layers: ['tpkt'] },
  { name: 'decodeX224', decode: decodeX224, layers: ['x224'] },
  { name: 'decodeNegMessage', decode: decodeNegMessage, layers: ['nego'] },
  // TLS records and certificates
  { name: 'splitTlsRecords', decode: (b) => splitTlsRecords(b), layers: ['tls-flight', 'tls-record'], neverThrows: true, maxRandom: 1024 },
  { name: 'inspectServerFlight', decode: inspectServerFlight, layers: ['tls-flight', 'tls-record'], neverThrows: true },
  { name: 'plaintextHandshakeMessages', decode: (b) => plaintextHandshakeMessages(splitTlsRecords(b).records), layers: ['tls-flight'], neverThrows: true },
  { name: 'certificateList', decode: certificateList, layers: ['tls-handshake'] },
  { name: 'decodeCertificate', decode: decodeCertificate, layers: ['x509'], maxRandom: 512 },
  // CredSSP
  { name: 'frameLengthDer', decode: (b) => frameLengthDer(b), layers: ['der'] },
  { name: 'checkDer', decode: (b) => checkDer(b, 'TSRequest'), layers: ['der'] },
  { name: 'decodeTsRequest', decode: decodeTsRequest, layers: ['der'] },
  { name: 'decodeTsCredentials', decode: decodeTsCredentials, layers: ['der'] },
  { name: 'decodeTsPasswordCreds', decode: decodeTsPasswordCreds, layers: ['der'] },
  { name: 'decodeEarlyUserAuthResult', decode: decodeEarlyUserAuthResult, layers: [] },
  // NTLM
  { name: 'decodeNtlmChallenge', decode: decodeNtlmChallenge, layers: ['ntlm'] },
  { name: 'decodeAvPairs', decode: decodeAvPairs, layers: ['ntlm'] },
  { name: 'decodeNtlmNegotiateFlags (lab)', decode: decodeNtlmNegotiateFlags, layers: ['ntlm'] },
  { name: 'decodeNtlmAuthenticate (lab)', decode: decodeNtlmAuthenticate, layers: ['ntlm'] },
  // MCS
  { name: 'classifyMcs', decode: classifyMcs, layers: ['mcs'], neverThrows: true },
  { name: 'decodeMcsConnectInitial', decode: decodeMcsConnectInitial, layers: ['mcs'] },
  { name: 'decodeMcsConnectResponse', decode: decodeMcsConnectResponse, layers: ['mcs'] },
  { name: 'decodeMcsDomainPdu', decode: decodeMcsDomainPdu, layers: ['mcs'] },
  // GCC
  { name: 'decodeGccConferenceCreateRequest', decode: decodeGccConferenceCreateRequest, layers: ['gcc'] },
  { name: 'decodeGccConferenceCreateResponse', decode: decodeGccConferenceCreateResponse, layers: ['gcc'] },
  { name: 'decodeClientData', decode: decodeClientData, layers: ['gcc-data'] },
  { name: 'decodeServerData', decode: decodeServerData, layers: ['gcc-data'] },
  { name: 'decodeClientConnectInitial', decode: decodeClientConnectInitial, layers: ['mcs'] },
  { name: 'decodeServerConnectResponse', decode: decodeServerConnectResponse, layers: ['mcs'] },
  { name: 'decodeClientCoreData', decode: decodeClientCoreData, layers: ['gcc-block'] },
  { name: 'decodeClientSecurityData', decode: decodeClientSecurityData, layers: ['gcc-block'] },
  { name: 'decodeClientNetworkData', decode: decodeClientNetworkData, layers: ['gcc-block'] },
  { name: 'decodeClientClusterData', decode: decodeClientClusterData, layers: ['gcc-block'] },
  { name: 'decodeServerCoreData', decode: decodeServerCoreData, layers: ['gcc-block'] },
  { name: 'decodeServerSecurityData', decode: decodeServerSecurityData, layers: ['gcc-block'] },
  { name: 'decodeServerNetworkData', decode: decodeServerNetworkData, layers: ['gcc-block'] },
  { name: 'decodeServerMessageChannelData', decode: decodeServerMessageChannelData, layers: ['gcc-block'] },
  { name: 'decodeServerMultitransportData', decode: decodeServerMultitransportData, layers: ['gcc-block'] },
  // standard RDP security
  { name: 'decodeSecurityHeader', decode: (b) => decodeSecurityHeader(b), layers: ['secured'] },
  { name: 'decodeSecurityHeader (FIPS)', decode: (b) => decodeSecurityHeader(b, { fips: true }), layers: ['secured'] },
  { name: 'unwrapSecured (no keys)', decode: (b) => unwrapSecured(b), layers: ['secured'] },
  { name: 'decodeServerCertificate', decode: decodeServerCertificate, layers: ['server-cert'] },
  { name: 'decodeProprietaryCertificate', decode: decodeProprietaryCertificate, layers: ['server-cert'] },
  { name: 'decodeSecurityExchangePdu', decode: decodeSecurityExchangePdu, layers: ['secured'] },
  // Client Info, licensing, share PDUs
  { name: 'decodeClientInfo', decode: decodeClientInfo, layers: ['after-sec', 'secured'] },
  { name: 'decodeLicensingPdu', decode: decodeLicensingPdu, layers: ['after-sec'] },
  { name: 'decodeSharePdu', decode: decodeSharePdu, layers: ['share', 'after-sec'] },
  { name: 'decodeSharePdus', decode: (b) => decodeSharePdus(b), layers: ['share', 'after-sec'] },
  { name: 'decodeDemandActiveBody', decode: decodeDemandActiveBody, layers: ['share'] },
  { name: 'decodeConfirmActiveBody', decode: decodeConfirmActiveBody, layers: ['share'] },
  { name: 'decodeCapabilitySets', decode: (b) => decodeCapabilitySets(b.subarray(1), b[0] ?? 0), layers: ['share'] },
  { name: 'decodeServerRedirectionPacket', decode: decodeServerRedirectionPacket, layers: ['share'] },
  { name: 'decodeSaveSessionInfoBody', decode: decodeSaveSessionInfoBody, layers: ['share'] },
  // capture files
  { name: 'flowsFromCapture', decode: (b) => flowsFromCapture(b), layers: ['capture'], maxRandom: 512, ciRuns: 100 },
  { name: 'analyzeCapture', decode: (b) => analyzeCapture(b), layers: ['capture'], maxRandom: 512, ciRuns: 60 },
];

/** Longest a single decode may take; far above any real decode, far below a hang. */
export const MAX_CALL_MS = 2000;

export interface Violation {
  target: string;
  why: string;
  /** The error's stack, when it threw something other than a DecodeError. */
  stack?: string;
}

/** Counts of how the decodes of a run ended (a run where nothing ever decodes, or nothing ever fails, is suspect). */
export interface Outcomes {
  values: number;
  errors: number;
}

/** Runs one decode and says how it broke the contract, or undefined when it kept it. */
export function checkDecode(t: DecoderTarget, bytes: Uint8Array, outcomes?: Outcomes, limitMs = MAX_CALL_MS): Violation | undefined {
  const started = performance.now();
  let violation: Violation | undefined;
  try {
    t.decode(bytes);
    if (outcomes) outcomes.values++;
  } catch (e) {
    if (outcomes) outcomes.errors++;
    if (!(e instanceof DecodeError)) {
      violation = { target: t.name, why: `threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, ...(e instanceof Error && e.stack ? { stack: e.stack } : {}) };
    } else if (t.neverThrows) {
      violation = { target: t.name, why: `documented as never throwing, threw ${e.message}`, ...(e.stack ? { stack: e.stack } : {}) };
    } else if (e.path.length === 0 || e.path.some((p) => typeof p !== 'string' || p.length === 0)) {
      violation = { target: t.name, why: `DecodeError without a PDU path: ${JSON.stringify(e.path)}` };
    } else if (!Number.isInteger(e.offset) || e.offset < 0) {
      violation = { target: t.name, why: `DecodeError offset ${e.offset}` };
    }
  }
  const ms = performance.now() - started;
  if (!violation && ms > limitMs) violation = { target: t.name, why: `took ${ms.toFixed(0)} ms on ${bytes.length} bytes` };
  return violation;
}
