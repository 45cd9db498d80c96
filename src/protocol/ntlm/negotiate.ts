/** [MS-NLMP] 2.2.1.1 NEGOTIATE_MESSAGE. */

import { ByteWriter } from '../codec/writer.js';
import { NegotiateFlags, NTLM_DEFAULT_NEGOTIATE_FLAGS, NTLMSSP_SIGNATURE, NtlmMessageType, hasFlag } from './constants.js';
import { NTLM_CLIENT_VERSION, writeNtlmVersion, type NtlmVersion } from './version.js';

export interface NtlmNegotiateInput {
  /** Default {@link NTLM_DEFAULT_NEGOTIATE_FLAGS} (0xe2088235). */
  flags?: number;
  /** Written iff NTLMSSP_NEGOTIATE_VERSION is set; default {@link NTLM_CLIENT_VERSION}. */
  version?: NtlmVersion;
}

/**
 * Encodes a NEGOTIATE_MESSAGE: Signature 8, MessageType 4, NegotiateFlags 4, DomainNameFields 8 and
 * WorkstationFields 8 (both empty, offsets 0, as FreeRDP and Windows send them), Version 8 — 40 bytes with the
 * default flags. Keep the exact bytes: the MIC in the AUTHENTICATE_MESSAGE covers them.
 */
export function encodeNtlmNegotiate(input: NtlmNegotiateInput = {}): Uint8Array {
  const flags = (input.flags ?? NTLM_DEFAULT_NEGOTIATE_FLAGS) >>> 0;
  const w = new ByteWriter(40);
  w.bytes(NTLMSSP_SIGNATURE).u32le(NtlmMessageType.NtLmNegotiate).u32le(flags);
  w.u16le(0).u16le(0).u32le(0); // DomainNameFields
  w.u16le(0).u16le(0).u32le(0); // WorkstationFields
  if (hasFlag(flags, NegotiateFlags.NTLMSSP_NEGOTIATE_VERSION)) writeNtlmVersion(w, input.version ?? NTLM_CLIENT_VERSION);
  return w.finish();
}
