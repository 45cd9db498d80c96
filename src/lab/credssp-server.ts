/**
 * The server side of CredSSP over NTLM ([MS-CSSP] 3.1.5, [MS-NLMP] 3.2.5), pure: TSRequests in, TSRequests out,
 * inside TLS. A test double for the cases a real server cannot be made to show on demand (TSRequest.errorCode
 * values, old CredSSP versions, a server pubKeyAuth that does not verify, malformed answers, an Early User
 * Authorization Result of choice), and at the same time a genuine verifier of what the client sends: it
 * recomputes NTProofStr from the known password, recovers the ExportedSessionKey from
 * EncryptedRandomSessionKey, checks the MIC, the channel bindings and the client's pubKeyAuth, answers with the
 * server pubKeyAuth of the negotiated version, and unseals the delegated TSCredentials.
 *
 * Everything it saw is kept in `observed`, so a test can assert what the client really sent (and did not send).
 * Randomness (the server challenge) and the server clock come in through the config.
 */
import { ByteReader } from '../protocol/codec/reader.js';
import { DecodeError, EncodeError } from '../protocol/codec/errors.js';
import { bytesEqual, hmacMd5 } from '../protocol/crypto/hmac.js';
import { rc4 } from '../protocol/crypto/rc4.js';
import { frameLengthDer } from '../protocol/credssp/der.js';
import { clientServerHash, expectedServerPubKeyAuth, sealToken, unsealToken } from '../protocol/credssp/pub-key-auth.js';
import { CredType, decodeTsCredentials, decodeTsPasswordCreds, type TsPasswordCreds } from '../protocol/credssp/ts-credentials.js';
import { decodeTsRequest, encodeTsRequest, type TsRequest } from '../protocol/credssp/ts-request.js';
import { decodeAvPairs, type NtlmTargetInfo } from '../protocol/ntlm/av-pairs.js';
import { encodeNtlmChallenge } from '../protocol/ntlm/challenge.js';
import { fieldBytes, fileTimeFromUnixMs, fromOem, fromUtf16le, readField, readFileTime, u32le, utf16le, writeFileTime } from '../protocol/ntlm/common.js';
import { AvId, MsvAvFlagBits, NegotiateFlags, NTLMSSP_SIGNATURE, NtlmMessageType, hasFlag } from '../protocol/ntlm/constants.js';
import { ntowfv2 } from '../protocol/ntlm/ntlmv2.js';
import { NtlmSession, NtlmSignatureError } from '../protocol/ntlm/session.js';
import { readNtlmVersion, type NtlmVersion, type NtlmVersionInfo } from '../protocol/ntlm/version.js';
import { NtStatus, SecStatus } from '../protocol/ntstatus.js';

const F = NegotiateFlags;

export interface LabUser {
  user: string;
  domain: string;
  password: string;
}

/** What the CHALLENGE says about the server: the names a client shows as facts, the OS version, the flags. */
export interface NtlmServerIdentity {
  /** CHALLENGE TargetName (the NetBIOS domain for a domain member, the computer name for a workgroup server). */
  targetName: string;
  netbiosComputer: string;
  netbiosDomain: string;
  dnsComputer: string;
  dnsDomain: string;
  /** MsvAvDnsTreeName; no pair when undefined. */
  dnsTree?: string;
  /** VERSION in the CHALLENGE (written when NTLMSSP_NEGOTIATE_VERSION is in `flags`). */
  version: NtlmVersion;
  /**
   * The CHALLENGE NegotiateFlags the server would like. SIGN, SEAL, EXTENDED_SESSIONSECURITY, 128, 56 and
   * KEY_EXCH are kept only when the client's NEGOTIATE asked for them too, as a real server does.
   */
  flags: number;
}

/** A Windows Server 2022 member server of LAB / lab.test (what its CHALLENGE carries). */
export const DEFAULT_NTLM_IDENTITY: NtlmServerIdentity = {
  targetName: 'LAB',
  netbiosComputer: 'RDS01',
  netbiosDomain: 'LAB',
  dnsComputer: 'rds01.lab.test',
  dnsDomain: 'lab.test',
  dnsTree: 'lab.test',
  version: { major: 10, minor: 0, build: 20348, ntlmRevision: 15 },
  // UNICODE REQUEST_TARGET SIGN SEAL NTLM ALWAYS_SIGN TARGET_TYPE_DOMAIN EXTENDED_SESSIONSECURITY TARGET_INFO
  // VERSION 128 KEY_EXCH 56 — what a Windows domain member answers to mstsc.
  flags: 0xe2898235,
};

