/**
 * runProbe: the one place that owns time. Resolves, connects, drives the pure X.224 connector, upgrades to TLS,
 * stamps every stage, and returns a report. It never throws for anything a server or the network does.
 */
import net from 'node:net';
import { X224Connector, type X224Outcome } from '../connector/x224-connector.js';
import { DecodeError } from '../protocol/codec/errors.js';
import { SecurityProtocol, protocolNames } from '../protocol/nego.js';
import { createHash, randomBytes } from 'node:crypto';
import type { CertificateFacts } from '../protocol/x509.js';
import type { TranscriptEntry } from './credssp-exchange.js';
import { EnumerationPlanner } from '../probe/enumerate.js';
import { credsspFindings, enumerationFindings, standardRdpSecuritySelected, tlsLegacyVersion } from '../probe/findings.js';
import { ReportBuilder } from '../probe/report-builder.js';
import { classifyTlsFailure } from '../probe/tls-classify.js';
import type { Depth, Finding, ProbeReport, StageError } from '../probe/types.js';
import { resolveHost } from './dns.js';
import { socketErrorToStageError } from './errors.js';
import { connectTcp, ConnectTimeout } from './tcp.js';
import { runX224 } from './exchange.js';
import { upgradeTls, type TlsHandshake } from './tls-upgrade.js';
import { VERSION } from '../version.js';
import { formatHostPort } from '../probe/host-port.js';
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
  /** Receives every CredSSP message at the connector boundary (decrypted, no password inside). */
  record?: (e: TranscriptEntry) => void;
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

type Heavy = typeof import('./heavy.js');
let heavyModules: Promise<Heavy> | undefined;
/** Starts loading the TLS/CredSSP modules (once per process). */
function heavy(): Promise<Heavy> {
  heavyModules ??= import('./heavy.js');
  return heavyModules;
}

export const DEFAULT_REQUESTED = SecurityProtocol.PROTOCOL_SSL | SecurityProtocol.PROTOCOL_HYBRID | SecurityProtocol.PROTOCOL_HYBRID_EX;

export function defaultProbeOptions(over: Partial<ProbeOptions> = {}): ProbeOptions {
  return {
    depth: 'credssp',
    stageTimeoutMs: 5000,
    targetTimeoutMs: 30000,
    enumerate: true,
    legacyTls: false,
    warnDays: 30,
    requestedProtocols: DEFAULT_REQUESTED,
    ...over,
  };
}

const TLS_PROTOCOLS = SecurityProtocol.PROTOCOL_SSL | SecurityProtocol.PROTOCOL_HYBRID | SecurityProtocol.PROTOCOL_HYBRID_EX;

export async function runProbe(target: { host: string; port: number }, options: Partial<ProbeOptions> = {}): Promise<ProbeReport> {
  const opts = defaultProbeOptions(options);
  const now = opts.now ?? (() => new Date());
  const report = new ReportBuilder({ host: target.host, port: target.port }, opts.depth, () => performance.now(), now(), VERSION);
  // One controller per target: its deadline, or the caller's signal (a stop), whichever comes first. Cheaper than
  // AbortSignal.timeout + AbortSignal.any, which matters at thousands of probes per second.
  const controller = new AbortController();
  const signal = controller.signal;
  const deadline = setTimeout(() => controller.abort(new DOMException('target deadline', 'TimeoutError')), opts.targetTimeoutMs);
  const onStop = (): void => controller.abort(opts.signal?.reason);
  if (opts.signal?.aborted) onStop();
  else opts.signal?.addEventListener('abort', onStop, { once: true });
  const log = opts.logger?.child({ target: `${target.host}:${target.port}` });
  const sockets: net.Socket[] = [];
  try {
    await probeStages(target, opts, report, signal, sockets, now, log);
  } catch (e) {
    // Our own bug: keep the report, name it.
    report.anomalies.push(`internal error: ${e instanceof Error ? e.message : String(e)}`);
    log?.error({ err: e }, 'Internal error');
  } finally {
    clearTimeout(deadline);
    opts.signal?.removeEventListener('abort', onStop);
    for (const s of sockets) s.destroy();
  }
  const built = report.build();
  log?.debug({ verdict: built.verdict.id, stage: built.verdict.stage, ms: built.durationMs }, 'Probe done');
  return built;
}

