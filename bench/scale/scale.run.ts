/**
 * Scale proof for `rdp-probe scan` (repeatable; figures go to bench/scale/results.md, never into tests):
 *  1. 127.0.0.0/16 on port 3389 with several real xrdp servers inside it (the rest of the range answers RST):
 *     wall time, hosts/s and peak RSS of rdp-probe, side by side in the same run with
 *     `nmap -Pn -n -p3389 --script rdp-enum-encryption` on the same range, as a ratio.
 *  2. 10,000 targets that accept and never answer (local listeners on 127.0.0.1:20000-29999), all in flight at
 *     once: peak memory per in-flight probe, and every probe ending at its deadline.
 * Loopback only. Every process is killed at the end.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, it } from 'vitest';
import { startXrdp, stopAllServers } from '../../test/servers/launcher.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
// after: the published bin (the bundle); before: the tsc build of the starting commit (bench/speed/build-before.sh).
const CLI = resolve(ROOT, 'dist/cli.cjs');
const BEFORE = resolve(ROOT, process.env['SCALE_BEFORE'] ?? '.run/before/dist/cli/main.js');
const RANGE = process.env['SCALE_RANGE'] ?? '127.0.0.0/16';
const HANG_N = Number(process.env['SCALE_HANG'] ?? 10000);
/** Rounds of the /16 runs (floor, this build, SCALE_ALSO); each figure is its median round's. */
const REPEAT = Math.max(1, Number(process.env['SCALE_REPEAT'] ?? 3));
/** SCALE_ALSO=label=path,…: more builds side by side (e.g. where an earlier round of this work stopped). */
const ALSO = (process.env['SCALE_ALSO'] ?? '').split(',').filter(Boolean).map((x): [string, string] => [x.slice(0, x.indexOf('=')), resolve(ROOT, x.slice(x.indexOf('=') + 1))]);
const out: string[] = [];

/**
 * Loaded into the child with --import (a data: URL, so the CLI itself carries no hook): its heap, not only its RSS
 * (which also counts socket buffers, OpenSSL and code). `peak` is the largest heapUsed sampled every 10 ms, garbage
 * included; `live` the largest heapUsed right after a full collection (gc(), with --expose-gc) at 1.5, 2 and 2.5 s,
 * when every probe of the hung-target run is in flight and none has reached its 3 s deadline: what the probes hold.
 */
const HEAP_SAMPLER = `data:text/javascript,${encodeURIComponent(`
import v8 from 'node:v8';
let peak = 0, live = 0;
const used = () => v8.getHeapStatistics().used_heap_size;
setInterval(() => { const h = used(); if (h > peak) peak = h; }, 10).unref();
for (const at of [1500, 2000, 2500]) setTimeout(() => { globalThis.gc(); const h = used(); if (h > live) live = h; if (h > peak) peak = h; }, at).unref();
process.on('exit', () => process.stderr.write('HEAP peak=' + peak + ' live=' + live + '\\n'));
`)}`;
const HEAP_FLAGS = ['--expose-gc', '--import', HEAP_SAMPLER];
/** The sampler's figures from a child's stderr, in bytes. */
function heapOf(r: Run): { peak: number; live: number } {
  const m = /HEAP peak=(\d+) live=(\d+)/.exec(r.stderr);
  return m ? { peak: Number(m[1]), live: Number(m[2]) } : { peak: NaN, live: NaN };
}

/** The element with the median key (the lower middle one of an even count). */
function median<T>(xs: T[], key: (x: T) => number): T {
  return [...xs].sort((a, b) => key(a) - key(b))[Math.floor((xs.length - 1) / 2)]!;
}

