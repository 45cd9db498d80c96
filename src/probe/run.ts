/**
 * runProbe: the one place that owns time. Resolves, connects, builds the pure ProbeSequence (x224 through
 * activation) and runs it over the socket with the one driver loop, stamping every stage into the report. Around
 * it, policy: what a TLS handshake means (facts, certificate findings, a legacy-TLS retry on a second connection),
 * the known-hosts store, and enumeration once the main connection is closed. It never throws for anything a
 * server or the network does.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { X224Connector, type X224Outcome } from '../connector/x224-connector.js';
import type { ProbeAction, ProbeSequence, SequenceOutcome, TranscriptEntry } from '../connector/sequence.js';
import { DecodeError } from '../protocol/codec/errors.js';
import { SecurityProtocol, protocolNames } from '../protocol/nego.js';
import type { CertificateFacts } from '../protocol/x509.js';
import { EnumerationPlanner } from './enumerate.js';
import { enumerationFindings, tlsLegacyVersion } from './findings.js';
import { earlyEndReport, ReportBuilder } from './report-builder.js';
import { classifyTlsFailure } from './tls-classify.js';
import type { Depth, Enumeration, Finding, ProbeReport, StageError, StageResult } from './types.js';
import { literalAddress, resolveHost } from '../transport/dns.js';
import { localStageError, socketErrorToStageError } from '../transport/errors.js';
import { tlsVersionLabel } from './tls-version.js';
import { connectTcp, connectTcpThen, ConnectTimeout } from '../transport/tcp.js';
import { after, onAbort, type Deadline } from '../transport/deadlines.js';
import type { TlsHandshake } from '../transport/tls-upgrade.js';
import { captureHook, type ProbeCapture } from '../transport/capture-tap.js';
import { Slots } from '../transport/slots.js';
import { VERSION } from '../version.js';
import { formatHostPort } from './host-port.js';
import { ipVersion } from '../model/target-syntax.js';
import type { Logger } from 'pino';

export interface ProbeOptions {
  depth: Depth;
  /** Deadline for each stage, ms. */
  stageTimeoutMs: number;
  /** Deadline for the whole target (every connection of it), ms. */
  targetTimeoutMs: number;
  enumerate: boolean;
  legacyTls: boolean;
  /** PEM text of the CA certificates to trust (--ca). */
  caPem?: string;
  warnDays: number;
  /** requestedProtocols of the main connection. */
  requestedProtocols: number;
  /** DNS servers to ask instead of the system resolver. */
  dnsServers?: string[];
  signal?: AbortSignal;
  logger?: Logger;
  now?: () => Date;
  /** For nla_auth and authz. The password never appears in a report, a log or a transcript. */
  credentials?: { user: string; domain: string; password: string };
  /** Send TSCredentials (real delegation of the password): only with an explicit --delegate. */
  delegate?: boolean;
  /** How the server certificate may be trusted before anything derived from the password is sent. */
  trust?: TrustOptions;
  /** Our CredSSP version (default 6; lower to see what an unpatched client meets). */
  credsspVersion?: number;
  /** Standard RDP security: the encryption methods offered in CS_SECURITY (default 40, 56, 128-bit and FIPS). */
  encryptionMethods?: number;
  /** mstsc /admin: ask for the console session. */
  console?: boolean;
  /** RDP_NEG_REQ flags of the main connection (0x01 RESTRICTED_ADMIN_MODE_REQUIRED, 0x02 REDIRECTED_AUTHENTICATION_MODE_REQUIRED). */
  negFlags?: number;
  /**
   * A target that never got past TCP gets its report from a template (default true); false builds it stage by
   * stage, for the test that holds the two equal.
   */
  compactEarlyEnd?: boolean;
  /** Receives every CredSSP message at the connector boundary (decrypted, no password inside). */
  record?: (e: TranscriptEntry) => void;
  /** Receives every connection's bytes and every TLS key log line (check --record: src/probe/recorder.ts). */
  capture?: ProbeCapture;
}

export interface TrustOptions {
  /** sha256:<hex> of the certificate (or of its SubjectPublicKeyInfo). */
  pins?: string[];
  insecure?: boolean;
  knownHosts?: KnownHostsStore;
}

/** A trust-on-first-use store (known-hosts style). */
export interface KnownHostsStore {
  lookup(hostPort: string): string | undefined;
  remember(hostPort: string, fingerprint: string): void;
}


