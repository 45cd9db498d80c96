/**
 * The pure CredSSP/NTLM step ([MS-CSSP] 3.1.5): bytes in, actions out, inside TLS. It runs the stages
 * `credssp` (NEGOTIATE → CHALLENGE: server facts, no credentials), `nla_auth` (AUTHENTICATE + pubKeyAuth, stop at
 * the server's pubKeyAuth: TSCredentials are never sent here) and, only when delegation was asked for explicitly,
 * `authz` (TSCredentials, then the Early User Authorization Result under HYBRID_EX). Randomness and the clock
 * come in through the config, so a transcript replays byte for byte.
 */
import { concat } from '../protocol/codec/bytes.js';
import { DecodeError, EncodeError } from '../protocol/codec/errors.js';
import { toHex } from '../protocol/hex.js';
import { frameLengthDer } from '../protocol/credssp/der.js';
import { decodeEarlyUserAuthResult, EARLY_USER_AUTH_LENGTH } from '../protocol/credssp/early-user-auth.js';
import { clientPubKeyAuth, sealToken, verifyServerPubKeyAuth } from '../protocol/credssp/pub-key-auth.js';
import { encodePasswordCredentials } from '../protocol/credssp/ts-credentials.js';
import { decodeTsRequest, encodeTsRequest, type TsRequest } from '../protocol/credssp/ts-request.js';
import { encodeNtlmAuthenticate } from '../protocol/ntlm/authenticate.js';
import { decodeNtlmChallenge, type NtlmChallenge } from '../protocol/ntlm/challenge.js';
import { negotiateFlagNames } from '../protocol/ntlm/constants.js';
import { encodeNtlmNegotiate } from '../protocol/ntlm/negotiate.js';
import { NtlmSession } from '../protocol/ntlm/session.js';
import { describeStatus } from '../protocol/ntstatus.js';
import type { FrameEvidence, Stage, StageError } from '../model/report.js';

export const CLIENT_CREDSSP_VERSION = 6;

export interface CredsspConfig {
  /** 'probe' stops after the CHALLENGE; 'auth' after the server's pubKeyAuth; 'delegate' sends TSCredentials. */
  mode: 'probe' | 'auth' | 'delegate';
  credentials?: { user: string; domain: string; password: string };
  /** The TLS certificate's SubjectPublicKey (BIT STRING contents): what pubKeyAuth binds. */
  subjectPublicKey: Uint8Array;
  /** Early User Authorization Result follows (HYBRID_EX selected). */
  hybridEx: boolean;
  /** Our CredSSP version (6 unless emulating an old client). */
  clientVersion: number;
  /** 'TERMSRV/<host>' */
  targetName: string;
  /** tls-server-end-point application data for MsvAvChannelBindings; undefined = none (zeros). */
  channelBindings?: Uint8Array;
  /** Randomness and time, from the driver. */
  random: { clientChallenge: Uint8Array; sessionKey: Uint8Array; nonce: Uint8Array };
  nowMs: number;
}

export interface StageOutcome {
  stage: Stage;
  ok: boolean;
  facts: Record<string, unknown>;
  error?: StageError;
  evidence?: FrameEvidence[];
}

export type CredsspAction =
  | { type: 'send'; bytes: Uint8Array; pdu: string }
  | { type: 'stage'; outcome: StageOutcome }
  | { type: 'done' };

type State = 'await_challenge' | 'await_pubkey' | 'await_authz' | 'done';

export class CredsspConnector {
  private state: State = 'await_challenge';
  private buffer: Uint8Array = new Uint8Array(0);
  private negotiate?: Uint8Array;
  private challenge?: NtlmChallenge;
  private session?: NtlmSession;
  private serverVersion = 0;
  private negotiatedVersion = 0;
  private readonly facts: Record<string, unknown> = {};

  constructor(readonly config: CredsspConfig) {}

  get stage(): Stage {
    return this.state === 'await_challenge' ? 'credssp' : this.state === 'await_pubkey' ? 'nla_auth' : 'authz';
  }

  get isDone(): boolean {
    return this.state === 'done';
  }

  /** Bytes after the last frame read (they belong to the next stage). */
  leftover(): Uint8Array {
    return this.buffer;
  }

  start(): CredsspAction[] {
    this.negotiate = encodeNtlmNegotiate();
    const req = encodeTsRequest({ version: this.config.clientVersion, negoTokens: [this.negotiate] });
    return [{ type: 'send', bytes: req, pdu: 'TSRequest / NTLM NEGOTIATE' }];
  }

