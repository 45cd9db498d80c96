/**
 * The probe's connection sequence as one pure state machine: x224 → tls → credssp / nla_auth / authz → mcs /
 * security / licensing / activation, composed of the three stage connectors. It holds the stage order and every
 * branch between them (standard security, TLS without NLA, NLA, delegation) and the trust decision at TLS; it owns
 * no socket, timer, clock or randomness (they come in through the config), so a driver runs it over a socket and a
 * test runs it over scripted frames. The driver performs `send` and `upgrade_tls`, stamps `stage` times, and tells
 * it what the network did: bytes, the TLS result, a close, the deadline.
 */
import { SecurityProtocol, protocolNames } from '../protocol/nego.js';
import type { CertificateFacts } from '../protocol/x509.js';
import { STAGES, type Depth, type Finding, type Stage, type StageError, type FrameEvidence } from '../model/report.js';
import { credsspFindings, standardRdpSecuritySelected } from '../probe/findings.js';
import { decideTrust, trustAdvice, type TrustDecision } from '../probe/trust.js';
import { CLIENT_CREDSSP_VERSION, CredsspConnector, type CredsspAction, type StageOutcome } from './credssp-connector.js';
import { SessionConnector, type SessionAction } from './session-connector.js';
import { X224Connector, type X224Outcome } from './x224-connector.js';

/** A stage's end as the sequence reports it: facts are absent when there are none to say (a cut TLS handshake). */
export type SequenceOutcome = Omit<StageOutcome, 'facts'> & { facts?: Record<string, unknown> };

/** One CredSSP message (or a close, reset, alert or deadline) at the connector boundary; the driver adds tMs. */
export interface TranscriptEvent {
  dir: 'client' | 'server';
  stage: string;
  hex: string;
  event?: 'eof' | 'reset' | 'timeout' | `alert:${string}`;
}

/** A transcript line (captures/*.transcript.jsonl): the event and its time since the stage window opened. */
export interface TranscriptEntry extends TranscriptEvent {
  tMs: number;
}

export type ProbeAction =
  | { type: 'send'; bytes: Uint8Array; pdu: string }
  /** Upgrade the connection to TLS, hand it `leftover` first, then call tlsEstablished() or tlsFailed(). */
  | { type: 'upgrade_tls'; servername?: string; legacy: boolean; ca?: string; leftover: Uint8Array }
  /** A stage ended; the driver stamps its window (it opened when the previous stage ended). */
  | { type: 'stage'; outcome: SequenceOutcome }
  | { type: 'skip'; stage: Stage; reason: string }
  | { type: 'finding'; finding: Finding }
  | { type: 'anomaly'; text: string }
  /** Known-hosts first use: store this fingerprint (before the tls stage is filed, so a store that fails is that stage's failure). */
  | { type: 'remember'; hostPort: string; fingerprint: string }
  /** Only with config.transcript: the CredSSP exchange as the connector saw it. */
  | { type: 'record'; entry: TranscriptEvent }
  | { type: 'done' };

export type SequenceState = 'x224' | 'tls' | 'credssp' | 'session' | 'done';

export interface SequenceConfig {
  depth: Depth;
  /** The target as typed: TERMSRV/<host> for NTLM, and the trust decision's name check. */
  host: string;
  /** host:port as the known-hosts store keys it. */
  hostPort: string;
  requestedProtocols: number;
  /** RDP_NEG_REQ flags (RESTRICTED_ADMIN_MODE_REQUIRED …). */
  negFlags: number;
  /** SNI for the TLS upgrade (absent for an IP literal). */
  servername?: string;
  /** Allow TLS 1.0/1.1. */
  legacyTls: boolean;
  /** PEM text of the CA certificates to trust (--ca). */
  caPem?: string;
  credentials?: { user: string; domain: string; password: string };
  /** Send TSCredentials, or the password in the Client Info: only with an explicit --delegate. */
  delegate: boolean;
  pins?: string[];
  insecure: boolean;
  credsspVersion: number;
  encryptionMethods: number;
  console: boolean;
  /** Emit `record` actions for the CredSSP exchange. */
  transcript: boolean;
  /** Randomness and time from the driver. */
  random: (n: number) => Uint8Array;
  nowMs: () => number;
}

