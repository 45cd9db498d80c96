/**
 * The pure session step, after X.224 (and TLS, and CredSSP when NLA was selected): MCS/GCC, standard RDP
 * security, Client Info, licensing and the start of activation, up to the server's Demand Active or its refusal
 * (Set Error Info, MCS Disconnect Provider Ultimatum, a license error, a redirection). Bytes in, actions out;
 * randomness comes in through the config, so a run replays byte for byte. The same stage facts feed the offline
 * analyzer (src/pcap) through the exported fact builders.
 *
 * What it sends is what a careful client sends and no more: no password in the Client Info unless the user asked
 * to delegate it, and once the server has said what it would do (Demand Active), a polite MCS Disconnect Provider
 * Ultimatum, so no session stays behind.
 */
import { concat } from '../protocol/codec/bytes.js';
import { DecodeError, EncodeError } from '../protocol/codec/errors.js';
import { toHex } from '../protocol/hex.js';
import { encodeMcsConnectInitial, decodeMcsConnectResponse } from '../protocol/mcs/connect.js';
import {
  decodeMcsDomainPdu,
  encodeMcsAttachUserRequest,
  encodeMcsChannelJoinRequest,
  encodeMcsDisconnectProviderUltimatum,
  encodeMcsErectDomainRequest,
  encodeMcsSendDataRequest,
} from '../protocol/mcs/domain.js';
import { MCS_GLOBAL_CHANNEL_ID } from '../protocol/mcs/constants.js';
import { decodeGccConferenceCreateResponse, encodeGccConferenceCreateRequest } from '../protocol/gcc/conference.js';
import { ClusterFlags, defaultClientSettings, encodeClientData } from '../protocol/gcc/client-data.js';
import { decodeServerData, type ServerData } from '../protocol/gcc/server-data.js';
import { SecurityProtocol, protocolNames } from '../protocol/nego.js';
import { ENCRYPTION_LEVEL, ENCRYPTION_METHOD, SEC, encryptionLevelName, encryptionMethodName } from '../protocol/security/constants.js';
import { decodeServerCertificate, publicKeyOfChain } from '../protocol/security/proprietary-cert.js';
import { encryptClientRandom, encodeSecurityExchangePdu } from '../protocol/security/exchange.js';
import { deriveFipsKeys, deriveSessionKeys } from '../protocol/security/keys.js';
import { FipsSecurity, StandardSecurity, type SecurityLayer } from '../protocol/security/cipher.js';
import { unwrapSecured, wrapSecured } from '../protocol/security/header.js';
import { rawRsaLE, type RsaPublicKey } from '../protocol/security/rsa.js';
import { encodeClientInfo } from '../protocol/client-info.js';
import { decodeLicensingPdu, encodeClientNewLicenseRequest, licenseMsgTypeName, type LicensingPdu } from '../protocol/licensing.js';
import { decodeSharePdus, type SharePdu } from '../protocol/share/index.js';
import { decodeServerRedirectionPacket, type ServerRedirection } from '../protocol/share/redirection.js';
import { encodeConfirmActive, type DemandActive } from '../protocol/share/demand-active.js';
import { minimalClientCapabilities } from '../protocol/share/capabilities.js';
import { ControlAction, encodeShareDataPdu, PduType2 } from '../protocol/share/data.js';
import { AddressFamily } from '../protocol/client-info.js';
import { decodeX224Frame } from '../protocol/x224.js';
import { frameLengthTpkt } from '../protocol/tpkt.js';
import type { FrameEvidence, Finding, Stage, StageError } from '../model/report.js';
import { errinfoName } from '../probe/codes/errinfo.js';
import { looksLikeLicensing, redirectionFacts, redirectionTarget, securityFacts } from './session-facts.js';
import type { StageOutcome as CredsspStageOutcome } from './credssp-connector.js';

/** A stage's end; `skipped` files the stage as skipped with that reason instead. */
export type StageOutcome = CredsspStageOutcome & { skipped?: string };

export interface SessionConfig {
  /** selectedProtocol of the X.224 answer (0 = standard RDP security). */
  selectedProtocol: number;
  /** requestedProtocols of our X.224 request: the server echoes it in SC_CORE (a mismatch is a downgrade). */
  requestedProtocols?: number;
  /** The X.224 answer had no negotiation data (a legacy server): CS_CORE then carries no serverSelectedProtocol. */
  legacy: boolean;
  /** Encryption methods offered under standard RDP security (CS_SECURITY). */
  encryptionMethods: number;
  clientName: string;
  /** For the Client Info: the account, when one was given. */
  user?: string;
  domain?: string;
  /** Only when the user asked to delegate: without NLA, a password in the Client Info is delegation. */
  password?: string;
  /** mstsc /admin: ask for the console session (CS_CLUSTER redirectedSessionId 0). */
  console?: boolean;
  /**
   * Credentials were delegated (TSCredentials, or a password in the Client Info): after the Demand Active, confirm
   * it and finalize as a client does, then wait (up to the stage deadline) for the server to say the logon happened
   * (Save Session Info) or why not (Set Error Info), before leaving.
   */
  followLogon?: boolean;
  /** Stop after the Connect-Response (encryption-method enumeration): the mcs stage ends there, then leave. */
  stopAfterConnectResponse?: boolean;
  /** 32 random bytes for the client random, from the driver. */
  clientRandom: Uint8Array;
  /** Licensing (MS-RDPELE): the client random (32 bytes) and premaster secret (48 bytes) of a New License Request. */
  licenseClientRandom: Uint8Array;
  licensePreMasterSecret: Uint8Array;
}

export type SessionAction =
  | { type: 'send'; bytes: Uint8Array; pdu: string }
  | { type: 'stage'; outcome: StageOutcome }
  | { type: 'finding'; finding: Finding }
  | { type: 'done' };

type State = 'mcs_connect' | 'attach' | 'join' | 'licensing' | 'activation' | 'logon' | 'done';

/** One Set Error Info, as the report keeps it. */
export interface ErrorInfoSeen {
  code: number;
  stage: Stage;
}

/** Set Error Info PDUs kept for the report (a real server sends one or two; more are counted, not kept). */
export const MAX_ERROR_INFO_KEPT = 16;

