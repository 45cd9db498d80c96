/**
 * One timer for every deadline of the process (a coarse timer wheel): thousands of probes in flight each hold a
 * target deadline and a stage deadline, and one Node timer per deadline (plus its re-arming at every send) was a
 * measurable part of a probe's cost. Deadlines are kept in buckets of SLOT_MS and fire at or after their time
 * (never early), at most one slot late; one setTimeout is armed for the earliest bucket.
 */
const SLOT_MS = 10;

export interface Deadline {
  /** Forget the deadline (idempotent). */
  cancel(): void;
}

/**
 * A pending deadline, in its bucket at `index`. Cancelling takes it out at once (the bucket's last entry moves into
 * its place): a cancelled deadline leaves nothing behind. (Left in place until a sweep, a scan's cancelled
 * deadlines lived through several scavenges and were promoted to the old generation, a thousand at a time.)
 */
class Entry implements Deadline {
  constructor(
    public fn: (() => void) | undefined,
    public bucket: Entry[] | undefined,
    public index: number,
    readonly key: number,
  ) {}
  cancel(): void {
    if (this.fn === undefined) return;
    this.fn = undefined;
    live--;
    // No bucket: it is due and fire() holds it (an earlier callback of the same slot cancels it: it never runs).
    const b = this.bucket;
    if (b !== undefined) {
      this.bucket = undefined;
      const last = b.pop()!;
      if (last !== this) {
        b[this.index] = last;
        last.index = this.index;
      }
      if (b.length === 0) dropBucket(this.key);
    }
    if (live === 0) reset();
  }
}

const buckets = new Map<number, Entry[]>();
/** Bucket keys, earliest first (kept sorted; few distinct keys are live at once). */
const keys: number[] = [];
let timer: NodeJS.Timeout | undefined;
let armedFor = Infinity;
/** Pending entries: with none left no timer is armed, so no deadline keeps the process up once all are cancelled. */
let live = 0;

/** Calls fn once ms from now unless cancelled first. */
export function after(ms: number, fn: () => void): Deadline {
  const key = Math.ceil((performance.now() + Math.max(0, ms)) / SLOT_MS);
  let bucket = buckets.get(key);
  if (!bucket) {
    bucket = [];
    buckets.set(key, bucket);
    insertKey(key);
  }
  const entry = new Entry(fn, bucket, bucket.length, key);
  bucket.push(entry);
  live++;
  arm();
  return entry;
}

/** Nothing is pending: no timer keeps the process alive. */
function reset(): void {
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
  armedFor = Infinity;
  keys.length = 0;
  buckets.clear();
}

/** An emptied bucket goes (the armed timer, if it was for this one, fires for nothing and re-arms). */
function dropBucket(key: number): void {
  buckets.delete(key);
  const i = keys.indexOf(key);
  if (i >= 0) keys.splice(i, 1);
}

function insertKey(key: number): void {
  let i = keys.length;
  while (i > 0 && keys[i - 1]! > key) i--;
  keys.splice(i, 0, key);
}

function arm(): void {
  const first = keys[0];
  if (first === undefined) return;
  if (timer !== undefined && armedFor <= first) return;
  if (timer !== undefined) clearTimeout(timer);
  armedFor = first;
  timer = setTimeout(fire, Math.max(0, first * SLOT_MS - performance.now()));
}

function fire(): void {
  timer = undefined;
  // Due: every bucket up to the one this timer was armed for, even if the clock reads a hair earlier.
  const upTo = Math.max(armedFor, Math.floor(performance.now() / SLOT_MS));
  armedFor = Infinity;
  const due: Entry[] = [];
  while (keys.length > 0 && keys[0]! <= upTo) {
    const key = keys.shift()!;
    for (const e of buckets.get(key)!) {
      e.bucket = undefined;
      due.push(e);
    }
    buckets.delete(key);
  }
  for (const e of due) {
    const fn = e.fn;
    if (!fn) continue;
    e.fn = undefined;
    live--;
    fn();
  }
  if (live === 0) reset();
  else arm();
}

/**
 * Runs fn once when the signal aborts, unless cancelled first. Every probe of a scan listens on the scan's one
 * stop signal; EventTarget finds a listener to remove by walking its list (O(n) per probe, so 1024 probes in
 * flight were slower than 64). Here each signal has one real listener and an intrusive doubly linked list of
 * callbacks: O(1) to join and to leave, and nothing left behind. (A Set did the same in O(1), but its long-lived
 * hash table kept young callbacks reachable across scavenges: each probe's closures, and the socket behind them,
 * were promoted to the old generation; the /18 scan promoted three times what the bare connects do.)
 */
export function onAbort(signal: AbortSignal, fn: () => void): Deadline {
  if (signal.aborted) {
    fn();
    return { cancel() {} };
  }
  let list = watchers.get(signal);
  if (!list) {
    const l: WatchList = { head: undefined, tail: undefined };
    list = l;
    watchers.set(signal, l);
    signal.addEventListener(
      'abort',
      () => {
        watchers.delete(signal);
        // In join order; one cancelled by an earlier one's callback does not run (as with removeEventListener).
        const due: Watcher[] = [];
        for (let w = l.head; w !== undefined; w = w.next) due.push(w);
        l.head = l.tail = undefined;
        for (const w of due) {
          const fn = w.fn;
          w.fn = undefined;
          fn?.();
        }
      },
      { once: true },
    );
  }
  return new Watcher(list, fn);
}

/** Callbacks in the order they joined (as a Set or addEventListener would call them). */
interface WatchList {
  head: Watcher | undefined;
  tail: Watcher | undefined;
}

class Watcher implements Deadline {
  prev: Watcher | undefined;
  next: Watcher | undefined = undefined;
  constructor(
    private readonly list: WatchList,
    public fn: (() => void) | undefined,
  ) {
    this.prev = list.tail;
    if (list.tail) list.tail.next = this;
    else list.head = this;
    list.tail = this;
  }
  cancel(): void {
    if (this.fn === undefined) return;
    this.fn = undefined;
    const { prev, next, list } = this;
    if (prev) prev.next = next;
    else if (list.head === this) list.head = next;
    if (next) next.prev = prev;
    else if (list.tail === this) list.tail = prev;
    this.prev = this.next = undefined;
  }
}

const watchers = new WeakMap<AbortSignal, WatchList>();