/** Flags a server grants only when the client asked for them. */
const NEGOTIABLE =
  (F.NTLMSSP_NEGOTIATE_SIGN | F.NTLMSSP_NEGOTIATE_SEAL | F.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | F.NTLMSSP_NEGOTIATE_128 | F.NTLMSSP_NEGOTIATE_56 | F.NTLMSSP_NEGOTIATE_KEY_EXCH) >>> 0;

/** What to send instead of the CHALLENGE. `true` means 'not-der'. */
export type GarbageKind = 'not-der' | 'malformed-tsrequest' | 'malformed-challenge';

export interface CredsspServerConfig {
  /** The CredSSP version this server speaks (2..6): the `version` of every TSRequest it sends. */
  version: number;
  users: readonly LabUser[];
  /** The TLS certificate's SubjectPublicKey (BIT STRING contents): what pubKeyAuth binds. */
  subjectPublicKey: Uint8Array;
  /**
   * MsvAvChannelBindings the client should send: MD5 of the gss_channel_bindings_struct over
   * tls-server-end-point of this server's certificate. Undefined = not checked.
   */
  expectedChannelBindings?: Uint8Array;
  /** HYBRID_EX was selected: an Early User Authorization Result follows the TSCredentials. */
  hybridEx: boolean;
  ntlm?: Partial<NtlmServerIdentity>;
  /** The server's clock (ms since 1970) for MsvAvTimestamp: skew it to show a clock problem. */
  nowMs: number;
  /** 8 random bytes from the caller. */
  serverChallenge: Uint8Array;
  /** Answer the NEGOTIATE with a TSRequest carrying only this errorCode. */
  errorCodeAfterNegotiate?: number;
  /** Answer the AUTHENTICATE with a TSRequest carrying only this errorCode (after verifying it all the same). */
  errorCodeAfterAuthenticate?: number;
  /** Seal something other than the expected echo/hash in the server pubKeyAuth (valid signature, wrong content). */
  badServerPubKeyAuth?: boolean;
  /** Early User Authorization Result under HYBRID_EX; default AUTHZ_SUCCESS (0). */
  earlyUserAuthResult?: number;
  garbageInsteadOfChallenge?: boolean | GarbageKind;
  /** Verify the AUTHENTICATE, then answer nothing: the transport misbehaves instead (alert, close). */
  haltAfterAuthenticate?: boolean;
  /**
   * A wrong password or unknown user gets no errorCode: the server closes the connection, as FreeRDP's shadow
   * server does (Windows answers STATUS_LOGON_FAILURE).
   */
  closeOnLogonFailure?: boolean;
}

/** The decoded AUTHENTICATE_MESSAGE and what verifying it found. */
export interface AuthenticateObservation {
  user: string;
  domain: string;
  workstation: string;
  flags: number;
  version?: NtlmVersionInfo;
  /** The user is in `users`. */
  userKnown: boolean;
  /** NTProofStr matches the known password (false for an unknown user). */
  ntProofOk: boolean;
  /** The client sent an NTLMv2 response (not NTLMv1 or anonymous). */
  ntlmv2: boolean;
  micPresent: boolean;
  /** Set when a MIC was present and the key was known. */
  micOk?: boolean;
  /** The NTLMv2 blob's AV pairs. */
  blob?: NtlmTargetInfo;
  /** 'match' | 'zeros' (no bindings) | 'absent' | 'mismatch' | 'unchecked' */
  channelBindings: 'match' | 'zeros' | 'absent' | 'mismatch' | 'unchecked';
  /** MsvAvTargetName from the blob (e.g. 'TERMSRV/host'). */
  targetName?: string;
  /** The blob's timestamp echoes the CHALLENGE's MsvAvTimestamp. */
  timestampEchoed: boolean;
  /** EncryptedRandomSessionKey was present (KEY_EXCH). */
  keyExchange: boolean;
}

