/**
 * Library API.
 *
 *   import { probe, scan } from 'rdp-probe';
 *   const report = await probe('rdp.example.test:3389', { depth: 'tls' });
 *   for await (const r of scan(['10.0.0.0/24'], { concurrency: 64 })) console.log(r.verdict.id);
 */
import type { Depth, ProbeReport } from './probe/types.js';
import { scanTargetBatches, type ScanOptions } from './scan/scan.js';
import { expandTargetBatches, parseTargetSpec, ExcludeSet, type TargetSpec } from './scan/targets.js';
import { runProbe, type ProbeOptions } from './transport/drive.js';
import { parseTarget } from './model/target-syntax.js';
import { formatHostPort } from './probe/host-port.js';

export type { ProbeReport, StageResult, Finding, Verdict, Stage, Enumeration, Depth, VerdictId, Severity } from './probe/types.js';
export { STAGES, SCHEMA_VERSION } from './probe/types.js';
export type { ProbeOptions } from './transport/drive.js';
export { LocalFailureError } from './scan/scan.js';
export { isLocalFailure } from './scan/local-failure.js';

/** Options a probe cannot run with (a missing password, an unknown depth …): a rejected promise, never a crash. */
export class ProbeOptionsError extends Error {
  override readonly name = 'ProbeOptionsError';
  constructor(
    /** Stable id: 'credentials_required', 'invalid_credentials', 'invalid_depth', 'invalid_target'. */
    readonly code: 'credentials_required' | 'invalid_credentials' | 'invalid_depth' | 'invalid_target',
    message: string,
  ) {
    super(message);
  }
}

const DEPTHS: readonly Depth[] = ['tcp', 'x224', 'tls', 'credssp', 'auth', 'session'];

/**
 * Checks what a JavaScript caller (no type checker) may get wrong. A missing domain is '' (a local account);
 * depth 'auth' needs credentials; 'session' runs without them (a server without NLA reaches activation unauthenticated).
 */
function checkProbeOptions(options: Partial<ProbeOptions>): Partial<ProbeOptions> {
  const depth = options.depth ?? 'credssp';
  if (!DEPTHS.includes(depth)) throw new ProbeOptionsError('invalid_depth', `depth ${JSON.stringify(depth)} is not one of ${DEPTHS.join(', ')}`);
  const c = options.credentials as { user?: unknown; domain?: unknown; password?: unknown } | undefined;
  if (c === undefined || c === null) {
    if (depth === 'auth') throw new ProbeOptionsError('credentials_required', "depth 'auth' needs credentials: { user, domain?, password }");
    return options;
  }
  if (typeof c !== 'object') throw new ProbeOptionsError('invalid_credentials', 'credentials must be an object { user, domain?, password }');
  if (typeof c.user !== 'string' || c.user === '') throw new ProbeOptionsError('invalid_credentials', 'credentials.user must be a non-empty string');
  if (typeof c.password !== 'string' || c.password === '') throw new ProbeOptionsError('invalid_credentials', 'credentials.password must be a non-empty string');
  if (c.domain !== undefined && c.domain !== null && typeof c.domain !== 'string') throw new ProbeOptionsError('invalid_credentials', 'credentials.domain must be a string');
  return { ...options, credentials: { user: c.user, domain: typeof c.domain === 'string' ? c.domain : '', password: c.password } };
}
export { analyzeCapture, analyzeSource, type CaptureAnalysis } from './pcap/analyze.js';

/**
 * Probes one target ('host', 'host:port', '[v6]:port' or {host, port}) and returns its report. Bad options or a
 * bad target reject with ProbeOptionsError (or the target parser's error); they never throw synchronously.
 */
export async function probe(target: string | { host: string; port: number }, options: Partial<ProbeOptions> = {}): Promise<ProbeReport> {
  let t: { host: string; port: number };
  try {
    t = typeof target === 'string' ? parseTarget(target) : target;
  } catch (e) {
    throw new ProbeOptionsError('invalid_target', e instanceof Error ? e.message : String(e));
  }
  return runProbe(t, checkProbeOptions(options));
}

export interface ScanApiOptions extends Partial<Omit<ScanOptions, 'probe' | 'runner'>> {
  /** Ports for targets that name none (default [3389]). */
  ports?: number[];
  /** Addresses, CIDRs, ranges or names to skip. */
  exclude?: string[];
  probe?: Partial<ProbeOptions>;
}

/**
 * Probes every target (addresses, CIDRs, a-b ranges, names, host:port, or {host, port}) and yields each report as
 * soon as it is known. Expansion is lazy. Interrupted probes (options.signal) are not yielded, nor are local
 * failures (EMFILE …: the target is probed again with fewer in flight, or LocalFailureError ends the loop).
 * Leaving the loop early (break, return, throw) starts no further probe and aborts those in flight.
 */
export async function* scan(
  targets: Iterable<string | { host: string; port: number }> | AsyncIterable<string | { host: string; port: number }>,
  options: ScanApiOptions = {},
): AsyncGenerator<ProbeReport> {
  async function* specs(): AsyncGenerator<TargetSpec> {
    for await (const t of targets) {
      yield typeof t === 'string' ? parseTargetSpec(t) : parseTargetSpec(formatHostPort(t.host, t.port));
    }
  }
  const exclude = new ExcludeSet();
  for (const e of options.exclude ?? []) exclude.add(parseTargetSpec(e));
  const expanded = expandTargetBatches(specs(), { ports: options.ports ?? [3389], exclude });
  const { ports: _p, exclude: _e, probe: probeOptions, ...rest } = options;
  const checked = checkProbeOptions(probeOptions ?? {});
  // Each result as soon as it is known: leaving the loop on a result starts no connection after it.
  for await (const results of scanTargetBatches(expanded, { ...rest, probe: checked }, 'each')) {
    for (const r of results) if (!r.interrupted) yield r.report;
  }
}