export const DEFAULT_REQUESTED = SecurityProtocol.PROTOCOL_SSL | SecurityProtocol.PROTOCOL_HYBRID | SecurityProtocol.PROTOCOL_HYBRID_EX;

const DEFAULTS = {
  depth: 'credssp',
  stageTimeoutMs: 5000,
  targetTimeoutMs: 30000,
  enumerate: true,
  legacyTls: false,
  warnDays: 30,
  requestedProtocols: DEFAULT_REQUESTED,
} as const satisfies Partial<ProbeOptions>;

export function defaultProbeOptions(over: Partial<ProbeOptions> = {}): ProbeOptions {
  return { ...DEFAULTS, ...over };
}

/**
 * Loaded with import() once per process, each when a stage first needs it: the sequence (CredSSP, asn1js), the
 * driver loop and TLS (node:tls, node:crypto) once TCP has connected, the certificate code (pkijs) once a
 * certificate has arrived. A closed port loads none of them: most of a closed port's start-up was these.
 */
type SequenceModule = typeof import('../connector/sequence.js') &
  Pick<typeof import('../transport/exchange.js'), 'driveSequence' | 'runX224'> &
  Pick<typeof import('../transport/tls-upgrade.js'), 'upgradeTls'> &
  Pick<typeof import('node:crypto'), 'createHash' | 'randomBytes'> &
  Pick<typeof import('../protocol/ntlm/ntlmv2.js'), 'tlsServerEndPointAppData'>;
type CertModules = [typeof import('../protocol/x509.js'), typeof import('./cert-findings.js')];
let sequenceModule: Promise<SequenceModule> | undefined;
let certModules: Promise<CertModules> | undefined;
function loadSequence(): Promise<SequenceModule> {
  sequenceModule ??= Promise.all([import('../connector/sequence.js'), import('../transport/exchange.js'), import('../transport/tls-upgrade.js'), import('node:crypto'), import('../protocol/ntlm/ntlmv2.js')]).then(
    ([seq, ex, tls, crypto, ntlm]) => ({ ...seq, driveSequence: ex.driveSequence, runX224: ex.runX224, upgradeTls: tls.upgradeTls, createHash: crypto.createHash, randomBytes: crypto.randomBytes, tlsServerEndPointAppData: ntlm.tlsServerEndPointAppData }),
  );
  return sequenceModule;
}
function loadCertCode(): Promise<CertModules> {
  certModules ??= Promise.all([import('../protocol/x509.js'), import('./cert-findings.js')]);
  return certModules;
}

/**
 * Probes one target. A literal address whose connect fails (refused, reset, unreachable, timed out) never leaves
 * the lean path below: no async frame, no options object, no ReportBuilder while the connect is pending, and the
 * compact record when it fails. Everything else (a name to resolve, a connection made, options that need the
 * controller from the start) goes through runFull.
 */
export function runProbe(target: { host: string; port: number }, options: Partial<ProbeOptions> = {}): Promise<ProbeReport> {
  const stageTimeoutMs = options.stageTimeoutMs ?? DEFAULTS.stageTimeoutMs;
  const targetTimeoutMs = options.targetTimeoutMs ?? DEFAULTS.targetTimeoutMs;
  const lit = options.compactEarlyEnd === false || options.logger !== undefined || !(targetTimeoutMs >= 2 * stageTimeoutMs + LATE_ARM_MARGIN_MS) ? undefined : literalAddress(target.host);
  if (lit === undefined) return runFull(target, options, undefined);
  // As runFull times them: the start, the dns stage (a literal: nothing to resolve), then the connect.
  const now = options.now;
  const startedAt = now ? now() : Date.now();
  const clock = new StageClock();
  const dns = literalDns(clock, clock.elapsed(), lit);
  const t0 = clock.elapsed();
  const signal = options.signal ?? NEVER;
  const address = lit.address;
  const port = target.port;
  return new Promise<ProbeReport>((resolve) => {
    connectTcpThen(address, port, stageTimeoutMs, signal, captureHook(options.capture, 'main connection', address, port), (socket, err) => {
      let first: Opened | undefined;
      try {
        const depth = options.depth ?? DEFAULTS.depth;
        first = socket
          ? connected(socket, clock, t0, dns, address, depth)
          : tcpFailed(err, signal, clock, t0, dns, address, port, depth, options.requestedProtocols ?? DEFAULTS.requestedProtocols);
        if (first.socket === undefined) {
          const early = earlyEndReport({ target: { host: target.host, port, address }, depth, version: VERSION, startedAt: asDate(startedAt), durationMs: clock.elapsed(), dns, ...(first.tcp ? { tcp: first.tcp } : {}) });
          if (early) return resolve(early);
        }
        resolve(runFull(target, options, { startedAt: asDate(startedAt), clock, first }));
      } catch (e) {
        // Our own bug (this runs in a socket's event): the report says so, as runFull's does for its own.
        socket?.destroy();
        resolve(runFull(target, options, { startedAt: asDate(startedAt), clock, first: first?.socket ? { dns, address } : (first ?? { dns, address }), thrown: e }));
      }
    });
  });
}

