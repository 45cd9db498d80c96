/**
 * The session stages (mcs, security, licensing, activation) read from both directions of a captured connection,
 * with the decoders and fact builders of the live probe. The live SessionConnector is a client that chooses
 * what to send; a capture already holds what some client sent, so this is an observer of the same sequence:
 * it follows the client's Connect-Initial, joins, Security Exchange and Client Info, and the server's answers,
 * frame by frame in capture order, and files each stage with the ids and facts the live probe gives.
 *
 * Under standard RDP security with an encryption level, the client's PDUs after the Security Exchange are
 * RC4-encrypted with keys derived from a client random that only the server's private key opens: what the
 * server sends encrypted is not readable, and the report says so instead of guessing. Bounded: at most
 * MAX_FRAMES frames per direction are framed, and decoding stops when the sequence is decided.
 */
import { DecodeError } from '../protocol/codec/errors.js';
import { toHex } from '../protocol/hex.js';
import { decodeClientInfo } from '../protocol/client-info.js';
import { decodeClientConnectInitial } from '../protocol/gcc/client-data.js';
import { decodeServerConnectResponse } from '../protocol/gcc/server-data.js';
import type { ServerData } from '../protocol/gcc/server-data.js';
import { decodeLicensingPdu, licenseMsgTypeName } from '../protocol/licensing.js';
import { MCS_GLOBAL_CHANNEL_ID } from '../protocol/mcs/constants.js';
import { decodeMcsDomainPdu, type McsDomainPdu } from '../protocol/mcs/domain.js';
import { SecurityProtocol } from '../protocol/nego.js';
import { SEC } from '../protocol/security/constants.js';
import { decodeSecurityExchangePdu } from '../protocol/security/exchange.js';
import { decodeSecurityHeader } from '../protocol/security/header.js';
import { decodeSharePdus, type SharePdu } from '../protocol/share/index.js';
import { decodeServerRedirectionPacket, type ServerRedirection } from '../protocol/share/redirection.js';
import { frameLengthTpkt } from '../protocol/tpkt.js';
import { decodeX224Frame } from '../protocol/x224.js';
import { demandActiveFacts, serverDataFacts, serverDataFindings } from '../connector/session-connector.js';
import { errinfoEntry, errinfoName } from '../probe/codes/errinfo.js';
import { mstscPairFor } from '../probe/codes/mstsc.js';
import type { Finding, FrameEvidence, Stage, StageError, StageResult } from '../probe/types.js';
import { clientDataFacts, looksLikeLicensing, securityFacts } from '../connector/session-facts.js';
import { redirectionFacts, redirectionTarget } from '../connector/session-facts.js';

/** Where a byte of one direction was captured. */
export interface ByteTime {
  /** Milliseconds since the flow's first packet. */
  ms: number;
  frame: number;
}

export interface ReplayInput {
  /** The client's bytes after its X.224 Connection Request (TLS plaintext when decrypted). */
  client: Uint8Array;
  /** The server's bytes after its X.224 Connection Confirm. */
  server: Uint8Array;
  clientAt(offset: number): ByteTime | undefined;
  serverAt(offset: number): ByteTime | undefined;
  selectedProtocol: number;
  legacy: boolean;
  /** requestedProtocols of the client's RDP_NEG_REQ; undefined when it sent none. */
  requestedProtocols?: number;
  /** The first FIN and RST of each side. */
  closes: { by: 'client' | 'server'; how: 'fin' | 'rst'; frame: number; ms: number }[];
  /** Milliseconds from the first to the last packet of the flow. */
  endMs: number;
  /** The bytes came out of TLS with keys from a key log. */
  decrypted?: boolean;
}

export interface ReplaySink {
  set(r: StageResult): void;
  findings: Finding[];
  anomalies: string[];
}

/** Frames per direction the replay reads at most. */
export const MAX_FRAMES = 20_000;

export const ENCRYPTED_NOTE = 'encrypted with standard RDP security: licensing and activation are not visible without the client random';

const TLS_BASED = SecurityProtocol.PROTOCOL_SSL | SecurityProtocol.PROTOCOL_HYBRID | SecurityProtocol.PROTOCOL_HYBRID_EX;

interface Frame {
  dir: 'client' | 'server';
  offset: number;
  bytes: Uint8Array;
  at: ByteTime;
}

