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

interface Entry extends Deadline {
  fn: (() => void) | undefined;
}

const buckets = new Map<number, Entry[]>();
/** Bucket keys, earliest first (kept sorted; few distinct keys are live at once). */
const keys: number[] = [];
let timer: NodeJS.Timeout | undefined;
let armedFor = Infinity;
/** Live entries: the timer is unref'd only when none is left, so a pending deadline keeps the process up as a timer would. */
let live = 0;
/** Cancelled entries still in a bucket: swept when they outnumber the live ones. */
let dead = 0;

/** Calls fn once ms from now unless cancelled first. */
export function after(ms: number, fn: () => void): Deadline {
  const key = Math.ceil((performance.now() + Math.max(0, ms)) / SLOT_MS);
  const entry: Entry = {
    fn,
    cancel() {
      if (entry.fn === undefined) return;
      entry.fn = undefined;
      live--;
      dead++;
      if (live === 0) reset();
      else if (dead > 1024 && dead > live) sweep();
    },
  };
  live++;
  let bucket = buckets.get(key);
  if (!bucket) {
    bucket = [];
    buckets.set(key, bucket);
    insertKey(key);
  }
  bucket.push(entry);
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
  dead = 0;
}

function sweep(): void {
  for (let i = 0; i < keys.length; ) {
    const key = keys[i]!;
    const kept = buckets.get(key)!.filter((e) => e.fn !== undefined);
    if (kept.length === 0) {
      buckets.delete(key);
      keys.splice(i, 1);
    } else {
      buckets.set(key, kept);
      i++;
    }
  }
  dead = 0;
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
    for (const e of buckets.get(key)!) if (e.fn) due.push(e);
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
 * flight were slower than 64). Here each signal has one real listener and a Set of callbacks.
 */
export function onAbort(signal: AbortSignal, fn: () => void): Deadline {
  if (signal.aborted) {
    fn();
    return { cancel() {} };
  }
  let set = watchers.get(signal);
  if (!set) {
    const s = new Set<() => void>();
    set = s;
    watchers.set(signal, s);
    signal.addEventListener(
      'abort',
      () => {
        watchers.delete(signal);
        for (const f of [...s]) f();
      },
      { once: true },
    );
  }
  const mine = set;
  const entry = (): void => {
    mine.delete(entry);
    fn();
  };
  mine.add(entry);
  return { cancel: () => void mine.delete(entry) };
}

const watchers = new WeakMap<AbortSignal, Set<() => void>>();