function asDate(t: Date | number): Date {
  return typeof t === 'number' ? new Date(t) : t;
}

/** What the lean path of runProbe has already done when it hands a target over to runFull. */
interface Begun {
  startedAt: Date;
  clock: StageClock;
  first: Opened;
  /** Set when the lean path itself threw: the report is an internal error's. */
  thrown?: unknown;
}

async function runFull(target: { host: string; port: number }, options: Partial<ProbeOptions>, begun: Begun | undefined): Promise<ProbeReport> {
  const opts = defaultProbeOptions(options);
  const now = opts.now ?? (() => new Date());
  const startedAt = begun?.startedAt ?? now();
  const clock = begun?.clock ?? new StageClock();
  // One controller per target: its deadline, or the caller's signal (a stop), whichever comes first. Cheaper than
  // AbortSignal.timeout + AbortSignal.any, which matters at thousands of probes per second; the caller's signal is
  // shared by every probe of a scan, so it is listened to through a set (O(1) to leave), not addEventListener.
  // When the target deadline cannot come before dns and tcp have ended on their own stage deadlines, neither the
  // controller nor the deadline is made until TCP has connected (most targets of a scan never do): dns and tcp
  // then listen to the caller's signal alone.
  let controller: AbortController | undefined;
  let deadline: Deadline | undefined;
  let stop: Deadline | undefined;
  const arm = (): AbortSignal => {
    const c = new AbortController();
    controller = c;
    deadline = after(opts.targetTimeoutMs - (performance.now() - clock.started), () => c.abort(new DOMException(`the ${opts.targetTimeoutMs} ms target deadline`, 'TimeoutError')));
    if (opts.signal) stop = onAbort(opts.signal, () => c.abort(opts.signal?.reason));
    return c.signal;
  };
  const late = opts.targetTimeoutMs >= 2 * opts.stageTimeoutMs + LATE_ARM_MARGIN_MS;
  const log = opts.logger?.child({ target: `${target.host}:${target.port}` });
  const sockets: net.Socket[] = [];
  let report: ReportBuilder | undefined;
  const full = (): ReportBuilder => new ReportBuilder({ host: target.host, port: target.port }, opts.depth, () => performance.now(), startedAt, VERSION, clock.started);
  try {
    const first = begun?.first ?? (await openConnection(target, opts, late ? (opts.signal ?? NEVER) : arm(), clock, log));
    if (begun === undefined && first.socket === undefined && opts.compactEarlyEnd !== false) {
      // Never past TCP: the compact record (most targets of a scan end here).
      const tgt = first.address !== undefined ? { host: target.host, port: target.port, address: first.address } : { host: target.host, port: target.port };
      const early = earlyEndReport({ target: tgt, depth: opts.depth, version: VERSION, startedAt, durationMs: clock.elapsed(), dns: first.dns, ...(first.tcp ? { tcp: first.tcp } : {}) });
      if (early) {
        log?.debug({ verdict: early.verdict.id, stage: early.verdict.stage, ms: early.durationMs }, 'Probe done');
        return early;
      }
    }
    report = full();
    report.set(first.dns);
    if (first.address !== undefined) report.target.address = first.address;
    if (first.tcp) report.set(first.tcp);
    if (first.x224) report.set(first.x224);
    if (begun !== undefined && 'thrown' in begun) throw begun.thrown;
    if (first.socket) {
      sockets.push(first.socket);
      const signal = controller?.signal ?? arm();
      await probeStages(target, first.address!, first.socket, opts, report, signal, sockets, now, log);
    }
  } catch (e) {
    // Not the server's doing: this machine (an errno such as EMFILE, or a --known-hosts path that cannot be
    // written), or our own bug. Either way the report must not read ok.
    report ??= full();
    const local = localStageError(e, 'the probe');
    report.abort(local ?? { layer: 'internal', kind: 'internal_error', message: e instanceof Error ? e.message : String(e) });
    if (local) log?.warn({ code: local.localCode }, 'Local failure');
    else log?.error({ err: e }, 'Internal error');
  } finally {
    deadline?.cancel();
    stop?.cancel();
    for (const s of sockets) s.destroy();
  }
  const built = report.build();
  log?.debug({ verdict: built.verdict.id, stage: built.verdict.stage, ms: built.durationMs }, 'Probe done');
  return built;
}