async function probeStages(
  target: { host: string; port: number },
  opts: ProbeOptions,
  report: ReportBuilder,
  signal: AbortSignal,
  sockets: net.Socket[],
  now: () => Date,
  log: Logger | undefined,
): Promise<void> {
  // Overlap loading the TLS/CredSSP code with the network round trips.
  if (report.wants('tls')) void heavy();
  // dns
  const d = report.begin('dns');
  let address: string;
  try {
    const r = await resolveHost(target.host, opts.dnsServers, opts.stageTimeoutMs, signal);
    address = r.address;
    report.target.address = address;
    d.end({ status: 'ok', facts: { address: r.address, family: r.family, literal: r.literal, ...(r.all.length > 1 ? { allAddresses: r.all } : {}) } });
  } catch (e) {
    d.end({ status: 'failed', error: deadlineOr(signal, e, () => socketErrorToStageError(e, 'dns', target.host)) });
    return;
  }
  log?.debug({ stage: 'dns', address }, 'Resolved');

  // tcp
  const t = report.begin('tcp');
  let socket: net.Socket;
  try {
    socket = await connectTcp(address, target.port, opts.stageTimeoutMs, signal);
    sockets.push(socket);
    t.end({ status: 'ok', facts: { localAddress: socket.localAddress, localPort: socket.localPort } });
  } catch (e) {
    t.end({ status: 'failed', error: deadlineOr(signal, e, () => tcpError(e, `${address}:${target.port}`)) });
    return;
  }
  if (!report.wants('x224')) {
    socket.end();
    return;
  }

  // x224
  const x = report.begin('x224');
  const connector = new X224Connector({ requestedProtocols: opts.requestedProtocols, negFlags: 0 });
  const outcome = await runX224(socket, connector, opts.stageTimeoutMs, signal);
  if (!outcome.ok) x.end({ status: 'failed', facts: { ...outcome.facts }, error: outcome.error, ...(outcome.evidence ? { evidence: [outcome.evidence] } : {}) });
  else x.end({ status: 'ok', facts: { ...outcome.facts }, evidence: [outcome.evidence] });
  log?.debug({ stage: 'x224', ok: outcome.ok }, 'X.224 answered');

  try {
    if (!outcome.ok) {
      socket.destroy();
      return;
    }
    const selected = outcome.selectedProtocol;
    if ((selected & TLS_PROTOCOLS) === 0 || outcome.legacy) {
      socket.destroy();
      const why = outcome.legacy
        ? 'the server sent no negotiation data: standard RDP security only'
        : `the server selected ${protocolNames(selected)}${selected === 0 ? ' (standard RDP security, no TLS)' : ''}`;
      if (report.wants('tls')) report.skip('tls', why);
      const f = standardRdpSecuritySelected(opts.requestedProtocols, selected, outcome.legacy);
      if (f) report.findings.push(f);
      return;
    }
    if (!report.wants('tls')) {
      socket.destroy();
      return;
    }

    // tls
    const leftover = connector.leftover();
    if (leftover.length > 0) report.anomalies.push(`${leftover.length} byte(s) arrived after the Connection Confirm, before the TLS upgrade`);
    const tl = report.begin('tls');
    const hs = await upgradeTls(socket, {
      ...(net.isIP(target.host) === 0 ? { servername: target.host } : {}),
      legacy: opts.legacyTls,
      ...(opts.caPem ? { ca: opts.caPem } : {}),
      timeoutMs: opts.stageTimeoutMs,
      signal,
      leftover,
    });
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
      const facts: Record<string, unknown> = { minVersion: opts.legacyTls ? 'TLSv1' : 'TLSv1.2' };
      if (failure.flight.kind === 'server_hello') facts['serverHelloVersion'] = failure.flight.versionName;
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
      if (failure.error.kind === 'tls_bad_signature') {
        report.findings.push({ id: 'cert-key-mismatch', severity: 'high', stage: 'tls', message: 'the server certificate does not match the private key the server signs with' });
      }
      tl.end({ status: 'failed', facts, error: failure.error, ...(failure.evidence ? { evidence: [failure.evidence] } : {}) });
      socket.destroy();
      return;
    }
    const tf = tlsFacts(await heavy(), hs, report, target.host, opts, now());
    tl.end({ status: 'ok', facts: tf.facts });
    if ((selected & (SecurityProtocol.PROTOCOL_HYBRID | SecurityProtocol.PROTOCOL_HYBRID_EX)) === 0) {
      if (report.wants('credssp')) report.skip('credssp', `the server selected ${protocolNames(selected)}: no CredSSP (NLA) on this connection`);
      if (report.wants('nla_auth')) report.skip('nla_auth', 'no CredSSP on this connection');
      if (report.wants('authz')) report.skip('authz', 'no CredSSP on this connection');
      hs.socket.destroy();
      return;
    }
    if (!report.wants('credssp')) {
      hs.socket.destroy();
      return;
    }
    await credsspStages(hs, tf.cert, selected, target, opts, report, signal, now, log);
    hs.socket.destroy();
  } finally {
    // Every path ends here with the main connection closed; then the protocols are asked one by one. A server
    // that answered with a negotiation failure is still worth asking; one that did not answer is not.
    if (opts.enumerate && (outcome.ok || outcome.error.kind === 'negotiation_failure')) {
      report.enumeration = await enumerate(address, target.port, opts, outcome, signal);
      report.findings.push(...enumerationFindings(report.enumeration));
    }
  }
}