/** TPKT or fast-path: the length of the frame at the start; undefined until its header is in; throws DecodeError. */
export function rdpFrameLength(b: Uint8Array): number | undefined {
  if (b.length === 0) return undefined;
  if (b[0] === 0x03) return frameLengthTpkt(b);
  if ((b[0]! & 0x03) !== 0) throw new DecodeError('frame', 0, { kind: 'unexpected_type', got: b[0]! });
  if (b.length < 2) return undefined;
  const n = (b[1]! & 0x80) === 0 ? b[1]! : b.length < 3 ? undefined : ((b[1]! & 0x7f) << 8) | b[2]!;
  if (n === undefined) return undefined;
  if (n < 2) throw new DecodeError('fast-path', 1, { kind: 'invalid_field', field: 'length', reason: `${n} is shorter than the header` });
  return n;
}

/** One direction, frame by frame; stops at the end, at a partial frame, at unframed bytes or after MAX_FRAMES. */
class Cursor {
  private at = 0;
  private count = 0;
  /** Why framing stopped before the end of the bytes, when it did. */
  stopped?: string;
  constructor(
    readonly dir: 'client' | 'server',
    private readonly bytes: Uint8Array,
    private readonly timeOf: (offset: number) => ByteTime | undefined,
  ) {}

  peek(): Frame | undefined {
    if (this.stopped !== undefined || this.at >= this.bytes.length) return undefined;
    if (this.count >= MAX_FRAMES) {
      this.stopped = `more than ${MAX_FRAMES} frames: the rest is not read`;
      return undefined;
    }
    const rest = this.bytes.subarray(this.at);
    let len: number | undefined;
    try {
      len = rdpFrameLength(rest);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.stopped = `bytes at offset ${this.at} are neither TPKT nor fast-path`;
      return undefined;
    }
    if (len === undefined || len > rest.length) {
      this.stopped = `the capture holds only ${rest.length} bytes of a frame`;
      return undefined;
    }
    const at = this.timeOf(this.at + len - 1) ?? { ms: 0, frame: 0 };
    return { dir: this.dir, offset: this.at, bytes: rest.subarray(0, len), at };
  }

  next(): void {
    const f = this.peek();
    if (!f) return;
    this.at += f.bytes.length;
    this.count++;
  }
}

type State = 'connect' | 'domain' | 'security' | 'licensing' | 'activation' | 'done';

/** Runs the replay and files the stages it saw into `sink`. */
export function replaySession(input: ReplayInput, sink: ReplaySink): void {
  new Replay(input, sink).run();
}

class Replay {
  private state: State = 'connect';
  private server?: ServerData;
  private userId?: number;
  private readonly joinRequested: number[] = [];
  private readonly joined: number[] = [];
  private readonly mcsFacts: Record<string, unknown> = {};
  private secFacts: Record<string, unknown> = {};
  private readonly licensingFacts: Record<string, unknown> = {};
  private readonly activationFacts: Record<string, unknown> = {};
  private readonly errors: { code: number; stage: Stage; frame: number }[] = [];
  private stageStart: Record<string, number> = {};
  private sawConnectInitial = false;
  /** The server's data is RC4/FIPS-encrypted and cannot be read. */
  private opaque?: { frame: number; ms: number };
  private lastServer?: Frame;
  private clientLeft?: Frame;

  constructor(
    private readonly input: ReplayInput,
    private readonly sink: ReplaySink,
  ) {}

  private get standard(): boolean {
    return (this.input.selectedProtocol & TLS_BASED) === 0;
  }

  private get encrypting(): boolean {
    const s = this.server?.security;
    return this.standard && s !== undefined && (s.encryptionMethod !== 0 || s.encryptionLevel !== 0);
  }

  private get stage(): Stage {
    switch (this.state) {
      case 'connect':
      case 'domain':
        return 'mcs';
      case 'security':
        return 'security';
      case 'licensing':
        return 'licensing';
      default:
        return 'activation';
    }
  }