interface Run {
  wallS: number;
  maxRssKb: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Peak RSS in the issue's unit (MB, 10^6 bytes) and in MiB. */
const rssText = (kb: number): string => `${((kb * 1024) / 1e6).toFixed(0)} MB (${(kb / 1024).toFixed(0)} MiB)`;

/**
 * Runs a command under GNU time for wall clock and peak RSS, with a hard kill timer. Its stdout goes to a file (read
 * back afterwards), as `rdp-probe scan … > results.ndjson` would: a /16 writes over 100 MB, and gathering that into a
 * string in this process, on the same two cores, while the clock runs measured this runner as much as the tool.
 */
function timed(cmd: string[], killAfterS: number): Promise<Run> {
  const dir = mkdtempSync(join(os.tmpdir(), 'rdp-scale-'));
  const file = join(dir, 'stdout');
  const fd = openSync(file, 'w');
  return new Promise((res) => {
    const t0 = performance.now();
    const p = spawn('/usr/bin/time', ['-f', 'MAXRSS %M', ...cmd], { stdio: ['ignore', fd, 'pipe'] });
    closeSync(fd);
    let se = '';
    p.stderr!.on('data', (d) => (se += d));
    const k = setTimeout(() => p.kill('SIGKILL'), killAfterS * 1000);
    let wallS = NaN;
    p.on('exit', () => (wallS = (performance.now() - t0) / 1000));
    // 'close': stderr (with GNU time's figures) has been read to its end.
    p.on('close', (code) => {
      clearTimeout(k);
      const stdout = readFileSync(file, 'utf8');
      rmSync(dir, { recursive: true, force: true });
      const m = /MAXRSS (\d+)/.exec(se);
      res({ wallS, maxRssKb: m ? Number(m[1]) : NaN, code, stdout, stderr: se });
    });
  });
}

afterAll(async () => {
  await stopAllServers();
  const file = resolve(ROOT, 'bench/scale/results.md');
  writeFileSync(file, `${out.join('\n')}\n`);
  process.stdout.write(`\n${out.join('\n')}\n`);
}, 60_000);

it('scale: a /16 with real xrdp servers, rdp-probe vs nmap', async () => {
  if (!existsSync(CLI)) throw new Error('build first: npm run build');
  const servers = [
    await startXrdp('negotiate', { host: '127.0.7.11' }),
    await startXrdp('tls', { host: '127.0.33.12' }),
    await startXrdp('rdp', { host: '127.0.128.13' }),
    await startXrdp('nocert', { host: '127.0.200.14' }),
  ];
  const cpu = (readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) ?? [])[1] ?? '?';
  out.push('# rdp-probe scan at scale', '', `Generated by \`npm run bench:scale\` on ${new Date().toISOString()}; node ${process.version}, ${os.cpus().length} CPUs (${cpu}); load at the start ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (1, 5, 15 min), a machine others use too.`, '');
  for (const [w, p] of ALSO) out.push(`${w} = \`${p.replace(`${ROOT}/`, '')}\`; before = \`${BEFORE.replace(`${ROOT}/`, '')}\`.`, '');
  out.push(`## ${RANGE} on port 3389, ${servers.length} real xrdp servers inside (${servers.map((s) => `${s.name}@${s.host}`).join(', ')}); every other address answers RST`, '');
  type Line = { target: { host: string }; verdict: { id: string }; enumeration?: { nla: string } };
  // Each run keeps its count and the servers it found, not its 100 MB of NDJSON (or the parsed lines): with
  // SCALE_REPEAT=5 the kept text of every round ran this runner out of heap.
  const scan = async (cli: string, c: number) => {
    const r = await timed(['node', cli, 'scan', RANGE, '-p', '3389', '-c', String(c), '-o', 'ndjson'], 1200);
    let count = 0;
    const found: Line[] = [];
    for (const l of r.stdout.split('\n')) {
      if (l === '') continue;
      count++;
      // A closed port's line names its verdict near the start; only the others are parsed.
      if (!l.includes('"id":"port_closed"')) found.push(JSON.parse(l) as Line);
    }
    return { r: { ...r, stdout: '' }, count, found };
  };
  const [cidrBase] = RANGE.split('/');
  void cidrBase;
  const rows: string[] = [];
  const hosts = 2 ** (32 - Number(RANGE.split('/')[1] ?? 32));
  // SCALE_REPEAT rounds, each running the floor, this build and the SCALE_ALSO builds one after the other, so that
  // the machine's drift (others use it) falls on all of them alike; each figure is its median round's.
  type Scanned = Awaited<ReturnType<typeof scan>>;
  const floorRuns: Record<64 | 1024, Run[]> = { 64: [], 1024: [] };
  const afterRuns: Record<64 | 1024, Scanned[]> = { 64: [], 1024: [] };
  const alsoRuns: Scanned[][] = ALSO.map(() => []);
  for (let round = 0; round < REPEAT; round++) {
    for (const c of [64, 1024] as const) {
      floorRuns[c].push(await timed(['node', resolve(ROOT, 'bench/scale/floor.mjs'), RANGE, '3389', String(c)], 600));
      afterRuns[c].push(await scan(CLI, c));
      if (c === 64) for (const [i, [, p]] of ALSO.entries()) alsoRuns[i]!.push(await scan(p, 64));
    }
  }
  const floor64 = median(floorRuns[64], (r) => r.wallS);
  const floor1024 = median(floorRuns[1024], (r) => r.wallS);
  const after64 = median(afterRuns[64], (s) => s.r.wallS);
  const after1024 = median(afterRuns[1024], (s) => s.r.wallS);
  const also64 = ALSO.map(([w], i) => ({ w, s: median(alsoRuns[i]!, (x) => x.r.wallS) }));
  const spread = (runs: Run[]): string => `${Math.min(...runs.map((r) => r.wallS)).toFixed(1)}–${Math.max(...runs.map((r) => r.wallS)).toFixed(1)} s, ${Math.min(...runs.map((r) => (r.maxRssKb * 1024) / 1e6)).toFixed(0)}–${Math.max(...runs.map((r) => (r.maxRssKb * 1024) / 1e6)).toFixed(0)} MB`;
  const before64 = existsSync(BEFORE) ? await scan(BEFORE, 64) : undefined;
  const nmap = await timed(['nmap', '-Pn', '-n', '-p3389', '--open', '--script', 'rdp-enum-encryption', RANGE], 1500);
  const nmapOpen = (nmap.stdout.match(/Nmap scan report for (\S+)/g) ?? []).map((s) => s.split(' ').pop());
  const row = (name: string, r: Run, found: string): void => void rows.push(`| ${name} | ${r.wallS.toFixed(1)} s | ${(hosts / r.wallS).toFixed(0)} | ${rssText(r.maxRssKb)} | ${found} | ${r.code} | ${(nmap.wallS / r.wallS).toFixed(2)}× | ${(r.wallS / floor64.wallS).toFixed(2)}× |`);
  const foundText = (f: Line[]): string => `${f.length}: ${f.map((x) => `${x.target.host} ${x.verdict.id}${x.enumeration ? ` (NLA ${x.enumeration.nla})` : ''}`).join(', ')}`;
  out.push('| tool | wall | hosts/s | peak RSS | RDP servers found | exit | nmap ÷ this | this ÷ floor (-c 64) |', '|---|---|---|---|---|---|---|---|');
  row(`after: \`rdp-probe scan ${RANGE}\` (defaults: -c 64, --depth credssp, enumeration on)`, after64.r, foundText(after64.found));
  row('after: the same with `-c 1024`', after1024.r, foundText(after1024.found));
  for (const a of also64) row(`${a.w}: \`rdp-probe scan ${RANGE}\` (defaults)`, a.s.r, foundText(a.s.found));
  if (before64) row(`before: \`rdp-probe scan ${RANGE}\` (defaults)`, before64.r, foundText(before64.found));
  row(`\`nmap -Pn -n -p3389 --open --script rdp-enum-encryption ${RANGE}\``, nmap, `${nmapOpen.length}: ${nmapOpen.join(', ')}`);
  row('floor: `node bench/scale/floor.mjs` (net.connect to every address, 64 at once)', floor64, floor64.stdout.trim());
  row('floor with 1024 at once', floor1024, floor1024.stdout.trim());
  out.push(...rows);
  out.push('', `Each row but before and nmap is the median of ${REPEAT} interleaved rounds (wall, peak RSS of that round; the range over the rounds: after ${spread(afterRuns[64].map((x) => x.r))}; ${also64.map((a, i) => `${a.w} ${spread(alsoRuns[i]!.map((x) => x.r))}; `).join('')}floor ${spread(floorRuns[64])}; after -c 1024 ${spread(afterRuns[1024].map((x) => x.r))}; floor 1024 ${spread(floorRuns[1024])}).`);
  out.push('', `Targets reported by rdp-probe: ${after64.count} (expected ${hosts}). after -c 1024 ÷ after -c 64: ${(after1024.r.wallS / after64.r.wallS).toFixed(2)}×; the bare floor itself, 1024 at once ÷ 64 at once: ${(floor1024.wallS / floor64.wallS).toFixed(2)}×. Wall time; the machine is shared (load above).`, '');
  for (const s of servers) await s.stop();
});