async function credsspStages(
  hs: Extract<TlsHandshake, { ok: true }>,
  cert: CertificateFacts | undefined,
  selected: number,
  target: { host: string; port: number },
  opts: ProbeOptions,
  report: ReportBuilder,
  signal: AbortSignal,
  now: () => Date,
  log: Logger | undefined,
): Promise<void> {
  let mode: 'probe' | 'auth' | 'delegate' = 'probe';
  if (report.wants('nla_auth')) {
    if (!opts.credentials) report.skip('nla_auth', 'no credentials given');
    else if (!cert) report.skip('nla_auth', 'the server sent no certificate to bind the credentials to');
    else {
      const trust = decideTrust(cert, hs.authorized, target, opts, report);
      if (!trust.ok) {
        const b = report.begin('nla_auth');
        b.end({ status: 'failed', error: { layer: 'policy', kind: 'untrusted_certificate', message: trust.why } });
      } else {
        mode = report.wants('authz') && opts.delegate ? 'delegate' : 'auth';
        if (report.wants('authz') && !opts.delegate) report.skip('authz', 'credentials are delegated (TSCredentials) only with --delegate');
      }
    }
  }
  if (report.wants('authz') && mode === 'delegate' && (selected & SecurityProtocol.PROTOCOL_HYBRID_EX) === 0) {
    // Without HYBRID_EX there is no Early User Authorization Result to read.
    report.anomalies.push('authz: the server selected HYBRID, not HYBRID_EX: no Early User Authorization Result will come');
  }
  const h = await heavy();
  const connector = new h.CredsspConnector({
    mode,
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    subjectPublicKey: cert?.subjectPublicKey ?? new Uint8Array(0),
    hybridEx: (selected & SecurityProtocol.PROTOCOL_HYBRID_EX) !== 0,
    clientVersion: opts.credsspVersion ?? h.CLIENT_CREDSSP_VERSION,
    targetName: `TERMSRV/${target.host}`,
    ...(hs.certDer ? { channelBindings: h.tlsServerEndPointAppData(createHash(certHashName(cert)).update(hs.certDer).digest()) } : {}),
    random: { clientChallenge: randomBytes(8), sessionKey: randomBytes(16), nonce: randomBytes(32) },
    nowMs: now().getTime(),
  });
  // Each stage's window opens when the previous one ended (or when CredSSP started).
  let opened = report.elapsed();
  const record = opts.record;
  if (record) {
    // The connector's inputs other than the password, so a transcript replays byte for byte.
    const c = connector.config;
    const header = { mode: c.mode, hybridEx: c.hybridEx, clientVersion: c.clientVersion, targetName: c.targetName, nowMs: c.nowMs, subjectPublicKey: hex(c.subjectPublicKey), channelBindings: c.channelBindings ? hex(c.channelBindings) : null, random: { clientChallenge: hex(c.random.clientChallenge), sessionKey: hex(c.random.sessionKey), nonce: hex(c.random.nonce) }, user: c.credentials?.user ?? null, domain: c.credentials?.domain ?? null };
    record({ dir: 'client', stage: 'config', tMs: 0, hex: Buffer.from(JSON.stringify(header)).toString('hex') });
  }
  await h.runCredssp(
    hs.socket,
    connector,
    opts.stageTimeoutMs,
    signal,
    (o) => {
      if (o.ok && o.stage === 'credssp') report.findings.push(...credsspFindings(o.facts));
      const t = report.elapsed();
      report.set({
        stage: o.stage,
        status: o.ok ? 'ok' : 'failed',
        startMs: Math.round(opened * 10) / 10,
        durationMs: Math.round((t - opened) * 10) / 10,
        facts: o.facts,
        ...(o.error ? { error: o.error } : {}),
        ...(o.evidence ? { evidence: o.evidence } : {}),
      });
      opened = t;
      log?.debug({ stage: o.stage, ok: o.ok }, 'CredSSP stage ended');
    },
    record ? (e) => record({ ...e, tMs: Math.round((report.elapsed() - opened) * 10) / 10 }) : undefined,
  );
  if (mode === 'delegate' && (selected & SecurityProtocol.PROTOCOL_HYBRID_EX) === 0 && report.get('authz') === undefined && report.get('nla_auth')?.status === 'ok') {
    report.skip('authz', 'credentials were delegated; the server selected HYBRID, which has no Early User Authorization Result');
  }
}

