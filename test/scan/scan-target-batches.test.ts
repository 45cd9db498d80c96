/**
 * Issue #11 item 2: scanTargetBatches, the engine with batches in and out (scripted runners, no sockets).
 * Slots are refilled from the probes' ends out of the batch in hand; results go out all at once per turn.
 */
import { describe, expect, it } from 'vitest';
import type { ProbeReport } from '../../src/probe/types.js';
import { scanTargetBatches, scanTargets, type ScanResult, type ScanTarget } from '../../src/scan/scan.js';
import { fakeReport } from '../helpers/scan-reports.js';

const target = (i: number): ScanTarget => ({ host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 3389 });
const index = (t: ScanTarget): number => t.host.split('.').slice(1).reduce((a, o) => a * 256 + Number(o), 0);
/** Batches of the given sizes over targets 0, 1, 2 … */
function sized(...sizes: number[]): ScanTarget[][] {
  let n = 0;
  return sizes.map((s) => Array.from({ length: s }, () => target(n++)));
}
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('scanTargetBatches', () => {
  // 2 in flight at 10/s (a 100 ms gap). The consumer takes `hold` ms per batch, so starts wait for it again and
  // again: at 290 ms the start due at 200 ms is held back 90 ms, at 300 ms a full gap. Crediting a start held back by
  // up to a gap (the code before) made the next start follow the 290 ms one by ~10 ms every turn.
  it.each([290, 300])('--rate: starts held back by a slow consumer (%i ms a batch) are not made up with a burst when it catches up', async (hold) => {
    const starts: number[] = [];
    const runner = async (t: ScanTarget) => (starts.push(performance.now()), fakeReport(t));
    for await (const _ of scanTargetBatches(sized(12), { concurrency: 2, rate: 10, runner }, 'turn')) await tick(hold);
    expect(starts).toHaveLength(12);
    const gaps = starts.slice(1).map((s, i) => s - starts[i]!);
    // A late timer is credited on the next gap (the rate does not drift), up to half a gap; a start held back
    // longer counts from when it goes out. So no two starts are closer than half a gap (less timer slack).
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(45);
  }, 20_000);

  it('never has more than `concurrency` probes in flight across uneven batches (an empty one too), and yields every target once in non-empty batches', async () => {
    let inFlight = 0;
    let peak = 0;
    const runner = async (t: ScanTarget) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await tick(1 + (index(t) % 4));
      inFlight--;
      return fakeReport(t);
    };
    const input = sized(5, 1, 17, 0, 40, 3);
    const got: ScanResult[][] = [];
    for await (const b of scanTargetBatches(input, { concurrency: 6, runner })) got.push(b);
    expect(peak).toBe(6);
    expect(got.every((b) => b.length > 0)).toBe(true);
    const hosts = got.flat().map((r) => r.target.host);
    expect(hosts).toHaveLength(66);
    expect(new Set(hosts).size).toBe(66);
  });

  it('starts targets in input order across batch boundaries; at one in flight results come in that order', async () => {
    const started: number[] = [];
    const runner = async (t: ScanTarget) => (started.push(index(t)), fakeReport(t));
    const order: number[] = [];
    for await (const b of scanTargetBatches(sized(3, 4, 1, 9), { concurrency: 1, runner })) order.push(...b.map((r) => index(r.target)));
    const all = Array.from({ length: 17 }, (_, i) => i);
    expect(started).toEqual(all);
    expect(order).toEqual(all);
    started.length = 0;
    for await (const _ of scanTargetBatches(sized(3, 4, 1, 9), { concurrency: 4, runner }));
    expect(started).toEqual(all);
  });

  it('holds at most one batch ahead of the probes started, and hands over at most 2 x concurrency results at once', async () => {
    const size = 10;
    const c = 4;
    let pulled = 0;
    let started = 0;
    let aheadMax = 0;
    async function* endless(): AsyncGenerator<ScanTarget[]> {
      for (let n = 0; ; n += size) {
        pulled += size;
        yield Array.from({ length: size }, (_, i) => target(n + i));
      }
    }
    const runner = async (t: ScanTarget) => {
      started++;
      aheadMax = Math.max(aheadMax, pulled - started);
      return fakeReport(t);
    };
    const stop = new AbortController();
    let got = 0;
    let biggest = 0;
    for await (const b of scanTargetBatches(endless(), { concurrency: c, signal: stop.signal, runner })) {
      biggest = Math.max(biggest, b.length);
      got += b.length;
      if (got >= 200) stop.abort();
      // A slow consumer: finished results must not pile up meanwhile.
      await tick(2);
    }
    expect(got).toBeGreaterThanOrEqual(200);
    expect(aheadMax).toBeLessThan(size);
    expect(biggest).toBeLessThanOrEqual(2 * c);
    // Nothing started beyond what was handed over, plus what one more turn may hold.
    expect(started).toBeLessThanOrEqual(got + 2 * c);
    expect(pulled - started).toBeLessThan(size);
  });

  it('leaving early aborts the probes in flight, starts no more, and closes the source', async () => {
    let started = 0;
    const aborted: string[] = [];
    let sourceClosed = false;
    async function* source(): AsyncGenerator<ScanTarget[]> {
      try {
        for (let n = 0; n < 1000; n += 8) yield Array.from({ length: 8 }, (_, i) => target(n + i));
      } finally {
        sourceClosed = true;
      }
    }
    const runner = async (t: ScanTarget, o: { signal?: AbortSignal }) => {
      started++;
      // Target 0 ends at once; the rest wait for the abort.
      if (index(t) !== 0) await new Promise<void>((r) => o.signal?.addEventListener('abort', () => (aborted.push(t.host), r()), { once: true }));
      return fakeReport(t);
    };
    let first: ScanResult[] | undefined;
    for await (const b of scanTargetBatches(source(), { concurrency: 5, runner })) {
      first = b;
      break;
    }
    expect(first?.map((r) => r.target.host)).toEqual(['10.0.0.0']);
    // Target 0's slot was refilled once before the consumer left.
    expect(started).toBe(6);
    expect(aborted).toHaveLength(5);
    expect(sourceClosed).toBe(true);
  });

  it("handover 'each' lets a consumer leave on a result before a refill's connection goes out; 'turn' does not", async () => {
    // Like net.connect, each probe sends its connection on the next tick, unless aborted by then.
    const run = async (handover: 'turn' | 'each'): Promise<{ connected: number; started: number }> => {
      let connected = 0;
      let started = 0;
      const runner = (t: ScanTarget, o: { signal?: AbortSignal }) =>
        new Promise<ProbeReport>((resolve) => {
          started++;
          process.nextTick(() => {
            if (o.signal?.aborted) return resolve(fakeReport(t));
            connected++;
            // Target 0 is answered at once; the others hang until the abort.
            if (index(t) === 0) resolve(fakeReport(t));
            else o.signal?.addEventListener('abort', () => resolve(fakeReport(t)), { once: true });
          });
        });
      for await (const b of scanTargetBatches(sized(20), { concurrency: 5, runner }, handover)) {
        expect(b.map((r) => index(r.target))).toEqual([0]);
        break;
      }
      return { connected, started };
    };
    // Both refilled target 0's slot; only 'turn' let that probe connect before the consumer saw the result.
    expect(await run('each')).toEqual({ connected: 5, started: 6 });
    expect(await run('turn')).toEqual({ connected: 6, started: 6 });
  });

  it('a stop ends the scan even while the source waits for a batch that never comes', async () => {
    const stop = new AbortController();
    async function* stalled(): AsyncGenerator<ScanTarget[]> {
      yield sized(3)[0]!;
      await new Promise(() => undefined); // stdin with no further line
    }
    const got: string[] = [];
    for await (const b of scanTargetBatches(stalled(), { concurrency: 4, signal: stop.signal, runner: async (t) => fakeReport(t) })) {
      got.push(...b.map((r) => r.target.host));
      if (got.length === 3) setTimeout(() => stop.abort(), 10);
    }
    expect(got).toEqual(['10.0.0.0', '10.0.0.1', '10.0.0.2']);
  });

  it('a source error starts no further probe: the results in flight are yielded, then the error is thrown', async () => {
    async function* broken(): AsyncGenerator<ScanTarget[]> {
      yield sized(4)[0]!;
      throw new Error('list unreadable');
    }
    const got: string[] = [];
    let started = 0;
    const runner = async (t: ScanTarget) => (started++, await tick(5), fakeReport(t));
    await expect(
      (async () => {
        for await (const b of scanTargetBatches(broken(), { concurrency: 2, runner })) got.push(...b.map((r) => r.target.host));
      })(),
    ).rejects.toThrow('list unreadable');
    // The first two started, and the next two from the batch in hand as slots freed; nothing after the error.
    expect(got.sort()).toEqual(['10.0.0.0', '10.0.0.1', '10.0.0.2', '10.0.0.3']);
    expect(started).toBe(4);
  });

  it('a runner error starts no further probe and is thrown once those in flight are done', async () => {
    let started = 0;
    const runner = async (t: ScanTarget) => {
      started++;
      await tick(2);
      if (index(t) === 3) throw new Error('runner broke');
      return fakeReport(t);
    };
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const b of scanTargetBatches(sized(50), { concurrency: 3, runner })) got.push(...b.map((r) => index(r.target)));
      })(),
    ).rejects.toThrow('runner broke');
    expect(started).toBeLessThan(10);
    expect(got).not.toContain(3);
  });

  it('scanTargets is the same engine one result at a time; an array is taken whole, a generator pulled as needed', async () => {
    let pulled = 0;
    function* gen(): Generator<ScanTarget> {
      for (let i = 0; i < 30; i++) {
        pulled++;
        yield target(i);
      }
    }
    let maxAhead = 0;
    let started = 0;
    const runner = async (t: ScanTarget) => {
      started++;
      maxAhead = Math.max(maxAhead, pulled - started);
      return fakeReport(t);
    };
    const a: string[] = [];
    for await (const r of scanTargets(gen(), { concurrency: 3, runner })) a.push(r.target.host);
    expect(a).toHaveLength(30);
    // A target is pulled only when a slot is free for it.
    expect(maxAhead).toBe(0);
    const b: string[] = [];
    for await (const r of scanTargets(sized(30)[0]!, { concurrency: 3, runner })) b.push(r.target.host);
    expect(b.sort()).toEqual([...a].sort());
  });
});