const TLS_BASED = SecurityProtocol.PROTOCOL_SSL | SecurityProtocol.PROTOCOL_HYBRID | SecurityProtocol.PROTOCOL_HYBRID_EX;

export class SessionConnector {
  private state: State = 'mcs_connect';
  private buffer: Uint8Array = new Uint8Array(0);
  private server?: ServerData;
  private userId = 0;
  private joinQueue: number[] = [];
  private joined: number[] = [];
  private security?: SecurityLayer;
  private encryptionLevel = 0;
  /** The Set Error Info PDUs seen: the first MAX_ERROR_INFO_KEPT - 1 and the latest (a server may send without end). */
  private readonly errors: ErrorInfoSeen[] = [];
  private errorInfoCount = 0;
  private readonly mcsFacts: Record<string, unknown> = {};
  private readonly licensingFacts: Record<string, unknown> = {};
  private readonly activationFacts: Record<string, unknown> = {};
  /** Frames seen in the current stage (the last few are the evidence of a failure). */
  private lastFrame?: { bytes: Uint8Array; pdu: string };

  constructor(readonly config: SessionConfig) {}

  get stage(): Stage {
    switch (this.state) {
      case 'mcs_connect':
      case 'attach':
      case 'join':
        return 'mcs';
      case 'licensing':
        return 'licensing';
      default:
        return 'activation';
    }
  }

  get isDone(): boolean {
    return this.state === 'done';
  }

  /** Standard RDP security: the TLS-less path, where the security stage runs. */
  get standardSecurity(): boolean {
    return (this.config.selectedProtocol & TLS_BASED) === 0;
  }

  start(): SessionAction[] {
    const settings = defaultClientSettings({
      clientName: this.config.clientName,
      // Under TLS the server ignores these (and must choose NONE); under standard security it picks one.
      encryptionMethods: this.standardSecurity ? this.config.encryptionMethods : 0,
      serverSelectedProtocol: this.config.legacy ? 0 : this.config.selectedProtocol,
    });
    if (this.config.console && settings.cluster) {
      // mstsc /admin: the console session (redirectedSessionId 0, marked valid).
      settings.cluster.flags |= ClusterFlags.REDIRECTED_SESSIONID_FIELD_VALID;
      settings.cluster.redirectedSessionId = 0;
    }
    let bytes: Uint8Array;
    try {
      bytes = dataTpdu(encodeMcsConnectInitial(encodeGccConferenceCreateRequest(encodeClientData(settings))));
    } catch (e) {
      if (!(e instanceof EncodeError)) throw e;
      return this.fail('mcs', { layer: 'internal', kind: 'encode_failed', message: `cannot build the MCS Connect-Initial: ${e.message}` });
    }
    return [{ type: 'send', bytes, pdu: 'MCS Connect-Initial / GCC Conference Create Request' }];
  }

  /** Feed bytes as they arrive (any split). */
  receive(chunk: Uint8Array): SessionAction[] {
    if (this.state === 'done') return [];
    this.buffer = this.buffer.length === 0 ? chunk : concat(this.buffer, chunk);
    const out: SessionAction[] = [];
    // Bounded: each pass consumes a whole frame or stops.
    for (let guard = 0; guard < 10_000 && !this.isDone; guard++) {
      let len: number | undefined;
      try {
        len = frameLength(this.buffer);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        out.push(...this.fail(this.stage, { layer: 'protocol', kind: 'malformed_frame', message: `the server sent a frame that is neither TPKT nor fast-path: ${e.message}`, path: e.path.join(' > '), offset: e.offset }, this.buffer.subarray(0, 64), 'unframed bytes'));
        break;
      }
      if (len === undefined || this.buffer.length < len) break;
      const frame = this.buffer.subarray(0, len);
      this.buffer = this.buffer.subarray(len);
      out.push(...this.onFrame(frame));
    }
    return out;
  }

  closed(how: 'eof' | 'reset', alert?: string): SessionAction[] {
    if (this.state === 'done') return [];
    const by = alert ? `sent TLS alert ${alert} and closed the connection` : how === 'reset' ? 'reset the connection' : 'closed the connection';
    const stage = this.stage;
    const last = this.errors[this.errors.length - 1];
    if (this.state === 'logon' && !last && this.activationFacts['finalized'] === true) {
      // The server finalized the connection (Font Map), so it accepted the session; ending it without a Set Error
      // Info is its own choice (FreeRDP's shadow server does this to an auth-only client), said as such.
      this.activationFacts['logon'] = `the server ${by} after the finalization without Set Error Info`;
      // Nothing is sent on a connection the server has closed.
      return [{ type: 'finding', finding: { id: 'session-closed-after-finalization', severity: 'low', stage: 'activation', message: `the server finalized the connection, then ${by} without saying why (no Set Error Info): a client would see the session end at once` } }, ...this.finishActivation().filter((a) => a.type !== 'send')];
    }
    const when = this.describeWaiting();
    if (last) {
      return this.fail(stage, errinfoError(last.code, `the server sent Set Error Info, then ${by} ${when}`), this.lastFrame?.bytes, this.lastFrame?.pdu);
    }
    return this.fail(stage, { layer: 'peer', kind: how === 'reset' ? 'reset' : 'closed', message: `the server ${by} ${when}`, ...(alert ? { codeName: alert } : {}) }, this.lastFrame?.bytes, this.lastFrame?.pdu);
  }

  timedOut(ms: number): SessionAction[] {
    if (this.state === 'done') return [];
    if (this.state === 'logon' && this.errors.length === 0) {
      // The session is up; a logon notice is the server's to send when the user's desktop is ready.
      this.activationFacts['logon'] = `not reported within ${ms} ms after the finalization (the server sends Save Session Info once the logon completes)`;
      return this.finishActivation();
    }
    const last = this.errors[this.errors.length - 1];
    if (last) {
      // A server that repeats it without end is not silent: say how often it came.
      const what = this.errorInfoCount > 1 ? `Set Error Info ${this.errorInfoCount} times and did not end the connection within the ${ms} ms stage deadline` : `Set Error Info, then nothing for ${ms} ms`;
      return this.fail(this.stage, errinfoError(last.code, `the server sent ${what} ${this.describeWaiting()}`), this.lastFrame?.bytes, this.lastFrame?.pdu);
    }
    return this.fail(this.stage, { layer: 'transport', kind: 'timeout', message: `no answer from the server within ${ms} ms ${this.describeWaiting()}` }, this.buffer.length > 0 ? this.buffer : undefined, 'partial frame');
  }

