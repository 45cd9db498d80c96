/** The scan engine with a scripted runner (no sockets) and the scan CLI against loopback peers. */
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { encodeConnectionConfirm } from '../../src/protocol/x224.js';
import { encodeNegFailure } from '../../src/protocol/nego.js';
import { scanTargets, type ScanTarget } from '../../src/scan/scan.js';
import { startScripted, type ScriptedServer } from '../helpers/scripted-server.js';
import { memoryIo } from '../helpers/cli-io.js';
import { fakeReport } from '../helpers/scan-reports.js';

const targets = (n: number): ScanTarget[] => Array.from({ length: n }, (_, i) => ({ host: `192.0.2.${i}`, port: 3389 }));

describe('scanTargets', () => {
  it('never has more than `concurrency` probes in flight, and yields every result', async () => {
    let inFlight = 0;
    let peak = 0;
    const runner = async (t: ScanTarget) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 2 + (Number(t.host.split('.')[3]) % 5)));
      inFlight--;
      return fakeReport(t);
    };
    const seen: string[] = [];
    for await (const r of scanTargets(targets(200), { concurrency: 7, runner })) seen.push(r.target.host);
    expect(peak).toBe(7);
    expect(new Set(seen).size).toBe(200);
  });

  it('pulls targets lazily: an endless generator is fine while results are consumed', async () => {
    let pulled = 0;
    function* endless(): Generator<ScanTarget> {
      for (let i = 0; ; i++) {
        pulled++;
        yield { host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 3389 };
      }
    }
    let got = 0;
    const stop = new AbortController();
    for await (const _ of scanTargets(endless(), { concurrency: 4, signal: stop.signal, runner: async (t) => fakeReport(t) })) {
      if (++got === 50) stop.abort();
    }
    expect(got).toBeGreaterThanOrEqual(50);
    expect(pulled).toBeLessThan(50 + 10);
  });

  it('--rate spaces probe starts', async () => {
    const starts: number[] = [];
    const t0 = performance.now();
    for await (const _ of scanTargets(targets(6), { concurrency: 6, rate: 50, runner: async (t) => (starts.push(performance.now() - t0), fakeReport(t)) }));
    // 6 starts at 50/s take at least 5 gaps of 20 ms.
    expect(starts[5]! - starts[0]!).toBeGreaterThanOrEqual(95);
  });

  it('--rate above the timers\' 1 ms grain is still a limit: 201 starts at 2000/s take at least 200 gaps less the 2 ms slack', async () => {
    const starts: number[] = [];
    for await (const _ of scanTargets(targets(201), { concurrency: 16, rate: 2000, runner: async (t) => (starts.push(performance.now()), fakeReport(t)) }));
    expect(starts).toHaveLength(201);
    expect(starts[200]! - starts[0]!).toBeGreaterThanOrEqual(200 * 0.5 - 2);
  });

  it('retries only a TCP connect timeout, and only as often as asked', async () => {
    const calls = new Map<string, number>();
    const runner = async (t: ScanTarget) => {
      calls.set(t.host, (calls.get(t.host) ?? 0) + 1);
      return fakeReport(t, t.host.endsWith('.0') ? 'connect_timeout' : 'refused');
    };
    for await (const _ of scanTargets(targets(2), { concurrency: 2, connectRetries: 2, runner }));
    expect(calls.get('192.0.2.0')).toBe(3);
    expect(calls.get('192.0.2.1')).toBe(1);
  });

  it('a stop starts no new probe; in-flight ones finish within the grace period or are marked interrupted', async () => {
    const stop = new AbortController();
    const started: string[] = [];
    const runner = async (t: ScanTarget, o: { signal?: AbortSignal }) => {
      started.push(t.host);
      if (started.length === 3) stop.abort();
      // Probe 0 ends quickly; the rest wait until the hard abort.
      if (t.host.endsWith('.0')) return fakeReport(t);
      await new Promise<void>((r) => o.signal?.addEventListener('abort', () => r(), { once: true }));
      return fakeReport(t, 'target_deadline');
    };
    const t0 = performance.now();
    const out = [];
    for await (const r of scanTargets(targets(100), { concurrency: 3, signal: stop.signal, graceMs: 150, runner })) out.push(r);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(started).toHaveLength(3);
    expect(out.filter((r) => !r.interrupted).map((r) => r.target.host)).toEqual(['192.0.2.0']);
    expect(out.filter((r) => r.interrupted)).toHaveLength(2);
  });
});