/** ENCRYPTION_METHOD_40BIT | 128BIT | 56BIT | FIPS: let the server choose, as mstsc does. */
export const DEFAULT_ENCRYPTION_METHODS = 0x1b;

const DEPTH_LAST: Record<Depth, Stage> = { tcp: 'tcp', x224: 'x224', tls: 'tls', credssp: 'credssp', auth: 'nla_auth', session: 'activation' };
const TLS_PROTOCOLS = SecurityProtocol.PROTOCOL_SSL | SecurityProtocol.PROTOCOL_HYBRID | SecurityProtocol.PROTOCOL_HYBRID_EX;
const NLA_PROTOCOLS = SecurityProtocol.PROTOCOL_HYBRID | SecurityProtocol.PROTOCOL_HYBRID_EX;

export function defaultSequenceConfig(over: Partial<SequenceConfig> = {}): SequenceConfig {
  return {
    depth: 'credssp',
    host: 'localhost',
    hostPort: 'localhost:3389',
    requestedProtocols: TLS_PROTOCOLS,
    negFlags: 0,
    legacyTls: false,
    delegate: false,
    insecure: false,
    credsspVersion: CLIENT_CREDSSP_VERSION,
    encryptionMethods: DEFAULT_ENCRYPTION_METHODS,
    console: false,
    transcript: false,
    random: (n) => new Uint8Array(n),
    nowMs: () => 0,
    ...over,
  };
}

/** What the driver learnt from a TLS handshake that succeeded (facts already built for the report). */
export interface TlsEstablished {
  facts: Record<string, unknown>;
  /** The decoded server certificate, when it sent one that decodes. */
  cert?: CertificateFacts;
  /** tls-server-end-point application data of the certificate (RFC 5929, see certHashName), for NTLM's channel bindings. */
  channelBindings?: Uint8Array;
  /** The chain verified against --ca (meaningful only with one). */
  chainTrusted: boolean;
  chainError?: string;
  /** The known-hosts entry for hostPort, looked up now: undefined = not stored yet (first use), null = no store. */
  known: string | null | undefined;
}

/** A TLS handshake that failed, as the driver's policy classified it (and after any legacy retry). */
export interface TlsFailed {
  error: StageError;
  facts?: Record<string, unknown>;
  evidence?: FrameEvidence;
}

export class ProbeSequence {
  private state: SequenceState = 'x224';
  private readonly x224: X224Connector;
  private outcome?: X224Outcome;
  private credssp?: CredsspConnector;
  private session?: SessionConnector;
  private trust?: TrustDecision;
  private cert?: CertificateFacts;
  private credsspMode: 'probe' | 'auth' | 'delegate' = 'probe';
  private selected = 0;
  /** Stages that failed: a failed CredSSP stage keeps the session stages from running. */
  private readonly failed = new Set<Stage>();
  private readonly ran = new Map<Stage, SequenceOutcome>();

  constructor(readonly config: SequenceConfig) {
    this.x224 = new X224Connector({ requestedProtocols: config.requestedProtocols, negFlags: config.negFlags });
  }

  get current(): SequenceState {
    return this.state;
  }

  /** The stage now running (the sub-connector's own stage inside CredSSP and the session). */
  get stage(): Stage | 'done' {
    switch (this.state) {
      case 'x224':
        return 'x224';
      case 'tls':
        return 'tls';
      case 'credssp':
        return this.credssp!.stage;
      case 'session':
        return this.session!.stage;
      default:
        return 'done';
    }
  }

  get isDone(): boolean {
    return this.state === 'done';
  }

  /** The X.224 answer of this connection (enumeration starts from it), once it came. */
  get x224Outcome(): X224Outcome | undefined {
    return this.outcome;
  }

