/**
 * Library API.
 *
 *   import { probe, scan } from 'rdp-probe';
 *   const report = await probe('rdp.example.test:3389', { depth: 'tls' });
 *   for await (const r of scan(['10.0.0.0/24'], { concurrency: 64 })) console.log(r.verdict.id);
 */
import type { ProbeReport } from './probe/types.js';
import { scanTargets, type ScanOptions } from './scan/scan.js';
import { expandTargets, parseTargetSpec, ExcludeSet, type TargetSpec } from './scan/targets.js';
import { runProbe, type ProbeOptions } from './transport/drive.js';
import { parseTarget } from './cli/target.js';
import { formatHostPort } from './probe/host-port.js';

export type { ProbeReport, StageResult, Finding, Verdict, Stage, Enumeration } from './probe/types.js';
export { STAGES, SCHEMA_VERSION } from './probe/types.js';
export type { ProbeOptions } from './transport/drive.js';
export { analyzeCapture, type CaptureAnalysis } from './pcap/analyze.js';

/** Probes one target ('host', 'host:port', '[v6]:port' or {host, port}) and returns its report. */
export function probe(target: string | { host: string; port: number }, options: Partial<ProbeOptions> = {}): Promise<ProbeReport> {
  const t = typeof target === 'string' ? parseTarget(target) : target;
  return runProbe(t, options);
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
 * soon as it is known. Expansion is lazy. Interrupted probes (options.signal) are not yielded.
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
  const expanded = expandTargets(specs(), { ports: options.ports ?? [3389], exclude });
  const { ports: _p, exclude: _e, probe: probeOptions, ...rest } = options;
  for await (const r of scanTargets(expanded, { ...rest, probe: probeOptions ?? {} })) {
    if (!r.interrupted) yield r.report;
  }
}