  private describeWaiting(): string {
    switch (this.state) {
      case 'mcs_connect':
        return 'after the MCS Connect-Initial (waiting for the Connect-Response)';
      case 'logon':
        return 'after the Confirm Active and finalization (waiting for the logon)';
      case 'attach':
        return 'after Erect Domain and Attach User (waiting for the Attach User Confirm)';
      case 'join':
        return `after the Channel Join Request for channel ${this.joinQueue[0] ?? '?'}`;
      case 'licensing':
        return 'after the Client Info PDU (waiting for licensing)';
      default:
        return 'during activation (waiting for the Demand Active)';
    }
  }

  private fail(stage: Stage, error: StageError, bytes?: Uint8Array, pdu = 'server frame'): SessionAction[] {
    this.state = 'done';
    const facts = this.factsOf(stage);
    return [{ type: 'stage', outcome: { stage, ok: false, facts, error, ...(bytes ? { evidence: [ev(bytes, pdu)] } : {}) } }, { type: 'done' }];
  }

  private factsOf(stage: Stage): Record<string, unknown> {
    const errorInfo = this.errors.filter((e) => e.stage === stage).map((e) => e.code);
    const base = stage === 'mcs' ? this.mcsFacts : stage === 'licensing' ? this.licensingFacts : stage === 'activation' ? this.activationFacts : {};
    const more = this.errorInfoCount > this.errors.length ? { errorInfoCount: this.errorInfoCount } : {};
    return { ...base, ...(errorInfo.length > 0 ? { errorInfo, ...more } : {}) };
  }

  private onFrame(frame: Uint8Array): SessionAction[] {
    if (frame[0] !== 0x03) {
      // A fast-path update: servers send them only after activation, which the probe never reaches.
      this.lastFrame = { bytes: frame, pdu: 'fast-path output' };
      if (this.state === 'activation') this.activationFacts['fastPathBeforeDemandActive'] = true;
      return [];
    }
    let data: Uint8Array;
    try {
      const x = decodeX224Frame(frame);
      if (x.type !== 'data') {
        this.lastFrame = { bytes: frame, pdu: `X.224 ${x.type}` };
        if (x.type === 'disconnect_request') return this.fail(this.stage, { layer: 'peer', kind: 'disconnect_request', code: x.reason, message: `the server sent an X.224 Disconnect Request (reason ${x.reason}) ${this.describeWaiting()}` }, frame, 'X.224 Disconnect Request');
        return this.fail(this.stage, { layer: 'protocol', kind: 'unexpected_pdu', message: `the server sent an X.224 ${x.type.replace(/_/g, ' ')} ${this.describeWaiting()}` }, frame, `X.224 ${x.type}`);
      }
      data = x.data;
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return this.malformed(frame, 'X.224', e);
    }
    if (this.state === 'mcs_connect') return this.onConnectResponse(frame, data);
    let pdu;
    try {
      pdu = decodeMcsDomainPdu(data);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return this.malformed(frame, 'MCS domain PDU', e);
    }
    this.lastFrame = { bytes: frame, pdu: pduLabel(pdu.type) };
    if (pdu.type === 'disconnect_provider_ultimatum') return this.onUltimatum(frame, pdu.reasonName, pdu.reason);
    switch (this.state) {
      case 'attach':
        if (pdu.type !== 'attach_user_confirm') return this.unexpected(frame, pduLabel(pdu.type), 'an Attach User Confirm');
        if (pdu.result !== 0 || pdu.initiator === undefined) {
          return this.fail('mcs', { layer: 'peer', kind: 'attach_user_rejected', code: pdu.result, codeName: pdu.resultName, spec: 'T.125 11.14', message: `the server refused MCS Attach User with ${pdu.resultName}` }, frame, 'MCS Attach User Confirm');
        }
        this.userId = pdu.initiator;
        this.mcsFacts['userId'] = this.userId;
        this.joinQueue = this.channelsToJoin();
        return this.nextJoin();
      case 'join': {
        if (pdu.type !== 'channel_join_confirm') return this.unexpected(frame, pduLabel(pdu.type), 'a Channel Join Confirm');
        const want = this.joinQueue[0]!;
        if (pdu.result !== 0) {
          return this.fail('mcs', { layer: 'peer', kind: 'channel_join_rejected', code: pdu.result, codeName: pdu.resultName, spec: 'T.125 11.22', message: `the server refused to join channel ${want} (${this.channelName(want)}) with ${pdu.resultName}` }, frame, 'MCS Channel Join Confirm');
        }
        if (pdu.requested !== want) {
          return this.fail('mcs', { layer: 'protocol', kind: 'channel_join_mismatch', message: `the server confirmed channel ${pdu.requested}, but channel ${want} was asked for` }, frame, 'MCS Channel Join Confirm');
        }
        this.joined.push(want);
        this.joinQueue.shift();
        return this.nextJoin();
      }
      case 'licensing':
      case 'activation':
      case 'logon':
        if (pdu.type !== 'send_data_indication') return this.unexpected(frame, pduLabel(pdu.type), 'a Send Data Indication');
        return this.onChannelData(frame, pdu.channelId, pdu.userData);
      default:
        return [];
    }
  }

  private malformed(frame: Uint8Array, what: string, e: DecodeError): SessionAction[] {
    return this.fail(this.stage, { layer: 'protocol', kind: 'malformed_pdu', message: `malformed ${what} from the server: ${e.message}`, path: e.path.join(' > '), offset: e.offset }, frame, `malformed ${what}`);
  }

  private unexpected(frame: Uint8Array, got: string, wanted: string): SessionAction[] {
    return this.fail(this.stage, { layer: 'protocol', kind: 'unexpected_pdu', message: `the server sent ${got} where ${wanted} belongs` }, frame, got);
  }

