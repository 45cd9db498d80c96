/**
 * Start-up and per-probe cost (issue #11 item 1), repeatable: every command below runs SPEED_RUNS times (default
 * 11), interleaved round by round so drift hits all alike, and each figure is a median given as a ratio to a
 * peer measured in the same run: `node -e 0` for what only starts up, nmap's rdp-enum-encryption on the same
 * address and port for a probe. "before" is the CLI built from the commit named in SPEED_BEFORE_REF (a tsc
 * build in .run/before, made by bench/speed/build-before.sh), "after" is the published bin (the bundle).
 * Loopback only; every child has a kill timer. Writes bench/speed/results.md.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, it } from 'vitest';
import { startXrdp, stopAllServers } from '../../test/servers/launcher.js';
import { summarize } from '../lib/stats.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const PKG = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
const AFTER = resolve(ROOT, process.env['SPEED_AFTER'] ?? PKG.bin['rdp-probe']!);
const BEFORE = resolve(ROOT, process.env['SPEED_BEFORE'] ?? '.run/before/dist/cli/main.js');
const RUNS = Math.min(50, Math.max(1, Number(process.env['SPEED_RUNS'] ?? 11)));
const CLOSED = '127.0.12.99';
const LIVE = '127.0.12.11';

interface Cmd {
  id: string;
  label: string;
  argv: string[];
}

/** Wall time of one child process, spawn to exit, in ms; killed after killS. */
function wall(argv: string[], killS = 60): Promise<{ ms: number; code: number | null; out: string }> {
  return new Promise((res) => {
    const t0 = performance.now();
    const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.resume();
    const k = setTimeout(() => p.kill('SIGKILL'), killS * 1000);
    p.on('exit', (code) => {
      clearTimeout(k);
      res({ ms: performance.now() - t0, code, out });
    });
  });
}

function nothingListens(host: string, port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = net.connect({ host, port });
    s.once('connect', () => (s.destroy(), res(false)));
    s.once('error', () => res(true));
  });
}

const out: string[] = [];
afterAll(async () => {
  await stopAllServers();
  writeFileSync(resolve(ROOT, 'bench/speed/results.md'), `${out.join('\n')}\n`);
  process.stdout.write(`\n${out.join('\n')}\n`);
}, 60_000);

