/**
 * The exporter over real HTTP on loopback, probing the lab NLA peer, a closed port and a silent listener:
 * blackbox-style status codes, the metric families, the scrape-timeout header, debug output, /metrics, the queue.
 */
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { startNlaPeer, type NlaPeer } from '../../src/lab/rdp-nla-peer.js';
import { builtinConfig, parseConfig } from '../../src/exporter/config.js';
import { createExporter, probeTimeoutMs, type Exporter } from '../../src/exporter/server.js';
import { findBinary } from '../servers/env.js';
import type { ProbeReport } from '../../src/probe/types.js';
import { closedPort } from '../helpers/ports.js';

const SECRET = 'Exporter-Secret-9f3e';

async function get(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; body: string; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(20_000) });
  const body = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', body, ms: performance.now() - t0 };
}

/** Parses the text format strictly enough to catch a malformed line: name{labels} value. */
function samples(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`malformed sample line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;
    let lm: RegExpExecArray | null;
    let consumed = 0;
    while ((lm = re.exec(body))) {
      labels[lm[1]!] = lm[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      consumed = re.lastIndex;
    }
    if (consumed !== body.length) throw new Error(`malformed labels: ${line}`);
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

const value = (s: ReturnType<typeof samples>, name: string, labels: Record<string, string> = {}): number | undefined =>
  s.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value;

describe('exporter over HTTP', () => {
  let peer: NlaPeer;
  let exporter: Exporter;
  let base: string;
  let closed: number;
  let silent: net.Server;
  let silentPort: number;
  const held: net.Socket[] = [];

  beforeAll(async () => {
    peer = await startNlaPeer({ credsspVersion: 6, users: [{ user: 'probe', domain: 'LAB', password: SECRET }], protocol: 'hybrid_ex', earlyUserAuthResult: 0 });
    closed = await closedPort();
    silent = net.createServer((s) => {
      held.push(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    silentPort = (silent.address() as net.AddressInfo).port;
    const config = parseConfig(
      [
        'modules:',
        '  rdp:',
        '    depth: credssp',
        '    timeout: 8s',
        '  rdp_auth:',
        '    depth: auth',
        '    enumerate: false',
        '    credentials: { user: "LAB\\\\probe", passwordEnv: LAB_PW }',
        `    trust: { pins: ["${peer.fingerprint}"] }`,
        '  slow:',
        '    depth: x224',
        '    timeout: 20s',
        '    stageTimeout: 20s',
        '    enumerate: false',
      ].join('\n'),
      { env: { LAB_PW: SECRET } },
    );
    exporter = createExporter({ config, env: { LAB_PW: SECRET }, maxConcurrent: 4, maxQueue: 4 });
    const a = await exporter.listen('127.0.0.1', 0);
    base = `http://127.0.0.1:${a.port}`;
  });
  afterAll(async () => {
    await exporter?.close();
    for (const s of held) s.destroy();
    silent?.close();
    await peer?.close();
  });

  it('a live NLA host: 200, probe_success 1 and the probe_rdp_* families', async () => {
    const r = await get(base, `/probe?target=127.0.0.1:${peer.port}&module=rdp`);
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
    const s = samples(r.body);
    expect(value(s, 'probe_success')).toBe(1);
    expect(value(s, 'probe_duration_seconds')).toBeGreaterThan(0);
    expect(value(s, 'probe_tls_version_info', { version: 'TLS 1.3' })).toBe(1);
    expect(value(s, 'probe_rdp_selected_protocol', { protocol: 'HYBRID_EX' })).toBe(1);
    expect(value(s, 'probe_rdp_nla', { state: 'required' })).toBe(1);
    expect(value(s, 'probe_rdp_nla', { state: 'offered' })).toBe(0);
    expect(value(s, 'probe_rdp_credssp_version')).toBe(6);
    expect(value(s, 'probe_rdp_verdict', { verdict: 'ok' })).toBe(1);
    expect(value(s, 'probe_rdp_stage_status', { stage: 'tls', status: 'ok' })).toBe(1);
    expect(value(s, 'probe_rdp_stage_status', { stage: 'nla_auth', status: 'skipped' })).toBe(1);
    expect(value(s, 'probe_rdp_stage_duration_seconds', { stage: 'tls' })).toBeGreaterThan(0);
    expect(s.some((x) => x.name === 'probe_rdp_failed_stage')).toBe(false);
    // The lab certificate is valid for a year from now.
    const expiry = value(s, 'probe_ssl_earliest_cert_expiry')!;
    expect(expiry * 1000 - Date.now()).toBeGreaterThan(300 * 86400_000);
    expect(value(s, 'probe_rdp_finding', { finding: 'cert-self-signed' })).toBe(1);
    // Not at depth session: no ERRINFO series.
    expect(s.some((x) => x.name === 'probe_rdp_last_errinfo')).toBe(false);
  });

  it('a closed port: still HTTP 200, probe_success 0, failed stage tcp, verdict port_closed', async () => {
    const r = await get(base, `/probe?target=127.0.0.1:${closed}&module=rdp`);
    expect(r.status).toBe(200);
    const s = samples(r.body);
    expect(value(s, 'probe_success')).toBe(0);
    expect(value(s, 'probe_rdp_failed_stage', { stage: 'tcp' })).toBe(1);
    expect(value(s, 'probe_rdp_verdict', { verdict: 'port_closed' })).toBe(1);
    expect(value(s, 'probe_rdp_stage_status', { stage: 'x224', status: 'not_reached' })).toBe(1);
    expect(s.some((x) => x.name === 'probe_tls_version_info' || x.name === 'probe_ssl_earliest_cert_expiry')).toBe(false);
  });

  it('an unknown module is 400; a missing or bad target is 400; other paths 404', async () => {
    const unknown = await get(base, `/probe?target=127.0.0.1:${peer.port}&module=nope`);
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatch(/Unknown module "nope"/);
    expect((await get(base, '/probe?module=rdp')).status).toBe(400);
    const bad = await get(base, '/probe?target=a..b:3389&module=rdp');
    expect(bad.status).toBe(400);
    expect((await get(base, '/nothing')).status).toBe(404);
  });

  it('credentials from the environment reach the server, and appear in no answer (debug included)', async () => {
    const r = await get(base, `/probe?target=127.0.0.1:${peer.port}&module=rdp_auth&debug=true`);
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/^Logs for the probe:/);
    expect(r.body).toMatch(/Metrics that would have been returned:\n# HELP probe_success/);
    expect(r.body).toMatch(/Module configuration:[\s\S]*"passwordEnv": "LAB_PW"/);
    expect(r.body).toMatch(/"stage": "nla_auth",[\s\S]*?"status": "ok"/);
    expect(r.body).toMatch(/probe_success 1/);
    expect(r.body).not.toContain(SECRET);
    expect(r.body).not.toContain(Buffer.from(SECRET, 'utf16le').toString('hex'));
    expect(r.body).not.toContain(Buffer.from(SECRET).toString('base64'));
    // The peer really verified the NTLM response made from that password.
    expect(peer.connections.some((c) => c.credssp?.authenticate?.user === 'probe' && c.credssp.authenticate.ntProofOk)).toBe(true);
  });

  it('X-Prometheus-Scrape-Timeout-Seconds cuts a stalled probe at the scrape timeout minus 0.5 s', async () => {
    const r = await get(base, `/probe?target=127.0.0.1:${silentPort}&module=slow`, { 'X-Prometheus-Scrape-Timeout-Seconds': '2' });
    expect(r.status).toBe(200);
    const s = samples(r.body);
    expect(value(s, 'probe_success')).toBe(0);
    const took = value(s, 'probe_duration_seconds')!;
    expect(took).toBeGreaterThan(1.3);
    expect(took).toBeLessThan(1.9);
    expect(r.ms).toBeLessThan(2000);
    expect(value(s, 'probe_rdp_failed_stage', { stage: 'x224' })).toBe(1);
  });

  it('/metrics: process metrics and the probes counted by module and result', async () => {
    const r = await get(base, '/metrics');
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(r.body).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(r.body).toMatch(/^rdp_probe_exporter_probes_total\{module="rdp",result="success"\} [1-9]/m);
    expect(r.body).toMatch(/^rdp_probe_exporter_probes_total\{module="rdp",result="failure"\} [1-9]/m);
    expect(r.body).toMatch(/^rdp_probe_exporter_concurrent_probes 0$/m);
  });

  it.skipIf(!findBinary('promtool'))('promtool check metrics: /probe is clean; /metrics has only prom-client\'s own nodejs_* lint', async () => {
    const lint = async (path: string) => {
      const body = (await get(base, path)).body;
      const r = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8', timeout: 10_000 });
      return { status: r.status, lines: `${r.stdout}${r.stderr}`.split('\n').filter(Boolean) };
    };
    const probe = await lint(`/probe?target=127.0.0.1:${peer.port}&module=rdp`);
    expect(probe).toEqual({ status: 0, lines: [] });
    const self = await lint('/metrics');
    // prom-client names gauges nodejs_active_*_total; a parse error would show as a line naming no metric.
    expect(self.lines.filter((l) => !/^nodejs_\w+ non-counter metrics should not have "_total" suffix$/.test(l))).toEqual([]);
  });
});