  /** The trust decision at TLS, once made. */
  get trustDecision(): TrustDecision | undefined {
    return this.trust;
  }

  wants(stage: Stage): boolean {
    return STAGES.indexOf(stage) <= STAGES.indexOf(DEPTH_LAST[this.config.depth]);
  }

  start(): ProbeAction[] {
    return this.fromX224(this.x224.start());
  }

  /** Bytes from the server, any split. */
  receive(chunk: Uint8Array): ProbeAction[] {
    switch (this.state) {
      case 'x224':
        return this.fromX224(this.x224.receive(chunk));
      case 'credssp':
        return [...this.tap({ dir: 'server', stage: this.credssp!.stage, hex: hex(chunk) }), ...this.fromCredssp(this.credssp!.receive(chunk))];
      case 'session':
        return this.fromSession(this.session!.receive(chunk));
      default:
        // During the TLS upgrade the driver owns the bytes; after done nothing is read.
        return [];
    }
  }

  /** The server closed (FIN) or reset the connection; `alert` names a TLS alert, `errorCode` the socket's code. */
  closed(how: 'eof' | 'reset', alert?: string, errorCode?: string): ProbeAction[] {
    switch (this.state) {
      case 'x224':
        return this.fromX224(this.x224.closed(how));
      case 'credssp':
        return [...this.tap({ dir: 'server', stage: this.credssp!.stage, hex: '', event: alert ? `alert:${alert}` : how }), ...this.fromCredssp(this.credssp!.closed(how, alert, errorCode))];
      case 'session':
        return this.fromSession(this.session!.closed(how, alert));
      default:
        return [];
    }
  }

  /** The stage deadline passed (or the driver's signal fired). */
  timedOut(ms: number): ProbeAction[] {
    switch (this.state) {
      case 'x224':
        return this.fromX224(this.x224.timedOut(ms));
      case 'credssp':
        return [...this.tap({ dir: 'server', stage: this.credssp!.stage, hex: '', event: 'timeout' }), ...this.fromCredssp(this.credssp!.timedOut(ms))];
      case 'session':
        return this.fromSession(this.session!.timedOut(ms));
      default:
        return [];
    }
  }

  /** The TLS handshake succeeded: decide trust (pins, known hosts, --ca, --insecure), then CredSSP or the session. */
  tlsEstablished(t: TlsEstablished): ProbeAction[] {
    if (this.state !== 'tls') return [];
    const out: ProbeAction[] = [];
    this.cert = t.cert;
    if (t.cert) {
      // Pins and known-hosts hold at every depth that runs TLS; a contradiction ends the probe here.
      const c = this.config;
      const d = decideTrust({
        cert: t.cert,
        host: c.host,
        hostPort: c.hostPort,
        caGiven: c.caPem !== undefined,
        chainTrusted: c.caPem !== undefined && t.chainTrusted,
        ...(t.chainError !== undefined ? { chainError: t.chainError } : {}),
        ...(c.pins ? { pins: c.pins } : {}),
        known: t.known,
        ...(c.insecure ? { insecure: true } : {}),
      });
      this.trust = d;
      if (d.remember) out.push({ type: 'remember', hostPort: c.hostPort, fingerprint: d.remember });
      out.push(...d.findings.map((finding): ProbeAction => ({ type: 'finding', finding })));
      if (d.mismatch) {
        out.push(this.stageEnd({ stage: 'tls', ok: false, facts: t.facts, error: { layer: 'policy', kind: 'untrusted_certificate', message: `${d.why ?? 'the certificate is not the one expected'}: nothing more was sent` } }));
        return [...out, ...this.finish()];
      }
    }
    out.push(this.stageEnd({ stage: 'tls', ok: true, facts: t.facts }));
    const selected = this.selected;
    if ((selected & NLA_PROTOCOLS) === 0) {
      for (const [s, why] of [
        ['credssp', `the server selected ${protocolNames(selected)}: no CredSSP (NLA) on this connection`],
        ['nla_auth', 'no CredSSP on this connection'],
        ['authz', 'no CredSSP on this connection'],
      ] as const)
        if (this.wants(s)) out.push({ type: 'skip', stage: s, reason: why });
      if (!this.wants('mcs')) return [...out, ...this.finish()];
      // TLS without NLA: the password would go in the Client Info, so only with --delegate and a trusted certificate.
      const password = this.config.delegate && this.trust?.trusted === true ? this.config.credentials?.password : undefined;
      if (this.config.delegate && this.config.credentials && password === undefined) out.push({ type: 'anomaly', text: 'the password was not put in the Client Info: the server certificate is not trusted' });
      return [...out, ...this.startSession(selected, false, password)];
    }
    if (!this.wants('credssp')) return [...out, ...this.finish()];
    return [...out, ...this.startCredssp(t)];
  }