  run(): void {
    const c = new Cursor('client', this.input.client, (o) => this.input.clientAt(o));
    const s = new Cursor('server', this.input.server, (o) => this.input.serverAt(o));
    for (let guard = 0; guard < 2 * MAX_FRAMES + 2 && this.state !== 'done'; guard++) {
      const a = c.peek();
      const b = s.peek();
      if (!a && !b) break;
      // Capture order: the frame whose last byte came first; on a tie the client's (a request precedes its answer).
      const pick = !b || (a && a.at.frame <= b.at.frame) ? a! : b;
      (pick.dir === 'client' ? c : s).next();
      if (pick.dir === 'client') this.onClient(pick);
      else this.onServer(pick);
    }
    if (this.state !== 'done') this.finish(c, s);
  }

  // ---- the client's side ----

  private onClient(f: Frame): void {
    if (f.bytes[0] !== 0x03) return; // fast-path input: after activation
    let data: Uint8Array;
    try {
      const x = decodeX224Frame(f.bytes);
      if (x.type !== 'data') return;
      data = x.data;
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.sink.anomalies.push(`a client frame (frame #${f.at.frame}) is not a valid X.224 Data TPDU: ${e.message}`);
      return;
    }
    if (!this.sawConnectInitial && data[0] === 0x7f) {
      this.sawConnectInitial = true;
      this.stageStart['mcs'] = f.at.ms;
      try {
        const ci = decodeClientConnectInitial(data);
        this.mcsFacts['client'] = clientDataFacts(ci.clientData);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        this.mcsFacts['client'] = { error: `the Connect-Initial cannot be read: ${e.message}` };
      }
      return;
    }
    let pdu: McsDomainPdu;
    try {
      pdu = decodeMcsDomainPdu(data);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return;
    }
    if (pdu.type === 'channel_join_request') this.joinRequested.push(pdu.channelId);
    else if (pdu.type === 'disconnect_provider_ultimatum') {
      this.clientLeft = f;
      this.sink.anomalies.push(`the client ended the connection with an MCS Disconnect Provider Ultimatum (${pdu.reasonName}) at ${fmt(f.at)}, during ${this.stage}`);
    } else if (pdu.type === 'send_data_request') this.onClientData(f, pdu.userData);
  }

  private onClientData(f: Frame, userData: Uint8Array): void {
    if (this.state !== 'domain' && this.state !== 'security') return;
    const flags = userData.length >= 2 ? userData[0]! | (userData[1]! << 8) : 0;
    if (this.state === 'domain' && this.standard && flags & SEC.EXCHANGE_PKT) {
      this.endMcs(f);
      this.state = 'security';
      try {
        const x = decodeSecurityExchangePdu(userData);
        this.secFacts['exchange'] = `the client sent its client random encrypted to the server key (${x.encryptedClientRandom.length} bytes, frame #${f.at.frame}); the session keys cannot be derived from the capture`;
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        this.secFacts['exchange'] = `the client's Security Exchange PDU cannot be read: ${e.message}`;
      }
      return;
    }
    if ((flags & SEC.INFO_PKT) === 0) return;
    // The Client Info: mcs (and security) are over, licensing starts.
    if (this.state === 'domain') {
      this.endMcs(f);
      if (this.standard) this.fileSecurity(f.at.ms);
      else this.sink.set({ stage: 'security', status: 'skipped', reason: 'enhanced security (TLS): no standard RDP security exchange' });
    } else this.fileSecurity(f.at.ms);
    this.state = 'licensing';
    this.stageStart['licensing'] = f.at.ms;
    this.licensingFacts['clientInfo'] = this.clientInfoFacts(userData, f);
  }

  /** The account the client names, and whether a password came (never the password). */
  private clientInfoSalted = false;

  private clientInfoFacts(userData: Uint8Array, f: Frame): Record<string, unknown> | string {
    try {
      const h = decodeSecurityHeader(userData, { encryptionLevel: this.server?.security?.encryptionLevel ?? 0, direction: 'client-to-server' });
      if (h.mac !== undefined) {
        this.clientInfoSalted = (h.flags & SEC.SECURE_CHECKSUM) !== 0;
        return { encrypted: `${userData.length} bytes, frame #${f.at.frame}`, securityFlags: h.flagNames };
      }
      const info = decodeClientInfo(h.payload);
      const out: Record<string, unknown> = { user: info.domain ? `${info.domain}\\${info.user}` : info.user, password: info.cbPassword > 0 ? 'delegated' : 'none sent', flags: info.flagNames };
      if (info.cbPassword > 0) {
        this.sink.findings.push({ id: 'client-info-password-cleartext', severity: 'critical', stage: 'licensing', message: `the client sent its password in a Client Info PDU that is not encrypted (frame #${f.at.frame}): anyone on the path can read it` });
      }
      return out;
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return `cannot be read: ${e.message}`;
    }
  }