export interface CredsspServerObservations {
  /** `version` of every TSRequest the client sent, in order. */
  clientVersions: number[];
  negotiateFlags?: number;
  /** min(client version, server version), fixed at the AUTHENTICATE. */
  negotiatedVersion?: number;
  authenticate?: AuthenticateObservation;
  /** clientNonce of the AUTHENTICATE TSRequest, if any. */
  clientNonce?: Uint8Array;
  /** The client's pubKeyAuth unsealed and held what the negotiated version requires. */
  clientPubKeyAuth?: 'ok' | 'bad_signature' | 'mismatch' | 'missing' | 'missing_nonce';
  /** Any TSRequest carried authInfo. */
  authInfoReceived: boolean;
  /** The delegated credentials, unsealed (TSPasswordCreds). */
  credentials?: TsPasswordCreds;
  credType?: number;
  /** The client reported an error to us (TSRequest.errorCode from the client). */
  clientErrorCode?: number;
  /** Everything the server sent, named. */
  sent: string[];
  /** Protocol problems in what the client sent. */
  problems: string[];
}

export type CredsspServerAction =
  | { type: 'send'; bytes: Uint8Array; what: string }
  /** The AUTHENTICATE was processed and `haltAfterAuthenticate` is set: the transport takes over. */
  | { type: 'halt' }
  /** The server gives up on this connection (malformed input; a v2 server that cannot send an errorCode). */
  | { type: 'close'; reason: string }
  /** Nothing more to say; the client ends the connection. */
  | { type: 'done' };

type State = 'await_negotiate' | 'await_authenticate' | 'await_credentials' | 'done';

export class CredsspServer {
  readonly observed: CredsspServerObservations = { clientVersions: [], authInfoReceived: false, sent: [], problems: [] };
  private state: State = 'await_negotiate';
  private buffer: Uint8Array = new Uint8Array(0);
  private negotiate?: Uint8Array;
  private challenge?: Uint8Array;
  private challengeTimestamp?: bigint;
  private session?: NtlmSession;
  private readonly identity: NtlmServerIdentity;

  constructor(readonly config: CredsspServerConfig) {
    if (!Number.isInteger(config.version) || config.version < 2 || config.version > 6) throw new EncodeError(`CredSSP version ${config.version} is not 2..6`);
    if (config.serverChallenge.length !== 8) throw new EncodeError('serverChallenge must be 8 bytes');
    this.identity = { ...DEFAULT_NTLM_IDENTITY, ...config.ntlm };
  }

  get isDone(): boolean {
    return this.state === 'done';
  }

  /**
   * Bytes that came after the last TSRequest (under HYBRID the client sends its MCS Connect-Initial right behind
   * the TSCredentials, possibly in the same record): handed on to the session, once.
   */
  takeLeftover(): Uint8Array {
    const b = this.buffer;
    this.buffer = new Uint8Array(0);
    return b;
  }

  /** CredSSP ended with the credentials delegated and (under HYBRID_EX) AUTHZ_SUCCESS: a session may follow. */
  get sessionMayFollow(): boolean {
    return this.isDone && this.observed.credentials !== undefined && (!this.config.hybridEx || (this.config.earlyUserAuthResult ?? 0) === 0);
  }

  /** Bytes from the client (decrypted TLS application data), in any chunking. */
  receive(chunk: Uint8Array): CredsspServerAction[] {
    if (this.isDone) return [];
    this.buffer = concatBytes(this.buffer, chunk);
    const out: CredsspServerAction[] = [];
    // At most one TSRequest per state: the client never pipelines, and a bounded loop cannot spin.
    for (let guard = 0; guard < 4 && !this.isDone; guard++) {
      let len: number | undefined;
      try {
        len = frameLengthDer(this.buffer);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        return [...out, ...this.giveUp(`the client sent something that is not a TSRequest: ${e.message}`)];
      }
      if (len === undefined || this.buffer.length < len) break;
      const frame = this.buffer.subarray(0, len);
      this.buffer = this.buffer.slice(len);
      out.push(...this.onFrame(frame));
    }
    return out;
  }

  private giveUp(reason: string): CredsspServerAction[] {
    this.observed.problems.push(reason);
    this.state = 'done';
    return [{ type: 'close', reason }];
  }