  /** The TLS handshake failed; the driver's policy has named why (and run any legacy retry). */
  tlsFailed(f: TlsFailed): ProbeAction[] {
    if (this.state !== 'tls') return [];
    const out: ProbeAction[] = [];
    if (f.error.kind === 'tls_bad_signature') {
      out.push({ type: 'finding', finding: { id: 'cert-key-mismatch', severity: 'high', stage: 'tls', message: 'the server certificate does not match the private key the server signs with' } });
    }
    out.push(this.stageEnd({ stage: 'tls', ok: false, ...(f.facts ? { facts: f.facts } : {}), error: f.error, ...(f.evidence ? { evidence: [f.evidence] } : {}) }));
    return [...out, ...this.finish()];
  }

  private finish(): ProbeAction[] {
    this.state = 'done';
    return [{ type: 'done' }];
  }

  private stageEnd(o: SequenceOutcome): ProbeAction {
    this.ran.set(o.stage, o);
    if (!o.ok) this.failed.add(o.stage);
    return { type: 'stage', outcome: o };
  }

  private tap(entry: TranscriptEvent): ProbeAction[] {
    return this.config.transcript ? [{ type: 'record', entry }] : [];
  }

  private fromX224(actions: ReturnType<X224Connector['start']>): ProbeAction[] {
    const out: ProbeAction[] = [];
    for (const a of actions) {
      if (a.type === 'send') out.push(a);
      else out.push(...this.afterX224(a.outcome));
    }
    return out;
  }

  private afterX224(o: X224Outcome): ProbeAction[] {
    this.outcome = o;
    const out: ProbeAction[] = [];
    if (!o.ok) {
      out.push(this.stageEnd({ stage: 'x224', ok: false, facts: { ...o.facts }, error: o.error, ...(o.evidence ? { evidence: [o.evidence] } : {}) }));
      return [...out, ...this.finish()];
    }
    out.push(this.stageEnd({ stage: 'x224', ok: true, facts: { ...o.facts }, evidence: [o.evidence] }));
    const selected = o.selectedProtocol;
    this.selected = selected;
    if ((selected & TLS_PROTOCOLS) === 0 || o.legacy) {
      const why = o.legacy
        ? 'the server sent no negotiation data: standard RDP security only'
        : `the server selected ${protocolNames(selected)}${selected === 0 ? ' (standard RDP security, no TLS)' : ''}`;
      if (this.wants('tls')) out.push({ type: 'skip', stage: 'tls', reason: why });
      const f = standardRdpSecuritySelected(this.config.requestedProtocols, selected, o.legacy);
      if (f) out.push({ type: 'finding', finding: f });
      if (!this.wants('mcs')) return [...out, ...this.finish()];
      for (const s of ['credssp', 'nla_auth', 'authz'] as const) out.push({ type: 'skip', stage: s, reason: 'standard RDP security: no CredSSP (NLA)' });
      // Without TLS nothing can vouch for the server, so a password goes only with --delegate and --insecure.
      const password = this.config.delegate && this.config.insecure ? this.config.credentials?.password : undefined;
      return [...out, ...this.startSession(0, o.legacy, password, this.x224.leftover())];
    }
    if (!this.wants('tls')) return [...out, ...this.finish()];
    const leftover = this.x224.leftover();
    if (leftover.length > 0) out.push({ type: 'anomaly', text: `${leftover.length} byte(s) arrived after the Connection Confirm, before the TLS upgrade` });
    this.state = 'tls';
    out.push({
      type: 'upgrade_tls',
      ...(this.config.servername !== undefined ? { servername: this.config.servername } : {}),
      legacy: this.config.legacyTls,
      ...(this.config.caPem !== undefined ? { ca: this.config.caPem } : {}),
      leftover,
    });
    return out;
  }