it('scale: 10,000 targets that accept and never answer', async () => {
  // The listeners live in child processes on 127.0.0.1:20000+, each with its own file-descriptor budget (a listener
  // and an accepted socket per target; the hard limit here is 20,000 descriptors per process).
  const PER_CHILD = 4000;
  const listeners = [];
  for (let from = 0; from < HANG_N; from += PER_CHILD) {
    const n = Math.min(PER_CHILD, HANG_N - from);
    listeners.push(spawn(process.execPath, ['-e', `
      const net = require('node:net'); let up = 0; const held = [];
      for (let i = 0; i < ${n}; i++) { const s = net.createServer((c) => { held.push(c); c.on('error', () => {}); }); s.listen(${20000 + from} + i, '127.0.0.1', () => { if (++up === ${n}) console.log('READY'); }); s.on('error', (e) => { console.error(e.message); process.exit(1); }); }
      setTimeout(() => process.exit(0), 600000);
    `], { stdio: ['ignore', 'pipe', 'inherit'] }));
  }
  try {
    await Promise.all(listeners.map((listener) => new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error('listeners not ready in 60 s')), 60000);
      listener.stdout!.on('data', (d: Buffer) => d.toString().includes('READY') && (clearTimeout(t), res()));
      listener.on('exit', (c) => rej(new Error(`listener exited ${c}`)));
    })));
    const deadline = 3;
    const base = await timed(['node', ...HEAP_FLAGS, CLI, 'scan', '127.0.0.1', '-p', '20000', '-c', '1', '--timeout', `${deadline}s`, '--no-enumerate', '--depth', 'x224', '-o', 'ndjson'], 60);
    const all = await timed(['node', ...HEAP_FLAGS, CLI, 'scan', '127.0.0.1', '-p', `20000-${20000 + HANG_N - 1}`, '-c', String(HANG_N), '--timeout', `${deadline}s`, '--retries', '0', '--no-enumerate', '--depth', 'x224', '-o', 'ndjson'], 300);
    const reps = all.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { durationMs: number; stages: { stage: string; status: string; error?: { kind: string }; durationMs?: number }[] });
    const timeouts = reps.filter((r) => r.stages.find((s) => s.stage === 'x224')?.error?.kind === 'timeout');
    const x224ms = timeouts.map((r) => r.stages.find((s) => s.stage === 'x224')!.durationMs ?? 0).sort((a, b) => a - b);
    const perProbeKb = (all.maxRssKb - base.maxRssKb) / HANG_N;
    const heapAll = heapOf(all);
    const heapBase = heapOf(base);
    const liveKib = (heapAll.live - heapBase.live) / 1024 / HANG_N;
    const mib = (b: number): string => (b / 1048576).toFixed(1);
    const hangArgs = ['scan', '127.0.0.1', '-p', `20000-${20000 + HANG_N - 1}`, '-c', String(HANG_N), '--timeout', `${deadline}s`, '--retries', '0', '--no-enumerate', '--depth', 'x224', '-o', 'ndjson'];
    const alsoAll: { w: string; r: Run; maxMs: number }[] = [];
    for (const [w, p] of ALSO) {
      const r = await timed(['node', p, ...hangArgs], 300);
      const ms = r.stdout.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { stages: { stage: string; durationMs?: number }[] }).stages.find((x) => x.stage === 'x224')?.durationMs ?? 0);
      alsoAll.push({ w, r, maxMs: Math.max(...ms) });
    }
    const beforeAll = existsSync(BEFORE) ? await timed(['node', BEFORE, 'scan', '127.0.0.1', '-p', `20000-${20000 + HANG_N - 1}`, '-c', String(HANG_N), '--timeout', `${deadline}s`, '--retries', '0', '--no-enumerate', '--depth', 'x224', '-o', 'ndjson'], 300) : undefined;
    out.push(`## ${HANG_N} targets that accept and never answer (127.0.0.1:20000-${20000 + HANG_N - 1}), all in flight at once`, '');
    out.push('| measure | value |', '|---|---|');
    out.push(`| command | \`rdp-probe scan 127.0.0.1 -p 20000-${20000 + HANG_N - 1} -c ${HANG_N} --timeout ${deadline}s --retries 0 --no-enumerate --depth x224\` |`);
    out.push(`| wall time | ${all.wallS.toFixed(1)} s (deadline per stage ${deadline} s) |`);
    out.push(`| reports | ${reps.length} of ${HANG_N}; ending at the x224 deadline: ${timeouts.length} |`);
    out.push(`| x224 stage duration | min ${x224ms[0]?.toFixed(0)} ms, median ${x224ms[Math.floor(x224ms.length / 2)]?.toFixed(0)} ms, max ${x224ms[x224ms.length - 1]?.toFixed(0)} ms |`);
    out.push(`| peak RSS | ${(all.maxRssKb / 1024).toFixed(0)} MiB (one-target baseline ${(base.maxRssKb / 1024).toFixed(0)} MiB) |`);
    out.push(`| peak RSS per in-flight probe (over the baseline) | ${perProbeKb.toFixed(1)} KiB |`);
    out.push(`| heap held per in-flight probe (heapUsed after a full GC, all in flight, over the one-target baseline) | ${liveKib.toFixed(1)} KiB (${mib(heapAll.live)} MiB; baseline ${mib(heapBase.live)} MiB) |`);
    out.push(`| peak heapUsed, garbage included (sampled every 10 ms) | ${mib(heapAll.peak)} MiB (baseline ${mib(heapBase.peak)} MiB): ${((heapAll.peak - heapBase.peak) / 1024 / HANG_N).toFixed(1)} KiB per probe |`);
    out.push(`| exit code | ${all.code} |`);
    for (const a of alsoAll) out.push(`| ${a.w}, same command | wall ${a.r.wallS.toFixed(1)} s, peak RSS ${(a.r.maxRssKb / 1024).toFixed(0)} MiB, ${((a.r.maxRssKb - base.maxRssKb) / HANG_N).toFixed(1)} KiB per probe over the after baseline, x224 max ${a.maxMs.toFixed(0)} ms |`);
    if (beforeAll) out.push(`| before (starting commit), same command | wall ${beforeAll.wallS.toFixed(1)} s, peak RSS ${(beforeAll.maxRssKb / 1024).toFixed(0)} MiB, ${((beforeAll.maxRssKb - base.maxRssKb) / HANG_N).toFixed(1)} KiB per probe over the after baseline |`);
    out.push('');
  } finally {
    for (const l of listeners) l.kill('SIGKILL');
  }
});