  // ---- the server's side ----

  private onServer(f: Frame): void {
    this.lastServer = f;
    if (this.opaque) return;
    if (f.bytes[0] !== 0x03) {
      if (this.state === 'activation') this.activationFacts['fastPathBeforeDemandActive'] = true;
      return;
    }
    let data: Uint8Array;
    try {
      const x = decodeX224Frame(f.bytes);
      if (x.type !== 'data') {
        if (x.type === 'disconnect_request') return this.fail(f, { layer: 'peer', kind: 'disconnect_request', code: x.reason, message: `the server sent an X.224 Disconnect Request (reason ${x.reason}) at ${fmt(f.at)} ${this.waiting()}` }, 'X.224 Disconnect Request');
        return this.fail(f, { layer: 'protocol', kind: 'unexpected_pdu', message: `the server sent an X.224 ${x.type.replace(/_/g, ' ')} at ${fmt(f.at)} ${this.waiting()}` }, `X.224 ${x.type}`);
      }
      data = x.data;
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return this.malformed(f, 'X.224', e);
    }
    if (this.state === 'connect' && data[0] === 0x7f) return this.onConnectResponse(f, data);
    let pdu: McsDomainPdu;
    try {
      pdu = decodeMcsDomainPdu(data);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return this.malformed(f, 'MCS domain PDU', e);
    }
    if (pdu.type === 'disconnect_provider_ultimatum') return this.onUltimatum(f, pdu.reasonName, pdu.reason);
    if (pdu.type === 'attach_user_confirm') {
      if (pdu.result !== 0 || pdu.initiator === undefined) return this.fail(f, { layer: 'peer', kind: 'attach_user_rejected', code: pdu.result, codeName: pdu.resultName, spec: 'T.125 11.14', message: `the server refused MCS Attach User with ${pdu.resultName}` }, 'MCS Attach User Confirm');
      this.userId = pdu.initiator;
      this.mcsFacts['userId'] = pdu.initiator;
      return;
    }
    if (pdu.type === 'channel_join_confirm') {
      if (pdu.result !== 0) return this.fail(f, { layer: 'peer', kind: 'channel_join_rejected', code: pdu.result, codeName: pdu.resultName, spec: 'T.125 11.22', message: `the server refused to join channel ${pdu.requested} (${this.channelName(pdu.requested)}) with ${pdu.resultName}` }, 'MCS Channel Join Confirm');
      this.joined.push(pdu.requested);
      return;
    }
    if (pdu.type === 'send_data_indication' && (this.state === 'licensing' || this.state === 'activation' || this.state === 'security')) return this.onChannelData(f, pdu.channelId, pdu.userData);
  }

  private onConnectResponse(f: Frame, data: Uint8Array): void {
    try {
      const r = decodeServerConnectResponse(data);
      this.mcsFacts['result'] = r.mcs.resultName;
      if (r.mcs.result !== 0) return this.fail(f, { layer: 'peer', kind: 'mcs_connect_rejected', code: r.mcs.result, codeName: r.mcs.resultName, spec: 'T.125 11.3', message: `the server rejected the MCS Connect-Initial with ${r.mcs.resultName}` }, 'MCS Connect-Response');
      if (r.gcc && r.gcc.result !== 0) return this.fail(f, { layer: 'peer', kind: 'gcc_create_rejected', code: r.gcc.result, codeName: r.gcc.resultName, spec: 'T.124 8.7', message: `the server refused the GCC Conference Create Request with ${r.gcc.resultName}` }, 'MCS Connect-Response');
      if (!r.serverData) return this.fail(f, { layer: 'protocol', kind: 'malformed_pdu', message: 'the MCS Connect-Response carries no GCC server data' }, 'MCS Connect-Response');
      this.server = r.serverData;
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return this.malformed(f, 'MCS Connect-Response', e);
    }
    this.stageStart['mcs'] ??= f.at.ms;
    Object.assign(this.mcsFacts, serverDataFacts(this.server));
    this.sink.findings.push(...serverDataFindings(this.server, { selectedProtocol: this.input.selectedProtocol, legacy: this.input.legacy, ...(this.input.requestedProtocols !== undefined ? { requestedProtocols: this.input.requestedProtocols } : {}) }));
    if (this.standard) {
      const sf = securityFacts(this.server);
      this.secFacts = sf.facts;
      this.sink.findings.push(...sf.findings);
      if (sf.error) this.sink.anomalies.push(`the server certificate in the security data cannot be read: ${sf.error.message}`);
    }
    this.state = 'domain';
    this.connectResponseFrame = f;
  }