  private send(req: TsRequest, what: string): CredsspServerAction {
    this.observed.sent.push(what);
    return { type: 'send', bytes: encodeTsRequest(req), what };
  }

  /** A TSRequest with only errorCode; a v2 server has no errorCode field and drops the connection instead. */
  private refuse(code: number, why: string): CredsspServerAction[] {
    this.state = 'done';
    if (this.config.version < 3) {
      this.observed.problems.push(`${why} (CredSSP ${this.config.version} has no errorCode: closing)`);
      return [{ type: 'close', reason: why }];
    }
    return [this.send({ version: this.config.version, errorCode: code >>> 0 }, `TSRequest errorCode 0x${(code >>> 0).toString(16)} (${why})`), { type: 'done' }];
  }

  private onFrame(frame: Uint8Array): CredsspServerAction[] {
    let req: TsRequest;
    try {
      req = decodeTsRequest(frame);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return this.giveUp(`malformed TSRequest from the client: ${e.message}`);
    }
    this.observed.clientVersions.push(req.version);
    if (req.errorCode !== undefined) {
      this.observed.clientErrorCode = req.errorCode;
      this.state = 'done';
      return [{ type: 'close', reason: `the client reported errorCode 0x${req.errorCode.toString(16)}` }];
    }
    if (req.authInfo !== undefined) this.observed.authInfoReceived = true;
    switch (this.state) {
      case 'await_negotiate':
        return this.onNegotiate(req);
      case 'await_authenticate':
        return this.onAuthenticate(req);
      case 'await_credentials':
        return this.onCredentials(req);
      default:
        return [];
    }
  }

  private onNegotiate(req: TsRequest): CredsspServerAction[] {
    const token = req.negoTokens?.[0];
    if (req.authInfo !== undefined || req.pubKeyAuth !== undefined) this.observed.problems.push('the first TSRequest carries authInfo or pubKeyAuth');
    if (!token) return this.giveUp('the first TSRequest has no negoToken');
    let flags: number;
    try {
      flags = decodeNtlmNegotiateFlags(token);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return this.refuse(SecStatus.SEC_E_INVALID_TOKEN, `not an NTLM NEGOTIATE: ${e.message}`);
    }
    this.negotiate = token;
    this.observed.negotiateFlags = flags;
    const c = this.config;
    if (c.garbageInsteadOfChallenge) {
      this.state = 'done';
      const kind: GarbageKind = c.garbageInsteadOfChallenge === true ? 'not-der' : c.garbageInsteadOfChallenge;
      this.observed.sent.push(`garbage (${kind})`);
      return [{ type: 'send', bytes: garbage(kind, c.version), what: `garbage (${kind})` }, { type: 'done' }];
    }
    if (c.errorCodeAfterNegotiate !== undefined) {
      this.state = 'done';
      return [this.send({ version: c.version, errorCode: c.errorCodeAfterNegotiate >>> 0 }, 'TSRequest errorCode after the NEGOTIATE'), { type: 'done' }];
    }
    const id = this.identity;
    const challengeFlags = ((id.flags & ~NEGOTIABLE) | (id.flags & flags & NEGOTIABLE)) >>> 0;
    this.challengeTimestamp = fileTimeFromUnixMs(c.nowMs);
    const pairs = [
      { id: AvId.MsvAvNbDomainName, value: utf16le(id.netbiosDomain) },
      { id: AvId.MsvAvNbComputerName, value: utf16le(id.netbiosComputer) },
      { id: AvId.MsvAvDnsDomainName, value: utf16le(id.dnsDomain) },
      { id: AvId.MsvAvDnsComputerName, value: utf16le(id.dnsComputer) },
      ...(id.dnsTree !== undefined ? [{ id: AvId.MsvAvDnsTreeName, value: utf16le(id.dnsTree) }] : []),
      { id: AvId.MsvAvTimestamp, value: writeFileTime(this.challengeTimestamp) },
    ];
    this.challenge = encodeNtlmChallenge({
      negotiateFlags: challengeFlags,
      targetName: id.targetName,
      serverChallenge: c.serverChallenge,
      targetInfo: pairs,
      version: id.version,
    });
    this.state = 'await_authenticate';
    return [this.send({ version: c.version, negoTokens: [this.challenge] }, 'TSRequest / NTLM CHALLENGE')];
  }