  private onUltimatum(frame: Uint8Array, reasonName: string, reason: number): SessionAction[] {
    const stage = this.stage;
    const last = this.errors[this.errors.length - 1];
    if (last) return this.fail(stage, errinfoError(last.code, `the server sent Set Error Info, then an MCS Disconnect Provider Ultimatum (${reasonName}) ${this.describeWaiting()}`), frame, 'MCS Disconnect Provider Ultimatum');
    return this.fail(stage, { layer: 'peer', kind: 'disconnect_provider_ultimatum', code: reason, codeName: reasonName, spec: 'T.125 11.4', message: `the server ended the connection with an MCS Disconnect Provider Ultimatum (${reasonName}) ${this.describeWaiting()}` }, frame, 'MCS Disconnect Provider Ultimatum');
  }

  // ---- MCS Connect-Response ----

  private onConnectResponse(frame: Uint8Array, data: Uint8Array): SessionAction[] {
    this.lastFrame = { bytes: frame, pdu: 'MCS Connect-Response' };
    if (data[0] !== 0x7f) {
      try {
        const pdu = decodeMcsDomainPdu(data);
        if (pdu.type === 'disconnect_provider_ultimatum') return this.onUltimatum(frame, pdu.reasonName, pdu.reason);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
      }
      return this.unexpected(frame, 'an MCS domain PDU', 'the MCS Connect-Response');
    }
    let server: ServerData;
    try {
      const cr = decodeMcsConnectResponse(data);
      this.mcsFacts['result'] = cr.resultName;
      if (cr.result !== 0) {
        return this.fail('mcs', { layer: 'peer', kind: 'mcs_connect_rejected', code: cr.result, codeName: cr.resultName, spec: 'T.125 11.3', message: `the server rejected the MCS Connect-Initial with ${cr.resultName}` }, frame, 'MCS Connect-Response');
      }
      const gcc = decodeGccConferenceCreateResponse(cr.userData);
      if (gcc.result !== 0) {
        return this.fail('mcs', { layer: 'peer', kind: 'gcc_create_rejected', code: gcc.result, codeName: gcc.resultName, spec: 'T.124 8.7', message: `the server refused the GCC Conference Create Request with ${gcc.resultName}` }, frame, 'MCS Connect-Response');
      }
      server = decodeServerData(gcc.serverData);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return this.malformed(frame, 'MCS Connect-Response', e);
    }
    this.server = server;
    const actions: SessionAction[] = [];
    const f = serverDataFacts(server);
    Object.assign(this.mcsFacts, f);
    for (const finding of serverDataFindings(server, this.config)) actions.push({ type: 'finding', finding });
    if (this.config.stopAfterConnectResponse) {
      this.state = 'done';
      actions.push(
        { type: 'stage', outcome: { stage: 'mcs', ok: true, facts: { ...this.mcsFacts }, evidence: [ev(frame, 'MCS Connect-Response')] } },
        { type: 'send', bytes: dataTpdu(encodeMcsDisconnectProviderUltimatum(3)), pdu: 'MCS Disconnect Provider Ultimatum (rn-user-requested)' },
        { type: 'done' },
      );
      return actions;
    }
    this.state = 'attach';
    actions.push(
      { type: 'send', bytes: dataTpdu(encodeMcsErectDomainRequest()), pdu: 'MCS Erect Domain Request' },
      { type: 'send', bytes: dataTpdu(encodeMcsAttachUserRequest()), pdu: 'MCS Attach User Request' },
    );
    return actions;
  }

  private channelsToJoin(): number[] {
    const s = this.server;
    const list = [this.userId, s?.net?.mcsChannelId ?? MCS_GLOBAL_CHANNEL_ID, ...(s?.net?.channelIds ?? [])];
    if (s?.messageChannel?.mcsChannelId) list.push(s.messageChannel.mcsChannelId);
    return list;
  }

  private channelName(id: number): string {
    if (id === this.userId) return 'user channel';
    if (id === (this.server?.net?.mcsChannelId ?? MCS_GLOBAL_CHANNEL_ID)) return 'I/O channel';
    if (id === this.server?.messageChannel?.mcsChannelId) return 'message channel';
    return 'static virtual channel';
  }

  private nextJoin(): SessionAction[] {
    const next = this.joinQueue[0];
    if (next !== undefined) {
      this.state = 'join';
      return [{ type: 'send', bytes: dataTpdu(encodeMcsChannelJoinRequest({ initiator: this.userId, channelId: next })), pdu: `MCS Channel Join Request (${next})` }];
    }
    this.mcsFacts['joinedChannels'] = [...this.joined];
    const actions: SessionAction[] = [{ type: 'stage', outcome: { stage: 'mcs', ok: true, facts: { ...this.mcsFacts }, ...(this.lastFrame ? { evidence: [ev(this.lastFrame.bytes, this.lastFrame.pdu)] } : {}) } }];
    // security: standard RDP security only
    if (this.standardSecurity) {
      const sec = this.securityExchange();
      actions.push(...sec.actions);
      if (sec.failed) return actions;
    }
    // Client Info (no password unless delegating), then wait for licensing.
    actions.push(...this.sendClientInfo());
    return actions;
  }

  // ---- standard RDP security ----