  private connectResponseFrame?: Frame;

  private onChannelData(f: Frame, channelId: number, userData: Uint8Array): void {
    let payload = userData;
    let flags = 0;
    try {
      if (this.encrypting) {
        const h = decodeSecurityHeader(userData, { encryptionLevel: this.server?.security?.encryptionLevel ?? 0, direction: 'server-to-client' });
        if (h.mac !== undefined) {
          this.opaque = { frame: f.at.frame, ms: f.at.ms };
          return;
        }
        payload = h.payload;
        flags = h.flags;
      } else if (looksLikeLicensing(userData)) {
        const h = decodeSecurityHeader(userData, { direction: 'server-to-client' });
        payload = h.payload;
        flags = h.flags;
      }
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return this.malformed(f, 'security header', e);
    }
    if (flags & SEC.LICENSE_PKT) return this.onLicensing(f, payload);
    if (flags & SEC.REDIRECTION_PKT) {
      try {
        return this.onRedirection(f, decodeServerRedirectionPacket(payload));
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        return this.malformed(f, 'Server Redirection PDU', e);
      }
    }
    let pdus: SharePdu[];
    try {
      pdus = decodeSharePdus(payload);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return this.malformed(f, 'share PDU', e);
    }
    for (const p of pdus) {
      if (this.state === 'done') return;
      this.onSharePdu(f, p, channelId);
    }
  }

  private onLicensing(f: Frame, payload: Uint8Array): void {
    let pdu;
    try {
      pdu = decodeLicensingPdu(payload);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return this.malformed(f, 'licensing PDU', e);
    }
    const lf = this.licensingFacts;
    lf['messages'] = [...((lf['messages'] as string[] | undefined) ?? []), licenseMsgTypeName(pdu.preamble.msgType)];
    if (pdu.type === 'error_alert') {
      lf['errorCode'] = pdu.errorName;
      lf['stateTransition'] = pdu.stateName;
      if (pdu.validClient) {
        lf['outcome'] = 'valid client: the server needs no client license (a host without RD licensing, or a licence held already)';
        this.endStage('licensing', f, lf, 'Licensing / License Error (STATUS_VALID_CLIENT)');
        this.state = 'activation';
        this.stageStart['activation'] = f.at.ms;
        return;
      }
      return this.fail(f, { layer: 'peer', kind: 'license_error', code: pdu.errorCode, codeName: pdu.errorName, spec: 'MS-RDPBCGR 2.2.1.12.1.3', message: `the server ended licensing with ${pdu.errorName} (${pdu.stateName}: ${pdu.stateMeaning}): ${pdu.errorMeaning}` }, 'Licensing / License Error');
    }
    if (pdu.type === 'license_request') {
      lf['product'] = { companyName: pdu.productInfo.companyName, productId: pdu.productInfo.productId, version: pdu.productInfo.version };
      lf['scopes'] = pdu.scopes;
      lf['request'] = 'the server runs RD licensing (License Request): it asks the client for a client access licence';
    } else if (pdu.type === 'platform_challenge') lf['platformChallenge'] = true;
    else if (pdu.type === 'new_license' || pdu.type === 'upgrade_license') lf['issued'] = `${pdu.type === 'new_license' ? 'a new' : 'an upgraded'} licence (${pdu.size} bytes, encrypted with the licensing keys)`;
  }

