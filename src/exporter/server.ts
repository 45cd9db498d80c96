/**
 * `rdp-probe serve`: a Prometheus exporter in blackbox_exporter's multi-target style. Prometheus names the target
 * and the module in the URL (/probe?target=host:port&module=NAME), the exporter probes while the scrape waits and
 * answers with that one probe's metrics. A failed probe is a 200 with probe_success 0: a non-200 answer is for
 * scrapes this exporter cannot serve (unknown module, bad target, too many scrapes queued).
 * /metrics is the exporter itself (prom-client).
 */
import http from 'node:http';
import pLimit from 'p-limit';
import { pino, type Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { parseTarget, UsageError } from '../model/target-syntax.js';
import type { ProbeReport } from '../probe/types.js';
import { runProbe, type ProbeOptions } from '../transport/drive.js';
import { evaluate, probeOptionsFor } from '../monitor/evaluate.js';
import type { PolicyEntry } from '../monitor/policy.js';
import { ConfigError, describeModule, policyKey, readModulePassword, type ExporterConfig, type ExporterModule, type ModuleCredentials } from './config.js';
import { formatProbeMetrics, SUCCESS_VERDICTS, type PolicyOutcome } from './metrics.js';

export const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

export interface ExporterOptions {
  config: ExporterConfig;
  /** Where passwordEnv names are looked up. */
  env?: NodeJS.ProcessEnv;
  /** Probes run at once (default 16). */
  maxConcurrent?: number;
  /** Scrapes that may wait for a slot (default 64); beyond it a scrape gets HTTP 503 at once. */
  maxQueue?: number;
  /** Taken off X-Prometheus-Scrape-Timeout-Seconds so the answer arrives before Prometheus gives up (default 0.5 s, as blackbox_exporter). */
  timeoutOffsetSeconds?: number;
  /** The registry /metrics serves (default: a new one, with the process metrics). */
  registry?: Registry;
  /** The exporter's own log (requests refused, errors); probes log here only at debug. */
  logger?: Logger;
  /** For tests: stands in for runProbe. */
  probe?: (target: { host: string; port: number }, options: Partial<ProbeOptions>) => Promise<ProbeReport>;
}

export interface Exporter {
  readonly server: http.Server;
  readonly registry: Registry;
  /** Binds; resolves with the address actually bound (port 0 = any free port). */
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  close(): Promise<void>;
}

/** One scrape's deadline: the module's, lowered to the scrape timeout minus the offset. */
export function probeTimeoutMs(module: ExporterModule, header: string | undefined, offsetSeconds = 0.5): number {
  const scrape = header === undefined ? NaN : Number(header);
  if (!Number.isFinite(scrape) || scrape <= 0) return module.timeoutMs;
  // Less than the offset left: use the whole scrape timeout rather than nothing (blackbox_exporter does the same).
  const room = scrape > offsetSeconds ? scrape - offsetSeconds : scrape;
  return Math.max(1, Math.min(module.timeoutMs, Math.floor(room * 1000)));
}

export function createExporter(o: ExporterOptions): Exporter {
  const env = o.env ?? {};
  const maxConcurrent = o.maxConcurrent ?? 16;
  const maxQueue = o.maxQueue ?? 64;
  const probe = o.probe ?? runProbe;
  const limit = pLimit(maxConcurrent);
  const registry = o.registry ?? new Registry();
  if (!o.registry) collectDefaultMetrics({ register: registry });
  const metric = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  const probesTotal = metric('rdp_probe_exporter_probes_total', () => new Counter({ name: 'rdp_probe_exporter_probes_total', help: 'Probes by module and result (success, failure, rejected: no slot in the queue)', labelNames: ['module', 'result'] as const, registers: [registry] }));
  const inFlight = metric('rdp_probe_exporter_concurrent_probes', () => new Gauge({ name: 'rdp_probe_exporter_concurrent_probes', help: 'Probes running now', registers: [registry] }));
  const queued = metric('rdp_probe_exporter_queued_probes', () => new Gauge({ name: 'rdp_probe_exporter_queued_probes', help: 'Scrapes waiting for a probe slot', registers: [registry] }));
  const durations = metric('rdp_probe_exporter_probe_duration_seconds', () => new Histogram({ name: 'rdp_probe_exporter_probe_duration_seconds', help: 'Probe durations by module', labelNames: ['module'] as const, buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry] }));
  const log = o.logger;

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log?.error({ err: e }, 'request failed');
      if (!res.headersSent) send(res, 500, `internal error: ${e instanceof Error ? e.message : String(e)}\n`);
      else res.destroy();
    });
  });
  // A scrape is short; an idle keep-alive connection from Prometheus is fine, a slow-loris header is not.
  server.headersTimeout = 10_000;
  server.requestTimeout = 0;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://exporter.invalid');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'only GET\n');
    }
    if (url.pathname === '/metrics') {
      const body = await registry.metrics();
      return send(res, 200, body, registry.contentType);
    }
    if (url.pathname === '/-/healthy') return send(res, 200, 'Healthy\n');
    if (url.pathname === '/') return send(res, 200, indexPage(o.config), 'text/html; charset=utf-8');
    if (url.pathname !== '/probe') return send(res, 404, 'not found: use /probe?target=HOST:PORT&module=NAME or /metrics\n');
    return probeRequest(req, res, url);
  }

  async function probeRequest(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const moduleName = url.searchParams.get('module') ?? o.config.defaultModule;
    const module = o.config.modules.get(moduleName);
    if (!module) return send(res, 400, `Unknown module ${JSON.stringify(moduleName)} (known: ${[...o.config.modules.keys()].join(', ')})\n`);
    const targetText = url.searchParams.get('target');
    if (targetText === null || targetText === '') return send(res, 400, 'Target parameter is missing\n');
    let target: { host: string; port: number };
    try {
      target = parseTarget(targetText);
    } catch (e) {
      if (e instanceof UsageError) return send(res, 400, `Bad target: ${e.message}\n`);
      throw e;
    }
    const debug = url.searchParams.get('debug') === 'true';
    if (limit.activeCount + limit.pendingCount >= maxConcurrent + maxQueue) {
      probesTotal.inc({ module: module.name, result: 'rejected' });
      log?.warn({ module: module.name, target: targetText }, 'probe rejected: queue full');
      res.setHeader('Retry-After', '1');
      return send(res, 503, `too many probes: ${limit.activeCount} running and ${limit.pendingCount} waiting\n`);
    }
    const header = req.headers['x-prometheus-scrape-timeout-seconds'];
    const timeoutMs = probeTimeoutMs(module, Array.isArray(header) ? header[0] : header, o.timeoutOffsetSeconds);
    // A scrape Prometheus has given up on (its connection closed) stops its probe.
    const gone = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    // A policy module: the target's entry decides what to probe for and judges the report.
    let entry: PolicyEntry | undefined;
    if (module.policy) {
      entry = module.policy.entries.get(policyKey(target.host, target.port));
      if (!entry) return send(res, 200, formatNotInPolicy(), PROMETHEUS_TEXT);
    }
    const creds: ModuleCredentials | undefined = entry?.expect.auth ? { ...splitUser(entry.expect.auth.user), ...(entry.expect.auth.passwordEnv !== undefined ? { passwordEnv: entry.expect.auth.passwordEnv } : {}), ...(entry.expect.auth.passwordFile !== undefined ? { passwordFile: entry.expect.auth.passwordFile } : {}) } : module.credentials;
    let password: string | undefined;
    if (creds) {
      try {
        password = readModulePassword(creds, env);
      } catch (e) {
        if (e instanceof ConfigError) return send(res, 500, `module ${module.name}: ${e.message}\n`);
        throw e;
      }
    }
    const lines: string[] = [];
    const probeLog = debug ? pino({ level: 'debug', base: undefined, redact: { paths: ['password', '*.password'], remove: true } }, collector(lines)) : undefined;
    const fromPolicy = entry ? probeOptionsFor(entry, creds && password !== undefined ? { user: creds.user, domain: creds.domain, password } : undefined) : undefined;
    const options: Partial<ProbeOptions> = fromPolicy ? { ...fromPolicy, targetTimeoutMs: Math.min(fromPolicy.targetTimeoutMs ?? timeoutMs, timeoutMs), stageTimeoutMs: Math.min(fromPolicy.stageTimeoutMs ?? timeoutMs, timeoutMs), signal: gone.signal } : {
      depth: module.depth,
      targetTimeoutMs: timeoutMs,
      stageTimeoutMs: Math.min(module.stageTimeoutMs, timeoutMs),
      enumerate: module.enumerate && module.depth !== 'tcp',
      legacyTls: module.legacyTls,
      warnDays: module.warnDays,
      delegate: module.delegate,
      signal: gone.signal,
      ...(probeLog ? { logger: probeLog } : {}),
      ...(module.credentials && password !== undefined ? { credentials: { user: module.credentials.user, domain: module.credentials.domain, password } } : {}),
      ...(module.trust ? { trust: { ...(module.trust.pins ? { pins: module.trust.pins } : {}), ...(module.trust.insecure !== undefined ? { insecure: module.trust.insecure } : {}) } } : {}),
      ...(module.trust?.caPem ? { caPem: module.trust.caPem } : {}),
    };
    if (probeLog) options.logger = probeLog;
    queued.inc();
    const report = await limit(async () => {
      queued.dec();
      inFlight.inc();
      try {
        probeLog?.info({ target: targetText, module: module.name, timeoutMs }, 'Beginning probe');
        return await probe(target, options);
      } finally {
        inFlight.dec();
      }
    });
    const judged = entry ? evaluate(entry, report, new Date()) : undefined;
    const policy: PolicyOutcome | undefined = judged ? { status: judged.status, checks: judged.checks } : undefined;
    const ok = policy ? policy.status <= 1 : SUCCESS_VERDICTS.has(report.verdict.id);
    probesTotal.inc({ module: module.name, result: ok ? 'success' : 'failure' });
    durations.observe({ module: module.name }, report.durationMs / 1000);
    const metrics = formatProbeMetrics(report, policy);
    if (!debug) return send(res, 200, metrics, PROMETHEUS_TEXT);
    probeLog?.info({ verdict: report.verdict.id, stage: report.verdict.stage, durationMs: report.durationMs }, ok ? 'Probe succeeded' : 'Probe failed');
    const body = [
      'Logs for the probe:',
      ...lines.map((l) => l.trimEnd()),
      '',
      '',
      'Metrics that would have been returned:',
      metrics.trimEnd(),
      '',
      '',
      ...(judged ? ['Policy checks:', ...judged.checks.map((c) => `${['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'][c.status]} ${c.id}${c.evaluated ? '' : ' (not evaluated)'}: ${c.message.replace(/\n/g, '\\n')}`), '', ''] : []),
      'Module configuration:',
      JSON.stringify(describeModule(module), null, 2),
      '',
      '',
      'Report:',
      JSON.stringify(report, null, 2),
      '',
    ].join('\n');
    return send(res, 200, body, 'text/plain; charset=utf-8');
  }

  return {
    server,
    registry,
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const a = server.address();
          resolve(typeof a === 'object' && a ? { host: a.address, port: a.port } : { host, port });
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** A target the module's policy has no entry for: our configuration, not the host: UNKNOWN, not probed. */
function formatNotInPolicy(): string {
  return '# HELP probe_success Whether the probe succeeded\n# TYPE probe_success gauge\nprobe_success 0\n# HELP probe_rdp_policy_status Nagios status of the host against its policy entry (3: the target is not in the policy)\n# TYPE probe_rdp_policy_status gauge\nprobe_rdp_policy_status 3\n';
}

/** As the CLI's --user: DOMAIN\\user fills the domain; user@domain stays a UPN. */
function splitUser(user: string): { user: string; domain: string } {
  const bs = user.indexOf('\\');
  if (bs > 0) return { domain: user.slice(0, bs), user: user.slice(bs + 1) };
  return { user, domain: '' };
}

function send(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(res.req?.method === 'HEAD' ? undefined : body);
}

/** A pino destination that keeps each line (debug=true answers with them). */
function collector(lines: string[]): { write(line: string): void } {
  return { write: (line: string) => void lines.push(line) };
}

function indexPage(config: ExporterConfig): string {
  const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const mods = [...config.modules.values()].map((m) => `<li><code>${esc(m.name)}</code>: depth ${esc(m.depth)}, timeout ${m.timeoutMs} ms</li>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>rdp-probe exporter</title></head><body><h1>rdp-probe exporter</h1><p><a href="/metrics">/metrics</a> · /probe?target=HOST:PORT&amp;module=NAME[&amp;debug=true]</p><ul>${mods}</ul></body></html>\n`;
}
