/** [MS-NLMP] 2.2.1.3 AUTHENTICATE_MESSAGE with NTLMv2 (3.1.5.1.2, 3.1.5.2.1, 3.3.2, 3.4.5.1). */

import { EncodeError } from '../codec/errors.js';
import { ByteWriter } from '../codec/writer.js';
import { hmacMd5 } from '../crypto/hmac.js';
import { rc4 } from '../crypto/rc4.js';
import { encodeAvPairs, type AvPair } from './av-pairs.js';
import type { NtlmChallenge } from './challenge.js';
import { AvId, MsvAvFlagBits, NegotiateFlags, NTLMSSP_SIGNATURE, NtlmMessageType, hasFlag } from './constants.js';
import { u32le, utf16le } from './common.js';
import { channelBindingsHash, computeNtlmv2Response, ntowfv2, type NtlmCredentials } from './ntlmv2.js';
import { NTLM_CLIENT_VERSION, writeNtlmVersion, type NtlmVersion } from './version.js';

const F = NegotiateFlags;

/** Fixed part: Signature 8, MessageType 4, six payload descriptors 6×8, NegotiateFlags 4. */
export const AUTHENTICATE_BASE_LENGTH = 64;
/** Offset of the MIC when Version is present (the usual case). */
export const AUTHENTICATE_MIC_OFFSET = 72;

/**
 * AUTHENTICATE flags sent whatever the server said: UNICODE, REQUEST_TARGET, NTLM, ALWAYS_SIGN, TARGET_INFO
 * (there is always an NTLMv2 blob with AV pairs), VERSION.
 */
export const NTLM_AUTHENTICATE_FIXED_FLAGS =
  (F.NTLMSSP_NEGOTIATE_UNICODE |
    F.NTLMSSP_REQUEST_TARGET |
    F.NTLMSSP_NEGOTIATE_NTLM |
    F.NTLMSSP_NEGOTIATE_ALWAYS_SIGN |
    F.NTLMSSP_NEGOTIATE_TARGET_INFO |
    F.NTLMSSP_NEGOTIATE_VERSION) >>>
  0;

/**
 * AUTHENTICATE flags sent only when the CHALLENGE has them too (the server's choice stands, so both ends derive
 * the same session keys): SIGN, SEAL, EXTENDED_SESSIONSECURITY, 128, KEY_EXCH, 56.
 */
export const NTLM_AUTHENTICATE_NEGOTIATED_FLAGS =
  (F.NTLMSSP_NEGOTIATE_SIGN |
    F.NTLMSSP_NEGOTIATE_SEAL |
    F.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY |
    F.NTLMSSP_NEGOTIATE_128 |
    F.NTLMSSP_NEGOTIATE_KEY_EXCH |
    F.NTLMSSP_NEGOTIATE_56) >>>
  0;

/**
 * The default AUTHENTICATE flags for a CHALLENGE: the fixed set plus the negotiated bits the server kept.
 * Against a Windows server (and in [MS-NLMP] 4.2.4.3) this is 0xe2888235, the same set FreeRDP's
 * `ntlm_write_AuthenticateMessage` sends.
 */
export function authenticateFlags(challengeFlags: number): number {
  return (NTLM_AUTHENTICATE_FIXED_FLAGS | (challengeFlags & NTLM_AUTHENTICATE_NEGOTIATED_FLAGS)) >>> 0;
}

export interface NtlmAuthenticateInput {
  /** The NEGOTIATE_MESSAGE exactly as sent (the MIC covers it). */
  negotiateMessage: Uint8Array;
  /** The decoded CHALLENGE_MESSAGE (its `message` bytes are what the MIC covers). */
  challenge: NtlmChallenge;
  credentials: NtlmCredentials;
  /** Workstation name (UTF-16LE); default '' (an empty field, as FreeRDP sends). */
  workstation?: string;
  /** 8 random bytes (ChallengeFromClient), from the caller. */
  clientChallenge: Uint8Array;
  /** 16 random bytes, from the caller; required when KEY_EXCH is negotiated (it becomes the ExportedSessionKey). */
  randomSessionKey?: Uint8Array;
  /**
   * FILETIME for the blob when the CHALLENGE carries no MsvAvTimestamp (the caller's clock). Ignored when the
   * server sent a timestamp: the client then echoes the server's, as 3.1.5.2.1 requires.
   */
  timestamp?: bigint;
  /**
   * MsvAvChannelBindings: the gss_channel_bindings_struct application data (for TLS,
   * {@link tlsServerEndPointAppData}); undefined → 16 zero bytes (no bindings, what Windows sends);
   * false → no MsvAvChannelBindings pair at all (the blob then has only the server's pairs, as in 4.2.4).
   */
  channelBindings?: Uint8Array | false;
  /** MsvAvTargetName, e.g. 'TERMSRV/host' (UTF-16LE); no pair when undefined. */
  targetName?: string;
  /** Send a MIC (and MsvAvFlags 0x2). Default: iff the CHALLENGE carries MsvAvTimestamp (3.1.5.2.1). */
  mic?: boolean;
  /** Default {@link authenticateFlags}(challenge flags). */
  flags?: number;
  /** Written iff NTLMSSP_NEGOTIATE_VERSION is set; default {@link NTLM_CLIENT_VERSION}. */
  version?: NtlmVersion;
}