  private onSharePdu(f: Frame, p: SharePdu, channelId: number): void {
    switch (p.type) {
      case 'set_error_info':
        if (p.errorInfo !== 0) {
          this.errors.push({ code: p.errorInfo, stage: this.stage, frame: f.at.frame });
          this.sink.anomalies.push(`Set Error Info ${errinfoName(p.errorInfo)} (0x${p.errorInfo.toString(16)}) at ${fmt(f.at)}`);
        }
        return;
      case 'save_session_info': {
        const i = p.saveSessionInfo;
        this.activationFacts['logon'] = { infoType: i.infoTypeName, ...(i.userName !== undefined ? { user: i.domain ? `${i.domain}\\${i.userName}` : i.userName } : {}), ...(i.sessionId !== undefined ? { sessionId: i.sessionId } : {}) };
        return;
      }
      case 'redirection':
        return this.onRedirection(f, p.redirection);
      case 'deactivate_all':
        this.activationFacts['deactivateAll'] = true;
        return;
      case 'demand_active': {
        this.endLicensingIfOpen(f, 'none: the server went straight to activation');
        Object.assign(this.activationFacts, demandActiveFacts(p.demandActive), { channel: channelId });
        if (this.errors.length > 0) this.activationFacts['errorInfoBeforeDemandActive'] = this.errors.map((e) => e.code);
        this.endStage('activation', f, this.activationFacts, 'Demand Active PDU');
        this.state = 'done';
        return;
      }
      default:
        return;
    }
  }

  private onRedirection(f: Frame, r: ServerRedirection): void {
    this.endLicensingIfOpen(f, 'none: the server redirected the client before licensing');
    const target = redirectionTarget(r);
    this.activationFacts['redirection'] = redirectionFacts(r);
    this.state = 'activation';
    this.fail(f, { layer: 'peer', kind: 'redirected', message: `the server redirected the client to ${target ?? 'another server'}: a connection broker sends users on to their session host`, spec: 'MS-RDPBCGR 2.2.13' }, 'Server Redirection PDU');
  }

  private onUltimatum(f: Frame, reasonName: string, reason: number): void {
    const last = this.errors[this.errors.length - 1];
    if (last) return this.fail(f, errinfoError(last.code, `the server sent Set Error Info, then an MCS Disconnect Provider Ultimatum (${reasonName}) at ${fmt(f.at)} ${this.waiting()}`), 'MCS Disconnect Provider Ultimatum');
    if (this.state === 'licensing' && this.clientInfoSalted && this.licensingFacts['messages'] === undefined) {
      this.sink.anomalies.push("the server left right after the client's encrypted Client Info, which carried a salted MAC (SEC_SECURE_CHECKSUM): a server that checks the MAC the other way (xrdp logs 'MAC checksum error') ends the connection like this; inferred, the PDU is encrypted");
    }
    this.fail(f, { layer: 'peer', kind: 'disconnect_provider_ultimatum', code: reason, codeName: reasonName, spec: 'T.125 11.4', message: `the server ended the connection with an MCS Disconnect Provider Ultimatum (${reasonName}) at ${fmt(f.at)} ${this.waiting()}` }, 'MCS Disconnect Provider Ultimatum');
  }

  // ---- stage bookkeeping ----

  private waiting(): string {
    switch (this.state) {
      case 'connect':
        return 'after the MCS Connect-Initial (waiting for the Connect-Response)';
      case 'domain':
        return this.joinRequested.length > 0 ? `after the Channel Join Request for channel ${this.joinRequested[this.joinRequested.length - 1]}` : 'after the MCS Connect-Response (Erect Domain, Attach User)';
      case 'security':
        return "after the client's Security Exchange PDU";
      case 'licensing':
        return 'after the Client Info PDU (waiting for licensing)';
      default:
        return 'during activation (waiting for the Demand Active)';
    }
  }

  private channelName(id: number): string {
    if (id === this.userId) return 'user channel';
    if (id === (this.server?.net?.mcsChannelId ?? MCS_GLOBAL_CHANNEL_ID)) return 'I/O channel';
    if (id === this.server?.messageChannel?.mcsChannelId) return 'message channel';
    return 'static virtual channel';
  }

  private factsOf(stage: Stage): Record<string, unknown> {
    const base = stage === 'mcs' ? this.mcsWithJoins() : stage === 'security' ? this.secFacts : stage === 'licensing' ? this.licensingFacts : this.activationFacts;
    const errorInfo = this.errors.filter((e) => e.stage === stage).map((e) => e.code);
    return { ...base, ...(errorInfo.length > 0 ? { errorInfo } : {}) };
  }

