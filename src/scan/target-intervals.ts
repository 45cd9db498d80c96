/**
 * A set of bigint values stored as sorted, merged, inclusive intervals [start, end]. Membership and "where
 * does the answer change next" are binary searches, O(log n) in the number of intervals, however many
 * addresses the intervals cover.
 *
 * Inserts in ascending order (the common case: a list file sorted by address, results written in scan
 * order) append or extend the last interval in O(1). Out-of-order inserts go to a small sorted side list
 * that is merged into the main list in one linear pass when it grows past a limit, so n random inserts cost
 * O(n²/limit) element moves instead of O(n²) — a million shuffled single addresses stay in the seconds.
 */

/** What a set says about x: whether x is in it, and the first value after x where that may change. */
export interface Probe {
  inside: boolean;
  /** First value > x at which `inside` may differ; undefined when it never changes again. */
  next: bigint | undefined;
}

class SortedIntervals {
  starts: bigint[] = [];
  ends: bigint[] = [];

  get length(): number {
    return this.starts.length;
  }

  /** Index of the last interval with start <= x, or -1. */
  private floor(x: bigint): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid]! <= x) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  probe(x: bigint): Probe {
    const i = this.floor(x);
    if (i >= 0 && this.ends[i]! >= x) return { inside: true, next: this.ends[i]! + 1n };
    const n = this.starts[i + 1];
    return { inside: false, next: n };
  }

  /** Insert [a, b], merging with overlapping or adjacent intervals. */
  add(a: bigint, b: bigint): void {
    const len = this.starts.length;
    // Fast path: at or after the end.
    if (len === 0 || a > this.ends[len - 1]! + 1n) {
      this.starts.push(a);
      this.ends.push(b);
      return;
    }
    if (a >= this.starts[len - 1]!) {
      if (b > this.ends[len - 1]!) this.ends[len - 1] = b;
      return;
    }
    // General case: find the run of intervals touching [a-1, b+1].
    let first = this.floor(a);
    if (first < 0 || this.ends[first]! + 1n < a) first++;
    let last = first - 1;
    while (last + 1 < len && this.starts[last + 1]! <= b + 1n) last++;
    if (last < first) {
      this.starts.splice(first, 0, a);
      this.ends.splice(first, 0, b);
      return;
    }
    const s = this.starts[first]! < a ? this.starts[first]! : a;
    const e = this.ends[last]! > b ? this.ends[last]! : b;
    this.starts.splice(first, last - first + 1, s);
    this.ends.splice(first, last - first + 1, e);
  }

  /** Merge another sorted list into this one in a single pass. */
  absorb(o: SortedIntervals): void {
    const s: bigint[] = [];
    const e: bigint[] = [];
    let i = 0;
    let j = 0;
    const push = (a: bigint, b: bigint): void => {
      const k = s.length - 1;
      if (k >= 0 && a <= e[k]! + 1n) {
        if (b > e[k]!) e[k] = b;
      } else {
        s.push(a);
        e.push(b);
      }
    };
    while (i < this.starts.length || j < o.starts.length) {
      if (j >= o.starts.length || (i < this.starts.length && this.starts[i]! <= o.starts[j]!)) {
        push(this.starts[i]!, this.ends[i]!);
        i++;
      } else {
        push(o.starts[j]!, o.ends[j]!);
        j++;
      }
    }
    this.starts = s;
    this.ends = e;
  }
}

const SIDE_LIMIT = 4096;

export class IntervalSet {
  private main = new SortedIntervals();
  private side = new SortedIntervals();

  /** Number of stored intervals (not values). */
  get intervals(): number {
    return this.main.length + this.side.length;
  }

  add(a: bigint, b: bigint): void {
    if (b < a) return;
    const m = this.main;
    const len = m.length;
    if (len === 0 || a >= m.starts[len - 1]!) m.add(a, b);
    else {
      this.side.add(a, b);
      if (this.side.length > SIDE_LIMIT) {
        m.absorb(this.side);
        this.side = new SortedIntervals();
      }
    }
  }

  has(x: bigint): boolean {
    return this.main.probe(x).inside || (this.side.length > 0 && this.side.probe(x).inside);
  }

  /**
   * Status at x and a point before which it cannot change. `next` may be conservative (an earlier point
   * where the answer happens to stay the same) — callers only need constant status on [x, next).
   */
  probe(x: bigint): Probe {
    const p = this.main.probe(x);
    if (this.side.length === 0) return p;
    return unionProbe(p, this.side.probe(x));
  }
}

/** Combine two probes of sets A and B at the same x into a probe of A ∪ B. */
export function unionProbe(p: Probe, q: Probe): Probe {
  if (p.inside && q.inside) return { inside: true, next: maxNext(p.next, q.next) };
  if (p.inside) return p; // in A until p.next; B cannot take it out before then
  if (q.inside) return q;
  return { inside: false, next: minNext(p.next, q.next) };
}

/** undefined means "never" (infinity). */
export function minNext(a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a < b ? a : b;
}

function maxNext(a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  if (a === undefined || b === undefined) return undefined;
  return a > b ? a : b;
}
