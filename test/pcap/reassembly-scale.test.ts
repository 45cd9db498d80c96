/**
 * Reassembly work grows as n log n in segments, whatever their order: counted in sweep and heap steps (not timed,
 * so a busy machine cannot fail it). 50,000 reversed 1-byte segments, and 50,000 scattered ones (every other
 * byte first, then the rest) that made the old sorted-interval insertion quadratic.
 */
import { describe, expect, it } from 'vitest';
import type { TcpSegment } from '../../src/pcap/decode-packet.js';
import { reassembleDirection, type ReassemblyStats } from '../../src/pcap/tcp-stream.js';

const N = 50_000;
const flags = { syn: false, ack: true, fin: false, rst: false, psh: true, urg: false, ece: false, cwr: false };

function seg(offset: number, frame: number, len = 1): TcpSegment {
  const payload = new Uint8Array(len).map((_, k) => (offset + k) & 0xff);
  return { src: '10.0.0.1', dst: '10.0.0.2', srcPort: 50000, dstPort: 3389, seq: (0xfffff000 + offset) >>> 0, ack: 1, flags, window: 1000, payload, payloadLength: len, frame, timestampUs: frame } as unknown as TcpSegment;
}

function check(segs: TcpSegment[]): ReassemblyStats {
  const stats: ReassemblyStats = { steps: 0 };
  const d = reassembleDirection(segs, undefined, stats);
  // The counter really counts: every segment is at least one step.
  expect(stats.steps).toBeGreaterThanOrEqual(segs.length);
  expect(d.bytes.length).toBe(N);
  expect(d.gaps).toBe(0);
  for (let i = 0; i < N; i += 997) expect(d.bytes[i]).toBe(i & 0xff);
  return stats;
}

describe('reassembly is O(n log n) in segments', () => {
  it(`${N} reversed 1-byte segments (wrapping past 2^32)`, () => {
    const segs = Array.from({ length: N }, (_, k) => seg(N - 1 - k, k + 1));
    const s = check(segs);
    // n log2 n is about 16 n here; an insertion into a sorted list would be ~n^2/4 = 6.25e8.
    expect(s.steps).toBeLessThan(40 * N);
  });

  it(`${N} scattered segments: every other byte first, then the rest, then duplicates of everything`, () => {
    const order = [...Array.from({ length: N / 2 }, (_, k) => 2 * k), ...Array.from({ length: N / 2 }, (_, k) => 2 * k + 1)];
    const segs = order.map((o, k) => seg(o, k + 1));
    // Overlapping retransmissions (3 bytes from every 5th offset) come later: the first copy still wins.
    for (let o = 0; o + 3 <= N; o += 5) segs.push({ ...seg(o, segs.length + 1, 3), payload: new Uint8Array(3).fill(0xee) } as TcpSegment);
    const s = check(segs);
    expect(s.steps).toBeLessThan(40 * segs.length);
  });
});