  receive(chunk: Uint8Array): CredsspAction[] {
    if (this.state === 'done') return [];
    this.buffer = concat(this.buffer, chunk);
    const out: CredsspAction[] = [];
    for (let guard = 0; guard < 4 && !this.isDone; guard++) {
      let len: number | undefined;
      if (this.state === 'await_authz') len = this.buffer.length >= EARLY_USER_AUTH_LENGTH ? EARLY_USER_AUTH_LENGTH : undefined;
      else {
        try {
          len = frameLengthDer(this.buffer);
        } catch (e) {
          if (!(e instanceof DecodeError)) throw e;
          out.push(...this.fail(this.stage, { layer: 'protocol', kind: 'not_tsrequest', message: `the server sent something that is not a TSRequest: ${e.message}` }, this.buffer));
          return out;
        }
      }
      if (len === undefined || this.buffer.length < len) break;
      const frame = this.buffer.subarray(0, len);
      this.buffer = this.buffer.slice(len);
      out.push(...this.onFrame(frame));
    }
    return out;
  }

  /** The TLS session ended: `alert` names a TLS alert the server sent, if any. */
  closed(how: 'eof' | 'reset', alert?: string, errorCode?: string): CredsspAction[] {
    if (this.state === 'done') return [];
    const stage = this.stage;
    if (!alert && errorCode?.startsWith('ERR_SSL')) {
      // A broken TLS record (bad MAC, decryption failure) is not an answer from the logon service.
      return this.fail(stage, { layer: 'transport', kind: 'tls_error', localCode: errorCode, message: `the TLS session broke during ${stage} (${errorCode}): not an answer to the credentials; a device between us may be tampering with the connection` });
    }
    const by = alert ? `sent TLS alert ${alert} and closed the connection` : how === 'reset' ? 'reset the connection' : 'closed the connection';
    let message: string;
    let kind: string;
    if (stage === 'credssp') {
      kind = 'closed_before_challenge';
      message = `the server ${by} instead of answering the NTLM NEGOTIATE: NLA is selected but CredSSP is not working on the server`;
    } else if (stage === 'nla_auth') {
      kind = alert === 'access_denied' ? 'access_denied' : alert === 'internal_error' ? 'internal_error_after_authenticate' : 'closed_after_authenticate';
      message =
        alert === 'internal_error'
          ? `the server ${by} right after the AUTHENTICATE: on Windows this is ambiguous: it can be a CredSSP version mismatch (encryption oracle remediation: a server that requires updated clients rejects an old CredSSP exchange), or an account problem the server does not name (e.g. password expired); it does not say the password was wrong`
          : alert === 'access_denied'
            ? `the server ${by} after the AUTHENTICATE: the logon was refused (wrong user name or password, or the account may not log on)`
            : `the server ${by} right after the NTLM AUTHENTICATE without an error code: the credentials were rejected (FreeRDP's server and older Windows do this for a wrong user name or password)`;
    } else {
      kind = 'closed_after_credentials';
      message = `the server ${by} after receiving the delegated credentials, before the authorization result`;
    }
    return this.fail(stage, { layer: 'peer', kind, message, ...(alert ? { codeName: alert, spec: 'RFC 8446 6.2' } : {}) });
  }

  timedOut(ms: number): CredsspAction[] {
    if (this.state === 'done') return [];
    return this.fail(this.stage, { layer: 'transport', kind: 'timeout', message: `no answer from the server within ${ms} ms during ${this.stage}` }, this.buffer.length > 0 ? this.buffer : undefined);
  }

  private fail(stage: Stage, error: StageError, bytes?: Uint8Array): CredsspAction[] {
    this.state = 'done';
    const facts = stage === 'credssp' ? { ...this.facts } : this.stageFacts(stage);
    return [{ type: 'stage', outcome: { stage, ok: false, facts, error, ...(bytes ? { evidence: [ev(bytes, stage === 'authz' ? 'bytes before the authorization result' : 'unparsed TSRequest bytes')] } : {}) } }, { type: 'done' }];
  }

  private stageFacts(stage: Stage): Record<string, unknown> {
    return stage === 'nla_auth' ? { negotiatedVersion: this.negotiatedVersion, user: this.config.credentials ? `${this.config.credentials.domain ? `${this.config.credentials.domain}\\` : ''}${this.config.credentials.user}` : undefined } : {};
  }