/** Never aborts: the signal of a probe nobody can stop, before its own controller exists. */
const NEVER = new AbortController().signal;
/** How much longer than dns + tcp at their deadlines the target deadline must be for the controller to wait. */
const LATE_ARM_MARGIN_MS = 1000;

/** Stage times as ReportBuilder stamps them (ms since the probe started, to 0.1 ms), before any builder exists. */
class StageClock {
  readonly started = performance.now();
  elapsed(): number {
    return round1(performance.now() - this.started);
  }
  stage(stage: 'dns' | 'tcp', t0: number, r: Omit<StageResult, 'stage' | 'startMs' | 'durationMs'>): StageResult {
    return { stage, startMs: t0, durationMs: round1(this.elapsed() - t0), ...r };
  }
}

function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}

interface Opened {
  dns: StageResult;
  address?: string;
  tcp?: StageResult;
  /** Set when TCP reset at once after accepting: the x224 stage's answer. */
  x224?: StageResult;
  /** The connected socket when TCP succeeded and the depth goes on to x224. */
  socket?: net.Socket;
}

/** The dns and tcp stages: cheap to run and to report, since most targets of a scan end in one of them. */
async function openConnection(target: { host: string; port: number }, opts: ProbeOptions, signal: AbortSignal, clock: StageClock, log: Logger | undefined): Promise<Opened> {
  // dns
  const d0 = clock.elapsed();
  let address: string;
  let dns: StageResult;
  try {
    const lit = literalAddress(target.host);
    if (lit) {
      address = lit.address;
      dns = literalDns(clock, d0, lit);
    } else {
      const r = await resolveHost(target.host, opts.dnsServers, opts.stageTimeoutMs, signal);
      address = r.address;
      dns = clock.stage('dns', d0, { status: 'ok', facts: { address: r.address, family: r.family, literal: r.literal, ...(r.all.length > 1 ? { allAddresses: r.all } : {}) } });
    }
  } catch (e) {
    return { dns: clock.stage('dns', d0, { status: 'failed', error: deadlineOr(signal, e, 'dns', () => socketErrorToStageError(e, 'dns', target.host)) }) };
  }
  log?.debug({ stage: 'dns', address }, 'Resolved');

  // tcp
  const t0 = clock.elapsed();
  let socket: net.Socket;
  try {
    socket = await connectTcp(address, target.port, opts.stageTimeoutMs, signal, captureHook(opts.capture, 'main connection', address, target.port));
  } catch (e) {
    return tcpFailed(e, signal, clock, t0, dns, address, target.port, opts.depth, opts.requestedProtocols);
  }
  return connected(socket, clock, t0, dns, address, opts.depth);
}

/** The dns stage of a literal address (nothing resolved; the same facts resolveHost's answer would give). */
function literalDns(clock: StageClock, d0: number, lit: { address: string; family: 4 | 6; literal: boolean }): StageResult {
  return clock.stage('dns', d0, { status: 'ok', facts: { address: lit.address, family: lit.family, literal: lit.literal } });
}