export interface NtlmAuthenticateResult {
  /** The AUTHENTICATE_MESSAGE to send (MIC filled in). */
  message: Uint8Array;
  flags: number;
  /** NTOWFv2 = ResponseKeyNT = ResponseKeyLM. */
  responseKeyNT: Uint8Array;
  ntProofStr: Uint8Array;
  ntChallengeResponse: Uint8Array;
  lmChallengeResponse: Uint8Array;
  sessionBaseKey: Uint8Array;
  /** KXKEY for NTLMv2 = SessionBaseKey. */
  keyExchangeKey: Uint8Array;
  /** RandomSessionKey with KEY_EXCH, else KeyExchangeKey: the key for session security and the MIC. */
  exportedSessionKey: Uint8Array;
  /** RC4(KeyExchangeKey, RandomSessionKey) with KEY_EXCH; empty otherwise. */
  encryptedRandomSessionKey: Uint8Array;
  /** The AV pairs placed in the NTLMv2 blob (MsvAvEOL included), as encoded. */
  blobAvPairs: Uint8Array;
  /** HMAC_MD5(ExportedSessionKey, NEGOTIATE ‖ CHALLENGE ‖ AUTHENTICATE with MIC zeroed), when sent. */
  mic?: Uint8Array;
}

/**
 * The AV pairs of the NTLMv2 blob: the server's TargetInfo pairs in order (MsvAvFlags gets bit 0x2 when a MIC
 * is sent), then MsvAvFlags if the server had none and a MIC is sent, MsvAvChannelBindings, MsvAvTargetName,
 * MsvAvEOL — the order of FreeRDP's `ntlm_construct_authenticate_target_info`. Server pairs with the AvIds we
 * add ourselves (channel bindings, target name) are replaced rather than duplicated.
 */
export function authenticateAvPairs(
  serverPairs: readonly AvPair[],
  opts: { mic: boolean; channelBindings?: Uint8Array | false; targetName?: string },
): AvPair[] {
  const out: AvPair[] = [];
  let flagsSeen = false;
  const replace = new Set<number>();
  if (opts.channelBindings !== false) replace.add(AvId.MsvAvChannelBindings);
  if (opts.targetName !== undefined) replace.add(AvId.MsvAvTargetName);
  for (const p of serverPairs) {
    if (replace.has(p.id)) continue;
    if (p.id === AvId.MsvAvFlags && p.value.length === 4) {
      flagsSeen = true;
      const v = (p.value[0]! | (p.value[1]! << 8) | (p.value[2]! << 16) | (p.value[3]! << 24)) >>> 0;
      out.push({ id: p.id, value: u32le(opts.mic ? v | MsvAvFlagBits.MIC_PRESENT : v) });
      continue;
    }
    out.push(p);
  }
  if (opts.mic && !flagsSeen) out.push({ id: AvId.MsvAvFlags, value: u32le(MsvAvFlagBits.MIC_PRESENT) });
  if (opts.channelBindings !== false) {
    out.push({ id: AvId.MsvAvChannelBindings, value: channelBindingsHash(opts.channelBindings) });
  }
  if (opts.targetName !== undefined) out.push({ id: AvId.MsvAvTargetName, value: utf16le(opts.targetName) });
  return out;
}

/**
 * Computes the NTLMv2 responses and keys and encodes the AUTHENTICATE_MESSAGE. Pure: the client challenge,
 * random session key and (when the server sent no timestamp) the time come from the caller.
 *
 * Payload order: DomainName, UserName, Workstation, LmChallengeResponse, NtChallengeResponse,
 * EncryptedRandomSessionKey (as Windows and FreeRDP lay it out, and as 4.2.4.3 shows).
 */
