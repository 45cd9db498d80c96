/**
 * The streamed reader and flow tracker against the whole-file path: every shared capture read through a FileSource
 * with a tiny window (so records straddle refills and the window grows for large blocks) analyses exactly as the
 * bytes in memory do; flows are handed on before the end of the file once idle; non-RDP flows are dropped at their
 * first client bytes; SYN-only flows to other ports are counted, never built.
 */
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCapture, analyzeSource } from '../../src/pcap/analyze.js';
import { FileSource } from '../../src/pcap/source.js';
import { streamCapture } from '../../src/pcap/capture.js';
import { readCapture } from '../../src/pcap/capture.js';
import { FlowTracker, type TcpFlow } from '../../src/pcap/tcp-reassembly.js';
import type { TcpSegment } from '../../src/pcap/decode-packet.js';
import { CAPTURES, loadCapture } from './files.js';

function captureFiles(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = path.join(dir, n);
    if (statSync(p).isDirectory()) out.push(...captureFiles(p));
    else if (/\.(pcap|pcapng|cap)$/i.test(n)) out.push(path.relative(CAPTURES, p));
  }
  return out.sort();
}

const files = captureFiles(CAPTURES);

describe('streamed analysis equals the in-memory one', () => {
  it('there are shared captures to compare', () => {
    expect(files.length).toBeGreaterThan(10);
  });
  it.each(files)('%s through a 64-byte FileSource window', (rel) => {
    const bytes = loadCapture(rel);
    let whole: unknown;
    try {
      whole = analyzeCapture(bytes);
    } catch (e) {
      whole = { error: String(e) };
    }
    const fd = openSync(path.join(CAPTURES, rel), 'r');
    let streamed: unknown;
    try {
      streamed = analyzeSource(new FileSource(fd, 64));
    } catch (e) {
      streamed = { error: String(e) };
    } finally {
      closeSync(fd);
    }
    expect(JSON.stringify(streamed)).toBe(JSON.stringify(whole));
  });
  it('streamCapture hands on the same packets (copied out of the window) as readCapture collects', () => {
    const rel = files.find((f) => f.endsWith('.pcapng')) ?? files[0]!;
    const want = readCapture(loadCapture(rel)).packets.map((p) => [p.index, p.timestampUs, Buffer.from(p.data).toString('hex')]);
    const fd = openSync(path.join(CAPTURES, rel), 'r');
    const got: unknown[] = [];
    try {
      const cap = streamCapture(new FileSource(fd, 100), { onPacket: (p) => got.push([p.index, p.timestampUs, Buffer.from(p.data).toString('hex')]) });
      expect(cap.packets).toEqual([]);
      expect(cap.packetCount).toBe(want.length);
    } finally {
      closeSync(fd);
    }
    expect(got).toEqual(want);
  });
});

const flags = (f: Partial<TcpSegment['flags']>): TcpSegment['flags'] => ({ syn: false, ack: false, fin: false, rst: false, psh: false, ...f });
function seg(frame: number, us: number, from: [string, number], to: [string, number], seq: number, f: Partial<TcpSegment['flags']>, payload = new Uint8Array(0)): TcpSegment {
  return { frame, timestampUs: us, src: from[0], dst: to[0], srcPort: from[1], dstPort: to[1], seq, ack: 0, flags: flags(f), payload, payloadLength: payload.length, ipVersion: 4 };
}