  private onFrame(frame: Uint8Array): CredsspAction[] {
    if (this.state === 'await_authz') {
      const r = decodeEarlyUserAuthResult(frame);
      this.state = 'done';
      const ok = r.code === 0;
      return [
        {
          type: 'stage',
          outcome: {
            stage: 'authz',
            ok,
            facts: { result: r.name, code: r.code },
            evidence: [ev(frame, 'Early User Authorization Result')],
            ...(ok
              ? {}
              : {
                  error: {
                    layer: 'peer',
                    kind: r.code === 5 ? 'access_denied' : 'authorization_failed',
                    code: r.code,
                    codeName: r.name,
                    spec: 'MS-RDPBCGR 2.2.10.2',
                    message: r.code === 5 ? 'authenticated, but not allowed to log on over RDP (AUTHZ_ACCESS_DENIED)' : `the server refused authorization with code ${r.code}`,
                  },
                }),
          },
        },
        { type: 'done' },
      ];
    }
    let req: TsRequest;
    try {
      req = decodeTsRequest(frame);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return this.fail(this.stage, { layer: 'protocol', kind: 'malformed_tsrequest', message: `malformed TSRequest: ${e.message}`, path: e.path.join(' > '), offset: e.offset }, frame);
    }
    if (this.state === 'await_challenge') return this.onChallenge(req, frame);
    return this.onPubKeyAuth(req, frame);
  }

  private errorCodeFailure(stage: Stage, code: number, frame: Uint8Array): CredsspAction[] {
    const d = describeStatus(code);
    return this.fail(stage, { layer: 'peer', kind: 'error_code', code, codeName: d.name, spec: 'MS-CSSP 2.2.1', message: `${d.message} (TSRequest.errorCode ${d.label}); usual fix: ${d.fix}` }, frame);
  }

  private onChallenge(req: TsRequest, frame: Uint8Array): CredsspAction[] {
    this.serverVersion = req.version;
    this.facts['serverVersion'] = req.version;
    Object.assign(this.facts, oracleFacts(req.version));
    if (req.errorCode !== undefined) return this.errorCodeFailure('credssp', req.errorCode, frame);
    const token = req.negoTokens?.[0];
    if (!token) return this.fail('credssp', { layer: 'protocol', kind: 'no_challenge', message: 'the server answered the NEGOTIATE without an NTLM CHALLENGE' }, frame);
    try {
      this.challenge = decodeNtlmChallenge(token);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return this.fail('credssp', { layer: 'protocol', kind: 'malformed_challenge', message: `malformed NTLM CHALLENGE: ${e.message}`, path: e.path.join(' > '), offset: e.offset }, frame);
    }
    const c = this.challenge;
    Object.assign(this.facts, { ntlm: challengeFacts(c, this.config.nowMs) });
    const evidence = [ev(frame, 'TSRequest / NTLM CHALLENGE')];
    const actions: CredsspAction[] = [{ type: 'stage', outcome: { stage: 'credssp', ok: true, facts: { ...this.facts }, evidence } }];
    if (this.config.mode === 'probe' || !this.config.credentials) {
      this.state = 'done';
      actions.push({ type: 'done' });
      return actions;
    }
    // nla_auth: AUTHENTICATE + pubKeyAuth in one TSRequest.
    this.negotiatedVersion = Math.min(this.config.clientVersion, this.serverVersion);
    let auth;
    try {
      auth = encodeNtlmAuthenticate({
        negotiateMessage: this.negotiate!,
        challenge: c,
        credentials: this.config.credentials,
        clientChallenge: this.config.random.clientChallenge,
        randomSessionKey: this.config.random.sessionKey,
        timestamp: fileTime(this.config.nowMs),
        targetName: this.config.targetName,
        ...(this.config.channelBindings ? { channelBindings: this.config.channelBindings } : {}),
      });
      this.session = new NtlmSession({ exportedSessionKey: auth.exportedSessionKey, flags: auth.flags });
    } catch (e) {
      if (!(e instanceof EncodeError)) throw e;
      this.state = 'done';
      actions.push({ type: 'stage', outcome: { stage: 'nla_auth', ok: false, facts: {}, error: { layer: 'protocol', kind: 'unsupported_challenge', message: `cannot answer this CHALLENGE: ${e.message}` } } }, { type: 'done' });
      return actions;
    }
    const useNonce = this.negotiatedVersion >= 5;
    const pubKeyAuth = clientPubKeyAuth(this.session, this.negotiatedVersion, this.config.subjectPublicKey, useNonce ? this.config.random.nonce : undefined);
    const msg = encodeTsRequest({
      version: this.config.clientVersion,
      negoTokens: [auth.message],
      pubKeyAuth,
      ...(useNonce ? { clientNonce: this.config.random.nonce } : {}),
    });
    this.state = 'await_pubkey';
    actions.push({ type: 'send', bytes: msg, pdu: 'TSRequest / NTLM AUTHENTICATE + pubKeyAuth' });
    return actions;
  }