  private securityExchange(): { actions: SessionAction[]; failed: boolean } {
    const s = this.server!;
    const method = s.security?.encryptionMethod ?? 0;
    const level = s.security?.encryptionLevel ?? 0;
    this.encryptionLevel = level;
    const sf = securityFacts(s);
    const facts = sf.facts;
    if (method === ENCRYPTION_METHOD.NONE || level === ENCRYPTION_LEVEL.NONE) {
      return { actions: [{ type: 'stage', outcome: { stage: 'security', ok: true, facts } }], failed: false };
    }
    const random = s.security?.serverRandom;
    const fail = (kind: string, message: string): { actions: SessionAction[]; failed: boolean } => ({ actions: this.fail('security', { layer: 'peer', kind, message, spec: 'MS-RDPBCGR 2.2.1.4.3' }), failed: true });
    if (sf.error) {
      const e = sf.error;
      return { actions: this.fail('security', { layer: 'protocol', kind: 'malformed_certificate', message: `the server certificate in the security data cannot be read: ${e.message}`, path: e.path.join(' > '), offset: e.offset }), failed: true };
    }
    const cert = sf.cert;
    if (!cert || !random || random.length !== 32) return fail('no_server_key', 'the server chose encryption but sent no server random or certificate');
    let key: RsaPublicKey;
    let encrypted: Uint8Array;
    try {
      key = cert.kind === 'proprietary' ? { publicExponent: cert.publicExponent, modulus: cert.modulus } : publicKeyOfChain(cert);
      encrypted = encryptClientRandom(this.config.clientRandom, key);
    } catch (e) {
      if (!(e instanceof EncodeError) && !(e instanceof DecodeError)) throw e;
      return fail('unusable_server_key', `the server's public key cannot encrypt the client random: ${e.message}`);
    }
    if (![ENCRYPTION_METHOD['40BIT'], ENCRYPTION_METHOD['56BIT'], ENCRYPTION_METHOD['128BIT'], ENCRYPTION_METHOD.FIPS].includes(method as 1)) {
      // The server must choose exactly one method (2.2.1.4.3); a mask or an unknown value leaves no keys to derive.
      return fail('unsupported_encryption_method', `the server chose encryption method 0x${method.toString(16)}, which is not one of 40-bit, 56-bit, 128-bit RC4 or FIPS`);
    }
    this.security =
      method === ENCRYPTION_METHOD.FIPS
        ? new FipsSecurity(deriveFipsKeys(this.config.clientRandom, random, 'client'))
        : new StandardSecurity(deriveSessionKeys(this.config.clientRandom, random, method, 'client'));
    facts['exchange'] = 'client random sent, session keys derived';
    const actions: SessionAction[] = [
      { type: 'send', bytes: this.sendData(encodeSecurityExchangePdu(encrypted)), pdu: 'Security Exchange PDU' },
      ...sf.findings.map((finding) => ({ type: 'finding' as const, finding })),
      { type: 'stage', outcome: { stage: 'security', ok: true, facts } },
    ];
    return { actions, failed: false };
  }


  private sendClientInfo(): SessionAction[] {
    const c = this.config;
    const info = encodeClientInfo({
      domain: c.domain ?? '',
      user: c.user ?? '',
      ...(c.password !== undefined ? { password: c.password } : {}),
      alternateShell: '',
      workingDir: '',
      extra: { clientAddressFamily: AddressFamily.AF_INET, clientAddress: '', clientDir: '' },
    });
    const flags = SEC.INFO_PKT | (this.security && this.encryptionLevel !== ENCRYPTION_LEVEL.NONE ? SEC.ENCRYPT : 0);
    const payload = wrapSecured(info, flags, this.security);
    this.state = 'licensing';
    this.licensingFacts['clientInfo'] = { user: c.user ?? '', password: c.password !== undefined ? 'delegated' : 'none sent' };
    return [{ type: 'send', bytes: this.sendData(payload), pdu: `Client Info PDU${c.password !== undefined ? ' (with password: delegated)' : ''}` }];
  }

  /** MCS Send Data Request on the I/O channel, in a TPKT/X.224 Data TPDU. */
  private sendData(payload: Uint8Array): Uint8Array {
    const io = this.server?.net?.mcsChannelId ?? MCS_GLOBAL_CHANNEL_ID;
    return dataTpdu(encodeMcsSendDataRequest({ initiator: this.userId, channelId: io, userData: payload }));
  }

  // ---- licensing and activation: what arrives on the channels ----

  private onChannelData(frame: Uint8Array, channelId: number, userData: Uint8Array): SessionAction[] {
    let payload = userData;
    let flags = 0;
    const standard = this.standardSecurity;
    try {
      // Under standard security with an encryption method or level, every server PDU starts with a security
      // header (a basic one, flags possibly zero, where that direction is not encrypted). With neither, as under
      // TLS, only licensing PDUs carry one (2.2.8.1.1.2).
      const encrypting = this.server?.security !== undefined && (this.server.security.encryptionMethod !== 0 || this.server.security.encryptionLevel !== 0);
      if (standard && encrypting) {
        const u = unwrapSecured(userData, this.security, { direction: 'server-to-client' });
        payload = u.payload;
        flags = u.flags;
      } else if (this.state === 'licensing' && looksLikeLicensing(userData)) {
        const u = unwrapSecured(userData, undefined, { direction: 'server-to-client' });
        payload = u.payload;
        flags = u.flags;
      }
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      if (/MAC/.test(e.message)) {
        return this.fail(this.stage, { layer: 'protocol', kind: 'mac_mismatch', message: `a server PDU does not decrypt with the session keys (MAC mismatch): the keys differ on the two sides`, spec: 'MS-RDPBCGR 5.3.6' }, frame, 'encrypted server PDU');
      }
      return this.malformed(frame, 'security header', e);
    }
    if (flags & SEC.LICENSE_PKT) return this.onLicensing(frame, payload);
    if (flags & SEC.REDIRECTION_PKT) {
      let r: ServerRedirection;
      try {
        r = decodeServerRedirectionPacket(payload);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        return this.malformed(frame, 'Server Redirection PDU', e);
      }
      return this.onRedirection(frame, r);
    }
    return this.onShare(frame, payload, channelId);
  }

