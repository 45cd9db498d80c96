/**
 * A real Prometheus (Debian's package) scrapes the exporter with docs/prometheus.yml's blackbox relabelling, every 2 s,
 * for three targets: a real xrdp, the lab NLA peer and a closed port. Its query API must then hold
 * probe_success 1, 1 and 0, with the RDP host as the instance label.
 * Locally a missing prometheus binary skips with a notice; in CI it fails (test/servers/support.ts's policy).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { Registry } from 'prom-client';
import { builtinConfig } from '../../src/exporter/config.js';
import { createExporter, type Exporter } from '../../src/exporter/server.js';
import { startNlaPeer, type NlaPeer } from '../../src/lab/rdp-nla-peer.js';
import type { ProbeOptions } from '../../src/transport/drive.js';
import { runProbe } from '../../src/transport/drive.js';
import { findBinary } from '../servers/env.js';
import { inCI, realServerSuite, startXrdp, stopAllServers, type RunningServer } from '../servers/launcher.js';
import { closedPort as freePort } from '../helpers/ports.js';

function prometheusSuite(): { skip: boolean } {
  if (findBinary('prometheus')) return { skip: false };
  const why = 'prometheus not installed (apt-get install prometheus)';
  if (inCI()) throw new Error(`real-server suite "exporter scraped by Prometheus" cannot run in CI: ${why}`);
  process.stderr.write(`\nSKIPPING real-server suite "exporter scraped by Prometheus": ${why}\n\n`);
  return { skip: true };
}

const xrdpNeed = realServerSuite(['xrdp'], 'exporter scraped by Prometheus');
const promNeed = prometheusSuite();

interface Series {
  metric: Record<string, string>;
  value: [number, string];
}

describe.skipIf(xrdpNeed.skip || promNeed.skip)('exporter scraped by a real Prometheus', () => {
  let xrdp: RunningServer;
  let peer: NlaPeer;
  let exporter: Exporter;
  let prom: ChildProcess | undefined;
  let promLog = '';
  let promBase = '';
  const timeouts: number[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'rdp-probe-prom-'));
  const targets: Record<string, string> = {};

  beforeAll(async () => {
    xrdp = await startXrdp('tls', { host: '127.0.0.250' });
    peer = await startNlaPeer({ credsspVersion: 6, users: [], protocol: 'hybrid_ex' });
    targets['xrdp'] = `${xrdp.host}:${xrdp.port}`;
    targets['nla'] = `127.0.0.1:${peer.port}`;
    targets['closed'] = `127.0.0.1:${await freePort()}`;
    exporter = createExporter({
      config: builtinConfig(),
      registry: new Registry(),
      // runProbe itself, recording the deadline each scrape gave it.
      probe: (t, o: Partial<ProbeOptions>) => {
        timeouts.push(o.targetTimeoutMs ?? -1);
        return runProbe(t, o);
      },
    });
    const ex = await exporter.listen('127.0.0.1', 0);

    // docs/prometheus.yml with only the targets, the exporter address and the intervals replaced.
    const cfg = parse(readFileSync(new URL('../../docs/prometheus.yml', import.meta.url), 'utf8')) as {
      global: Record<string, string>;
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[]; relabel_configs?: { replacement?: string }[] }[];
    };
    // A 2 s scrape timeout gives each probe 1.5 s: room for a first (cold) probe of the real xrdp on a loaded
    // machine, where 1 s (0.5 s for the probe) was within 2x of it.
    cfg.global['scrape_interval'] = '2s';
    cfg.global['scrape_timeout'] = '2s';
    for (const job of cfg.scrape_configs) {
      if (job.job_name === 'rdp') {
        job.static_configs = [{ targets: Object.values(targets) }];
        const addr = job.relabel_configs?.find((r) => r.replacement !== undefined);
        if (!addr) throw new Error('docs/prometheus.yml: no __address__ replacement in the rdp job');
        addr.replacement = `127.0.0.1:${ex.port}`;
      } else job.static_configs = [{ targets: [`127.0.0.1:${ex.port}`] }];
    }
    writeFileSync(join(dir, 'prometheus.yml'), stringify(cfg));
    const port = await freePort();
    promBase = `http://127.0.0.1:${port}`;
    prom = spawn(findBinary('prometheus')!, [`--config.file=${join(dir, 'prometheus.yml')}`, `--web.listen-address=127.0.0.1:${port}`, `--storage.tsdb.path=${join(dir, 'data')}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    prom.stdout?.on('data', (d) => (promLog += d));
    prom.stderr?.on('data', (d) => (promLog += d));
    for (let i = 0; i < 100; i++) {
      if (prom.exitCode !== null) throw new Error(`prometheus exited ${prom.exitCode}: ${promLog}`);
      const ready = await fetch(`${promBase}/-/ready`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
      if (ready) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 90_000);

  afterAll(async () => {
    if (prom && prom.exitCode === null) {
      const exited = new Promise((r) => prom!.once('exit', r));
      prom.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (prom.exitCode === null) prom.kill('SIGKILL');
    }
    await exporter?.close();
    await peer?.close();
    await stopAllServers();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  async function query(q: string): Promise<Series[]> {
    const r = await fetch(`${promBase}/api/v1/query?query=${encodeURIComponent(q)}`, { signal: AbortSignal.timeout(2000) });
    const j = (await r.json()) as { status: string; data: { resultType: string; result: Series[] } };
    expect(j.status).toBe('success');
    return j.data.result;
  }

  it('probe_success is 1 for xrdp and the NLA peer, 0 for the closed port, each with its host as instance', async () => {
    let result: Series[] = [];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      result = await query('probe_success{job="rdp"}');
      if (Object.values(targets).every((t) => result.some((s) => s.metric['instance'] === t))) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    process.stderr.write(`Prometheus /api/v1/query?query=probe_success{job="rdp"}:\n${JSON.stringify(result.map((s) => ({ metric: s.metric, value: s.value })), null, 1)}\n`);
    const at = (t: string) => result.find((s) => s.metric['instance'] === t)?.value[1];
    expect(at(targets['xrdp']!), promLog).toBe('1');
    expect(at(targets['nla']!)).toBe('1');
    expect(at(targets['closed']!)).toBe('0');
    for (const s of result) expect(s.metric).toMatchObject({ job: 'rdp' });

    // What else Prometheus stored from the same scrapes.
    const nla = await query(`probe_rdp_nla{instance="${targets['nla']}",state="required"}`);
    expect(nla[0]?.value[1]).toBe('1');
    const xrdpProto = await query(`probe_rdp_selected_protocol{instance="${targets['xrdp']}"}`);
    expect(xrdpProto[0]?.metric['protocol']).toBe('SSL');
    const failed = await query(`probe_rdp_failed_stage{instance="${targets['closed']}"}`);
    expect(failed[0]?.metric['stage']).toBe('tcp');
    // The 2 s scrape timeout reached the exporter as its header: 2 s minus the 0.5 s offset.
    expect(timeouts.length).toBeGreaterThan(0);
    expect(new Set(timeouts)).toEqual(new Set([1500]));
  }, 60_000);

  it('Prometheus scrapes the exporter itself: up 1 and its probe counters', async () => {
    let up: Series[] = [];
    for (let i = 0; i < 30 && up.length === 0; i++) {
      up = await query('up{job="rdp_probe_exporter"}');
      if (up.length === 0) await new Promise((r) => setTimeout(r, 500));
    }
    expect(up[0]?.value[1]).toBe('1');
    // The exporter's own scrape may come before the first failed probe was counted: wait for the next ones.
    let by: Record<string, number> = {};
    for (let i = 0; i < 20 && !(by['success'] && by['failure']); i++) {
      const total = await query('sum by (result) (rdp_probe_exporter_probes_total)');
      by = Object.fromEntries(total.map((s) => [s.metric['result'], Number(s.value[1])]));
      if (!(by['success'] && by['failure'])) await new Promise((r) => setTimeout(r, 500));
    }
    expect(by['success']).toBeGreaterThan(0);
    expect(by['failure']).toBeGreaterThan(0);
  }, 30_000);
});