it('start-up and per-probe cost, before and after, against node -e 0 and nmap', async () => {
  if (!existsSync(AFTER)) throw new Error(`build first: npm run build (${AFTER} is missing)`);
  const haveBefore = existsSync(BEFORE);
  if (!(await nothingListens(CLOSED, 3389))) throw new Error(`${CLOSED}:3389 has a listener; the closed case needs none`);
  const xrdp = await startXrdp('negotiate', { host: LIVE, port: 3389 });
  // SPEED_ALSO=label=path,…: more builds side by side (e.g. where an earlier round of this work stopped).
  const also = (process.env['SPEED_ALSO'] ?? '').split(',').filter(Boolean).map((x): [string, string] => [x.slice(0, x.indexOf('=')), resolve(ROOT, x.slice(x.indexOf('=') + 1))]);
  for (const [w, p] of also) if (!existsSync(p)) throw new Error(`SPEED_ALSO ${w}: ${p} is missing`);
  const clis: [string, string][] = [['after', AFTER], ...also, ...(haveBefore ? ([['before', BEFORE]] as [string, string][]) : [])];
  const cmds: Cmd[] = [{ id: 'node', label: 'node -e 0', argv: [process.execPath, '-e', '0'] }];
  const bare = `const s=require('node:net').connect(3389,'${LIVE}',()=>{s.destroy()});s.on('error',()=>{})`;
  cmds.push({ id: 'connect', label: `node: one net.connect to ${LIVE}:3389`, argv: [process.execPath, '-e', bare] });
  cmds.push({ id: 'nmap-closed', label: `nmap -n -Pn -p 3389 --script rdp-enum-encryption ${CLOSED}`, argv: ['nmap', '-n', '-Pn', '-p', '3389', '--script', 'rdp-enum-encryption', CLOSED] });
  cmds.push({ id: 'nmap-live', label: `nmap -n -Pn -p 3389 --script rdp-enum-encryption ${LIVE} (xrdp)`, argv: ['nmap', '-n', '-Pn', '-p', '3389', '--script', 'rdp-enum-encryption', LIVE] });
  for (const [who, cli] of clis) {
    const n = [process.execPath, cli];
    cmds.push({ id: `${who}:help`, label: `${who}: rdp-probe --help`, argv: [...n, '--help'] });
    cmds.push({ id: `${who}:version`, label: `${who}: rdp-probe --version`, argv: [...n, '--version'] });
    cmds.push({ id: `${who}:explain`, label: `${who}: rdp-probe explain 0x3 0x7`, argv: [...n, 'explain', '0x3', '0x7'] });
    cmds.push({ id: `${who}:closed`, label: `${who}: rdp-probe check ${CLOSED}:3389 (closed)`, argv: [...n, 'check', `${CLOSED}:3389`] });
    cmds.push({ id: `${who}:live`, label: `${who}: rdp-probe check ${LIVE}:3389 (xrdp, defaults)`, argv: [...n, 'check', `${LIVE}:3389`] });
    cmds.push({ id: `${who}:lab`, label: `${who}: rdp-probe check --lab nla`, argv: [...n, 'check', '--lab', 'nla'] });
  }
  const times = new Map<string, number[]>(cmds.map((c) => [c.id, []]));
  const codes = new Map<string, Set<number | null>>(cmds.map((c) => [c.id, new Set()]));
  // One discarded warm-up round (page cache, nmap's script database).
  for (let round = -1; round < RUNS; round++) {
    for (const c of cmds) {
      const r = await wall(c.argv);
      if (round < 0) continue;
      times.get(c.id)!.push(r.ms);
      codes.get(c.id)!.add(r.code);
    }
  }
  await xrdp.stop();
  const med = (id: string): number => summarize(times.get(id) ?? [])?.median ?? NaN;
  const cpu = (readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) ?? [])[1] ?? '?';
  out.push('# Start-up and per-probe cost', '', `Generated by \`npm run bench:speed\` on ${new Date().toISOString()}; node ${process.version}, ${os.cpus().length} CPUs (${cpu}); ${RUNS} interleaved runs per command, medians (min–max).`, '');
  out.push(`after = \`${PKG.bin['rdp-probe']}\` (the published bin); before = ${haveBefore ? `\`${BEFORE.replace(`${ROOT}/`, '')}\` (${process.env['SPEED_BEFORE_REF'] ?? 'the tsc build of the starting commit'})` : 'not built (bench/speed/build-before.sh)'}.`, '');
  for (const [w, p] of also) out.push(`${w} = \`${p.replace(`${ROOT}/`, '')}\`.`, '');
  out.push(`Load: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (1, 5, 15 min) at the end of the run; a shared machine, so every figure below is a ratio of medians of runs interleaved round by round.`, '');
  out.push('| command | median | min–max | exit codes |', '|---|---|---|---|');
  for (const c of cmds) {
    const s = summarize(times.get(c.id)!)!;
    out.push(`| \`${c.label}\` | ${s.median.toFixed(0)} ms | ${s.min.toFixed(0)}–${s.max.toFixed(0)} ms | ${[...codes.get(c.id)!].join(',')} |`);
  }
  out.push('', '## Goals (ratios of medians from this run)', '', `| figure | goal | ${clis.map(([w]) => w).join(' | ')} |`, `|---|---|${clis.map(() => '---').join('|')}|`);
  const row = (name: string, goal: string, f: (w: string) => string): void => void out.push(`| ${name} | ${goal} | ${clis.map(([w]) => f(w)).join(' | ')} |`);
  const x = (v: number): string => `${v.toFixed(2)}×`;
  row('`--help` ÷ `node -e 0`', '≤ 2×', (w) => x(med(`${w}:help`) / med('node')));
  row('`--version` ÷ `node -e 0`', '—', (w) => x(med(`${w}:version`) / med('node')));
  row('`explain 0x3 0x7` ÷ `node -e 0`', '—', (w) => x(med(`${w}:explain`) / med('node')));
  row('nmap ÷ `check` closed port', '≥ 1.5×', (w) => x(med('nmap-closed') / med(`${w}:closed`)));
  row('nmap ÷ `check` live xrdp (defaults)', '≥ 10×', (w) => x(med('nmap-live') / med(`${w}:live`)));
  row('`check` live xrdp ÷ one bare `net.connect` process', '—', (w) => x(med(`${w}:live`) / med('connect')));
  row('`check --lab nla`', '< 500 ms', (w) => `${med(`${w}:lab`).toFixed(0)} ms`);
  out.push('');
});