  private onLicensing(frame: Uint8Array, payload: Uint8Array): SessionAction[] {
    let pdu: LicensingPdu;
    try {
      pdu = decodeLicensingPdu(payload);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return this.malformed(frame, 'licensing PDU', e);
    }
    const typeName = licenseMsgTypeName(pdu.preamble.msgType);
    this.lastFrame = { bytes: frame, pdu: `Licensing / ${typeName}` };
    const lf = this.licensingFacts;
    lf['messages'] = [...((lf['messages'] as string[] | undefined) ?? []), typeName];
    if (pdu.type === 'error_alert') {
      lf['errorCode'] = pdu.errorName;
      lf['stateTransition'] = pdu.stateName;
      if (pdu.validClient) {
        lf['outcome'] = 'valid client: the server needs no client license (a host without RD licensing, or a licence held already)';
        // The probe keeps no licence store, so it met the server as a fresh client would.
        lf['storedLicence'] = 'none: this probe holds no stored licence and was let through; if other clients fail at licensing on this server, their stored licence (HKLM\\SOFTWARE\\Microsoft\\MSLicensing) is the likely cause (inferred, not observed)';
        this.state = 'activation';
        return [{ type: 'stage', outcome: { stage: 'licensing', ok: true, facts: { ...lf }, evidence: [ev(frame, 'Licensing / License Error (STATUS_VALID_CLIENT)')] } }];
      }
      return this.fail('licensing', {
        layer: 'peer',
        kind: 'license_error',
        code: pdu.errorCode,
        codeName: pdu.errorName,
        spec: 'MS-RDPBCGR 2.2.1.12.1.3',
        message: `the server ended licensing with ${pdu.errorName} (${pdu.stateName}: ${pdu.stateMeaning}): ${pdu.errorMeaning}`,
      }, frame, 'Licensing / License Error');
    }
    if (pdu.type === 'license_request') {
      lf['product'] = { companyName: pdu.productInfo.companyName, productId: pdu.productInfo.productId, version: pdu.productInfo.version };
      lf['scopes'] = pdu.scopes;
      // Ask for a licence as a client with an empty licence store does: a New License Request. The premaster
      // secret goes to the licence server's key from the request (raw RSA, as for the client random).
      const key = this.licenseKey(pdu.serverCertificate);
      if (!key) {
        lf['outcome'] = 'the server runs RD licensing: it asks this client for a client access licence (CAL), without a key this probe can answer to';
        this.state = 'done';
        return [
          { type: 'stage', outcome: { stage: 'licensing', ok: true, facts: { ...lf }, evidence: [ev(frame, 'Licensing / License Request')] } },
          { type: 'stage', outcome: { stage: 'activation', ok: true, skipped: 'the server asked for a client licence with no usable licence-server key; the probe stopped there', facts: {} } },
          { type: 'send', bytes: dataTpdu(encodeMcsDisconnectProviderUltimatum(3)), pdu: 'MCS Disconnect Provider Ultimatum (rn-user-requested)' },
          { type: 'done' },
        ];
      }
      const secret = this.config.licensePreMasterSecret;
      const encrypted = concat(rawRsaLE(secret, BigInt(key.publicExponent), key.modulus), new Uint8Array(8));
      const request = encodeClientNewLicenseRequest({
        clientRandom: this.config.licenseClientRandom,
        encryptedPreMasterSecret: encrypted,
        clientUserName: this.config.user ?? 'rdp-probe',
        clientMachineName: this.config.clientName,
      });
      lf['request'] = 'the server runs RD licensing (License Request): the probe asked for a licence (New License Request), as a client with no stored licence does';
      return [{ type: 'send', bytes: this.sendData(wrapSecured(request, SEC.LICENSE_PKT)), pdu: 'Licensing / New License Request' }];
    }
    if (pdu.type === 'platform_challenge') {
      lf['platformChallenge'] = true;
      lf['outcome'] = 'the server sent a Platform Challenge: it would issue a licence to a client that answers it';
      this.state = 'done';
      return [
        { type: 'stage', outcome: { stage: 'licensing', ok: true, facts: { ...lf }, evidence: [ev(frame, 'Licensing / Platform Challenge')] } },
        { type: 'stage', outcome: { stage: 'activation', ok: true, skipped: 'the server is issuing a client licence (Platform Challenge); this version does not answer the challenge', facts: {} } },
        { type: 'send', bytes: dataTpdu(encodeMcsDisconnectProviderUltimatum(3)), pdu: 'MCS Disconnect Provider Ultimatum (rn-user-requested)' },
        { type: 'done' },
      ];
    }
    // A platform challenge or a new licence: keep going; the server decides.
    return [];
  }

  /** The licence server's RSA key: the certificate in the License Request, else the MCS server certificate. */
  private licenseKey(certBytes: Uint8Array): RsaPublicKey | undefined {
    for (const bytes of [certBytes, this.server?.security?.serverCertificate]) {
      if (!bytes || bytes.length === 0) continue;
      try {
        const c = decodeServerCertificate(bytes);
        return c.kind === 'proprietary' ? ({ publicExponent: c.publicExponent, modulus: c.modulus } as RsaPublicKey) : publicKeyOfChain(c);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
      }
    }
    return undefined;
  }

  private onShare(frame: Uint8Array, payload: Uint8Array, channelId: number): SessionAction[] {
    let pdus: SharePdu[];
    try {
      pdus = decodeSharePdus(payload);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return this.malformed(frame, 'share PDU', e);
    }
    const out: SessionAction[] = [];
    for (const pdu of pdus) {
      if (this.isDone) break;
      out.push(...this.onSharePdu(frame, pdu, channelId));
    }
    return out;
  }

  /** Keeps the first Set Error Info PDUs and the latest, and counts them all: a flood must not grow the list. */
  private noteErrorInfo(e: ErrorInfoSeen): void {
    this.errorInfoCount++;
    if (this.errors.length < MAX_ERROR_INFO_KEPT) this.errors.push(e);
    else this.errors[MAX_ERROR_INFO_KEPT - 1] = e;
  }

  private onSharePdu(frame: Uint8Array, pdu: SharePdu, channelId: number): SessionAction[] {
    this.lastFrame = { bytes: frame, pdu: `Share PDU / ${pdu.type.replace(/_/g, ' ')}` };
    const stage = this.stage;
    switch (pdu.type) {
      case 'set_error_info':
        // ERRINFO_NONE comes during re-activation and means nothing.
        if (pdu.errorInfo !== 0) this.noteErrorInfo({ code: pdu.errorInfo, stage });
        return [];
      case 'save_session_info': {
        const i = pdu.saveSessionInfo;
        this.activationFacts['logon'] = { infoType: i.infoTypeName, ...(i.userName !== undefined ? { user: i.domain ? `${i.domain}\\${i.userName}` : i.userName } : {}), ...(i.sessionId !== undefined ? { sessionId: i.sessionId } : {}), ...(i.logonErrors ? { logonErrors: i.logonErrors } : {}) };
        // A logon notice (not the error-only extended form) is what the logon wait was for.
        if (this.state === 'logon' && !i.logonErrors) return this.finishActivation();
        return [];
      }
      case 'data':
        if (this.state === 'logon' && pdu.finalization?.kind === 'font_map') this.activationFacts['finalized'] = true;
        return [];
      case 'redirection':
        return this.onRedirection(frame, pdu.redirection);
      case 'demand_active':
        return this.onDemandActive(frame, pdu.demandActive, channelId);
      case 'deactivate_all':
        this.activationFacts['deactivateAll'] = true;
        return [];
      default:
        return [];
    }
  }