export function encodeNtlmAuthenticate(input: NtlmAuthenticateInput): NtlmAuthenticateResult {
  const { challenge } = input;
  const flags = (input.flags ?? authenticateFlags(challenge.negotiateFlags)) >>> 0;
  const info = challenge.targetInfo;
  const serverTimestamp = info?.timestampFileTime;
  const timestamp = serverTimestamp ?? input.timestamp;
  if (timestamp === undefined) throw new EncodeError('the CHALLENGE has no MsvAvTimestamp: a timestamp must be given');
  const withMic = input.mic ?? serverTimestamp !== undefined;

  const blobPairs = authenticateAvPairs(info?.pairs ?? [], {
    mic: withMic,
    ...(input.channelBindings !== undefined ? { channelBindings: input.channelBindings } : {}),
    ...(input.targetName !== undefined ? { targetName: input.targetName } : {}),
  });
  const blobAvPairs = encodeAvPairs(blobPairs);

  const responseKeyNT = ntowfv2(input.credentials);
  const rsp = computeNtlmv2Response({
    responseKeyNT,
    serverChallenge: challenge.serverChallenge,
    clientChallenge: input.clientChallenge,
    timestamp,
    avPairs: blobAvPairs,
    zeroLmResponse: serverTimestamp !== undefined,
  });

  const keyExchangeKey = rsp.sessionBaseKey;
  let exportedSessionKey = keyExchangeKey;
  let encryptedRandomSessionKey: Uint8Array = new Uint8Array(0);
  if (hasFlag(flags, F.NTLMSSP_NEGOTIATE_KEY_EXCH)) {
    const random = input.randomSessionKey;
    if (random === undefined || random.length !== 16) {
      throw new EncodeError('KEY_EXCH is negotiated: a 16-byte randomSessionKey must be given');
    }
    exportedSessionKey = random;
    encryptedRandomSessionKey = rc4(keyExchangeKey, random);
  }

  const withVersion = hasFlag(flags, F.NTLMSSP_NEGOTIATE_VERSION);
  const micOffset = AUTHENTICATE_BASE_LENGTH + (withVersion ? 8 : 0);
  const header = micOffset + (withMic ? 16 : 0);
  const domain = utf16le(input.credentials.domain);
  const user = utf16le(input.credentials.user);
  const workstation = utf16le(input.workstation ?? '');
  const payload = [domain, user, workstation, rsp.lmChallengeResponse, rsp.ntChallengeResponse, encryptedRandomSessionKey];
  const offsets: number[] = [];
  let at = header;
  for (const p of payload) {
    if (p.length > 0xffff) throw new EncodeError(`AUTHENTICATE payload field of ${p.length} bytes is too long`);
    offsets.push(at);
    at += p.length;
  }
  const field = (w: ByteWriter, i: number): void => {
    const len = payload[i]!.length;
    w.u16le(len).u16le(len).u32le(offsets[i]!);
  };

  const w = new ByteWriter(at);
  w.bytes(NTLMSSP_SIGNATURE).u32le(NtlmMessageType.NtLmAuthenticate);
  field(w, 3); // LmChallengeResponseFields
  field(w, 4); // NtChallengeResponseFields
  field(w, 0); // DomainNameFields
  field(w, 1); // UserNameFields
  field(w, 2); // WorkstationFields
  field(w, 5); // EncryptedRandomSessionKeyFields
  w.u32le(flags);
  if (withVersion) writeNtlmVersion(w, input.version ?? NTLM_CLIENT_VERSION);
  if (withMic) w.bytes(new Uint8Array(16)); // MIC, zero while it is computed
  for (const p of payload) w.bytes(p);
  const message = w.finish();

  let mic: Uint8Array | undefined;
  if (withMic) {
    mic = hmacMd5(exportedSessionKey, input.negotiateMessage, challenge.message, message);
    message.set(mic, micOffset);
  }

  return {
    message,
    flags,
    responseKeyNT,
    ntProofStr: rsp.ntProofStr,
    ntChallengeResponse: rsp.ntChallengeResponse,
    lmChallengeResponse: rsp.lmChallengeResponse,
    sessionBaseKey: rsp.sessionBaseKey,
    keyExchangeKey,
    exportedSessionKey,
    encryptedRandomSessionKey,
    blobAvPairs,
    ...(mic !== undefined ? { mic } : {}),
  };
}
