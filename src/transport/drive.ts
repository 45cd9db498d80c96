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
import { localStageError, socketErrorToStageError } from './errors.js';
import { decideTrust, trustAdvice, type TrustDecision } from '../probe/trust.js';
import { tlsVersionLabel } from '../probe/tls-version.js';
import { connectTcp, ConnectTimeout } from './tcp.js';
import { runX224 } from './exchange.js';
import { enumerateEncryption } from './enumerate-encryption.js';
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
  /** Standard RDP security: the encryption methods offered in CS_SECURITY (default 40, 56, 128-bit and FIPS). */
  encryptionMethods?: number;
  /** mstsc /admin: ask for the console session. */
  console?: boolean;
  /** RDP_NEG_REQ flags of the main connection (0x01 RESTRICTED_ADMIN_MODE_REQUIRED, 0x02 REDIRECTED_AUTHENTICATION_MODE_REQUIRED). */
  negFlags?: number;
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

/** ENCRYPTION_METHOD_40BIT | 128BIT | 56BIT | FIPS: let the server choose, as mstsc does. */
const DEFAULT_ENCRYPTION_METHODS = 0x1b;

const TLS_PROTOCOLS = SecurityProtocol.PROTOCOL_SSL | SecurityProtocol.PROTOCOL_HYBRID | SecurityProtocol.PROTOCOL_HYBRID_EX;