  private onAuthenticate(req: TsRequest): CredsspServerAction[] {
    const c = this.config;
    const o = this.observed;
    const negotiated = Math.min(req.version, c.version);
    o.negotiatedVersion = negotiated;
    if (req.clientNonce !== undefined) o.clientNonce = req.clientNonce;
    const token = req.negoTokens?.[0];
    if (!token) return this.refuse(SecStatus.SEC_E_INVALID_TOKEN, 'the AUTHENTICATE TSRequest has no negoToken');
    let auth: DecodedAuthenticate;
    try {
      auth = decodeNtlmAuthenticate(token);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return this.refuse(SecStatus.SEC_E_INVALID_TOKEN, `malformed NTLM AUTHENTICATE: ${e.message}`);
    }
    const v = verifyAuthenticate(auth, {
      users: c.users,
      serverChallenge: c.serverChallenge,
      negotiate: this.negotiate!,
      challenge: this.challenge!,
      ...(this.challengeTimestamp !== undefined ? { challengeTimestamp: this.challengeTimestamp } : {}),
      ...(c.expectedChannelBindings ? { expectedChannelBindings: c.expectedChannelBindings } : {}),
    });
    o.authenticate = v.observation;

    // The client's pubKeyAuth, when the key is known.
    if (v.exportedSessionKey) {
      try {
        this.session = new NtlmSession({ exportedSessionKey: v.exportedSessionKey, flags: auth.flags, role: 'server' });
      } catch (e) {
        if (!(e instanceof EncodeError)) throw e;
        o.problems.push(`no session security: ${e.message}`);
      }
    }
    if (this.session) o.clientPubKeyAuth = this.checkClientPubKeyAuth(req, negotiated);

    if (c.haltAfterAuthenticate) {
      this.state = 'done';
      return [{ type: 'halt' }];
    }
    if (c.errorCodeAfterAuthenticate !== undefined) {
      this.state = 'done';
      return [this.send({ version: c.version, errorCode: c.errorCodeAfterAuthenticate >>> 0 }, 'TSRequest errorCode after the AUTHENTICATE'), { type: 'done' }];
    }
    if (!v.observation.ntProofOk && c.closeOnLogonFailure) {
      this.state = 'done';
      return [{ type: 'close', reason: `${v.observation.userKnown ? 'wrong password' : 'unknown user'}: closing without an errorCode` }];
    }
    // What Windows answers: an unknown user and a wrong password are the same STATUS_LOGON_FAILURE.
    if (!v.observation.ntProofOk) return this.refuse(NtStatus.STATUS_LOGON_FAILURE, v.observation.userKnown ? 'wrong password' : 'unknown user');
    if (v.observation.micOk === false) return this.refuse(SecStatus.SEC_E_MESSAGE_ALTERED, 'the MIC does not verify');
    if (!this.session) return this.refuse(SecStatus.SEC_E_UNSUPPORTED_FUNCTION, 'no session security negotiated');
    if (o.clientPubKeyAuth === 'bad_signature') return this.refuse(SecStatus.SEC_E_MESSAGE_ALTERED, 'the client pubKeyAuth signature does not verify');
    if (o.clientPubKeyAuth !== 'ok') return this.refuse(SecStatus.SEC_E_INVALID_TOKEN, `client pubKeyAuth: ${o.clientPubKeyAuth ?? 'unchecked'}`);

    const echo = expectedServerPubKeyAuth(negotiated, c.subjectPublicKey, negotiated >= 5 ? o.clientNonce : undefined);
    if (c.badServerPubKeyAuth) echo[echo.length - 1] = echo[echo.length - 1]! ^ 0x01;
    this.state = 'await_credentials';
    return [this.send({ version: c.version, pubKeyAuth: sealToken(this.session, echo) }, c.badServerPubKeyAuth ? 'TSRequest / pubKeyAuth (deliberately wrong)' : 'TSRequest / pubKeyAuth')];
  }

