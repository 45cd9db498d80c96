/** [MS-NLMP] 2.2.1.2 CHALLENGE_MESSAGE. */

import { ByteReader } from '../codec/reader.js';
import { DecodeError, EncodeError, nested } from '../codec/errors.js';
import { ByteWriter } from '../codec/writer.js';
import { decodeAvPairs, encodeAvPairs, type AvPair, type NtlmTargetInfo } from './av-pairs.js';
import { NegotiateFlags, NTLMSSP_SIGNATURE, NtlmMessageType, hasFlag } from './constants.js';
import { fieldBytes, fromOem, fromUtf16le, readField, utf16le } from './common.js';
import { readNtlmVersion, writeNtlmVersion, type NtlmVersion, type NtlmVersionInfo } from './version.js';

export const CHALLENGE_PDU = 'NTLM CHALLENGE_MESSAGE';

/** Fixed part: Signature 8, MessageType 4, TargetNameFields 8, NegotiateFlags 4, ServerChallenge 8, Reserved 8, TargetInfoFields 8. */
export const CHALLENGE_HEADER_LENGTH = 48;
/** Plus Version (8) when NTLMSSP_NEGOTIATE_VERSION is set. */
export const CHALLENGE_HEADER_LENGTH_WITH_VERSION = 56;

export interface NtlmChallenge {
  /** NegotiateFlags (u32, unsigned). */
  negotiateFlags: number;
  /** TargetName: UTF-16LE with NTLMSSP_NEGOTIATE_UNICODE, else OEM (read as Latin-1). Absent when empty. */
  targetName?: string;
  /** ServerChallenge (8 bytes). */
  serverChallenge: Uint8Array;
  /** Reserved (8 bytes, normally zero; kept because some stacks leak state here). */
  reserved: Uint8Array;
  /** TargetInfo decoded; absent when TargetInfoLen is 0. */
  targetInfo?: NtlmTargetInfo;
  /** TargetInfo exactly as received (empty when absent). */
  targetInfoBytes: Uint8Array;
  /** Version, present iff NTLMSSP_NEGOTIATE_VERSION is set. */
  version?: NtlmVersionInfo;
  /** The whole message as received: the MIC covers it byte for byte. */
  message: Uint8Array;
}

/**
 * Decodes one CHALLENGE_MESSAGE (the whole buffer). Strict: signature, MessageType 2, payload buffers inside
 * the message and clear of the header, an odd-length Unicode TargetName, a malformed AV_PAIR list and bytes
 * after the last payload buffer are all DecodeErrors.
 */
export function decodeNtlmChallenge(bytes: Uint8Array): NtlmChallenge {
  const r = new ByteReader(bytes, CHALLENGE_PDU);
  const signature = r.bytesN(8);
  for (let i = 0; i < 8; i++) {
    if (signature[i] !== NTLMSSP_SIGNATURE[i]) r.fail('Signature', 'is not "NTLMSSP\\0"', 0);
  }
  const type = r.u32le();
  if (type !== NtlmMessageType.NtLmChallenge) {
    throw new DecodeError(CHALLENGE_PDU, 8, { kind: 'unexpected_type', got: type, expected: NtlmMessageType.NtLmChallenge });
  }
  const targetNameField = readField(r);
  const negotiateFlags = r.u32le();
  const serverChallenge = r.bytesN(8);
  const reserved = r.bytesN(8);
  const targetInfoField = readField(r);
  let version: NtlmVersionInfo | undefined;
  if (hasFlag(negotiateFlags, NegotiateFlags.NTLMSSP_NEGOTIATE_VERSION)) version = readNtlmVersion(r);
  const header = r.offset;

  const nameBytes = fieldBytes(bytes, targetNameField, 'TargetName', header, CHALLENGE_PDU);
  const unicode = hasFlag(negotiateFlags, NegotiateFlags.NTLMSSP_NEGOTIATE_UNICODE);
  if (unicode && nameBytes.length % 2 !== 0) {
    r.fail('TargetNameLen', `UTF-16 value of odd length ${nameBytes.length}`, targetNameField.at);
  }
  const infoBytes = fieldBytes(bytes, targetInfoField, 'TargetInfo', header, CHALLENGE_PDU);
  const targetInfo =
    infoBytes.length > 0 ? nested(CHALLENGE_PDU, targetInfoField.offset, () => decodeAvPairs(infoBytes)) : undefined;

  let end = header;
  for (const f of [targetNameField, targetInfoField]) if (f.len > 0) end = Math.max(end, f.offset + f.len);
  if (bytes.length > end) throw new DecodeError(CHALLENGE_PDU, end, { kind: 'trailing_bytes', count: bytes.length - end });

  return {
    negotiateFlags,
    ...(nameBytes.length > 0 ? { targetName: unicode ? fromUtf16le(nameBytes) : fromOem(nameBytes) } : {}),
    serverChallenge,
    reserved,
    ...(targetInfo !== undefined ? { targetInfo } : {}),
    targetInfoBytes: infoBytes,
    ...(version !== undefined ? { version } : {}),
    message: bytes,
  };
}

export interface NtlmChallengeInput {
  negotiateFlags: number;
  /** Encoded as UTF-16LE (this encoder is for tests and fake servers, which speak Unicode). */
  targetName?: string;
  serverChallenge: Uint8Array;
  reserved?: Uint8Array;
  /** The AV pairs (MsvAvEOL is appended); omit for no TargetInfo. */
  targetInfo?: readonly AvPair[];
  /** Written iff NTLMSSP_NEGOTIATE_VERSION is set (required then). */
  version?: NtlmVersion;
}

/** Encodes a CHALLENGE_MESSAGE with the payload in the usual order (TargetName, then TargetInfo). */
export function encodeNtlmChallenge(c: NtlmChallengeInput): Uint8Array {
  if (c.serverChallenge.length !== 8) throw new EncodeError('ServerChallenge must be 8 bytes');
  const withVersion = hasFlag(c.negotiateFlags, NegotiateFlags.NTLMSSP_NEGOTIATE_VERSION);
  if (withVersion && c.version === undefined) throw new EncodeError('NTLMSSP_NEGOTIATE_VERSION is set but no version given');
  const header = withVersion ? CHALLENGE_HEADER_LENGTH_WITH_VERSION : CHALLENGE_HEADER_LENGTH;
  const name = c.targetName !== undefined ? utf16le(c.targetName) : new Uint8Array(0);
  const info = c.targetInfo !== undefined ? encodeAvPairs(c.targetInfo) : new Uint8Array(0);
  const w = new ByteWriter(header + name.length + info.length);
  w.bytes(NTLMSSP_SIGNATURE).u32le(NtlmMessageType.NtLmChallenge);
  w.u16le(name.length).u16le(name.length).u32le(header);
  w.u32le(c.negotiateFlags >>> 0);
  w.bytes(c.serverChallenge);
  w.bytes(c.reserved ?? new Uint8Array(8));
  w.u16le(info.length).u16le(info.length).u32le(header + name.length);
  if (withVersion) writeNtlmVersion(w, c.version!);
  w.bytes(name).bytes(info);
  return w.finish();
}