export async function runProbe(target: { host: string; port: number }, options: Partial<ProbeOptions> = {}): Promise<ProbeReport> {
  const opts = defaultProbeOptions(options);
  const now = opts.now ?? (() => new Date());
  const report = new ReportBuilder({ host: target.host, port: target.port }, opts.depth, () => performance.now(), now(), VERSION);
  // One controller per target: its deadline, or the caller's signal (a stop), whichever comes first. Cheaper than
  // AbortSignal.timeout + AbortSignal.any, which matters at thousands of probes per second.
  const controller = new AbortController();
  const signal = controller.signal;
  const deadline = setTimeout(() => controller.abort(new DOMException(`the ${opts.targetTimeoutMs} ms target deadline`, 'TimeoutError')), opts.targetTimeoutMs);
  const onStop = (): void => controller.abort(opts.signal?.reason);
  if (opts.signal?.aborted) onStop();
  else opts.signal?.addEventListener('abort', onStop, { once: true });
  const log = opts.logger?.child({ target: `${target.host}:${target.port}` });
  const sockets: net.Socket[] = [];
  try {
    await probeStages(target, opts, report, signal, sockets, now, log);
  } catch (e) {
    // Not the server's doing: this machine (an errno such as EMFILE, or a --known-hosts path that cannot be
    // written), or our own bug. Either way the report must not read ok.
    const local = localStageError(e, 'the probe');
    report.abort(local ?? { layer: 'internal', kind: 'internal_error', message: e instanceof Error ? e.message : String(e) });
    if (local) log?.warn({ code: local.localCode }, 'Local failure');
    else log?.error({ err: e }, 'Internal error');
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
    d.end({ status: 'failed', error: deadlineOr(signal, e, 'dns', () => socketErrorToStageError(e, 'dns', target.host)) });
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
    if ((e as { code?: string } | null)?.code === 'ECONNRESET' && !signal.aborted) {
      // A reset can only follow an established connection (a refused SYN is ECONNREFUSED): the handshake
      // succeeded and the server reset it before Node reported the connect. TCP is fine; X.224 got no answer.
      t.end({ status: 'ok', facts: { resetBeforeConnectEvent: true } });
      if (report.wants('x224')) {
        report.begin('x224').end({
          status: 'failed',
          facts: { requestedProtocols: opts.requestedProtocols, requested: protocolNames(opts.requestedProtocols) },
          error: { layer: 'peer', kind: 'reset_after_accept', codeName: 'ECONNRESET', message: `${formatHostPort(address, target.port)} accepted the TCP connection and reset it at once, before the X.224 Connection Request could be answered` },
        });
      }
      return;
    }
    t.end({ status: 'failed', error: deadlineOr(signal, e, 'tcp', () => tcpError(e, `${address}:${target.port}`)) });
    return;
  }
  if (!report.wants('x224')) {
    socket.end();
    return;
  }

  // x224
  const x = report.begin('x224');
  const connector = new X224Connector({ requestedProtocols: opts.requestedProtocols, negFlags: opts.negFlags ?? 0 });
  const outcome = cutX224(await runX224(socket, connector, opts.stageTimeoutMs, signal), signal, 'x224');
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
      const why = outcome.legacy
        ? 'the server sent no negotiation data: standard RDP security only'
        : `the server selected ${protocolNames(selected)}${selected === 0 ? ' (standard RDP security, no TLS)' : ''}`;
      if (report.wants('tls')) report.skip('tls', why);
      const f = standardRdpSecuritySelected(opts.requestedProtocols, selected, outcome.legacy);
      if (f) report.findings.push(f);
      if (report.wants('mcs')) {
        for (const s of ['credssp', 'nla_auth', 'authz'] as const) report.skip(s, 'standard RDP security: no CredSSP (NLA)');
        // Without TLS nothing can vouch for the server, so a password goes only with --delegate and --insecure.
        const password = opts.delegate && opts.trust?.insecure === true ? opts.credentials?.password : undefined;
        await sessionStages(socket, { selected: 0, legacy: outcome.legacy, password, leftover: connector.leftover() }, opts, report, signal, log);
      }
      socket.destroy();
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
    if (!hs.ok && signal.aborted) {
      tl.end({ status: 'failed', error: cutError(signal, 'tls'), ...(hs.serverBytes.length > 0 ? { evidence: [{ direction: 'server', hex: Buffer.from(hs.serverBytes.subarray(0, 512)).toString('hex'), length: hs.serverBytes.length, pdu: 'TLS bytes before the deadline' }] } : {}) });
      socket.destroy();
      return;
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
      if (failure.error.kind === 'tls_bad_signature') {
        report.findings.push({ id: 'cert-key-mismatch', severity: 'high', stage: 'tls', message: 'the server certificate does not match the private key the server signs with' });
      }
      tl.end({ status: 'failed', facts, error: failure.error, ...(failure.evidence ? { evidence: [failure.evidence] } : {}) });
      socket.destroy();
      return;
    }
    const tf = tlsFacts(await heavy(), hs, report, target.host, opts, now());
    // Pins and known-hosts hold at every depth that runs TLS; a contradiction ends the probe here.
    const trust = tf.cert ? checkTrust(tf.cert, hs.authorized, target, opts, report) : undefined;
    if (trust?.mismatch) {
      tl.end({ status: 'failed', facts: tf.facts, error: { layer: 'policy', kind: 'untrusted_certificate', message: `${trust.why ?? 'the certificate is not the one expected'}: nothing more was sent` } });
      hs.socket.destroy();
      return;
    }
    tl.end({ status: 'ok', facts: tf.facts });
    if ((selected & (SecurityProtocol.PROTOCOL_HYBRID | SecurityProtocol.PROTOCOL_HYBRID_EX)) === 0) {
      if (report.wants('credssp')) report.skip('credssp', `the server selected ${protocolNames(selected)}: no CredSSP (NLA) on this connection`);
      if (report.wants('nla_auth')) report.skip('nla_auth', 'no CredSSP on this connection');
      if (report.wants('authz')) report.skip('authz', 'no CredSSP on this connection');
      if (report.wants('mcs')) {
        // TLS without NLA: the password would go in the Client Info, so only with --delegate and a trusted certificate.
        const password = opts.delegate && trust?.trusted === true ? opts.credentials?.password : undefined;
        if (opts.delegate && opts.credentials && password === undefined) report.anomalies.push('the password was not put in the Client Info: the server certificate is not trusted');
        await sessionStages(hs.socket, { selected, legacy: false, password }, opts, report, signal, log);
      }
      hs.socket.destroy();
      return;
    }
    if (!report.wants('credssp')) {
      hs.socket.destroy();
      return;
    }
    await credsspStages(hs, tf.cert, trust, selected, target, opts, report, signal, now, log);
    if (report.wants('mcs') && (['credssp', 'nla_auth', 'authz'] as const).every((s) => report.get(s)?.status !== 'failed')) {
      const delegated = report.get('nla_auth')?.facts?.['credentialsDelegated'] === true && report.get('nla_auth')?.status === 'ok';
      if (delegated) await sessionStages(hs.socket, { selected, legacy: false, password: undefined }, opts, report, signal, log);
      else {
        const why = opts.credentials
          ? 'NLA: the server starts a session only once the credentials are delegated (--delegate)'
          : 'NLA: the server starts a session only for delegated credentials (--user, a password and --delegate)';
        for (const s of ['mcs', 'security', 'licensing', 'activation'] as const) report.skip(s, why);
      }
    }
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
  trust: TrustDecision | undefined,
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
      if (!trust?.trusted) {
        const b = report.begin('nla_auth');
        b.end({ status: 'failed', error: { layer: 'policy', kind: 'untrusted_certificate', message: `${trust?.why ?? 'the server certificate is not verified'}: credentials were not sent; ${trustAdvice(`sha256:${cert.sha256}`)}` } });
      } else {
        if (trust.how === 'insecure') report.findings.push({ id: 'nla-auth-insecure', severity: 'medium', stage: 'nla_auth', message: 'credentials were checked against a server certificate that was not verified (--insecure)' });
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
      // A connector "timeout" after our own deadline fired is the deadline, not the server's slowness.
      if (!o.ok && o.error?.kind === 'timeout' && signal.aborted) o = { ...o, error: cutError(signal, o.stage) };
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

/** mcs, security, licensing and activation over the socket the earlier stages left (TLS, or raw TCP). */
async function sessionStages(
  socket: import('node:stream').Duplex,
  c: { selected: number; legacy: boolean; password: string | undefined; leftover?: Uint8Array },
  opts: ProbeOptions,
  report: ReportBuilder,
  signal: AbortSignal,
  log: Logger | undefined,
): Promise<void> {
  const { SessionConnector } = await import('../connector/session-connector.js');
  const { runSession } = await import('./session-exchange.js');
  const connector = new SessionConnector({
    selectedProtocol: c.selected,
    requestedProtocols: opts.requestedProtocols,
    legacy: c.legacy,
    encryptionMethods: opts.encryptionMethods ?? DEFAULT_ENCRYPTION_METHODS,
    clientName: 'rdp-probe',
    ...(opts.credentials ? { user: opts.credentials.user, domain: opts.credentials.domain } : {}),
    ...(c.password !== undefined ? { password: c.password } : {}),
    ...(opts.console ? { console: true } : {}),
    clientRandom: randomBytes(32),
    licenseClientRandom: randomBytes(32),
    licensePreMasterSecret: randomBytes(48),
  });
  if ((c.selected & TLS_PROTOCOLS) !== 0) report.skip('security', 'enhanced security (TLS): no standard RDP security exchange');
  let opened = report.elapsed();
  await runSession(
    socket,
    connector,
    opts.stageTimeoutMs,
    signal,
    (o) => {
      if (!o.ok && o.error?.kind === 'timeout' && signal.aborted) o = { ...o, error: cutError(signal, o.stage) };
      const t = report.elapsed();
      if (o.skipped !== undefined) report.skip(o.stage, o.skipped);
      else
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
      log?.debug({ stage: o.stage, ok: o.ok }, 'Session stage ended');
    },
    (f) => report.findings.push(f),
    c.leftover,
  );
}

/**
 * Runs the pure trust decision for this connection: looks the target up in --known-hosts, stores a first-use
 * entry, and files the decision's findings. A store that cannot be written throws (a local failure).
 */
function checkTrust(cert: CertificateFacts, chainTrusted: boolean, target: { host: string; port: number }, opts: ProbeOptions, report: ReportBuilder): TrustDecision {
  const t = opts.trust ?? {};
  const hostPort = formatHostPort(target.host, target.port);
  const chainError = report.get('tls')?.facts?.['chainError'];
  const d = decideTrust({
    cert,
    host: target.host,
    hostPort,
    caGiven: opts.caPem !== undefined,
    chainTrusted: opts.caPem !== undefined && chainTrusted,
    ...(typeof chainError === 'string' ? { chainError } : {}),
    ...(t.pins ? { pins: t.pins } : {}),
    known: t.knownHosts ? t.knownHosts.lookup(hostPort) : null,
    ...(t.insecure ? { insecure: true } : {}),
  });
  if (d.remember && t.knownHosts) t.knownHosts.remember(hostPort, d.remember);
  report.findings.push(...d.findings);
  return d;
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
    return { ok: true, version: tlsVersionLabel(hs.protocol), cipher: hs.cipher.standardName ?? hs.cipher.name };
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
      // This machine running out of something is not the server's answer: stop, and let runProbe say so.
      if (localStageError(e, 'enumeration') && !signal.aborted) throw e;
      outcome = { ok: false, facts: { requestedProtocols: req, requested: protocolNames(req) }, error: tcpError(e, `${address}:${port}`) };
    } finally {
      s?.destroy();
    }
    if (signal.aborted) {
      planner.recordCut(req, `cut: ${cutError(signal, 'enumeration').message}`);
      break;
    }
    planner.record(req, outcome);
  }
  const result = planner.result();
  if (result.standardRdpSecurity === 'allowed' && !signal.aborted) {
    const e = await enumerateEncryption(address, port, { stageTimeoutMs: opts.stageTimeoutMs, signal, legacy: first.ok && first.legacy });
    result.encryptionMethods = e.methods;
    if (e.level) result.encryptionLevel = e.level;
    result.connections += e.connections;
  }
  return result;
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
