import { describe, expect, it } from 'vitest';
import { after, onAbort } from '../../src/transport/deadlines.js';

const timeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('the shared deadline timer', () => {
  it('fires each deadline once, never early and at most a slot or two late, in time order', async () => {
    const t0 = performance.now();
    const fired: { ms: number; at: number }[] = [];
    // More than a slot apart, so their order is defined (within one slot it is not).
    const wanted = [40, 0, 80, 20, 60];
    await new Promise<void>((done) => {
      for (const ms of wanted) after(ms, () => (fired.push({ ms, at: performance.now() - t0 }), fired.length === wanted.length && done()));
    });
    expect(fired.map((f) => f.ms)).toEqual([...wanted].sort((a, b) => a - b));
    for (const f of fired) {
      expect(f.at).toBeGreaterThanOrEqual(f.ms - 0.5);
      expect(f.at).toBeLessThan(f.ms + 60);
    }
  });

  it('a cancelled deadline never fires, and with none pending no timer holds the process', async () => {
    const before = timeouts();
    let fired = 0;
    const ds = Array.from({ length: 5000 }, (_, i) => after(30_000 + i, () => fired++));
    expect(timeouts()).toBeLessThanOrEqual(before + 1);
    for (const d of ds) d.cancel();
    ds[0]!.cancel();
    expect(timeouts()).toBeLessThanOrEqual(before);
    const kept = after(10, () => fired++);
    const gone = after(10, () => (fired += 100));
    gone.cancel();
    for (let i = 0; i < 100 && fired === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 30));
    expect(fired).toBe(1);
    kept.cancel();
    expect(timeouts()).toBeLessThanOrEqual(before);
  });

  it('a deadline set from inside a firing one still fires', async () => {
    const order: string[] = [];
    await new Promise<void>((done) => after(5, () => (order.push('a'), after(5, () => (order.push('b'), done())))));
    expect(order).toEqual(['a', 'b']);
  });
});

describe('onAbort: many listeners on one shared signal', () => {
  it('calls each live callback once on abort, never a cancelled one, and at once on an aborted signal', () => {
    const c = new AbortController();
    const calls: number[] = [];
    const subs = Array.from({ length: 2000 }, (_, i) => onAbort(c.signal, () => calls.push(i)));
    for (let i = 0; i < 2000; i += 2) subs[i]!.cancel();
    subs[1]!.cancel();
    subs[1]!.cancel();
    c.abort();
    expect(calls.length).toBe(999);
    expect(calls.every((i) => i % 2 === 1 && i !== 1)).toBe(true);
    c.abort();
    expect(calls.length).toBe(999);
    let late = 0;
    onAbort(c.signal, () => late++).cancel();
    expect(late).toBe(1);
  });

  it('leaving is O(1): 20,000 subscribe/cancel pairs on a signal holding 10,000 stay fast', () => {
    const c = new AbortController();
    const held = Array.from({ length: 10_000 }, () => onAbort(c.signal, () => undefined));
    const t0 = performance.now();
    for (let i = 0; i < 20_000; i++) onAbort(c.signal, () => undefined).cancel();
    const ms = performance.now() - t0;
    // addEventListener/removeEventListener walk the list: the same loop takes about a second there.
    expect(ms).toBeLessThan(500);
    for (const h of held) h.cancel();
  });
});