/** The tcp stage of a connect that failed (and, for a reset, the x224 stage it stands for). */
function tcpFailed(e: unknown, signal: AbortSignal, clock: StageClock, t0: number, dns: StageResult, address: string, port: number, depth: Depth, requestedProtocols: number): Opened {
  if ((e as { code?: string } | null)?.code === 'ECONNRESET' && !signal.aborted) {
    // A reset can only follow an established connection (a refused SYN is ECONNREFUSED): the handshake
    // succeeded and the server reset it before Node reported the connect. TCP is fine; X.224 got no answer.
    const tcp = clock.stage('tcp', t0, { status: 'ok', facts: { resetBeforeConnectEvent: true } });
    const x0 = clock.elapsed();
    const x224: StageResult | undefined = depth !== 'tcp'
      ? {
          stage: 'x224',
          startMs: x0,
          durationMs: round1(clock.elapsed() - x0),
          status: 'failed',
          facts: { requestedProtocols, requested: protocolNames(requestedProtocols) },
          error: { layer: 'peer', kind: 'reset_after_accept', codeName: 'ECONNRESET', message: `${formatHostPort(address, port)} accepted the TCP connection and reset it at once, before the X.224 Connection Request could be answered` },
        }
      : undefined;
    return { dns, address, tcp, ...(x224 ? { x224 } : {}) };
  }
  return { dns, address, tcp: clock.stage('tcp', t0, { status: 'failed', error: deadlineOr(signal, e, 'tcp', () => tcpError(e, `${address}:${port}`)) }) };
}

/** The tcp stage of a connect that succeeded; at --depth tcp the socket is closed and not handed on. */
function connected(socket: net.Socket, clock: StageClock, t0: number, dns: StageResult, address: string, depth: Depth): Opened {
  const tcp = clock.stage('tcp', t0, { status: 'ok', facts: { localAddress: socket.localAddress, localPort: socket.localPort } });
  if (depth === 'tcp') {
    socket.end();
    socket.destroy();
    return { dns, address, tcp };
  }
  return { dns, address, tcp, socket };
}

