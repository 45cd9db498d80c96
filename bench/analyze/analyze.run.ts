/**
 * `rdp-probe analyze` against `tshark -r FILE -Y rdp` on the same ~100 MB capture, in one run: wall time ratio and
 * peak RSS of each (GNU time). The capture is built here (never committed): every Ethernet/IPv4 packet of the
 * shared captures, copied with the addresses shifted per copy (second and third octets) and the timestamps moved
 * on, so each copy's connections are new ones; written as one classic pcap under the OS temp directory.
 * Goals from issue #9: analyze at least 2x tshark's speed, at most 300 MB peak RSS. Figures go to results.md.
 *   npx vitest run --config bench/analyze/vitest.config.ts      (BENCH_MB=100 by default)
 * BENCH_FILE=/tmp/x.pcap keeps the built capture there (and reuses it when it exists) for profiling runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, createWriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import { readCapture } from '../../src/pcap/capture.js';

const ROOT = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const SHARED = path.resolve(ROOT, '../shared/captures');
const TARGET_MB = Number(process.env['BENCH_MB'] ?? 100);

function captureFiles(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = path.join(dir, n);
    if (statSync(p).isDirectory()) out.push(...captureFiles(p));
    else if (/\.(pcap|pcapng|cap)$/i.test(n)) out.push(p);
  }
  return out.sort();
}

/** Ethernet frames carrying IPv4 from every shared capture, with their timestamps relative to the file's first. */
function basePackets(): { us: number; data: Uint8Array }[] {
  const out: { us: number; data: Uint8Array }[] = [];
  let t = 0;
  for (const f of [...captureFiles(SHARED), ...captureFiles(path.join(ROOT, 'captures'))]) {
    let cap;
    try {
      cap = readCapture(new Uint8Array(readFileSync(f)));
    } catch {
      continue;
    }
    const t0 = cap.packets[0]?.timestampUs ?? 0;
    let last = 0;
    for (const p of cap.packets) {
      if (p.linkType !== 1 || p.data.length < 34 || p.data[12] !== 0x08 || p.data[13] !== 0x00) continue;
      last = p.timestampUs - t0;
      out.push({ us: t + last, data: Uint8Array.from(p.data) });
    }
    t += last + 1_000_000;
  }
  return out;
}

async function writeBigCapture(file: string): Promise<{ bytes: number; packets: number; copies: number }> {
  const base = basePackets();
  const perCopy = base.reduce((n, p) => n + 16 + p.data.length, 0);
  const copies = Math.max(1, Math.ceil((TARGET_MB * 1e6) / perCopy));
  const span = (base[base.length - 1]?.us ?? 0) + 1_000_000;
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(262144, 16);
  hdr.writeUInt32LE(1, 20);
  let bytes = 24;
  const fd = createWriteStream(file);
  fd.write(hdr);
  for (let k = 0; k < copies; k++) {
    for (const p of base) {
      const d = Buffer.from(p.data);
      // IPv4 source and destination: shift octets 2 and 3 by the copy number (both ends, so a flow stays a flow).
      for (const at of [14 + 12, 14 + 16]) {
        d[at + 1] = (d[at + 1]! + (k >> 8)) & 0xff;
        d[at + 2] = (d[at + 2]! + k) & 0xff;
      }
      const us = 1_700_000_000_000_000 + k * span + p.us;
      const rec = Buffer.alloc(16);
      rec.writeUInt32LE(Math.floor(us / 1e6) % 0x1_0000_0000, 0);
      rec.writeUInt32LE(Math.floor(us % 1e6), 4);
      rec.writeUInt32LE(d.length, 8);
      rec.writeUInt32LE(d.length, 12);
      fd.write(rec);
      fd.write(d);
      bytes += 16 + d.length;
    }
  }
  fd.end();
  await once(fd, 'finish');
  return { bytes, packets: base.length * copies, copies };
}

/** Size, packets and copies of a capture kept from an earlier run (BENCH_FILE). */
function describeCapture(file: string): { bytes: number; packets: number; copies: number } {
  const base = basePackets();
  const perCopy = base.reduce((n, p) => n + 16 + p.data.length, 0);
  const bytes = statSync(file).size;
  const copies = Math.round((bytes - 24) / perCopy);
  return { bytes, packets: base.length * copies, copies };
}

interface Run {
  wallS: number;
  /** User + system CPU seconds (GNU time): steadier than wall time on a shared machine. */
  cpuS: number;
  maxRssMb: number;
  code: number | null;
  stdoutBytes: number;
}