/** Is the certificate trusted enough to send anything derived from the password to it? */
function decideTrust(cert: CertificateFacts, chainTrusted: boolean, target: { host: string; port: number }, opts: ProbeOptions, report: ReportBuilder): { ok: true } | { ok: false; why: string } {
  const t = opts.trust ?? {};
  const fp = `sha256:${cert.sha256}`;
  const spki = `sha256:${cert.spkiSha256}`;
  const hostPort = formatHostPort(target.host, target.port);
  if (opts.caPem && chainTrusted) return { ok: true };
  const pins = (t.pins ?? []).map((p) => p.toLowerCase().replace(/:/g, '').replace(/^sha256/, 'sha256:'));
  if (pins.length > 0) {
    if (pins.includes(fp) || pins.includes(spki)) return { ok: true };
    report.findings.push({ id: 'cert-pin-mismatch', severity: 'critical', stage: 'tls', message: `the server certificate (${fp}) matches none of the pins given`, evidence: { fingerprint: fp } });
    return { ok: false, why: `the server certificate ${fp} matches no --pin: credentials were not sent` };
  }
  if (t.knownHosts) {
    const known = t.knownHosts.lookup(hostPort);
    if (known === undefined) {
      t.knownHosts.remember(hostPort, fp);
      report.findings.push({ id: 'cert-first-use', severity: 'info', stage: 'tls', message: `first connection to ${hostPort}: its certificate ${fp} was stored as trusted (trust on first use)`, evidence: { fingerprint: fp } });
      return { ok: true };
    }
    if (known === fp) return { ok: true };
    report.findings.push({
      id: 'cert-fingerprint-changed',
      severity: 'critical',
      stage: 'tls',
      message: `the certificate of ${hostPort} CHANGED since it was stored (${known} then, ${fp} now): a re-issued certificate, or someone in the middle; credentials were not sent`,
      evidence: { stored: known, now: fp },
    });
    return { ok: false, why: `the server certificate changed since first use (${known} → ${fp}): credentials were not sent` };
  }
  if (t.insecure) {
    report.findings.push({ id: 'nla-auth-insecure', severity: 'medium', stage: 'nla_auth', message: 'credentials were checked against a server certificate that was not verified (--insecure)' });
    return { ok: true };
  }
  return {
    ok: false,
    why: opts.caPem
      ? `the server certificate is not trusted by --ca (${report.get('tls')?.facts?.['chainError'] ?? 'untrusted'}): credentials were not sent; use --pin ${fp}, --known-hosts FILE or --insecure`
      : `the server certificate is not verified: credentials were not sent; trust it with --ca FILE, --pin ${fp}, --known-hosts FILE (trust on first use) or --insecure`,
  };
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function certHashName(cert: CertificateFacts | undefined): string {
  // RFC 5929 tls-server-end-point: the certificate's signature hash, with MD5 and SHA-1 upgraded to SHA-256.
  const h = cert?.signatureHash;
  return h === 'sha384' || h === 'sha512' ? h : 'sha256';
}

function tlsFacts(h: Heavy, hs: Extract<TlsHandshake, { ok: true }>, report: ReportBuilder, host: string, opts: ProbeOptions, now: Date): { facts: Record<string, unknown>; cert?: CertificateFacts } {
  const facts: Record<string, unknown> = {
    version: hs.protocol,
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
  if (!hs.certDer) {
    report.anomalies.push('the server sent no certificate');
    return { facts };
  }
  let cert: CertificateFacts | undefined;
  try {
    cert = h.decodeCertificate(hs.certDer);
    facts['certificate'] = h.certificateFactsForReport(cert);
    const findings: Finding[] = h.certificateFindings(cert, {
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
    const s = await connectTcp(address, port, opts.stageTimeoutMs, signal);
    sockets.push(s);
    const c = new X224Connector({ requestedProtocols: opts.requestedProtocols, negFlags: 0 });
    const o = await runX224(s, c, opts.stageTimeoutMs, signal);
    if (!o.ok) return { ok: false, reason: o.error.kind };
    const hs = await upgradeTls(s, { legacy: true, timeoutMs: opts.stageTimeoutMs, signal, leftover: c.leftover() });
    if (!hs.ok) {
      const f = classifyTlsFailure({ ...(hs.error.code ? { code: hs.error.code } : {}), message: hs.error.message, timedOut: hs.timedOut, closed: hs.closed, serverBytes: hs.serverBytes, timeoutMs: opts.stageTimeoutMs, legacyAllowed: true });
      return { ok: false, reason: f.error.kind, ...(f.error.codeName ? { code: f.error.codeName } : {}) };
    }
    hs.socket.destroy();
    return { ok: true, version: hs.protocol, cipher: hs.cipher.standardName ?? hs.cipher.name };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
}

async function enumerate(address: string, port: number, opts: ProbeOptions, first: X224Outcome, signal: AbortSignal) {
  const planner = new EnumerationPlanner();
  planner.record(opts.requestedProtocols, first);
  for (let i = 0; i < 8 && !signal.aborted; i++) {
    const req = planner.next();
    if (req === undefined) break;
    let outcome: X224Outcome;
    let s: net.Socket | undefined;
    try {
      s = await connectTcp(address, port, opts.stageTimeoutMs, signal);
      const c = new X224Connector({ requestedProtocols: req, negFlags: 0 });
      outcome = await runX224(s, c, opts.stageTimeoutMs, signal);
    } catch (e) {
      outcome = { ok: false, facts: { requestedProtocols: req, requested: protocolNames(req) }, error: tcpError(e, `${address}:${port}`) };
    } finally {
      s?.destroy();
    }
    planner.record(req, outcome);
  }
  return planner.result();
}

function tcpError(e: unknown, what: string): StageError {
  if (e instanceof ConnectTimeout) return { layer: 'transport', kind: 'connect_timeout', message: `no answer to the TCP handshake from ${what} (${e.message})` };
  return socketErrorToStageError(e, 'tcp', what);
}

function deadlineOr(signal: AbortSignal, e: unknown, otherwise: () => StageError): StageError {
  if (signal.aborted && (e === signal.reason || (e as { name?: string })?.name === 'TimeoutError' || (e as { name?: string })?.name === 'AbortError')) {
    return { layer: 'transport', kind: 'target_deadline', message: 'the probe deadline for this target passed' };
  }
  return otherwise();
}
