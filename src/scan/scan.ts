/**
 * The scan engine: probes many targets with bounded concurrency, a start rate limit and a per-target deadline,
 * pulling targets lazily in batches (a /8 is never held in memory) and yielding reports as they are known (each
 * at once, or all those of one turn of the event loop together).
 * Interruption (the signal) stops new probes at once and gives those in flight a grace period to finish.
 */
import { setMaxListeners } from 'node:events';
import type { ProbeReport } from '../probe/types.js';
import { runProbe, type ProbeOptions } from '../transport/drive.js';
import { isLocalFailure, localFailureReason } from './local-failure.js';

export interface ScanTarget {
  host: string;
  port: number;
}

export interface ScanOptions {
  /** Probes in flight at once. */
  concurrency: number;
  /** Probe starts per second; undefined = as fast as concurrency allows. */
  rate?: number;
  /** Stop: no new probes start; in-flight ones get `graceMs` to finish, then abort. */
  signal?: AbortSignal;
  graceMs: number;
  /** Options for each probe (depth, deadlines, enumeration …). */
  probe: Partial<ProbeOptions>;
  /** TCP connect retries on a connect timeout (never for anything carrying credentials). */
  connectRetries: number;
  /** Runs one probe; tests and the lab can swap it. */
  runner?: (target: ScanTarget, options: Partial<ProbeOptions>) => Promise<ProbeReport>;
  /**
   * Called when a probe failed for want of a local resource (EMFILE, EADDRNOTAVAIL, ENOBUFS …) and the number of
   * probes in flight was halved; that target is probed again later.
   */
  onConcurrencyLowered?: (info: { from: number; to: number; reason: string; target: ScanTarget }) => void;
  /** Re-probes of one target after local failures before the scan gives up (default 5). */
  localRetries?: number;
  /**
   * Hold fewer than `concurrency` probes in flight while this machine's CPU, not the targets, is what limits the
   * scan (default true; see AdaptiveWindow). false: always `concurrency`.
   */
  adaptive?: boolean;
}