  private checkClientPubKeyAuth(req: TsRequest, negotiated: number): CredsspServerObservations['clientPubKeyAuth'] {
    if (req.pubKeyAuth === undefined) return 'missing';
    if (negotiated >= 5 && req.clientNonce === undefined) return 'missing_nonce';
    let got: Uint8Array;
    try {
      got = unsealToken(this.session!, req.pubKeyAuth);
    } catch (e) {
      if (!(e instanceof NtlmSignatureError)) throw e;
      return 'bad_signature';
    }
    const want = negotiated >= 5 ? clientServerHash(req.clientNonce!, this.config.subjectPublicKey) : this.config.subjectPublicKey;
    return bytesEqual(got, want) ? 'ok' : 'mismatch';
  }

  private onCredentials(req: TsRequest): CredsspServerAction[] {
    const o = this.observed;
    this.state = 'done';
    if (req.authInfo === undefined) return this.giveUp('expected authInfo (TSCredentials) after the pubKeyAuth');
    let plain: Uint8Array;
    try {
      plain = unsealToken(this.session!, req.authInfo);
    } catch (e) {
      if (!(e instanceof NtlmSignatureError)) throw e;
      return this.giveUp(`authInfo does not unseal: ${e.message}`);
    }
    try {
      const tc = decodeTsCredentials(plain);
      o.credType = tc.credType;
      if (tc.credType !== CredType.PASSWORD) return this.giveUp(`credType ${tc.credType} is not TSPasswordCreds`);
      o.credentials = decodeTsPasswordCreds(tc.credentials);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return this.giveUp(`malformed TSCredentials: ${e.message}`);
    }
    if (!this.config.hybridEx) return [{ type: 'done' }];
    const code = (this.config.earlyUserAuthResult ?? 0) >>> 0;
    o.sent.push(`Early User Authorization Result 0x${code.toString(16).padStart(8, '0')}`);
    return [{ type: 'send', bytes: u32le(code), what: 'Early User Authorization Result' }, { type: 'done' }];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// NTLM messages from the client

export const NEGOTIATE_PDU = 'NTLM NEGOTIATE_MESSAGE';
export const AUTHENTICATE_PDU = 'NTLM AUTHENTICATE_MESSAGE';

/** NegotiateFlags of a NEGOTIATE_MESSAGE (signature and type checked). */
export function decodeNtlmNegotiateFlags(bytes: Uint8Array): number {
  const r = new ByteReader(bytes, NEGOTIATE_PDU);
  checkSignature(r);
  const type = r.u32le();
  if (type !== NtlmMessageType.NtLmNegotiate) throw new DecodeError(NEGOTIATE_PDU, 8, { kind: 'unexpected_type', got: type, expected: NtlmMessageType.NtLmNegotiate });
  return r.u32le() >>> 0;
}

function checkSignature(r: ByteReader): void {
  const sig = r.bytesN(8);
  for (let i = 0; i < 8; i++) if (sig[i] !== NTLMSSP_SIGNATURE[i]) r.fail('Signature', 'is not "NTLMSSP\\0"', 0);
}

export interface DecodedAuthenticate {
  flags: number;
  lmChallengeResponse: Uint8Array;
  ntChallengeResponse: Uint8Array;
  domain: string;
  user: string;
  workstation: string;
  encryptedRandomSessionKey: Uint8Array;
  version?: NtlmVersionInfo;
  /** Where the MIC sits (64, or 72 with VERSION); whether it is there is said by the blob's MsvAvFlags. */
  micOffset: number;
  /** The NTLMv2 blob, when NtChallengeResponse is one. */
  ntlmv2?: { ntProofStr: Uint8Array; temp: Uint8Array; timestamp: bigint; clientChallenge: Uint8Array; avPairs: NtlmTargetInfo };
  message: Uint8Array;
}

/**
 * Decodes an AUTHENTICATE_MESSAGE ([MS-NLMP] 2.2.1.3). Strict about the header, the payload fields (inside the
 * message, clear of the header) and the NTLMv2 blob (2.2.2.7: RespType 1, HiRespType 1, AV pairs ending with
 * MsvAvEOL). An NtChallengeResponse of 24 bytes (NTLMv1) or 0 (anonymous) is returned without `ntlmv2`.
 */
export function decodeNtlmAuthenticate(bytes: Uint8Array): DecodedAuthenticate {
  const r = new ByteReader(bytes, AUTHENTICATE_PDU);
  checkSignature(r);
  const type = r.u32le();
  if (type !== NtlmMessageType.NtLmAuthenticate) throw new DecodeError(AUTHENTICATE_PDU, 8, { kind: 'unexpected_type', got: type, expected: NtlmMessageType.NtLmAuthenticate });
  const lmF = readField(r);
  const ntF = readField(r);
  const domF = readField(r);
  const userF = readField(r);
  const wsF = readField(r);
  const keyF = readField(r);
  const flags = r.u32le() >>> 0;
  let version: NtlmVersionInfo | undefined;
  if (hasFlag(flags, F.NTLMSSP_NEGOTIATE_VERSION)) version = readNtlmVersion(r);
  const micOffset = r.offset;
  const header = micOffset;
  const get = (f: ReturnType<typeof readField>, name: string): Uint8Array => fieldBytes(bytes, f, name, header, AUTHENTICATE_PDU);
  const unicode = hasFlag(flags, F.NTLMSSP_NEGOTIATE_UNICODE);
  const str = (f: ReturnType<typeof readField>, name: string): string => {
    const b = get(f, name);
    if (unicode && b.length % 2 !== 0) r.fail(`${name}Len`, `UTF-16 value of odd length ${b.length}`, f.at);
    return unicode ? fromUtf16le(b) : fromOem(b);
  };
  const nt = get(ntF, 'NtChallengeResponse');
  const out: DecodedAuthenticate = {
    flags,
    lmChallengeResponse: get(lmF, 'LmChallengeResponse'),
    ntChallengeResponse: nt,
    domain: str(domF, 'DomainName'),
    user: str(userF, 'UserName'),
    workstation: str(wsF, 'Workstation'),
    encryptedRandomSessionKey: get(keyF, 'EncryptedRandomSessionKey'),
    ...(version ? { version } : {}),
    micOffset,
    message: bytes,
  };
  if (nt.length > 24) {
    // NTProofStr (16) then the blob: RespType, HiRespType, Z(6), TimeStamp (8), ChallengeFromClient (8), Z(4), AvPairs, Z(4).
    const at = ntF.offset;
    const b = new ByteReader(nt, 'NTLMv2_RESPONSE');
    const ntProofStr = b.bytesN(16);
    const temp = nt.subarray(16);
    const respType = b.u8();
    const hiRespType = b.u8();
    if (respType !== 1 || hiRespType !== 1) throw new DecodeError(AUTHENTICATE_PDU, at + 16, { kind: 'unsupported_value', name: 'NTLMv2 RespType', value: `${respType}.${hiRespType}` });
    b.skip(6);
    const ts = b.bytesN(8);
    const clientChallenge = b.bytesN(8);
    b.skip(4);
    // The AV pair list runs to its MsvAvEOL; what follows is padding.
    const start = b.offset;
    for (let guard = 0; ; guard++) {
      if (guard > 64) throw new DecodeError(AUTHENTICATE_PDU, at + b.offset, { kind: 'invalid_field', field: 'NTLMv2 AvPairs', reason: 'more than 64 pairs' });
      const id = b.u16le();
      const len = b.u16le();
      if (id === AvId.MsvAvEOL) break;
      b.skip(len);
    }
    let avPairs: NtlmTargetInfo;
    try {
      avPairs = decodeAvPairs(nt.subarray(start, b.offset));
    } catch (e) {
      if (e instanceof DecodeError) throw e.within(AUTHENTICATE_PDU, at + start);
      throw e;
    }
    out.ntlmv2 = { ntProofStr, temp, timestamp: readFileTime(ts), clientChallenge, avPairs };
  }
  return out;
}

export interface VerifyAuthenticateInput {
  users: readonly LabUser[];
  serverChallenge: Uint8Array;
  /** NEGOTIATE and CHALLENGE exactly as exchanged (the MIC covers them). */
  negotiate: Uint8Array;
  challenge: Uint8Array;
  challengeTimestamp?: bigint;
  expectedChannelBindings?: Uint8Array;
}

/**
 * [MS-NLMP] 3.2.5.1.2 on the server: find the user, recompute NTOWFv2 from its password and the user/domain
 * the message names, compare NTProofStr, derive SessionBaseKey (= KeyExchangeKey for NTLMv2), recover the
 * ExportedSessionKey (RC4 of EncryptedRandomSessionKey under KeyExchangeKey with KEY_EXCH), and check the MIC
 * over NEGOTIATE ‖ CHALLENGE ‖ AUTHENTICATE-with-the-MIC-zeroed.
 */
export function verifyAuthenticate(a: DecodedAuthenticate, i: VerifyAuthenticateInput): { observation: AuthenticateObservation; exportedSessionKey?: Uint8Array } {
  const entry = i.users.find((u) => u.user.toLowerCase() === a.user.toLowerCase() && u.domain.toLowerCase() === a.domain.toLowerCase());
  const blob = a.ntlmv2?.avPairs;
  const micPresent = blob?.flags !== undefined && (blob.flags & MsvAvFlagBits.MIC_PRESENT) !== 0;
  let channelBindings: AuthenticateObservation['channelBindings'] = 'unchecked';
  if (i.expectedChannelBindings) {
    const cb = blob?.channelBindings;
    channelBindings = cb === undefined ? 'absent' : bytesEqual(cb, i.expectedChannelBindings) ? 'match' : cb.every((x) => x === 0) ? 'zeros' : 'mismatch';
  }
  const observation: AuthenticateObservation = {
    user: a.user,
    domain: a.domain,
    workstation: a.workstation,
    flags: a.flags,
    ...(a.version ? { version: a.version } : {}),
    userKnown: entry !== undefined,
    ntProofOk: false,
    ntlmv2: a.ntlmv2 !== undefined,
    micPresent,
    ...(blob ? { blob } : {}),
    channelBindings,
    ...(blob?.targetName !== undefined ? { targetName: blob.targetName } : {}),
    timestampEchoed: a.ntlmv2 !== undefined && i.challengeTimestamp !== undefined && a.ntlmv2.timestamp === i.challengeTimestamp,
    keyExchange: a.encryptedRandomSessionKey.length > 0,
  };
  if (!entry || !a.ntlmv2) return { observation };
  const responseKeyNT = ntowfv2({ user: a.user, domain: a.domain, password: entry.password });
  const proof = hmacMd5(responseKeyNT, i.serverChallenge, a.ntlmv2.temp);
  if (!bytesEqual(proof, a.ntlmv2.ntProofStr)) return { observation };
  observation.ntProofOk = true;
  const keyExchangeKey = hmacMd5(responseKeyNT, proof);
  let exportedSessionKey = keyExchangeKey;
  if (hasFlag(a.flags, F.NTLMSSP_NEGOTIATE_KEY_EXCH)) {
    if (a.encryptedRandomSessionKey.length !== 16) return { observation };
    exportedSessionKey = rc4(keyExchangeKey, a.encryptedRandomSessionKey);
  }
  if (micPresent) {
    const m = a.micOffset;
    if (a.message.length < m + 16) {
      observation.micOk = false;
    } else {
      const zeroed = a.message.slice();
      zeroed.fill(0, m, m + 16);
      observation.micOk = bytesEqual(hmacMd5(exportedSessionKey, i.negotiate, i.challenge, zeroed), a.message.subarray(m, m + 16));
    }
  }
  return { observation, exportedSessionKey };
}

// ---------------------------------------------------------------------------------------------------------------

/** What a broken server sends instead of its CHALLENGE. */
export function garbage(kind: GarbageKind, version: number): Uint8Array {
  switch (kind) {
    case 'not-der':
      // An HTTP error page: the kind of thing a misrouted proxy answers.
      return new Uint8Array(Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n', 'latin1'));
    case 'malformed-tsrequest':
      // A DER SEQUENCE whose first field is [1] (negoTokens) without the mandatory [0] version.
      return Uint8Array.from([0x30, 0x08, 0xa1, 0x06, 0x30, 0x04, 0x30, 0x02, 0xa0, 0x00]);
    case 'malformed-challenge':
      // A well-formed TSRequest whose negoToken claims to be an NTLM CHALLENGE but is cut short.
      return encodeTsRequest({ version, negoTokens: [Uint8Array.from([...NTLMSSP_SIGNATURE, 0x02, 0x00, 0x00, 0x00, 0x06, 0x00])] });
  }
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
