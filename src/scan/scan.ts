/**
 * The scan engine: probes many targets with bounded concurrency, a start rate limit and a per-target deadline,
 * pulling targets lazily (a /8 is never held in memory) and yielding each report as soon as it is known.
 * Interruption (the signal) stops new probes at once and gives those in flight a grace period to finish.
 */
import { setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import type { ProbeReport } from '../probe/types.js';
import { runProbe, type ProbeOptions } from '../transport/drive.js';

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
}

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
export async function* scanTargets(targets: AsyncIterable<ScanTarget> | Iterable<ScanTarget>, options: Partial<ScanOptions> = {}): AsyncGenerator<ScanResult> {
  const opts = defaultScanOptions(options);
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new RangeError('concurrency must be a positive integer');
  const limit = pLimit(opts.concurrency);
  const run = opts.runner ?? ((t: ScanTarget, o: Partial<ProbeOptions>) => runProbe(t, o));
  const stop = opts.signal;
  // Aborts in-flight probes graceMs after the stop signal.
  const hard = new AbortController();
  // Every in-flight probe listens on this one signal.
  setMaxListeners(opts.concurrency * 4 + 16, hard.signal);
  let graceTimer: NodeJS.Timeout | undefined;
  const onStop = (): void => {
    graceTimer = setTimeout(() => hard.abort(new Error('interrupted')), opts.graceMs);
    graceTimer.unref?.();
  };
  if (stop) {
    if (stop.aborted) onStop();
    else stop.addEventListener('abort', onStop, { once: true });
  }

  const ready: ScanResult[] = [];
  // Both the producer (waiting for a free slot) and the consumer (waiting for a result) park here.
  let waiters: (() => void)[] = [];
  const notify = (): void => {
    const ws = waiters;
    waiters = [];
    for (const w of ws) w();
  };
  const waitForChange = (): Promise<void> => new Promise((r) => waiters.push(r));

  let producerDone = false;
  let producerError: unknown;
  const minGapMs = opts.rate ? 1000 / opts.rate : 0;
  let nextStart = 0;

  const probeOne = async (t: ScanTarget): Promise<void> => {
    const signal = opts.probe.signal ? AbortSignal.any([hard.signal, opts.probe.signal]) : hard.signal;
    let report = await run(t, { ...opts.probe, signal });
    for (let i = 0; i < opts.connectRetries && isConnectTimeout(report) && !stop?.aborted; i++) {
      report = await run(t, { ...opts.probe, signal });
    }
    ready.push({ target: t, report, interrupted: hard.signal.aborted });
    notify();
  };

  const stopped = abortPromise(stop);
  const producer = (async () => {
    try {
      for await (const t of targets) {
        if (stop?.aborted) break;
        while (limit.activeCount + limit.pendingCount >= opts.concurrency) {
          await Promise.race([waitForChange(), stopped]);
          if (stop?.aborted) break;
        }
        if (stop?.aborted) break;
        if (minGapMs > 0) {
          const now = performance.now();
          if (nextStart > now) await sleep(nextStart - now, stop);
          nextStart = Math.max(now, nextStart) + minGapMs;
          if (stop?.aborted) break;
        }
        void limit(probeOne, t);
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
      while (ready.length > 0) yield ready.shift()!;
      if (producerDone && limit.activeCount === 0 && limit.pendingCount === 0) break;
      await waitForChange();
    }
    await producer;
    if (producerError) throw producerError;
  } finally {
    if (graceTimer) clearTimeout(graceTimer);
    stop?.removeEventListener('abort', onStop);
    limit.clearQueue();
  }
}

function isConnectTimeout(r: ProbeReport): boolean {
  return r.stages.some((s) => s.stage === 'tcp' && s.status === 'failed' && s.error?.kind === 'connect_timeout');
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

function abortPromise(signal?: AbortSignal): Promise<void> {
  if (!signal) return new Promise(() => undefined);
  if (signal.aborted) return Promise.resolve();
  return new Promise((r) => signal.addEventListener('abort', () => r(), { once: true }));
}