async function probeStages(
  target: { host: string; port: number },
  address: string,
  socket: net.Socket,
  opts: ProbeOptions,
  report: ReportBuilder,
  signal: AbortSignal,
  sockets: net.Socket[],
  now: () => Date,
  log: Logger | undefined,
): Promise<void> {
  // x224 and everything after it: one sequence over this socket.
  const seqMod = await loadSequence();
  const hostPort = formatHostPort(target.host, target.port);
  const known = opts.trust?.knownHosts;
  const seq: ProbeSequence = new seqMod.ProbeSequence(
    seqMod.defaultSequenceConfig({
      depth: opts.depth,
      host: target.host,
      hostPort,
      requestedProtocols: opts.requestedProtocols,
      negFlags: opts.negFlags ?? 0,
      ...(ipVersion(target.host) === 0 ? { servername: target.host } : {}),
      legacyTls: opts.legacyTls,
      ...(opts.caPem !== undefined ? { caPem: opts.caPem } : {}),
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      delegate: opts.delegate === true,
      ...(opts.trust?.pins ? { pins: opts.trust.pins } : {}),
      insecure: opts.trust?.insecure === true,
      credsspVersion: opts.credsspVersion ?? seqMod.defaultSequenceConfig().credsspVersion,
      encryptionMethods: opts.encryptionMethods ?? seqMod.DEFAULT_ENCRYPTION_METHODS,
      console: opts.console === true,
      transcript: opts.record !== undefined,
      random: (n) => seqMod.randomBytes(n),
      nowMs: () => now().getTime(),
    }),
  );
  // Each stage's window opens when the previous one ended.
  let opened = report.elapsed();
  const stamp = (o: SequenceOutcome): void => {
    // A connector "timeout" after our own deadline fired is the deadline, not the server's slowness.
    if (!o.ok && o.error?.kind === 'timeout' && signal.aborted) o = { ...o, error: cutError(signal, o.stage) };
    const t = report.elapsed();
    report.set({
      stage: o.stage,
      status: o.ok ? 'ok' : 'failed',
      startMs: Math.round(opened * 10) / 10,
      durationMs: Math.round((t - opened) * 10) / 10,
      ...(o.facts !== undefined ? { facts: o.facts } : {}),
      ...(o.error ? { error: o.error } : {}),
      ...(o.evidence ? { evidence: o.evidence } : {}),
    });
    opened = t;
    log?.debug({ stage: o.stage, ok: o.ok }, 'Stage ended');
  };
  // Enumeration starts as soon as the main connection's X.224 answer is in, and runs beside its TLS and CredSSP
  // (two enumeration connections at most, see enumerate): its connections spend most of their time waiting for
  // the server, the main connection most of its time decoding certificates and CredSSP. Awaited when it ends.
  let enumeration: Promise<Enumeration> | undefined;
  const startEnumeration = (): void => {
    const outcome = seq.x224Outcome;
    if (enumeration || !opts.enumerate || !outcome || !(outcome.ok || outcome.error.kind === 'negotiation_failure')) return;
    enumeration = enumerate(address, target.port, opts, cutX224(outcome, signal, 'x224'), signal);
    // Its rejection (a local failure such as EMFILE) is taken when it is awaited, not as an unhandled one now.
    enumeration.catch(() => {});
  };
  const onAction = (a: Exclude<ProbeAction, { type: 'send' | 'upgrade_tls' | 'done' }>): void => {
    switch (a.type) {
      case 'stage':
        stamp(a.outcome);
        if (a.outcome.stage === 'x224') startEnumeration();
        return;
      case 'skip':
        return report.skip(a.stage, a.reason);
      case 'finding':
        report.findings.push(a.finding);
        return;
      case 'anomaly':
        report.anomalies.push(a.text);
        return;
      case 'remember':
        // A store that cannot be written throws: a local failure, filed under the tls stage.
        known?.remember(a.hostPort, a.fingerprint);
        return;
      case 'record':
        opts.record?.({ ...a.entry, tMs: a.entry.stage === 'config' ? 0 : Math.round((report.elapsed() - opened) * 10) / 10 });
        return;
    }
  };
  const onTls = async (hs: TlsHandshake): Promise<ProbeAction[]> => {
    if (!hs.ok && signal.aborted) {
      socket.destroy();
      return seq.tlsFailed({ error: cutError(signal, 'tls'), ...(hs.serverBytes.length > 0 ? { evidence: { direction: 'server', hex: Buffer.from(hs.serverBytes.subarray(0, 512)).toString('hex'), length: hs.serverBytes.length, pdu: 'TLS bytes before the deadline' } } : {}) });
    }
    if (!hs.ok) {
      const failure = classifyTlsFailure({
        ...(hs.error.code ? { code: hs.error.code } : {}),
        message: hs.error.message,
        timedOut: hs.timedOut,
        closed: hs.closed,
        serverBytes: hs.serverBytes,
        timeoutMs: opts.stageTimeoutMs,
        legacyAllowed: opts.legacyTls,
      });
      const facts: Record<string, unknown> = { minVersion: opts.legacyTls ? 'TLS 1.0' : 'TLS 1.2' };
      if (failure.flight.kind === 'server_hello') facts['serverHelloVersion'] = tlsVersionLabel(failure.flight.version);
      if (failure.versionProblem && !opts.legacyTls) {
        const retry = await legacyRetry(address, target.port, opts, signal, sockets);
        facts['legacyRetry'] = retry;
        if (retry.ok) {
          failure.error.message = `the server speaks only ${String(retry.version)} (a second handshake with old versions allowed succeeded with ${String(retry.cipher)}); this probe, like current clients, requires TLS 1.2 or newer`;
          report.findings.push({
            id: 'tls-legacy-only',
            severity: 'high',
            stage: 'tls',
            message: `the server offers only ${String(retry.version)}, which current clients refuse by default`,
            evidence: { version: String(retry.version), cipher: String(retry.cipher) },
          });
        } else {
          failure.error.message += `; a second handshake with TLS 1.0 and 1.1 allowed failed too (${String(retry.reason)}${retry.code ? ` ${String(retry.code)}` : ''})`;
        }
      }
      socket.destroy();
      return seq.tlsFailed({ error: failure.error, facts, ...(failure.evidence ? { evidence: failure.evidence } : {}) });
    }
    const tf = tlsFacts(hs.certDer ? await loadCertCode() : undefined, hs, report, target.host, opts, now());
    return seq.tlsEstablished({
      facts: tf.facts,
      ...(tf.cert ? { cert: tf.cert } : {}),
      ...(hs.certDer ? { channelBindings: seqMod.tlsServerEndPointAppData(seqMod.createHash(seqMod.certHashName(tf.cert)).update(hs.certDer).digest()) } : {}),
      chainTrusted: hs.authorized,
      ...(hs.authorizationError ? { chainError: hs.authorizationError } : {}),
      known: known ? known.lookup(hostPort) : null,
    });
  };

  try {
    const last: Duplex = await seqMod.driveSequence(socket, seq, { timeoutMs: opts.stageTimeoutMs, signal, onAction, onTls, ...keylogOf(opts) });
    last.destroy();
  } finally {
    socket.destroy();
    // Every path ends here with the main connection closed; the enumeration (started at its X.224 answer) is
    // awaited. A server that answered with a negotiation failure is still worth asking; one that did not is not.
    startEnumeration();
    if (enumeration) {
      report.enumeration = await enumeration;
      report.findings.push(...enumerationFindings(report.enumeration));
    }
  }
}