describe('exporter queue', () => {
  it('bounds probes in flight and answers 503 beyond the queue', async () => {
    const release: (() => void)[] = [];
    let running = 0;
    let peak = 0;
    const fake = (t: { host: string; port: number }): Promise<ProbeReport> => {
      running++;
      peak = Math.max(peak, running);
      return new Promise((resolve) =>
        release.push(() => {
          running--;
          resolve(stubReport(t));
        }),
      );
    };
    const ex = createExporter({ config: builtinConfig(), maxConcurrent: 2, maxQueue: 1, probe: fake, registry: new Registry() });
    const { port } = await ex.listen('127.0.0.1', 0);
    const base = `http://127.0.0.1:${port}`;
    try {
      const pending = [1, 2, 3].map((i) => get(base, `/probe?target=127.0.0.${i}:3389`));
      for (let i = 0; i < 100 && release.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      // Two running, one waiting: the fourth finds no room.
      await new Promise((r) => setTimeout(r, 50));
      const rejected = await get(base, '/probe?target=127.0.0.4:3389');
      expect(rejected.status).toBe(503);
      const m = await get(base, '/metrics');
      expect(m.body).toMatch(/^rdp_probe_exporter_concurrent_probes 2$/m);
      expect(m.body).toMatch(/^rdp_probe_exporter_queued_probes 1$/m);
      expect(m.body).toMatch(/^rdp_probe_exporter_probes_total\{module="rdp",result="rejected"\} 1$/m);
      for (let i = 0; i < 200 && (release.length > 0 || running > 0); i++) {
        release.shift()?.();
        await new Promise((r) => setTimeout(r, 10));
      }
      const done = await Promise.all(pending);
      expect(done.map((d) => d.status)).toEqual([200, 200, 200]);
      expect(peak).toBe(2);
    } finally {
      await ex.close();
    }
  });

  it('probeTimeoutMs: the header lowers the module timeout by the offset, never raises it', () => {
    const m = builtinConfig().modules.get('rdp')!;
    expect(probeTimeoutMs(m, undefined)).toBe(10_000);
    expect(probeTimeoutMs(m, '5')).toBe(4_500);
    expect(probeTimeoutMs(m, '60')).toBe(10_000);
    expect(probeTimeoutMs(m, '0.3')).toBe(300);
    expect(probeTimeoutMs(m, 'junk')).toBe(10_000);
    expect(probeTimeoutMs(m, '5', 1)).toBe(4_000);
  });
});

/** A closed-port-shaped report for the queue test (the probe itself is not what that test is about). */
function stubReport(t: { host: string; port: number }): ProbeReport {
  return {
    schemaVersion: 1,
    tool: { name: 'rdp-probe', version: '0' },
    target: t,
    startedAt: new Date(0).toISOString(),
    durationMs: 1,
    depth: 'tcp',
    verdict: { id: 'port_closed', stage: 'tcp', summary: 'closed', fixes: [] },
    stages: [],
    findings: [],
    anomalies: [],
  };
}
