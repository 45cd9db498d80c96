/**
 * A million SYN-only flows in bounded memory (issue #9 item 4): a capture of 1,000,000 client SYNs to 4,096 RDP
 * targets (every tenth retransmitted once, 21 s later), 1.1 million packets, 77 MB, is streamed to a temp file and
 * analysed in a child process whose V8 old space is capped at 160 MB (--max-old-space-size=160): the whole-file path
 * needed ~1 KB a flow and could not finish in that. The result counts every flow: the first MAX_SYN_ONLY_REPORTS
 * get reports of their own, the rest one summary by target.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FLOWS = 1_000_000;
const TARGETS = 4096;
const HEAP_MB = 160;
let dir = '';

/** One Ethernet/IPv4/TCP SYN record (16 + 54 bytes) per call, written through a 1 MiB buffer. */
function writeCapture(file: string): number {
  const fd = openSync(file, 'w');
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(65535, 16);
  hdr.writeUInt32LE(1, 20);
  writeSync(fd, hdr);
  const buf = Buffer.alloc(1 << 20);
  let at = 0;
  let packets = 0;
  const put = (i: number, us: number): void => {
    if (at + 70 > buf.length) {
      writeSync(fd, buf, 0, at);
      at = 0;
    }
    const r = buf.subarray(at, at + 70);
    r.fill(0);
    r.writeUInt32LE(Math.floor(us / 1e6), 0);
    r.writeUInt32LE(us % 1e6, 4);
    r.writeUInt32LE(54, 8);
    r.writeUInt32LE(54, 12);
    r.writeUInt16BE(0x0800, 16 + 12);
    const ip = 16 + 14;
    r[ip] = 0x45;
    r.writeUInt16BE(40, ip + 2);
    r[ip + 8] = 64;
    r[ip + 9] = 6;
    r.set([10, (i >> 16) & 255, (i >> 8) & 255, i & 255], ip + 12);
    const t = i % TARGETS;
    r.set([172, 16, t >> 8, t & 255], ip + 16);
    const tcp = ip + 20;
    r.writeUInt16BE(40000 + (i % 20000), tcp);
    r.writeUInt16BE(3389, tcp + 2);
    r.writeUInt32BE((i * 2654435761) >>> 0, tcp + 4);
    r[tcp + 12] = 0x50;
    r[tcp + 13] = 0x02; // SYN
    r.writeUInt16BE(64240, tcp + 14);
    at += 70;
    packets++;
  };
  const t0 = 1_700_000_000 * 1e6;
  for (let i = 0; i < FLOWS; i++) put(i, t0 + i * 20);
  for (let i = 0; i < FLOWS; i += 10) put(i, t0 + 21e6 + i * 20);
  writeSync(fd, buf, 0, at);
  closeSync(fd);
  return packets;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'syn-million-'));
  const entry = path.join(dir, 'entry.ts');
  writeFileSync(
    entry,
    `import fs from 'node:fs';
import { analyzeSource } from ${JSON.stringify(path.join(ROOT, 'src/pcap/analyze.ts'))};
import { FileSource } from ${JSON.stringify(path.join(ROOT, 'src/pcap/source.ts'))};
const fd = fs.openSync(process.argv[2], 'r');
const a = analyzeSource(new FileSource(fd));
const r = a.connections.map((c) => c.report);
process.stdout.write(JSON.stringify({
  packets: a.packets, tcpFlows: a.tcpFlows, reports: r.length,
  timeouts: r.filter((x) => x.stages.find((s) => s.stage === 'tcp')?.error?.kind === 'connect_timeout').length,
  retried: r.filter((x) => (x.stages.find((s) => s.stage === 'tcp')?.facts?.synFrames?.length ?? 0) === 2).length,
  firstIds: a.connections.slice(0, 3).map((c) => c.flow), synOnly: a.synOnly, heapMb: process.memoryUsage().heapUsed / 1e6,
}));`,
  );
  await build({
    entryPoints: [entry],
    outfile: path.join(dir, 'entry.mjs'),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'error',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it(`a million SYN-only flows analyse within a ${HEAP_MB} MB old space, every flow counted`, () => {
  const file = path.join(dir, 'syn-million.pcap');
  const packets = writeCapture(file);
  expect(packets).toBe(FLOWS + FLOWS / 10);
  expect(statSync(file).size).toBe(24 + packets * 70);
  const p = spawnSync(process.execPath, [`--max-old-space-size=${HEAP_MB}`, path.join(dir, 'entry.mjs'), file], { encoding: 'utf8', timeout: 240_000, maxBuffer: 1 << 20 });
  expect(p.stderr).toBe('');
  expect(p.status).toBe(0);
  const r = JSON.parse(p.stdout) as { packets: number; tcpFlows: number; reports: number; timeouts: number; retried: number; firstIds: number[]; synOnly: { flows: number; syns: number; targets: number; top: { server: string; flows: number }[] }; heapMb: number };
  expect(r.packets).toBe(packets);
  expect(r.tcpFlows).toBe(FLOWS);
  // The first 1000 flows keep the RDP report shape: a tcp stage that timed out; every tenth had two SYNs.
  expect(r.reports).toBe(1000);
  expect(r.timeouts).toBe(1000);
  expect(r.retried).toBe(100);
  expect(r.firstIds).toEqual([1, 2, 3]);
  expect(r.synOnly.flows).toBe(FLOWS - 1000);
  expect(r.synOnly.syns).toBe(packets - 1100);
  expect(r.synOnly.targets).toBe(TARGETS);
  expect(r.synOnly.top[0]).toMatchObject({ flows: Math.ceil((FLOWS - 1000) / TARGETS) });
}, 300_000);
