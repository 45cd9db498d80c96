/**
 * The scan engine: probes many targets with bounded concurrency, a start rate limit and a per-target deadline,
 * pulling targets lazily (a /8 is never held in memory) and yielding each report as soon as it is known.
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

/** Probes every target; yields results in completion order. */
/**
 * Probes every target; yields results in completion order. A probe that failed for a local reason (see
 * isLocalFailure) is never yielded: the in-flight limit is halved and the target queued again; at one probe in
 * flight, or after `localRetries` tries of one target, the scan throws LocalFailureError. Leaving the loop early
 * (break, return, throw) starts no further probe and aborts those in flight.
 */
export async function* scanTargets(targets: AsyncIterable<ScanTarget> | Iterable<ScanTarget>, options: Partial<ScanOptions> = {}): AsyncGenerator<ScanResult> {
  const opts = defaultScanOptions(options);
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new RangeError('concurrency must be a positive integer');
  /** The in-flight limit; halved on each burst of local failures. */
  let current = opts.concurrency;
  let active = 0;
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
  let graceTimer: NodeJS.Timeout | undefined;
  /** stop.aborted, kept as a flag (the getter is read several times per probe). */
  let stopped = false;
  const onStop = (): void => {
    stopped = true;
    graceTimer = setTimeout(() => hard.abort(new Error('interrupted')), opts.graceMs);
    graceTimer.unref?.();
  };
  if (stop) {
    if (stop.aborted) onStop();
    else stop.addEventListener('abort', onStop, { once: true });
  }

  /** Results not yet yielded; the consumer takes the whole list at once (shift() on a long list is not O(1)). */
  let ready: ScanResult[] = [];
  // Both the producer (waiting for a free slot) and the consumer (waiting for a result) park here.
  let waiters: (() => void)[] = [];
  const notify = (): void => {
    if (waiters.length === 0) return;
    const ws = waiters;
    waiters = [];
    for (const w of ws) w();
  };
  const waitForChange = (): Promise<void> => new Promise((r) => waiters.push(r));

  let producerDone = false;
  let producerError: unknown;
  /** Set when the consumer left the loop: nothing new starts. */
  let closed = false;
  let fatal: LocalFailureError | undefined;
  const minGapMs = opts.rate ? 1000 / opts.rate : 0;
  let nextStart = 0;
  /** Targets whose probe failed locally, probed again before any new one. */
  const again: Retry[] = [];
  // Bumped at every lowering: a burst of failures from probes started under the old limit lowers it once.
  let epoch = 0;
  /** Called when the last probe in flight ends (leaving the loop early waits for it). */
  let onIdle: (() => void) | undefined;
  const halted = (): boolean => closed || fatal !== undefined || stopped;
  const giveUp = (message: string, reason: string): void => {
    fatal ??= new LocalFailureError(message, reason);
    hard.abort(fatal);
  };

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
    producerError ??= e;
    ended();
  }
  /** A probe gave its slot back. */
  function ended(): void {
    active--;
    if (active === 0) onIdle?.();
    notify();
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
  /** Starts queued re-probes while there is room: true when a slot is free, false when the scan stops, undefined to wait. */
  const freeSlot = (): boolean | undefined => {
    for (;;) {
      if (halted()) return false;
      if (active >= current) return undefined;
      const r = again.shift();
      if (!r) return true;
      start(r);
    }
  };
  /** Waits for a free slot (see freeSlot); false when the scan stops. */
  const slot = async (): Promise<boolean> => {
    for (;;) {
      const free = freeSlot();
      if (free !== undefined) return free;
      await waitForChange();
    }
  };

  // A stop wakes whoever waits. (Racing each wait against one never-settled promise left a reaction on it per
  // wait: a /16 kept every one of them.)
  if (stop && !stop.aborted) stop.addEventListener('abort', notify, { once: true });
  const producer = (async () => {
    try {
      for await (const t of targets) {
        // Most targets find a slot free at once: no promise for them.
        if (!(freeSlot() ?? (await slot()))) break;
        if (minGapMs > 0) {
          const now = performance.now();
          if (nextStart > now) await sleep(nextStart - now, stop);
          nextStart = Math.max(now, nextStart) + minGapMs;
          if (halted()) break;
        }
        start({ t, tries: 0, atOne: 0 });
      }
      // Re-probes queued after the last target was pulled.
      while (!halted() && (again.length > 0 || active > 0)) {
        const r = active < current ? again.shift() : undefined;
        if (r) start(r);
        else await waitForChange();
      }
    } catch (e) {
      producerError = e;
    } finally {
      producerDone = true;
      notify();
    }
  })();

  try {
    for (;;) {
      while (ready.length > 0) {
        const taken = ready;
        ready = [];
        for (const r of taken) yield r;
      }
      if (active === 0 && (fatal !== undefined || (producerDone && again.length === 0))) break;
      await waitForChange();
    }
    await producer;
    if (fatal) throw fatal;
    if (producerError) throw producerError;
  } finally {
    closed = true;
    if (graceTimer) clearTimeout(graceTimer);
    stop?.removeEventListener('abort', onStop);
    stop?.removeEventListener('abort', notify);
    joined?.dispose();
    if (active > 0) {
      // The consumer left early: abort what runs and give it a bounded moment to close its sockets.
      hard.abort(new Error('scan closed'));
      const waited = new AbortController();
      await Promise.race([new Promise<void>((r) => (onIdle = r)), sleep(CLOSE_WAIT_MS, waited.signal)]);
      waited.abort();
    }
    notify();
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