function timed(cmd: string[]): Promise<Run> {
  return new Promise((res) => {
    const t0 = performance.now();
    const p = spawn('/usr/bin/time', ['-f', 'MAXRSS %M CPU %U %S', ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    let n = 0;
    let err = '';
    p.stdout.on('data', (d: Buffer) => (n += d.length));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const kill = setTimeout(() => p.kill('SIGKILL'), 1_200_000);
    p.on('close', (code) => {
      clearTimeout(kill);
      const m = /MAXRSS (\d+) CPU ([\d.]+) ([\d.]+)/.exec(err);
      res({ wallS: (performance.now() - t0) / 1000, cpuS: m ? Number(m[2]) + Number(m[3]) : NaN, maxRssMb: m ? Number(m[1]) / 1024 : NaN, code, stdoutBytes: n });
    });
  });
}

it('analyze vs tshark -Y rdp on a ~100 MB capture', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-analyze-'));
  try {
    const keep = process.env['BENCH_FILE'];
    const file = keep ?? path.join(dir, 'big.pcap');
    const built = keep !== undefined && existsSync(keep) ? describeCapture(keep) : await writeBigCapture(file);
    if (process.env['BENCH_BUILD_ONLY'] === '1') return;
    const cli = path.join(dir, 'cli.cjs');
    const b = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), cli], { stdio: 'inherit' });
    if (b.status !== 0) throw new Error('CLI build failed');
    const tsharkVersion = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? '?';
    // The machine is shared: each tool runs ROUNDS times, alternating, and the best run of each is compared.
    const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
    const runs: { analyze: Run; tshark: Run }[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const analyze = await timed([process.execPath, cli, 'analyze', file, '--json']);
      const tshark = await timed(['tshark', '-r', file, '-Y', 'rdp']);
      runs.push({ analyze, tshark });
    }
    const best = (k: 'analyze' | 'tshark'): Run => runs.map((r) => r[k]).reduce((a, b) => (b.wallS < a.wallS ? b : a));
    const analyze = best('analyze');
    const tshark = best('tshark');
    const peak = (k: 'analyze' | 'tshark'): number => Math.max(...runs.map((r) => r[k].maxRssMb));
    const row = (name: string, r: Run, k: 'analyze' | 'tshark'): string =>
      `| ${name} | ${r.wallS.toFixed(2)} | ${r.cpuS.toFixed(2)} | ${peak(k).toFixed(0)} | ${r.code} | ${r.stdoutBytes} |`;
    const lines = [
      '# bench/analyze: `rdp-probe analyze` vs `tshark -r FILE -Y rdp`',
      '',
      `Run ${new Date().toISOString()} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, Node ${process.version}, ${tsharkVersion.replace(/\.$/, '')}.`,
      `Capture: ${(built.bytes / 1e6).toFixed(1)} MB, ${built.packets} packets: ${built.copies} address-shifted copies of the Ethernet/IPv4 packets of ../shared/captures and captures/ (built by analyze.run.ts, not committed).`,
      `Each tool ran ${ROUNDS} times, alternating; the table shows the fastest run of each (wall and its CPU), and the highest peak RSS of all runs.`,
      '',
      '| tool | wall s | CPU s | peak RSS MB | exit | stdout bytes |',
      '|---|---:|---:|---:|---:|---:|',
      row('rdp-probe analyze --json', analyze, 'analyze'),
      row('tshark -r FILE -Y rdp', tshark, 'tshark'),
      '',
      `All runs (wall s, analyze / tshark): ${runs.map((r) => `${r.analyze.wallS.toFixed(2)} / ${r.tshark.wallS.toFixed(2)}`).join(', ')}.`,
      '',
      `Speed: analyze takes ${(analyze.wallS / tshark.wallS).toFixed(2)}x tshark's wall time, ${(analyze.cpuS / tshark.cpuS).toFixed(2)}x its CPU time (goal: <= 0.5x). Peak RSS: ${peak('analyze').toFixed(0)} MB (goal: <= 300 MB).`,
      '',
      'Before the streaming reader (commit 9822ba8, whole file in memory: every packet, then every flow\'s segments, then the reports): 30.27 s wall, 1415 MB peak RSS, 4.95x tshark\'s wall time (6.12 s, 867 MB) on the same kind of capture.',
      'Now: the file is read through one buffer, each flow is analysed when it ends or idles and then forgotten, non-RDP flows keep no bytes after their first client bytes, SYN-only flows are table slots, certificates are decoded once per DER, and --json is written a connection at a time (the same text).',
      '',
    ];
    writeFileSync(path.join(ROOT, 'bench/analyze/results.md'), lines.join('\n'));
    process.stdout.write(lines.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