  private mcsWithJoins(): Record<string, unknown> {
    return { ...this.mcsFacts, ...(this.joinRequested.length > 0 ? { joinRequested: [...this.joinRequested] } : {}), ...(this.joined.length > 0 ? { joinedChannels: [...this.joined] } : {}) };
  }

  private endMcs(f: Frame): void {
    const ev = this.connectResponseFrame ? [evidence(this.lastServer ?? this.connectResponseFrame, 'MCS Channel Join Confirm')] : [];
    this.sink.set({ stage: 'mcs', status: 'ok', ...this.timing('mcs', f.at.ms), facts: this.mcsWithJoins(), ...(ev.length > 0 ? { evidence: ev } : {}) });
  }

  private fileSecurity(endMs: number): void {
    this.stageStart['security'] ??= endMs;
    this.sink.set({ stage: 'security', status: 'ok', ...this.timing('security', endMs), facts: { ...this.secFacts } });
  }

  private endStage(stage: Stage, f: Frame, facts: Record<string, unknown>, pdu: string): void {
    this.sink.set({ stage, status: 'ok', ...this.timing(stage, f.at.ms), facts: { ...facts, ...this.errorInfoOf(stage) }, evidence: [evidence(f, pdu)] });
  }

  private errorInfoOf(stage: Stage): Record<string, unknown> {
    const e = this.errors.filter((x) => x.stage === stage).map((x) => x.code);
    return e.length > 0 ? { errorInfo: e } : {};
  }

  private endLicensingIfOpen(f: Frame, outcome: string): void {
    if (this.state !== 'licensing') return;
    this.licensingFacts['outcome'] = outcome;
    this.sink.set({ stage: 'licensing', status: 'ok', ...this.timing('licensing', f.at.ms), facts: { ...this.licensingFacts, ...this.errorInfoOf('licensing') } });
    this.state = 'activation';
    this.stageStart['activation'] = f.at.ms;
  }

  private timing(stage: Stage, endMs: number): { startMs: number; durationMs: number } {
    const start = this.stageStart[stage] ?? endMs;
    if (stage === 'mcs') this.stageStart['security'] = endMs;
    return { startMs: round(start), durationMs: round(endMs - start) };
  }

  private fail(f: Frame | undefined, error: StageError, pdu = 'server frame'): void {
    const stage = this.stage;
    if (stage === 'security') this.stageStart['security'] ??= f?.at.ms ?? 0;
    this.sink.set({ stage, status: 'failed', ...this.timing(stage, f?.at.ms ?? this.input.endMs), facts: this.factsOf(stage), error, ...(f ? { evidence: [evidence(f, `${pdu} (frame #${f.at.frame})`)] } : {}) });
    this.state = 'done';
  }

  private malformed(f: Frame, what: string, e: DecodeError): void {
    this.fail(f, { layer: 'protocol', kind: 'malformed_pdu', message: `malformed ${what} from the server (frame #${f.at.frame}): ${e.message}`, path: e.path.join(' > '), offset: e.offset }, `malformed ${what}`);
  }

