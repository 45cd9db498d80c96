/** [MS-NLMP] constants, spelled as in the spec. */

/** [MS-NLMP] 2.2.1 "NTLMSSP\0": the first 8 bytes of every NTLM message. */
export const NTLMSSP_SIGNATURE = Uint8Array.from([0x4e, 0x54, 0x4c, 0x4d, 0x53, 0x53, 0x50, 0x00]);

/** [MS-NLMP] 2.2.1 MessageType. */
export const NtlmMessageType = {
  NtLmNegotiate: 0x00000001,
  NtLmChallenge: 0x00000002,
  NtLmAuthenticate: 0x00000003,
} as const;

/** [MS-NLMP] 2.2.2.5 NEGOTIATE flags (bit 31 is NTLMSSP_NEGOTIATE_56; values are unsigned). */
export const NegotiateFlags = {
  NTLMSSP_NEGOTIATE_UNICODE: 0x00000001,
  NTLM_NEGOTIATE_OEM: 0x00000002,
  NTLMSSP_REQUEST_TARGET: 0x00000004,
  NTLMSSP_NEGOTIATE_SIGN: 0x00000010,
  NTLMSSP_NEGOTIATE_SEAL: 0x00000020,
  NTLMSSP_NEGOTIATE_DATAGRAM: 0x00000040,
  NTLMSSP_NEGOTIATE_LM_KEY: 0x00000080,
  NTLMSSP_NEGOTIATE_NTLM: 0x00000200,
  NTLMSSP_NEGOTIATE_ANONYMOUS: 0x00000800,
  NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED: 0x00001000,
  NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED: 0x00002000,
  NTLMSSP_NEGOTIATE_ALWAYS_SIGN: 0x00008000,
  NTLMSSP_TARGET_TYPE_DOMAIN: 0x00010000,
  NTLMSSP_TARGET_TYPE_SERVER: 0x00020000,
  NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY: 0x00080000,
  NTLMSSP_NEGOTIATE_IDENTIFY: 0x00100000,
  NTLMSSP_REQUEST_NON_NT_SESSION_KEY: 0x00400000,
  NTLMSSP_NEGOTIATE_TARGET_INFO: 0x00800000,
  NTLMSSP_NEGOTIATE_VERSION: 0x02000000,
  NTLMSSP_NEGOTIATE_128: 0x20000000,
  NTLMSSP_NEGOTIATE_KEY_EXCH: 0x40000000,
  NTLMSSP_NEGOTIATE_56: 0x80000000,
} as const;

const F = NegotiateFlags;

/**
 * The NEGOTIATE_MESSAGE flags this client sends by default: 0xe2088235.
 *
 * UNICODE, REQUEST_TARGET, SIGN, SEAL, NTLM, ALWAYS_SIGN, EXTENDED_SESSIONSECURITY, VERSION, 128, KEY_EXCH, 56.
 * That is FreeRDP's set (winpr `ntlm_write_NegotiateMessage` with confidentiality on, as CredSSP needs) without
 * its two legacy requests, NTLM_NEGOTIATE_OEM and NTLMSSP_NEGOTIATE_LM_KEY: this code only speaks UTF-16 and
 * NTLMv2 with extended session security, so asking for OEM strings or LM session keys would only invite a
 * downgrade. TARGET_INFO is not requested: servers send TargetInfo whenever NTLMv2 is possible.
 * {@link NTLM_FREERDP_NEGOTIATE_FLAGS} is FreeRDP's exact value, for callers that want to look like it.
 */
export const NTLM_DEFAULT_NEGOTIATE_FLAGS =
  (F.NTLMSSP_NEGOTIATE_UNICODE |
    F.NTLMSSP_REQUEST_TARGET |
    F.NTLMSSP_NEGOTIATE_SIGN |
    F.NTLMSSP_NEGOTIATE_SEAL |
    F.NTLMSSP_NEGOTIATE_NTLM |
    F.NTLMSSP_NEGOTIATE_ALWAYS_SIGN |
    F.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY |
    F.NTLMSSP_NEGOTIATE_VERSION |
    F.NTLMSSP_NEGOTIATE_128 |
    F.NTLMSSP_NEGOTIATE_KEY_EXCH |
    F.NTLMSSP_NEGOTIATE_56) >>>
  0;

/**
 * What FreeRDP sends in its NEGOTIATE_MESSAGE for CredSSP (winpr `ntlm_write_NegotiateMessage`, NTLMv2 with
 * confidentiality): 0xe20882b7, i.e. the default plus NTLM_NEGOTIATE_OEM and NTLMSSP_NEGOTIATE_LM_KEY.
 */
export const NTLM_FREERDP_NEGOTIATE_FLAGS =
  (NTLM_DEFAULT_NEGOTIATE_FLAGS | F.NTLM_NEGOTIATE_OEM | F.NTLMSSP_NEGOTIATE_LM_KEY) >>> 0;

/** [MS-NLMP] 2.2.2.1 AV_PAIR AvId. */
export const AvId = {
  MsvAvEOL: 0x0000,
  MsvAvNbComputerName: 0x0001,
  MsvAvNbDomainName: 0x0002,
  MsvAvDnsComputerName: 0x0003,
  MsvAvDnsDomainName: 0x0004,
  MsvAvDnsTreeName: 0x0005,
  MsvAvFlags: 0x0006,
  MsvAvTimestamp: 0x0007,
  MsvAvSingleHost: 0x0008,
  MsvAvTargetName: 0x0009,
  MsvAvChannelBindings: 0x000a,
} as const;

/** [MS-NLMP] 2.2.2.1 MsvAvFlags bits. */
export const MsvAvFlagBits = {
  ACCOUNT_AUTHENTICATION_CONSTRAINED: 0x00000001,
  MIC_PRESENT: 0x00000002,
  TARGET_SPN_UNTRUSTED_SOURCE: 0x00000004,
} as const;

/** [MS-NLMP] 2.2.2.10 NTLMRevisionCurrent: NTLMSSP_REVISION_W2K3. */
export const NTLMSSP_REVISION_W2K3 = 0x0f;

/** Names of the set bits, spec spelling; unknown bits as hex. */
export function negotiateFlagNames(flags: number): string[] {
  const out: string[] = [];
  let rest = flags >>> 0;
  for (const [k, v] of Object.entries(NegotiateFlags)) {
    if ((flags & v) >>> 0 === v) {
      out.push(k);
      rest = (rest & ~v) >>> 0;
    }
  }
  if (rest !== 0) out.push(`0x${rest.toString(16).padStart(8, '0')}`);
  return out;
}

export function hasFlag(flags: number, flag: number): boolean {
  return (flags & flag) >>> 0 === flag >>> 0;
}