function tlsFacts(
  certCode: CertModules | undefined,
  hs: Extract<TlsHandshake, { ok: true }>,
  report: ReportBuilder,
  host: string,
  opts: ProbeOptions,
  now: Date,
): { facts: Record<string, unknown>; cert?: CertificateFacts } {
  const facts: Record<string, unknown> = {
    version: tlsVersionLabel(hs.protocol),
    cipher: hs.cipher.standardName ?? hs.cipher.name,
    cipherOpenssl: hs.cipher.name,
    handshakeMs: Math.round(hs.ms * 10) / 10,
    chainLength: hs.chainDer.length,
  };
  const legacy = tlsLegacyVersion(hs.protocol);
  if (legacy) report.findings.push(legacy);
  if (opts.caPem) {
    facts['chainTrusted'] = hs.authorized;
    if (hs.authorizationError) facts['chainError'] = hs.authorizationError;
  }
  if (!hs.certDer || !certCode) {
    report.anomalies.push('the server sent no certificate');
    return { facts };
  }
  const [x509, cf] = certCode;
  let cert: CertificateFacts | undefined;
  try {
    cert = x509.decodeCertificate(hs.certDer);
    facts['certificate'] = x509.certificateFactsForReport(cert);
    const findings: Finding[] = cf.certificateFindings(cert, {
      now,
      warnDays: opts.warnDays,
      host,
      caGiven: opts.caPem !== undefined,
      ...(opts.caPem ? { chainTrusted: hs.authorized } : {}),
      ...(hs.authorizationError ? { chainError: hs.authorizationError } : {}),
    });
    report.findings.push(...findings);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    report.anomalies.push(`the server certificate could not be decoded: ${e.message}`);
  }
  return { facts, ...(cert ? { cert } : {}) };
}