  private onPubKeyAuth(req: TsRequest, frame: Uint8Array): CredsspAction[] {
    if (req.errorCode !== undefined) return this.errorCodeFailure('nla_auth', req.errorCode, frame);
    if (!req.pubKeyAuth) return this.fail('nla_auth', { layer: 'protocol', kind: 'no_pubkeyauth', message: 'the server answered the AUTHENTICATE without pubKeyAuth or an error code' }, frame);
    const useNonce = this.negotiatedVersion >= 5;
    const v = verifyServerPubKeyAuth(this.session!, this.negotiatedVersion, this.config.subjectPublicKey, req.pubKeyAuth, useNonce ? this.config.random.nonce : undefined);
    if (!v.ok) {
      return this.fail(
        'nla_auth',
        {
          layer: 'peer',
          kind: 'pubkeyauth_mismatch',
          message: `the server's pubKeyAuth does not verify (${v.message}): it does not hold this TLS key, or something between us re-terminates TLS`,
        },
        frame,
      );
    }
    // In delegate mode the TSCredentials go out right after this outcome (same call): say so.
    const facts = { ...this.stageFacts('nla_auth'), pubKeyAuth: 'verified', credentialsDelegated: this.config.mode === 'delegate' };
    const actions: CredsspAction[] = [{ type: 'stage', outcome: { stage: 'nla_auth', ok: true, facts, evidence: [ev(frame, 'TSRequest / pubKeyAuth')] } }];
    if (this.config.mode !== 'delegate') {
      this.state = 'done';
      actions.push({ type: 'done' });
      return actions;
    }
    const c = this.config.credentials!;
    const creds = encodePasswordCredentials({ domainName: c.domain, userName: c.user, password: c.password });
    const authInfo = sealToken(this.session!, creds);
    actions.push({ type: 'send', bytes: encodeTsRequest({ version: this.config.clientVersion, authInfo }), pdu: 'TSRequest / authInfo (TSCredentials)' });
    if (this.config.hybridEx) this.state = 'await_authz';
    else {
      this.state = 'done';
      actions.push({ type: 'done' });
    }
    return actions;
  }
}

/**
 * The names and version an NTLM CHALLENGE gives away, as the credssp stage files them (live and offline). With
 * `nowMs`, the skew between the server's clock and ours; a capture read later has no "now" to compare with.
 */
export function challengeFacts(c: NtlmChallenge, nowMs?: number): Record<string, unknown> {
  const ti = c.targetInfo;
  return {
    targetName: c.targetName,
    netbiosComputer: ti?.nbComputerName,
    netbiosDomain: ti?.nbDomainName,
    dnsComputer: ti?.dnsComputerName,
    dnsDomain: ti?.dnsDomainName,
    dnsTree: ti?.dnsTreeName,
    ...(c.version ? { osVersion: `${c.version.major}.${c.version.minor}.${c.version.build}`, ...(c.version.windowsName ? { os: c.version.windowsName } : {}) } : {}),
    ...(ti?.timestamp ? { serverTime: ti.timestamp, ...(nowMs !== undefined ? { clockSkewSeconds: Math.round((Date.parse(ti.timestamp) - nowMs) / 1000) } : {}) } : {}),
    flags: negotiateFlagNames(c.negotiateFlags),
  };
}

/** What the server's CredSSP version says about the "encryption oracle remediation" (CVE-2018-0886) error. */
export function oracleFacts(v: number): Record<string, unknown> {
  if (v >= 5) {
    return {
      oracleRemediation: 'server updated (CredSSP 5+, client nonce binding)',
      clientCompatibility: {
        forceUpdatedClients: 'works',
        mitigated: 'works',
        vulnerable: 'works',
        unpatchedClient: 'fails if the server requires updated clients (policy Force Updated Clients); not visible without credentials',
      },
    };
  }
  return {
    oracleRemediation: `server not updated for CVE-2018-0886 (CredSSP ${v})`,
    clientCompatibility: {
      forceUpdatedClients: 'fails: "CredSSP encryption oracle remediation" error on the client',
      mitigated: 'fails: "CredSSP encryption oracle remediation" error on the client',
      vulnerable: 'works',
      unpatchedClient: 'works',
    },
  };
}

function fileTime(ms: number): bigint {
  return (BigInt(Math.floor(ms)) + 11644473600000n) * 10000n;
}

function ev(bytes: Uint8Array, pdu: string): FrameEvidence {
  return { direction: 'server', hex: toHex(bytes, 1024), length: bytes.length, pdu };
}