describe('FlowTracker streaming', () => {
  const c: [string, number] = ['10.0.0.1', 50000];
  const s: [string, number] = ['10.0.0.2', 3389];

  it('hands a closed flow on once idle, before the end, and drops a non-RDP flow at its first client bytes', () => {
    const seen: { id: number; when: number; flow: TcpFlow }[] = [];
    let pushed = 0;
    const asked: number[] = [];
    const t = new FlowTracker({
      idleUs: { closed: 1e6, open: 60e6, synOnly: 10e6 },
      keep: (f) => {
        asked.push(f.firstClientByte);
        return f.firstClientByte === 0x03;
      },
      onFlow: (flow) => seen.push({ id: flow.id, when: pushed, flow }),
    });
    const push = (x: TcpSegment): void => {
      pushed++;
      t.push(x);
    };
    push(seg(1, 0, c, s, 100, { syn: true }));
    push(seg(2, 10, s, c, 900, { syn: true, ack: true }));
    push(seg(3, 20, c, s, 101, { ack: true }));
    push(seg(4, 30, c, s, 101, { ack: true, psh: true }, Uint8Array.of(3, 0, 0, 4)));
    push(seg(5, 40, c, s, 105, { fin: true, ack: true }));
    // An HTTP flow on port 8080: dropped at its first client byte ('G').
    const hc: [string, number] = ['10.0.0.3', 40000];
    const hs: [string, number] = ['10.0.0.4', 8080];
    push(seg(6, 50, hc, hs, 1, { syn: true }));
    push(seg(7, 60, hs, hc, 2, { syn: true, ack: true }));
    push(seg(8, 70, hc, hs, 2, { ack: true, psh: true }, new TextEncoder().encode('GET / HTTP/1.1\r\n')));
    // 20,000 SYN-only flows to port 445 two seconds later: the RDP flow must be handed on among them.
    for (let i = 0; i < 20_000; i++) push(seg(9 + i, 2e6 + i, [`10.1.${i >> 8}.${i & 255}`, 1000 + (i % 5000)], ['10.9.9.9', 445], i, { syn: true }));
    expect(seen.map((x) => x.id)).toEqual([1]);
    expect(seen[0]!.when).toBeLessThan(20_000);
    expect(Buffer.from(seen[0]!.flow.clientBytes).toString('hex')).toBe('03000004');
    expect(seen[0]!.flow).toMatchObject({ handshake: 'complete', end: { fin: 'client' }, segments: 5 });
    t.finish();
    // The HTTP flow never comes out; the SYN-only flows do (no synOnlyPort filter here), in id order.
    expect(asked).toEqual([0x03, 0x47]);
    expect(seen.length).toBe(1 + 20_000);
    expect(seen.slice(1).every((x, i) => x.id === i + 3 && x.flow.handshake === 'syn_only')).toBe(true);
    expect(t.flows).toBe(20_002);
    expect(t.live).toBe(0);
  });

  it('synOnlyPort: SYN-only flows to other ports are counted but never built', () => {
    const seen: TcpFlow[] = [];
    const t = new FlowTracker({ synOnlyPort: 3389, onFlow: (f) => seen.push(f) });
    t.push(seg(1, 0, c, s, 7, { syn: true }));
    t.push(seg(2, 1e6, c, s, 7, { syn: true }));
    t.push(seg(3, 2e6, ['10.0.0.5', 3389], ['10.0.0.6', 445], 9, { syn: true }));
    t.finish();
    expect(seen.map((f) => [f.id, f.server.port, f.synFrames])).toEqual([[1, 3389, [1, 2]]]);
    expect(t.flows).toBe(2);
  });
});

describe('FileSource', () => {
  it('serves views across refills and grows for a request larger than its window', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'filesource-'));
    try {
      const file = path.join(dir, 'x.bin');
      const data = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7) & 0xff);
      writeFileSync(file, data);
      const fd = openSync(file, 'r');
      try {
        const src = new FileSource(fd, 16);
        expect(Array.from(src.view(0, 4))).toEqual(Array.from(data.subarray(0, 4)));
        expect(Array.from(src.view(10, 100))).toEqual(Array.from(data.subarray(10, 110)));
        expect(Array.from(src.view(5000, 4000))).toEqual(Array.from(data.subarray(5000, 9000)));
        expect(src.view(9990, 100).length).toBe(10);
        expect(src.view(10_000, 4).length).toBe(0);
        const v = src.view(9995, 5);
        expect(v instanceof Buffer).toBe(false); // slice() on it copies
      } finally {
        closeSync(fd);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