  private startCredssp(t: TlsEstablished): ProbeAction[] {
    const out: ProbeAction[] = [];
    const c = this.config;
    const cert = this.cert;
    const trust = this.trust;
    let mode: 'probe' | 'auth' | 'delegate' = 'probe';
    if (this.wants('nla_auth')) {
      if (!c.credentials) out.push({ type: 'skip', stage: 'nla_auth', reason: 'no credentials given' });
      else if (!cert) out.push({ type: 'skip', stage: 'nla_auth', reason: 'the server sent no certificate to bind the credentials to' });
      else if (!trust?.trusted) {
        out.push(this.stageEnd({ stage: 'nla_auth', ok: false, facts: {}, error: { layer: 'policy', kind: 'untrusted_certificate', message: `${trust?.why ?? 'the server certificate is not verified'}: credentials were not sent; ${trustAdvice(`sha256:${cert.sha256}`)}` } }));
      } else {
        if (trust.how === 'insecure') out.push({ type: 'finding', finding: { id: 'nla-auth-insecure', severity: 'medium', stage: 'nla_auth', message: 'credentials were checked against a server certificate that was not verified (--insecure)' } });
        mode = this.wants('authz') && c.delegate ? 'delegate' : 'auth';
        if (this.wants('authz') && !c.delegate) out.push({ type: 'skip', stage: 'authz', reason: 'credentials are delegated (TSCredentials) only with --delegate' });
      }
    }
    const hybridEx = (this.selected & SecurityProtocol.PROTOCOL_HYBRID_EX) !== 0;
    if (this.wants('authz') && mode === 'delegate' && !hybridEx) {
      // Without HYBRID_EX there is no Early User Authorization Result to read.
      out.push({ type: 'anomaly', text: 'authz: the server selected HYBRID, not HYBRID_EX: no Early User Authorization Result will come' });
    }
    this.credsspMode = mode;
    const connector = new CredsspConnector({
      mode,
      ...(c.credentials ? { credentials: c.credentials } : {}),
      subjectPublicKey: cert?.subjectPublicKey ?? new Uint8Array(0),
      hybridEx,
      clientVersion: c.credsspVersion,
      targetName: `TERMSRV/${c.host}`,
      ...(t.channelBindings ? { channelBindings: t.channelBindings } : {}),
      random: { clientChallenge: c.random(8), sessionKey: c.random(16), nonce: c.random(32) },
      nowMs: c.nowMs(),
    });
    this.credssp = connector;
    this.state = 'credssp';
    if (c.transcript) {
      // The connector's inputs other than the password, so a transcript replays byte for byte.
      const k = connector.config;
      const header = { mode: k.mode, hybridEx: k.hybridEx, clientVersion: k.clientVersion, targetName: k.targetName, nowMs: k.nowMs, subjectPublicKey: hex(k.subjectPublicKey), channelBindings: k.channelBindings ? hex(k.channelBindings) : null, random: { clientChallenge: hex(k.random.clientChallenge), sessionKey: hex(k.random.sessionKey), nonce: hex(k.random.nonce) }, user: k.credentials?.user ?? null, domain: k.credentials?.domain ?? null };
      out.push({ type: 'record', entry: { dir: 'client', stage: 'config', hex: hex(new TextEncoder().encode(JSON.stringify(header))) } });
    }
    return [...out, ...this.fromCredssp(connector.start())];
  }