  /** Licensing is optional: a server may go straight to activation. Closes the licensing stage when it was open. */
  private endLicensingIfOpen(outcome: string): SessionAction[] {
    if (this.state !== 'licensing') return [];
    this.licensingFacts['outcome'] = outcome;
    this.state = 'activation';
    return [{ type: 'stage', outcome: { stage: 'licensing', ok: true, facts: { ...this.licensingFacts } } }];
  }

  private onRedirection(frame: Uint8Array, r: ServerRedirection): SessionAction[] {
    const actions = this.endLicensingIfOpen('none: the server redirected the client before licensing');
    const target = redirectionTarget(r);
    const facts = { ...this.activationFacts, redirection: redirectionFacts(r) };
    this.state = 'done';
    actions.push(
      {
        type: 'stage',
        outcome: {
          stage: 'activation',
          ok: false,
          facts,
          error: { layer: 'peer', kind: 'redirected', message: `the server redirected the client to ${target ?? 'another server'}: a connection broker sends users on to their session host, which the probe does not follow`, spec: 'MS-RDPBCGR 2.2.13' },
          evidence: [ev(frame, 'Server Redirection PDU')],
        },
      },
      { type: 'done' },
    );
    return actions;
  }

  /** Confirm Active, Synchronize, Control (cooperate, request control) and Font List, as a client finalizes (1.3.1.1). */
  private finalize(shareId: number): SessionAction[] {
    const src = this.userId;
    const pdus: [Uint8Array, string][] = [
      [encodeConfirmActive({ shareId, capabilities: minimalClientCapabilities(), pduSource: src }), 'Confirm Active PDU'],
      [encodeShareDataPdu({ shareId, pduType2: PduType2.PDUTYPE2_SYNCHRONIZE, body: u16pair(1, 0x03ea), pduSource: src }), 'Synchronize PDU'],
      [encodeShareDataPdu({ shareId, pduType2: PduType2.PDUTYPE2_CONTROL, body: concat(u16pair(ControlAction.CTRLACTION_COOPERATE, 0), new Uint8Array(4)), pduSource: src }), 'Control PDU (cooperate)'],
      [encodeShareDataPdu({ shareId, pduType2: PduType2.PDUTYPE2_CONTROL, body: concat(u16pair(ControlAction.CTRLACTION_REQUEST_CONTROL, 0), new Uint8Array(4)), pduSource: src }), 'Control PDU (request control)'],
      [encodeShareDataPdu({ shareId, pduType2: PduType2.PDUTYPE2_FONTLIST, body: concat(u16pair(0, 0), u16pair(0x0003, 0x0032)), pduSource: src }), 'Font List PDU'],
    ];
    return pdus.map(([p, pdu]) => ({ type: 'send' as const, bytes: this.sendData(this.secureData(p)), pdu }));
  }

  /** Share PDUs from the client: a security header only under standard security with encryption in force. */
  private secureData(p: Uint8Array): Uint8Array {
    const sec = this.server?.security;
    if (!this.standardSecurity || !sec || (sec.encryptionMethod === 0 && sec.encryptionLevel === 0)) return p;
    return wrapSecured(p, this.security ? SEC.ENCRYPT : 0, this.security);
  }

  private finishActivation(): SessionAction[] {
    this.state = 'done';
    return [
      { type: 'stage', outcome: { stage: 'activation', ok: true, facts: { ...this.activationFacts }, ...(this.lastFrame ? { evidence: [ev(this.lastFrame.bytes, this.lastFrame.pdu)] } : {}) } },
      { type: 'send', bytes: dataTpdu(encodeMcsDisconnectProviderUltimatum(3)), pdu: 'MCS Disconnect Provider Ultimatum (rn-user-requested)' },
      { type: 'done' },
    ];
  }

  private onDemandActive(frame: Uint8Array, d: DemandActive, channelId: number): SessionAction[] {
    const actions = this.endLicensingIfOpen('none: the server went straight to activation');
    Object.assign(this.activationFacts, demandActiveFacts(d), { channel: channelId });
    const earlier = this.errors.map((e) => e.code);
    if (earlier.length > 0) this.activationFacts['errorInfoBeforeDemandActive'] = earlier;
    if (this.config.followLogon) {
      this.state = 'logon';
      actions.push(...this.finalize(d.shareId));
      return actions;
    }
    this.state = 'done';
    actions.push(
      { type: 'stage', outcome: { stage: 'activation', ok: true, facts: { ...this.activationFacts }, evidence: [ev(frame, 'Demand Active PDU')] } },
      // Leave politely: no session stays behind on the server.
      { type: 'send', bytes: dataTpdu(encodeMcsDisconnectProviderUltimatum(3)), pdu: 'MCS Disconnect Provider Ultimatum (rn-user-requested)' },
      { type: 'done' },
    );
    return actions;
  }
}

/** What the Demand Active says about the session the server would give. */
export function demandActiveFacts(d: DemandActive): Record<string, unknown> {
  const f: Record<string, unknown> = { shareId: d.shareId, sourceDescriptor: d.sourceDescriptor, capabilitySets: d.capabilities.map((c) => c.name) };
  if (d.sessionId !== undefined) f['sessionId'] = d.sessionId;
  for (const c of d.capabilities) {
    if (c.kind === 'general') f['general'] = { os: `${c.general.osMajorTypeName} / ${c.general.osMinorTypeName}`, extraFlags: c.general.extraFlagNames };
    else if (c.kind === 'bitmap') f['desktop'] = { width: c.bitmap.desktopWidth, height: c.bitmap.desktopHeight, bpp: c.bitmap.preferredBitsPerPixel, resize: c.bitmap.desktopResizeFlag !== 0 };
    else if (c.kind === 'virtual_channel') f['virtualChannel'] = { flags: c.virtualChannel.flagNames, ...(c.virtualChannel.chunkSize !== undefined ? { chunkSize: c.virtualChannel.chunkSize } : {}) };
  }
  return f;
}