/** The scan cannot go on: this machine keeps failing (EMFILE …) even with one probe in flight. */
export class LocalFailureError extends Error {
  override readonly name = 'LocalFailureError';
  readonly code = 'local_failure';
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

/** How long leaving the loop early waits for aborted probes to let go of their sockets. */
const CLOSE_WAIT_MS = 2000;

export interface ScanResult {
  target: ScanTarget;
  report: ProbeReport;
  /** True when the stop signal cut this probe short: it is not a complete result. */
  interrupted: boolean;
}

export function defaultScanOptions(over: Partial<ScanOptions> = {}): ScanOptions {
  return { concurrency: 64, graceMs: 5000, probe: {}, connectRetries: 1, ...over };
}

/**
 * Probes every target; yields results in completion order, one at a time, each as soon as it is known: the
 * engine of scanTargetBatches with handover 'each' (see there). An array is taken whole, any other iterable is
 * pulled one target at a time, as a slot frees.
 */
export async function* scanTargets(targets: AsyncIterable<ScanTarget> | Iterable<ScanTarget>, options: Partial<ScanOptions> = {}): AsyncGenerator<ScanResult> {
  for await (const results of scanTargetBatches(singles(targets), options, 'each')) yield* results;
}

/** A flat source as batches: an array as one, anything else one target per batch, pulled as needed. */
function singles(targets: AsyncIterable<ScanTarget> | Iterable<ScanTarget>): AsyncIterable<readonly ScanTarget[]> | Iterable<readonly ScanTarget[]> {
  if (Array.isArray(targets)) return [targets];
  if (Symbol.asyncIterator in targets) {
    return (async function* () {
      for await (const t of targets) yield [t];
    })();
  }
  return (function* () {
    for (const t of targets) yield [t];
  })();
}

/** How often the adaptive window looks at the event loop (ms). */
const WINDOW_TICK_MS = 50;

/**
 * The number of probes in flight the scan holds, between a floor (64, or `concurrency` if that is lower) and
 * `concurrency`. Probes that end at once (closed ports, answers on loopback) make the scan CPU-bound: more of them
 * in flight then buys no speed, only a longer queue of half-done probes that every scavenge copies (at 1024 in
 * flight over a /16 of closed ports, garbage collection took 0.55 s against 0.19 s at 64, and the scan 1.4x as
 * long). Every tick it reads the event loop's utilization over the tick:
 * - busy (95% or more) while at least the window's worth of probes ended in the tick: halve (quarter when twice
 *   that ended), down to the floor;
 * - not busy (under 85%) while the window held back a probe: double, up to `concurrency`.
 * Probes that wait (a filtered range, hung servers) end slowly, so the window stays at `concurrency`, and
 * starting them (the loop is busy then, but few end) never shrinks it. Pure: the caller feeds it each tick.
 */
export class AdaptiveWindow {
  readonly floor: number;
  window: number;
  constructor(readonly max: number) {
    this.floor = Math.min(max, 64);
    this.window = max;
  }
  /** One tick: `busy` the loop's utilization over it (0..1), `ended` probes that ended in it, `heldBack` whether the window stopped a start. Returns true when the window grew. */
  tick(busy: number, ended: number, heldBack: boolean): boolean {
    if (busy >= 0.95 && ended >= this.window && this.window > this.floor) {
      // Twice the window's worth ended: it is far too large; a quarter gets there in half the ticks.
      this.window = Math.max(this.floor, this.window >> (ended >= 2 * this.window ? 2 : 1));
      return false;
    }
    if (busy < 0.85 && heldBack && this.window < this.max) {
      this.window = Math.min(this.max, this.window * 2);
      return true;
    }
    return false;
  }
}

/**
 * The `--rate` limit on probe starts, as a schedule: each start is due one gap (1000/rate ms) after the one
 * before. A due start counts from when it was due, not from when it went out, so a timer that fires late does not
 * pull the rate below the one asked for. That credit is bounded by the slack: a start held back longer (no slot was
 * free, the consumer was behind) counts from when it goes out, and the time lost is not made up with a burst. The
 * slack is half a gap, so no two starts are closer than that, but at least 2 ms: timers fire in whole milliseconds,
 * often one late, so above 250/s a firing lets out the few starts due by then (at most 2 ms worth), which is how
 * such a rate holds at all. (A credit of up to a whole gap let a start held back just under a gap be followed by
 * the next one almost at once: 0.2 ms apart at --rate 10, seen in CI.) Pure: the caller passes the clock.
 */
export class RateGate {
  readonly gapMs: number;
  readonly slackMs: number;
  private next = -Infinity;
  constructor(perSecond: number) {
    this.gapMs = 1000 / perSecond;
    this.slackMs = Math.max(this.gapMs / 2, 2);
  }
  /** A start at `now` (ms): 0 when it may go out (and it is counted), else how many ms until it is due. */
  take(now: number): number {
    if (this.next > now) return this.next - now;
    this.next = (now - this.next > this.slackMs ? now : this.next) + this.gapMs;
    return 0;
  }
}

/**
 * The scan engine. Probes every target of `batches` (arrays, taken in order; expandTargetBatches makes them) and
 * yields the results known so far as one array each time, in completion order, never an empty one.
 *
 * Slots are refilled from the probes' own ends (as the bare connect loop in bench/scale/floor.mjs does), from the
 * batch in hand; the source is asked for the next batch only when that one is used up, so what is held ahead is
 * one batch, and no promise is made per target on the way in. Results the consumer has not taken yet count
 * against starting more (at `concurrency` of them no probe starts): a slow consumer slows the scan instead of
 * letting finished reports pile up.
 *
 * `handover` says when the consumer gets results:
 * - 'turn' (default): once per turn of the event loop, all the probes that ended in it at once, not one async step
 *   each (over a /16 of closed ports the per-result steps were a measurable part of the cost). By then the slots
 *   those probes freed have been refilled and the new probes' connections sent, so a consumer that leaves on a
 *   result leaves behind probes started after it (aborted at once);
 * - 'each': as soon as each is known (batches are then mostly of one), so a consumer that leaves on a result has
 *   started no connection after it: what scanTargets and the library's scan() do.
 *
 * A probe that failed for a local reason (see isLocalFailure) is never yielded: the in-flight limit is halved and
 * the target queued again, ahead of new ones; at one probe in flight, or after `localRetries` tries of one target,
 * the scan throws LocalFailureError. A runner error or a source error starts no further probe; the results of
 * those in flight are still yielded, then the error is thrown. Leaving the loop early (break, return, throw)
 * starts no further probe and aborts those in flight.
 */
export async function* scanTargetBatches(
  batches: AsyncIterable<readonly ScanTarget[]> | Iterable<readonly ScanTarget[]>,
  options: Partial<ScanOptions> = {},
  handover: 'turn' | 'each' = 'turn',
): AsyncGenerator<ScanResult[]> {
  const opts = defaultScanOptions(options);
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new RangeError('concurrency must be a positive integer');
  /** The in-flight limit; halved on each burst of local failures. */
  let current = opts.concurrency;
  let active = 0;
  // The adaptive window (see AdaptiveWindow): `limit` is min(current, window), read by fill.
  const adaptive = opts.adaptive !== false && opts.concurrency > 64 ? new AdaptiveWindow(opts.concurrency) : undefined;
  let endedInTick = 0;
  let heldBack = false;
  let windowTimer: NodeJS.Timeout | undefined;
  const run = opts.runner ?? ((t: ScanTarget, o: Partial<ProbeOptions>) => runProbe(t, o));
  const maxLocalRetries = opts.localRetries ?? 5;
  const stop = opts.signal;
  // Aborts in-flight probes graceMs after the stop signal, or at once when the consumer leaves or the scan gives up.
  const hard = new AbortController();
  // Every in-flight probe listens on this one signal.
  setMaxListeners(opts.concurrency * 4 + 16, hard.signal);
  // The signal every probe gets: `hard`, or the caller's probe signal as well, joined once for the scan (an
  // AbortSignal.any per probe was a measurable part of a closed port's cost). `hard` alone still decides what
  // counts as interrupted.
  const joined = opts.probe.signal ? joinSignals(hard.signal, opts.probe.signal) : undefined;
  const signal = joined?.signal ?? hard.signal;

  /** Results not yet taken by the consumer, who takes the whole list at once. */
  let ready: ScanResult[] = [];
  /** The consumer, parked until there is something to take or the scan is over. */
  let waiter: (() => void) | undefined;
  let wakeTimer: NodeJS.Immediate | undefined;
  const perTurn = handover === 'turn';
  /**
   * Wakes the consumer: per turn, at the end of this turn of the event loop (setImmediate), so it takes every
   * result of the turn at once; otherwise now (it runs once the current callback's microtasks have, before the
   * connections of any refill go out, which net.connect sends on the next tick).
   */
  const wake = (): void => {
    if (!waiter) return;
    if (!perTurn) wakeNow();
    else wakeTimer ??= setImmediate(wakeNow);
  };
  const wakeNow = (): void => {
    wakeTimer = undefined;
    const w = waiter;
    waiter = undefined;
    w?.();
  };

  // The source: the batch in hand (buf[bi..]) and how to get the next.
  const syncSource = !(Symbol.asyncIterator in batches);
  const source = syncSource ? (batches as Iterable<readonly ScanTarget[]>)[Symbol.iterator]() : batches[Symbol.asyncIterator]();
  let buf: readonly ScanTarget[] = [];
  let bi = 0;
  let sourceDone = false;
  /** An async pull under way. */
  let pulling = false;
  /** The source threw: it is closed already. */
  let sourceFailed = false;

  let graceTimer: NodeJS.Timeout | undefined;
  /** stop.aborted, kept as a flag (the getter is read several times per probe). */
  let stopped = false;
  /** A runner's or the source's error: it ends the scan once the probes in flight are done. */
  let failed = false;
  let error: unknown;
  /** Set when the consumer left the loop: nothing new starts. */
  let closed = false;
  let fatal: LocalFailureError | undefined;
  const rate = opts.rate ? new RateGate(opts.rate) : undefined;
  /** Set while a start waits for the rate limit. */
  let rateTimer: NodeJS.Timeout | undefined;
  /** Targets whose probe failed locally, probed again before any new one (read from `againAt`: no shift()). */
  let again: Retry[] = [];
  let againAt = 0;
  // Bumped at every lowering: a burst of failures from probes started under the old limit lowers it once.
  let epoch = 0;
  /** Called when the last probe in flight ends (leaving the loop early waits for it). */
  let onIdle: (() => void) | undefined;
  const halted = (): boolean => closed || fatal !== undefined || stopped || failed;
  const over = (): boolean => active === 0 && (halted() || (sourceDone && bi >= buf.length && againAt >= again.length));
  const giveUp = (message: string, reason: string): void => {
    fatal ??= new LocalFailureError(message, reason);
    hard.abort(fatal);
  };
  const fail = (e: unknown): void => {
    if (!failed) error = e;
    failed = true;
  };

  const onStop = (): void => {
    stopped = true;
    if (rateTimer) clearTimeout(rateTimer);
    graceTimer = setTimeout(() => hard.abort(new Error('interrupted')), opts.graceMs);
    graceTimer.unref?.();
    wake();
  };
  if (stop) {
    if (stop.aborted) onStop();
    else stop.addEventListener('abort', onStop, { once: true });
  }

  // One options object for every probe (runners copy what they keep).
  const probeOptions: Partial<ProbeOptions> = { ...opts.probe, signal };
  /**
   * One probe, from start to its slot given back (ended). Chained callbacks, not an async function: a probe in
   * flight holds one small closure here instead of suspended frames with their registers (at 1024 in flight, what
   * each probe holds while it waits is what every scavenge copies and promotes).
   */
  const probeOne = (r: Retry, tried: number, startedEpoch: number, startedAt: number): void => {
    let p: Promise<ProbeReport>;
    try {
      p = run(r.t, probeOptions);
    } catch (e) {
      return broke(e);
    }
    p.then(
      (report) => {
        try {
          if (tried < opts.connectRetries && isConnectTimeout(report) && !halted()) return probeOne(r, tried + 1, startedEpoch, startedAt);
          const interrupted = hard.signal.aborted;
          if (interrupted || !isLocalFailure(report)) {
            ready.push({ target: r.t, report, interrupted });
            return ended();
          }
          onLocalFailure(r, { report, startedEpoch, startedAt }).then(ended, broke);
        } catch (e) {
          broke(e);
        }
      },
      broke,
    );
  };
  /** A probe failed with an error (ours or the runner's): that error stops the scan. */
  function broke(e: unknown): void {
    fail(e);
    ended();
  }
  let refillQueued = false;
  const settled = Promise.resolve();
  /** A probe gave its slot back: refill (see refillSoon), and let the consumer know. */
  function ended(): void {
    active--;
    endedInTick++;
    if (active === 0) onIdle?.();
    refillSoon();
    wake();
  }
  /**
   * Refills the slots once the current callback's microtasks have run, not inside it: probes that end together
   * (and a local failure's halving among them) are all counted before new probes start. One queued refill serves
   * every end until it runs.
   */
  function refillSoon(): void {
    if (refillQueued) return;
    refillQueued = true;
    // A reaction on a settled promise: lighter than queueMicrotask (no async-context wrapper per call).
    void settled.then(refillNow);
  }
  function refillNow(): void {
    refillQueued = false;
    fill();
  }
  const onLocalFailure = async (r: Retry, { report, startedEpoch, startedAt }: LocalFailed): Promise<void> => {
    const { t } = r;
    // Not a result: this machine ran out of something. Never yielded, so never written nor marked done.
    const reason = localFailureReason(report);
    const next: Retry = { t, tries: r.tries + 1, atOne: r.atOne };
    if (startedAt <= 1) {
      next.atOne++;
      if (next.atOne > maxLocalRetries) {
        giveUp(`this machine keeps failing with ${reason} even with 1 probe in flight (raise ulimit -n, or free local ports); stopped, complete results are kept`, reason);
        return;
      }
      // Give descriptors and ports held elsewhere a moment to be released.
      await sleep(100 * next.atOne, hard.signal);
    } else if (startedEpoch === epoch) {
      const to = Math.max(1, Math.floor(current / 2));
      opts.onConcurrencyLowered?.({ from: current, to, reason, target: t });
      current = to;
      epoch++;
    }
    if (next.tries > maxLocalRetries + 16) {
      giveUp(`${formatTarget(t)} failed with ${reason} ${next.tries} times; stopped, complete results are kept`, reason);
      return;
    }
    again.push(next);
  };
  // Probes in flight are counted, not kept in a Set: a long-lived Set that every probe joins and leaves kept each
  // probe's promise (and all it holds) reachable across scavenges, promoting it to the old generation.
  const start = (r: Retry): void => {
    active++;
    probeOne(r, 0, epoch, current);
  };

  /**
   * Starts probes while a slot is free: queued re-probes first, then the batch in hand, pulling the next batch when
   * it is used up (synchronously from a sync source; from an async one the pull's end fills again). Never re-entered:
   * a probe that ends inside start (a runner that throws at once) refills through refillSoon.
   */
  function fill(): void {
    const limit = adaptive && adaptive.window < current ? adaptive.window : current;
    while (!halted() && ready.length < opts.concurrency) {
      if (active >= limit) {
        if (limit < current) heldBack = true;
        break;
      }
      if (againAt < again.length) {
        const r = again[againAt++]!;
        if (againAt === again.length) (again = []), (againAt = 0);
        start(r);
        continue;
      }
      if (bi >= buf.length) {
        if (sourceDone || pulling || !pull()) break;
        continue;
      }
      if (rate) {
        const wait = rate.take(performance.now());
        if (wait > 0) {
          // The timer only calls fill again: one that fires early (Node counts from the loop's cached clock) or
          // stale (set for a start that went out when a slot freed) finds the start not yet due and sets another.
          rateTimer ??= setTimeout(onRate, wait);
          break;
        }
      }
      const t = buf[bi++]!;
      if (bi >= buf.length) (buf = []), (bi = 0);
      start({ t, tries: 0, atOne: 0 });
    }
  }
  function onRate(): void {
    rateTimer = undefined;
    fill();
  }
  /** Takes the next batch: true when one is in hand now (sync source), false when it comes later or never. */
  function pull(): boolean {
    let next: IteratorResult<readonly ScanTarget[]> | Promise<IteratorResult<readonly ScanTarget[]>>;
    try {
      next = source.next();
    } catch (e) {
      sourceFailed = true;
      fail(e);
      wake();
      return false;
    }
    if (syncSource) return took(next as IteratorResult<readonly ScanTarget[]>);
    pulling = true;
    (next as Promise<IteratorResult<readonly ScanTarget[]>>).then(
      (n) => {
        pulling = false;
        if (took(n)) fill();
        wake();
      },
      (e: unknown) => {
        pulling = false;
        sourceFailed = true;
        fail(e);
        wake();
      },
    );
    return false;
  }
  function took(n: IteratorResult<readonly ScanTarget[]>): boolean {
    if (n.done) {
      sourceDone = true;
      wake();
      return false;
    }
    buf = n.value;
    bi = 0;
    return true;
  }

  if (adaptive) {
    let mark = performance.eventLoopUtilization();
    windowTimer = setInterval(() => {
      const now = performance.eventLoopUtilization();
      const busy = performance.eventLoopUtilization(now, mark).utilization;
      mark = now;
      const grew = adaptive.tick(busy, endedInTick, heldBack);
      endedInTick = 0;
      heldBack = false;
      if (grew) fill();
    }, WINDOW_TICK_MS);
    windowTimer.unref();
  }
  try {
    fill();
    for (;;) {
      if (ready.length > 0) {
        const taken = ready;
        ready = [];
        // Room again: start the next probes before the consumer looks at these.
        fill();
        yield taken;
        continue;
      }
      if (over()) break;
      await new Promise<void>((r) => (waiter = r));
    }
    if (fatal) throw fatal;
    if (failed) throw error;
  } finally {
    closed = true;
    if (windowTimer) clearInterval(windowTimer);
    if (graceTimer) clearTimeout(graceTimer);
    if (rateTimer) clearTimeout(rateTimer);
    if (wakeTimer) clearImmediate(wakeTimer);
    stop?.removeEventListener('abort', onStop);
    joined?.dispose();
    if (active > 0) {
      // The consumer left early: abort what runs and give it a bounded moment to close its sockets.
      hard.abort(new Error('scan closed'));
      const waited = new AbortController();
      await Promise.race([new Promise<void>((r) => (onIdle = r)), sleep(CLOSE_WAIT_MS, waited.signal)]);
      waited.abort();
    }
    // Let the source close what it holds (a list file) unless it is used up or broke. A pull under way (stdin
    // waiting for a line) is not waited for: return() then runs when it settles.
    if (!sourceDone && !sourceFailed) {
      const closing = source.return?.();
      if (!syncSource) {
        if (pulling) Promise.resolve(closing).catch(() => undefined);
        else await closing;
      }
    }
  }
}

/** A probe that failed for want of a local resource, with the limits it was started under. */
interface LocalFailed {
  report: ProbeReport;
  startedEpoch: number;
  startedAt: number;
}

interface Retry {
  t: ScanTarget;
  /** Local failures of this target so far. */
  tries: number;
  /** Of which with one probe in flight. */
  atOne: number;
}

function formatTarget(t: ScanTarget): string {
  return t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}
function isConnectTimeout(r: ProbeReport): boolean {
  for (const s of r.stages) if (s.stage === 'tcp') return s.status === 'failed' && s.error?.kind === 'connect_timeout';
  return false;
}

/** A signal that aborts when either does; dispose() lets go of both. */
function joinSignals(a: AbortSignal, b: AbortSignal): { signal: AbortSignal; dispose: () => void } {
  const c = new AbortController();
  const offs: (() => void)[] = [];
  for (const s of [a, b]) {
    if (s.aborted) c.abort(s.reason);
    const on = (): void => c.abort(s.reason);
    s.addEventListener('abort', on, { once: true });
    offs.push(() => s.removeEventListener('abort', on));
  }
  return { signal: c.signal, dispose: () => offs.forEach((f) => f()) };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