  private fromCredssp(actions: CredsspAction[]): ProbeAction[] {
    const out: ProbeAction[] = [];
    for (const a of actions) {
      if (a.type === 'send') out.push(...this.tap({ dir: 'client', stage: this.credssp!.stage, hex: hex(a.bytes) }), a);
      else if (a.type === 'stage') {
        if (a.outcome.ok && a.outcome.stage === 'credssp') out.push(...credsspFindings(a.outcome.facts).map((finding): ProbeAction => ({ type: 'finding', finding })));
        out.push(this.stageEnd(a.outcome));
      } else out.push(...this.afterCredssp());
    }
    return out;
  }

  private afterCredssp(): ProbeAction[] {
    const out: ProbeAction[] = [];
    const hybridEx = (this.selected & SecurityProtocol.PROTOCOL_HYBRID_EX) !== 0;
    const nla = this.ran.get('nla_auth');
    if (this.credsspMode === 'delegate' && !hybridEx && !this.ran.has('authz') && nla?.ok === true) {
      out.push({ type: 'skip', stage: 'authz', reason: 'credentials were delegated; the server selected HYBRID, which has no Early User Authorization Result' });
    }
    if (!this.wants('mcs') || (['credssp', 'nla_auth', 'authz'] as const).some((s) => this.failed.has(s))) return [...out, ...this.finish()];
    if (nla?.ok === true && nla.facts?.['credentialsDelegated'] === true) return [...out, ...this.startSession(this.selected, false, undefined, this.credssp!.leftover(), true)];
    const why = this.config.credentials
      ? 'NLA: the server starts a session only once the credentials are delegated (--delegate)'
      : 'NLA: the server starts a session only for delegated credentials (--user, a password and --delegate)';
    for (const s of ['mcs', 'security', 'licensing', 'activation'] as const) out.push({ type: 'skip', stage: s, reason: why });
    return [...out, ...this.finish()];
  }

  /** `tsCredentials`: the password went in TSCredentials; either that or a Client Info password means the session follows the logon. */
  private startSession(selected: number, legacy: boolean, password: string | undefined, leftover?: Uint8Array, tsCredentials = false): ProbeAction[] {
    const c = this.config;
    const session = new SessionConnector({
      selectedProtocol: selected,
      requestedProtocols: c.requestedProtocols,
      legacy,
      encryptionMethods: c.encryptionMethods,
      clientName: 'rdp-probe',
      ...(c.credentials ? { user: c.credentials.user, domain: c.credentials.domain } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(c.console ? { console: true } : {}),
      ...(tsCredentials || password !== undefined ? { followLogon: true } : {}),
      clientRandom: c.random(32),
      licenseClientRandom: c.random(32),
      licensePreMasterSecret: c.random(48),
    });
    this.session = session;
    this.state = 'session';
    const out: ProbeAction[] = [];
    if ((selected & TLS_PROTOCOLS) !== 0) out.push({ type: 'skip', stage: 'security', reason: 'enhanced security (TLS): no standard RDP security exchange' });
    out.push(...this.fromSession(session.start()));
    // Bytes that came with the previous stage's last frame belong to this one.
    if (leftover && leftover.length > 0 && this.state === 'session') out.push(...this.fromSession(session.receive(leftover)));
    return out;
  }

  private fromSession(actions: SessionAction[]): ProbeAction[] {
    const out: ProbeAction[] = [];
    for (const a of actions) {
      if (a.type === 'send' || a.type === 'finding') out.push(a);
      else if (a.type === 'stage') {
        const { skipped, ...o } = a.outcome;
        out.push(skipped !== undefined ? { type: 'skip', stage: o.stage, reason: skipped } : this.stageEnd(o));
      } else out.push(...this.finish());
    }
    return out;
  }
}

/** RFC 5929 tls-server-end-point: the certificate's signature hash, with MD5 and SHA-1 upgraded to SHA-256. */
export function certHashName(cert: CertificateFacts | undefined): string {
  const h = cert?.signatureHash;
  return h === 'sha384' || h === 'sha512' ? h : 'sha256';
}

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