// ---- helpers shared with the offline analyzer ----

/** The facts of the server's GCC data, as the report shows them. */
export function serverDataFacts(s: ServerData): Record<string, unknown> {
  const f: Record<string, unknown> = {};
  if (s.core) {
    f['serverVersion'] = s.core.versionName;
    f['serverVersionCode'] = `0x${s.core.version.toString(16).padStart(8, '0')}`;
    if (s.core.clientRequestedProtocols !== undefined) f['echoedRequestedProtocols'] = s.core.clientRequestedProtocols;
    if (s.core.earlyCapabilityFlagNames) f['earlyCapabilityFlags'] = s.core.earlyCapabilityFlagNames;
  }
  if (s.security) {
    f['encryptionMethod'] = encryptionMethodName(s.security.encryptionMethod) ?? `0x${s.security.encryptionMethod.toString(16)}`;
    f['encryptionLevel'] = encryptionLevelName(s.security.encryptionLevel) ?? String(s.security.encryptionLevel);
    if (s.security.serverCertificate && s.security.serverCertificate.length > 0) f['serverCertificate'] = s.security.certificate?.kind ?? 'present';
  }
  if (s.net) {
    f['ioChannel'] = s.net.mcsChannelId;
    f['channels'] = s.net.channelIds;
  }
  if (s.messageChannel) f['messageChannel'] = s.messageChannel.mcsChannelId;
  if (s.multitransport) f['multitransport'] = s.multitransport.flagNames;
  return f;
}

/** Findings from the server's GCC data: weak or no encryption, client-to-server-only protection, echo mismatch. */
export function serverDataFindings(s: ServerData, c: Pick<SessionConfig, 'selectedProtocol' | 'legacy' | 'requestedProtocols'>): Finding[] {
  const out: Finding[] = [];
  const echoed = s.core?.clientRequestedProtocols;
  if (echoed !== undefined && !c.legacy && c.requestedProtocols !== undefined && echoed !== c.requestedProtocols) {
    out.push({ id: 'mcs-requested-protocols-mismatch', severity: 'high', stage: 'mcs', message: `the server says the client asked for ${protocolNames(echoed)}, but this client asked for ${protocolNames(c.requestedProtocols)}: something between us rewrote the X.224 request (a downgrade attack looks like this)`, evidence: { echoed, sent: c.requestedProtocols } });
  }
  if (s.security && (c.selectedProtocol & TLS_BASED) === 0) {
    const m = s.security.encryptionMethod;
    const lvl = s.security.encryptionLevel;
    if (m === ENCRYPTION_METHOD.NONE || lvl === ENCRYPTION_LEVEL.NONE) out.push({ id: 'rdp-encryption-none', severity: 'critical', stage: 'security', message: 'standard RDP security with no encryption: everything, the typed password included, crosses the network in the clear' });
    else if (m === ENCRYPTION_METHOD['40BIT'] || m === ENCRYPTION_METHOD['56BIT']) out.push({ id: 'rdp-encryption-weak', severity: 'high', stage: 'security', message: `the server chose ${encryptionMethodName(m)} RC4, which can be broken` });
    if (lvl === ENCRYPTION_LEVEL.LOW) out.push({ id: 'rdp-encryption-client-to-server-only', severity: 'high', stage: 'security', message: 'encryption level LOW: only client-to-server data is encrypted; the screen and everything the server sends cross in the clear' });
    if (m === ENCRYPTION_METHOD.FIPS) out.push({ id: 'rdp-encryption-fips', severity: 'info', stage: 'security', message: 'the server uses FIPS standard RDP security (3DES, HMAC-SHA1): stronger than RC4, but still not TLS' });
  }
  return out;
}

function errinfoError(code: number, message: string): StageError {
  return { layer: 'peer', kind: 'error_info', code, codeName: errinfoName(code), spec: 'MS-RDPBCGR 2.2.5.1.1', message };
}

function u16pair(a: number, b: number): Uint8Array {
  return Uint8Array.of(a & 0xff, a >> 8, b & 0xff, b >> 8);
}

function dataTpdu(mcs: Uint8Array): Uint8Array {
  const x224 = concat(Uint8Array.of(0x02, 0xf0, 0x80), mcs);
  const out = new Uint8Array(4 + x224.length);
  out[0] = 3;
  out[2] = (out.length >> 8) & 0xff;
  out[3] = out.length & 0xff;
  out.set(x224, 4);
  return out;
}

/** TPKT or fast-path: how long the frame at the start is; undefined until its header is in. */
function frameLength(b: Uint8Array): number | undefined {
  if (b.length === 0) return undefined;
  if (b[0] === 0x03) return frameLengthTpkt(b);
  if ((b[0]! & 0x03) !== 0) throw new DecodeError('frame', 0, { kind: 'unexpected_type', got: b[0]! });
  if (b.length < 2) return undefined;
  if ((b[1]! & 0x80) === 0) return b[1]! < 2 ? bad(b[1]!) : b[1]!;
  if (b.length < 3) return undefined;
  const n = ((b[1]! & 0x7f) << 8) | b[2]!;
  return n < 3 ? bad(n) : n;
}
function bad(n: number): never {
  throw new DecodeError('fast-path', 1, { kind: 'invalid_field', field: 'length', reason: `${n} is shorter than the header` });
}

function pduLabel(t: string): string {
  return `MCS ${t.replace(/_/g, ' ').replace(/\b\w/g, (c) => c.toUpperCase())}`;
}

function ev(bytes: Uint8Array, pdu: string): FrameEvidence {
  return { direction: 'server', hex: toHex(bytes, 1024), length: bytes.length, pdu };
}