  /** The bytes ran out before the sequence was decided: encrypted, closed by one side, or the capture was cut. */
  private finish(c: Cursor, s: Cursor): void {
    const closes = this.input.closes;
    const ended = closes.length > 0 ? closes.map((x) => `the ${x.by} sent ${x.how.toUpperCase()} at ${fmt(x)}`).join(', then ') : undefined;
    for (const cur of [c, s]) if (cur.stopped && !this.opaque) this.sink.anomalies.push(`${cur.dir} stream: ${cur.stopped}`);
    if (!this.sawConnectInitial && !this.server) {
      if (ended) this.sink.anomalies.push(`no MCS Connect-Initial: ${ended}`);
      else for (const st of ['mcs', 'security', 'licensing', 'activation'] as const) this.sink.set({ stage: st, status: 'skipped', reason: 'the capture ends before the MCS Connect-Initial' });
      return;
    }
    if (this.opaque) {
      // Standard RDP security with keys this capture does not hold: say what is known and stop there.
      const stage = this.stage;
      if (this.state === 'domain') {
        this.endMcs({ dir: 'server', offset: 0, bytes: new Uint8Array(0), at: { ms: this.opaque.ms, frame: this.opaque.frame } });
      }
      if (this.state === 'domain' || this.state === 'security') this.fileSecurity(this.opaque.ms);
      const tail = `${ENCRYPTED_NOTE}${ended ? `; ${ended}` : '; the capture ends without a FIN or RST'}`;
      const facts = { encryptedFrom: `frame #${this.opaque.frame} (${(this.opaque.ms / 1000).toFixed(3)} s)`, ...(ended ? { connectionEnd: ended } : {}) };
      this.sink.set({ stage: 'licensing', status: 'skipped', reason: tail, facts: stage === 'licensing' ? { ...this.licensingFacts, ...facts } : facts });
      this.sink.set({ stage: 'activation', status: 'skipped', reason: tail });
      this.sink.anomalies.push(tail);
      this.state = 'done';
      return;
    }
    const serverClose = closes.find((x) => x.by === 'server');
    const clientClose = closes.find((x) => x.by === 'client');
    const first = closes[0];
    if (first && first.by === 'server' && serverClose) {
      const by = serverClose.how === 'rst' ? 'reset the connection' : 'closed the connection';
      const last = this.errors[this.errors.length - 1];
      const err = last
        ? errinfoError(last.code, `the server sent Set Error Info, then ${by} at ${fmt(serverClose)} ${this.waiting()}`)
        : { layer: 'peer' as const, kind: serverClose.how === 'rst' ? 'reset' : 'closed', message: `the server ${by} at ${fmt(serverClose)} ${this.waiting()}` };
      return this.failQuiet(err);
    }
    if (first && clientClose) {
      // The client gave up first: its reason is not on the wire; the stage it gave up in is.
      const when = `the client ${clientClose.how === 'rst' ? 'reset' : 'closed'} the connection at ${fmt(clientClose)} ${this.waiting()}`;
      if (this.clientLeft) this.sink.anomalies.push(when);
      return this.failQuiet({ layer: 'peer', kind: 'client_closed', message: `${when}; the server had not refused anything in the capture, so the client's own reason is not visible` });
    }
    this.fileCut();
  }

  private failQuiet(error: StageError): void {
    this.fail(this.lastServer && this.lastServer.at.ms >= (this.stageStart[this.stage] ?? 0) ? this.lastServer : undefined, error, this.lastServer ? 'last server frame' : undefined);
  }

  /** Cut: the stage in progress is filed with what it showed, the rest are said to be past the capture's end. */
  private fileCut(): void {
    const note = `the capture ends ${this.waiting()}, with no FIN or RST: it was cut`;
    this.sink.anomalies.push(note);
    const stage = this.stage;
    if (this.state === 'connect' && !this.server) {
      this.sink.set({ stage: 'mcs', status: 'skipped', reason: note, facts: this.mcsWithJoins() });
    } else {
      this.sink.set({ stage, status: 'ok', ...this.timing(stage, this.input.endMs), facts: { ...this.factsOf(stage), incomplete: note } });
    }
    const order: Stage[] = ['mcs', 'security', 'licensing', 'activation'];
    for (const later of order.slice(order.indexOf(stage) + 1)) {
      if (later === 'security' && !this.standard) this.sink.set({ stage: 'security', status: 'skipped', reason: 'enhanced security (TLS): no standard RDP security exchange' });
      else if (later === 'security') this.sink.set({ stage: 'security', status: 'skipped', reason: "the capture ends before the client's Security Exchange PDU", facts: { ...this.secFacts } });
      else this.sink.set({ stage: later, status: 'skipped', reason: 'the capture ends before this stage' });
    }
  }
}

function errinfoError(code: number, message: string): StageError {
  const entry = errinfoEntry(code);
  const pair = mstscPairFor(code);
  const tail = pair ? ` (mstsc: error code 0x${pair.disconnectReason.toString(16)}, extended error code 0x${pair.extendedReason.toString(16)})` : '';
  return { layer: 'peer', kind: 'error_info', code, codeName: entry?.name ?? errinfoName(code), spec: 'MS-RDPBCGR 2.2.5.1.1', message: `${message}${tail}` };
}

function evidence(f: Frame, pdu: string): FrameEvidence {
  return { direction: f.dir, hex: toHex(f.bytes, 1024), length: f.bytes.length, pdu };
}

function fmt(t: { ms: number; frame: number }): string {
  return `frame #${t.frame} (${(t.ms / 1000).toFixed(3)} s)`;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