const io = (signals?: EventEmitter): ReturnType<typeof memoryIo> => memoryIo(signals ? { signals } : {});

describe('rdp-probe scan (loopback peers)', () => {
  const peers: ScriptedServer[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'rdp-probe-scan-'));
  let port = 0;
  beforeAll(async () => {
    // Three RDP-ish peers on one port at 127.0.0.201-203; the rest of 127.0.0.200/29 answers RST.
    const f5 = () => (s: import('node:net').Socket) => s.end(Buffer.from(encodeConnectionConfirm({ dstRef: 0, srcRef: 0x1234, classOption: 0, neg: encodeNegFailure({ flags: 0, failureCode: 5 }) })));
    const first = await startScripted(f5(), { host: '127.0.0.201' });
    port = first.port;
    peers.push(first);
    for (const h of ['127.0.0.202', '127.0.0.203']) {
      const net = await import('node:net');
      const srv = net.createServer((s) => s.once('data', () => f5()(s)));
      await new Promise<void>((r) => srv.listen(port, h, () => r()));
      peers.push({ host: h, port, requests: [], connections: 0, close: () => new Promise<void>((r) => srv.close(() => r())) });
    }
  });
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('NDJSON: one line per target, a summary on stderr', async () => {
    const t = io();
    const code = await main(['scan', `127.0.0.200/29`, '-p', String(port), '--no-enumerate', '-o', 'ndjson'], t.io);
    expect(code).toBe(0);
    const lines = t.out().trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(8);
    const byVerdict = (v: string) => lines.filter((l) => l.verdict.id === v).map((l) => l.target.host).sort();
    expect(byVerdict('negotiation_failure')).toEqual(['127.0.0.201', '127.0.0.202', '127.0.0.203']);
    expect(byVerdict('port_closed')).toHaveLength(5);
    expect(t.err()).toMatch(/scanned 8 target\(s\)/);
    expect(t.err()).toMatch(/negotiation_failure 3/);
  });

  it('--shard splits with no overlap and no gap; --exclude skips', async () => {
    const got: string[] = [];
    for (const s of ['1/3', '2/3', '3/3']) {
      const t = io();
      await main(['scan', '127.0.0.200/29', '-p', String(port), '--no-enumerate', '--depth', 'tcp', '-o', 'ndjson', '--shard', s], t.io);
      got.push(...t.out().trim().split('\n').map((l) => JSON.parse(l).target.host));
    }
    expect(got.sort()).toEqual(Array.from({ length: 8 }, (_, i) => `127.0.0.${200 + i}`).sort());
    const t = io();
    await main(['scan', '127.0.0.200/29', '-p', String(port), '--depth', 'tcp', '-o', 'ndjson', '--exclude', '127.0.0.200-127.0.0.203'], t.io);
    expect(t.out().trim().split('\n')).toHaveLength(4);
  });

  it('--resume skips targets already in the file and appends the rest', async () => {
    const file = join(dir, 'results.ndjson');
    const t1 = io();
    await main(['scan', '127.0.0.200-127.0.0.203', '-p', String(port), '--depth', 'tcp', '-o', 'ndjson', '--output', file], t1.io);
    // Simulate an interrupted write: a cut last line.
    writeFileSync(file, readFileSync(file, 'utf8') + '{"schemaVersion":1,"target":{"ho');
    const t2 = io();
    await main(['scan', '127.0.0.200/29', '-p', String(port), '--depth', 'tcp', '-o', 'ndjson', '--output', file, '--resume', file], t2.io);
    expect(t2.err()).toMatch(/resume: 4 target\(s\) already done/);
    // The summary covers the whole scan: the 4 read back from the file and the 4 probed now.
    expect(t2.err()).toMatch(/scanned 8 target\(s\) \(4 from --resume, 4 now\)/);
    expect(t2.err()).toMatch(/verdicts: port_closed 5, ok 3/);
    const hosts = readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{"schemaVersion":1,"tool"')).map((l) => JSON.parse(l).target.host);
    expect(new Set(hosts).size).toBe(8);
  });

  it('SIGINT: stops, keeps complete results, exits 130', async () => {
    const hang = await startScripted(() => undefined, { host: '127.0.0.210' });
    try {
      const sig = new EventEmitter();
      const t = io(sig);
      const p = main(['scan', `127.0.0.210:${hang.port}`, `127.0.0.211-127.0.0.219:${hang.port}`, '-c', '2', '--timeout', '10s', '--no-enumerate', '-o', 'ndjson'], t.io);
      await new Promise((r) => setTimeout(r, 300));
      const t0 = performance.now();
      sig.emit('SIGINT');
      const code = await p;
      expect(code).toBe(130);
      expect(performance.now() - t0).toBeLessThan(6000);
      expect(t.err()).toMatch(/SIGINT: stopping/);
      // The closed ports that finished before the stop are written; the hung probe is not.
      const lines = t.out().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      expect(lines.every((l) => l.verdict.id === 'port_closed')).toBe(true);
      expect(t.err()).toMatch(/interrupted \(not written\)/);
    } finally {
      await hang.close();
    }
  });

  it('a TTY gets the table and a live progress line; a pipe gets neither', async () => {
    const t = io();
    Object.assign(t.io.stdout, { isTTY: true });
    Object.assign(t.io.stderr, { isTTY: true, columns: 120 });
    await main(['scan', '127.0.0.200/29', '-p', String(port), '--depth', 'tcp'], t.io);
    expect(t.out()).toMatch(/^TARGET\s+VERDICT/);
    expect(t.out().trim().split('\n')).toHaveLength(9);
    expect(t.err()).toMatch(/\r\x1b\[K\d+\/8 done, [\d.]+\/s eta \S+ \| /);
    const p = io();
    await main(['scan', '127.0.0.200/29', '-p', String(port), '--depth', 'tcp'], p.io);
    expect(p.out().trim().split('\n').every((l) => l.startsWith('{'))).toBe(true);
    expect(p.err()).not.toContain('\x1b[K');
  });

  it('-iL reads a file (masscan -oL, nmap -oG) and stdin', async () => {
    const list = join(dir, 'targets.txt');
    writeFileSync(list, `#masscan\nopen tcp ${port} 127.0.0.201 1700000000\nHost: 127.0.0.202 ()\tPorts: ${port}/open/tcp//ms-wbt-server///\n# end\n`);
    const t = io();
    await main(['scan', '-iL', list, '--depth', 'x224', '--no-enumerate', '-o', 'ndjson'], t.io);
    const got = t.out().trim().split('\n').map((l) => JSON.parse(l));
    expect(got.map((r) => `${r.target.host}:${r.target.port}`).sort()).toEqual([`127.0.0.201:${port}`, `127.0.0.202:${port}`]);
    expect(got.every((r) => r.verdict.id === 'negotiation_failure')).toBe(true);
    const stdin = new PassThrough();
    stdin.end(`127.0.0.203:${port}\n`);
    const s = io();
    await main(['scan', '-iL', '-', '--depth', 'x224', '--no-enumerate', '-o', 'ndjson'], { ...s.io, stdin });
    expect(JSON.parse(s.out().trim()).target.host).toBe('127.0.0.203');
  });

  it('bad targets are one-line usage errors before any probe', async () => {
    for (const bad of ['10.0.0.1/33', '10.0.0.5-10.0.0.1', '300.1.1.1']) {
      const t = io();
      expect(await main(['scan', bad], t.io)).toBe(2);
      expect(t.err().trim().split('\n')).toHaveLength(1);
      expect(t.out()).toBe('');
    }
  });
});
