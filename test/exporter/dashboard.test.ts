/**
 * docs/grafana-dashboard.json: valid JSON, and every metric its queries name is one the exporter really answers
 * with (from real probes of the lab NLA peer, at depth credssp and session, and of a closed port) or serves on
 * /metrics; every probe metric family the exporter has is on the dashboard.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { parseConfig } from '../../src/exporter/config.js';
import { PROBE_METRICS } from '../../src/exporter/metrics.js';
import { createExporter, type Exporter } from '../../src/exporter/server.js';
import { startNlaPeer, type NlaPeer } from '../../src/lab/rdp-nla-peer.js';

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
  gridPos: { x: number; y: number; w: number; h: number };
}

const dashboard = JSON.parse(readFileSync(new URL('../../docs/grafana-dashboard.json', import.meta.url), 'utf8')) as { panels: Panel[]; templating: { list: { name: string; definition?: string }[] } };
const exprs = [...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...dashboard.templating.list.flatMap((v) => (v.definition ? [v.definition] : []))];
/** Metric names in PromQL text: ours all start with probe_ or rdp_probe_exporter_. */
const queried = new Set(exprs.flatMap((e) => [...e.matchAll(/\b((?:probe|rdp_probe_exporter)_[a-z0-9_]*)\b/g)].map((m) => m[1]!)));

describe('Grafana dashboard', () => {
  let peer: NlaPeer;
  let exporter: Exporter;
  const exposed = new Set<string>();
  let dir = '';

  beforeAll(async () => {
    peer = await startNlaPeer({ credsspVersion: 6, users: [{ user: 'probe', domain: 'LAB', password: 'Dash-Pw-1' }], protocol: 'hybrid_ex', earlyUserAuthResult: 0 });
    dir = mkdtempSync(join(tmpdir(), 'rdp-probe-dashboard-'));
    writeFileSync(join(dir, 'policy.yml'), `hosts:\n  - target: 127.0.0.1:${peer.port}\n    expect: { nla: required, standardRdpSecurity: allowed }\n`);
    const config = parseConfig(
      `modules:\n  policy:\n    policy: policy.yml\n  rdp:\n  session:\n    depth: session\n    delegate: true\n    stageTimeout: 1s\n    enumerate: false\n    credentials: { user: probe, domain: LAB, passwordEnv: PW }\n    trust: { pins: ["${peer.fingerprint}"] }\n`,
      { env: { PW: 'Dash-Pw-1' }, baseDir: dir },
    );
    exporter = createExporter({ config, env: { PW: 'Dash-Pw-1' }, registry: new Registry() });
    const { port } = await exporter.listen('127.0.0.1', 0);
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const closed = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    for (const path of [`/probe?target=127.0.0.1:${peer.port}`, `/probe?target=127.0.0.1:${peer.port}&module=session`, `/probe?target=127.0.0.1:${closed}`, `/probe?target=127.0.0.1:${peer.port}&module=policy`, '/metrics']) {
      const text = await (await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(20_000) })).text();
      for (const line of text.split('\n')) {
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
        if (m) exposed.add(m[1]!);
      }
    }
  }, 60_000);
  afterAll(async () => {
    await exporter?.close();
    await peer?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is valid JSON with panels on a 24-column grid, each panel with a query', () => {
    expect(dashboard.panels.length).toBeGreaterThan(10);
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      if (p.type !== 'row') expect(p.targets?.length, p.title).toBeGreaterThan(0);
    }
  });

  it('queries only metrics the exporter answers with', () => {
    expect(queried.size).toBeGreaterThan(10);
    const missing = [...queried].filter((m) => !exposed.has(m));
    expect(missing).toEqual([]);
  });

  it('shows every probe metric family, probe_rdp_last_errinfo (depth session) and the policy ones included', () => {
    for (const m of ['probe_rdp_last_errinfo', 'probe_rdp_policy_status', 'probe_rdp_policy_check']) expect(exposed.has(m), m).toBe(true);
    expect(Object.keys(PROBE_METRICS).filter((m) => !queried.has(m))).toEqual([]);
  });
});
