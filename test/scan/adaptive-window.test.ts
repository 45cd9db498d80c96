/**
 * Issue #11 item 2, "no slowdown from -c 64 to -c 1024": the adaptive window (src/scan/scan.ts AdaptiveWindow).
 * The rules alone, then the engine with scripted runners: probes that end at once and keep the loop busy shrink
 * the window to its floor; probes that wait keep (or win back) every slot `concurrency` allows.
 */
import { describe, expect, it } from 'vitest';
import { AdaptiveWindow, scanTargetBatches, type ScanTarget } from '../../src/scan/scan.js';
import { fakeReport } from '../helpers/scan-reports.js';

const target = (i: number): ScanTarget => ({ host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 3389 });
const targets = (n: number): ScanTarget[] => Array.from({ length: n }, (_, i) => target(i));
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('AdaptiveWindow', () => {
  it('starts at concurrency, with a floor of 64 (or concurrency when that is lower)', () => {
    expect(new AdaptiveWindow(1024)).toMatchObject({ window: 1024, floor: 64 });
    expect(new AdaptiveWindow(20)).toMatchObject({ window: 20, floor: 20 });
  });

  it('a busy loop with the window turned over halves it, or quarters it when twice that ended, down to the floor', () => {
    const w = new AdaptiveWindow(1024);
    expect(w.tick(1, 1024, false)).toBe(false);
    expect(w.window).toBe(512);
    w.tick(0.97, 1100, true);
    expect(w.window).toBe(128);
    w.tick(1, 5000, true);
    expect(w.window).toBe(64);
    w.tick(1, 5000, true);
    expect(w.window).toBe(64);
  });

  it('a busy loop whose probes do not end (starting a thousand that wait) keeps it', () => {
    const w = new AdaptiveWindow(10_000);
    w.tick(1, 0, false);
    w.tick(1, 9_999, true);
    expect(w.window).toBe(10_000);
  });

  it('a loop with time to spare doubles it when the window held a probe back, up to concurrency; never when nothing waited', () => {
    const w = new AdaptiveWindow(1000);
    w.tick(1, 1000, true);
    w.tick(1, 2000, true);
    w.tick(1, 2000, true);
    expect(w.window).toBe(64);
    expect(w.tick(0.5, 10, false)).toBe(false);
    expect(w.window).toBe(64);
    expect(w.tick(0.5, 10, true)).toBe(true);
    expect(w.window).toBe(128);
    for (let i = 0; i < 5; i++) w.tick(0.2, 0, true);
    expect(w.window).toBe(1000);
    // Between the two thresholds nothing moves.
    w.tick(0.9, 5000, true);
    expect(w.window).toBe(1000);
  });
});

describe('the scan engine with the adaptive window', () => {
  /** Runners that end at once after `spinMs` of CPU (a closed port answered on loopback), counting what is in flight. */
  function cpuBound(spinMs: number) {
    const seen = { inFlight: 0, late: [] as number[], started: 0 };
    const runner = async (t: ScanTarget) => {
      seen.inFlight++;
      seen.started++;
      // Let every start of this turn happen first, as sockets would.
      await new Promise<void>((r) => setImmediate(r));
      const until = performance.now() + spinMs;
      while (performance.now() < until) {
        /* the CPU a probe costs */
      }
      seen.late.push(seen.inFlight);
      seen.inFlight--;
      return fakeReport(t);
    };
    return { runner, seen };
  }

  it('probes that end at once with the loop busy: the window comes down to the floor (64), and every target is reported once', async () => {
    const { runner, seen } = cpuBound(0.02);
    const got = new Set<string>();
    for await (const batch of scanTargetBatches([targets(20_000)], { concurrency: 1024, runner }, 'turn')) for (const r of batch) got.add(r.target.host);
    expect(got.size).toBe(20_000);
    // Early on 1024 are in flight; by the last 6,000 the window is at its floor.
    expect(Math.max(...seen.late.slice(0, 2000))).toBeGreaterThan(512);
    expect(Math.max(...seen.late.slice(14_000))).toBeLessThanOrEqual(64);
  }, 60_000);

  it('adaptive: false holds concurrency in flight all along', async () => {
    const { runner, seen } = cpuBound(0.02);
    for await (const _ of scanTargetBatches([targets(14_000)], { concurrency: 1024, runner, adaptive: false }, 'turn')) void _;
    expect(Math.max(...seen.late.slice(10_000))).toBeGreaterThan(512);
  }, 60_000);

  it('probes that wait (hung servers) get every slot: the window never shrinks while they are started', async () => {
    let inFlight = 0;
    let peak = 0;
    const runner = async (t: ScanTarget) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await tick(400);
      inFlight--;
      return fakeReport(t);
    };
    for await (const _ of scanTargetBatches([targets(3000)], { concurrency: 3000, runner }, 'turn')) void _;
    expect(peak).toBe(3000);
  }, 30_000);

  it('a scan whose probes turn slow after a fast start wins its slots back', async () => {
    let inFlight = 0;
    const late: number[] = [];
    const fast: number[] = [];
    let n = 0;
    const runner = async (t: ScanTarget) => {
      const i = n++;
      inFlight++;
      if (i < 16_000) {
        await new Promise<void>((r) => setImmediate(r));
        const until = performance.now() + 0.02;
        while (performance.now() < until) {
          /* CPU */
        }
        if (i >= 12_000) fast.push(inFlight);
      } else {
        await tick(300);
        late.push(inFlight);
      }
      inFlight--;
      return fakeReport(t);
    };
    for await (const _ of scanTargetBatches([targets(20_000)], { concurrency: 1024, runner }, 'turn')) void _;
    // The window had shrunk to its floor by the end of the fast part; it doubled back up to 1024 as the slow ones waited.
    expect(Math.max(...fast)).toBeLessThanOrEqual(64);
    expect(Math.max(...late)).toBe(1024);
  }, 60_000);
});
