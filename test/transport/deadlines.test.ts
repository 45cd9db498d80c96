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

describe('the shared deadline timer: cancelling', () => {
  it('a deadline cancelled by another of its own slot as that one fires never runs; the rest of the slot still does', async () => {
    const ran: string[] = [];
    const victims = Array.from({ length: 4 }, (_, i) => ({ name: `v${i}`, d: undefined as undefined | { cancel(): void } }));
    await new Promise<void>((done) => {
      // All in one slot: whichever fires first cancels the others of the first kind.
      const killer = after(15, () => {
        ran.push('killer');
        for (const v of victims) v.d?.cancel();
      });
      for (const v of victims) v.d = after(15, () => ran.push(v.name));
      after(15, () => ran.push('bystander'));
      after(40, () => done());
      void killer;
    });
    // Either the killer ran before the victims (none of them ran) or after some: never a victim after the killer.
    const k = ran.indexOf('killer');
    expect(k).toBeGreaterThanOrEqual(0);
    expect(ran.slice(k + 1).some((x) => x.startsWith('v'))).toBe(false);
    expect(ran).toContain('bystander');
  });

  it('cancelling leaves nothing pending: 100,000 set-and-cancel pairs among 1,000 live ones, then each live one fires once', async () => {
    let fired = 0;
    const held = Array.from({ length: 1000 }, (_, i) => after(20 + (i % 5), () => fired++));
    for (let i = 0; i < 100_000; i++) after(5000 + (i % 300), () => (fired += 1_000_000)).cancel();
    // Cancel every other live one, out of order (the bucket's last entry moves into the hole).
    for (let i = 999; i >= 0; i -= 2) held[i]!.cancel();
    for (let i = 0; i < 100 && fired < 500; i++) await new Promise((r) => setTimeout(r, 10));
    expect(fired).toBe(500);
    expect(timeouts()).toBeLessThanOrEqual(1);
  });
});

describe('onAbort: order and leaving during the abort', () => {
  it('calls callbacks in the order they joined; one that cancels a later one keeps it from running', () => {
    const c = new AbortController();
    const calls: number[] = [];
    const subs: { cancel(): void }[] = [];
    for (let i = 0; i < 6; i++) subs.push(onAbort(c.signal, () => (calls.push(i), i === 1 && subs[4]!.cancel())));
    subs[2]!.cancel();
    // Leaving and joining again puts it last.
    subs[0]!.cancel();
    subs[0] = onAbort(c.signal, () => calls.push(0));
    c.abort();
    expect(calls).toEqual([1, 3, 5, 0]);
  });
});