/** A second connection that allows TLS 1.0/1.1, only to name what an old server speaks. */
async function legacyRetry(address: string, port: number, opts: ProbeOptions, signal: AbortSignal, sockets: net.Socket[]): Promise<Record<string, unknown>> {
  try {
    const s = await connectTcp(address, port, opts.stageTimeoutMs, signal, captureHook(opts.capture, 'legacy-TLS retry (TLS 1.0/1.1 allowed)', address, port));
    sockets.push(s);
    const c = new X224Connector({ requestedProtocols: opts.requestedProtocols, negFlags: 0 });
    const { runX224, upgradeTls } = await loadSequence();
    const o = await runX224(s, c, opts.stageTimeoutMs, signal);
    if (!o.ok) return { ok: false, reason: o.error.kind };
    const hs = await upgradeTls(s, { legacy: true, timeoutMs: opts.stageTimeoutMs, signal, leftover: c.leftover(), ...keylogOf(opts) });
    if (!hs.ok) {
      const f = classifyTlsFailure({ ...(hs.error.code ? { code: hs.error.code } : {}), message: hs.error.message, timedOut: hs.timedOut, closed: hs.closed, serverBytes: hs.serverBytes, timeoutMs: opts.stageTimeoutMs, legacyAllowed: true });
      return { ok: false, reason: f.error.kind, ...(f.error.codeName ? { code: f.error.codeName } : {}) };
    }
    hs.socket.destroy();
    return { ok: true, version: tlsVersionLabel(hs.protocol), cipher: hs.cipher.standardName ?? hs.cipher.name };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
}

async function enumerate(address: string, port: number, opts: ProbeOptions, first: X224Outcome, signal: AbortSignal): Promise<Enumeration> {
  const planner = new EnumerationPlanner();
  planner.record(opts.requestedProtocols, first);
  // The encryption methods are asked on a lane of their own from the moment standard RDP security is known to be
  // allowed: at most two enumeration connections are open at once (xrdp's listen backlog is 2), beside the main
  // connection, which the server has already accepted.
  // Both lanes share two connection slots, first come, first served (the methods queue all five at once).
  const slots = new Slots(2);
  let methods: ReturnType<typeof askEncryptionMethods> | undefined;
  const startMethods = (): void => {
    if (methods || signal.aborted || planner.result().standardRdpSecurity !== 'allowed') return;
    methods = askEncryptionMethods(address, port, opts, signal, first.ok && first.legacy, slots);
    methods.catch(() => {});
  };
  startMethods();
  for (let i = 0; i < 8 && !signal.aborted; i++) {
    const req = planner.next();
    if (req === undefined) break;
    let outcome: X224Outcome;
    let s: net.Socket | undefined;
    const release = await slots.take();
    try {
      s = await connectTcp(address, port, opts.stageTimeoutMs, signal, captureHook(opts.capture, `enumeration: requestedProtocols ${protocolNames(req)}`, address, port));
      const c = new X224Connector({ requestedProtocols: req, negFlags: 0 });
      outcome = await (await loadSequence()).runX224(s, c, opts.stageTimeoutMs, signal);
    } catch (e) {
      // This machine running out of something is not the server's answer: stop, and let runProbe say so.
      if (localStageError(e, 'enumeration') && !signal.aborted) {
        await methods?.catch(() => {});
        throw e;
      }
      outcome = { ok: false, facts: { requestedProtocols: req, requested: protocolNames(req) }, error: tcpError(e, `${address}:${port}`) };
    } finally {
      s?.destroy();
      release();
    }
    if (signal.aborted) {
      planner.recordCut(req, `cut: ${cutError(signal, 'enumeration').message}`);
      break;
    }
    planner.record(req, outcome);
    startMethods();
  }
  const result = planner.result();
  startMethods();
  if (methods) {
    const e = await methods;
    result.encryptionMethods = e.methods;
    if (e.level) result.encryptionLevel = e.level;
    // (not added to result.connections, which counts the protocol questions)
  }
  return result;
}

function askEncryptionMethods(address: string, port: number, opts: ProbeOptions, signal: AbortSignal, legacy: boolean, slots: Slots) {
  // Loaded only here: it decodes the server's certificate (pkijs), which a closed port or a TLS-only server never needs.
  return import('../transport/enumerate-encryption.js').then(({ enumerateEncryption }) =>
    enumerateEncryption(address, port, { stageTimeoutMs: opts.stageTimeoutMs, signal, legacy, slots, ...(opts.capture ? { capture: opts.capture } : {}) }),
  );
}

/** The TLS key log hook when recording (a 'keylog' listener costs OpenSSL a callback per secret, so only then). */
function keylogOf(opts: ProbeOptions): { onKeylog?: (line: Uint8Array) => void } {
  const c = opts.capture;
  return c ? { onKeylog: (line) => c.keylog(line) } : {};
}

function tcpError(e: unknown, what: string): StageError {
  if (e instanceof ConnectTimeout) return { layer: 'transport', kind: 'connect_timeout', message: `no answer to the TCP handshake from ${what} (${e.message})` };
  return socketErrorToStageError(e, 'tcp', what);
}

function deadlineOr(signal: AbortSignal, e: unknown, during: string, otherwise: () => StageError): StageError {
  if (signal.aborted && (e === signal.reason || (e as { name?: string })?.name === 'TimeoutError' || (e as { name?: string })?.name === 'AbortError')) return cutError(signal, during);
  return otherwise();
}

/**
 * What cut a stage short when the target's signal fired: our target deadline (its reason names the budget), a
 * deadline of the caller's, or the caller stopping the probe. Never the server's timeout.
 */
export function cutError(signal: AbortSignal, during: string): StageError {
  const r = signal.reason as { name?: string; message?: string } | undefined;
  if (r?.name === 'TimeoutError') {
    const which = typeof r.message === 'string' && /target deadline$/.test(r.message) ? r.message : "the caller's deadline";
    return { layer: 'transport', kind: 'target_deadline', message: `${which} passed during ${during}` };
  }
  return { layer: 'transport', kind: 'cancelled', message: `the probe was stopped during ${during}` };
}

/** An X.224 "no answer" that our own signal caused is reported as what cut it. */
function cutX224(o: X224Outcome, signal: AbortSignal, during: string): X224Outcome {
  if (o.ok || o.error.kind !== 'timeout' || !signal.aborted) return o;
  return { ...o, error: cutError(signal, during) };
}
