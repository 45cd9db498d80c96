/**
 * `--resume FILE.ndjson`: the targets a previous run already finished, read from its NDJSON results (one
 * JSON object per line with `target: { host, port, address? }`). A line with a usable target counts as
 * done, whatever its verdict: a target that answered "timeout" was probed; re-probing is --resume's
 * opposite. The key is built from target.host (as expansion produces it), not target.address (what a name
 * resolved to), so a name target is not marked done by its address or vice versa.
 *
 * Tolerated:
 * - a last line that does not parse (the run was killed mid-write): ignored, `truncatedLastLine` set;
 * - other lines that do not parse, or parse without a usable target (e.g. a run appended after a truncated
 *   line, so two records share one line): counted in `garbageLines`, skipped; their targets are probed
 *   again, which is harmless.
 *
 * Not done: a record of a local failure (verdict 'local_failure', or a stage error naming EMFILE, EADDRNOTAVAIL
 * …, written by an older version): this machine failed, the target was never probed.
 *
 * Memory: a plain Set<string> of keys would cost ~100 bytes per target and V8 caps a Set at 2^24 (16.7 M)
 * entries — a resumed /8 scan would crash. Address targets are therefore stored as merged intervals per port
 * and family (target-intervals.ts): results arrive roughly in expansion order, so a run of done addresses
 * is a single interval, and a whole /8 done on one port is a few intervals. Host names, which have no order
 * to exploit, are kept as keys in a Set (name lists are small).
 */
import { isLocalFailure } from './local-failure.js';
import { IntervalSet } from './target-intervals.js';
import { parseIp, targetKey, type Family } from './target-ip.js';

export class ResumeSet {
  private readonly byPort = new Map<number, { 4: IntervalSet; 6: IntervalSet }>();
  private readonly names = new Set<string>();
  private count = 0;
  /** Lines that were not JSON, or JSON without a usable target (the last line excepted, see below). */
  garbageLines = 0;
  /** The last non-blank line did not parse: the previous run was interrupted mid-write. */
  truncatedLastLine = false;
  /** Records of local failures (EMFILE …): not done, probed again. */
  localFailures = 0;
  /** Verdict and finding counts of the done targets (each counted once), so a resumed scan's summary covers it all. */
  readonly verdicts: Record<string, number> = {};
  readonly findings: Record<string, number> = {};

  /** Number of distinct done targets. */
  get size(): number {
    return this.count;
  }

  /** Marks a target done; true when it was not done yet. */
  add(host: string, port: number): boolean {
    const ip = parseIp(host);
    if (!ip) {
      const key = targetKey(host, port);
      if (this.names.has(key)) return false;
      this.names.add(key);
      this.count++;
      return true;
    }
    let fam = this.byPort.get(port);
    if (!fam) this.byPort.set(port, (fam = { 4: new IntervalSet(), 6: new IntervalSet() }));
    const set = fam[ip.family];
    if (set.has(ip.value)) return false;
    set.add(ip.value, ip.value);
    this.count++;
    return true;
  }

  /** Is this target key ('addr:port', '[v6]:port', 'name:port', as in Target.key) done? */
  has(key: string): boolean {
    let host: string;
    let portText: string;
    if (key.startsWith('[')) {
      const close = key.lastIndexOf(']');
      if (close < 0 || key[close + 1] !== ':') return false;
      host = key.slice(1, close);
      portText = key.slice(close + 2);
    } else {
      const colon = key.lastIndexOf(':');
      if (colon < 0) return false;
      host = key.slice(0, colon);
      portText = key.slice(colon + 1);
    }
    const port = Number(portText);
    const ip = parseIp(host);
    if (!ip) return this.names.has(targetKey(host, port));
    return this.hasAddress(ip.family, ip.value, port);
  }

  hasAddress(family: Family, value: bigint, port: number): boolean {
    return this.byPort.get(port)?.[family].has(value) ?? false;
  }
}

/** Reads previous results; `lines` are the file's lines (the CLI opens the file). */
export async function loadResume(lines: AsyncIterable<string> | Iterable<string>): Promise<ResumeSet> {
  const done = new ResumeSet();
  let pendingBad = false; // the latest non-blank line failed to parse; garbage unless it turns out to be last
  for await (const raw of lines) {
    const line = raw.trim();
    if (line === '') continue;
    if (pendingBad) {
      done.garbageLines++;
      pendingBad = false;
    }
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      pendingBad = true;
      continue;
    }
    const t = usableTarget(record);
    if (!t) done.garbageLines++;
    else if (isLocalFailureRecord(record)) done.localFailures++;
    else if (done.add(t.host, t.port)) count(done, record);
  }
  done.truncatedLastLine = pendingBad;
  return done;
}

function usableTarget(record: unknown): { host: string; port: number } | undefined {
  if (typeof record !== 'object' || record === null) return undefined;
  const target = (record as { target?: unknown }).target;
  if (typeof target !== 'object' || target === null) return undefined;
  const { host, port } = target as { host?: unknown; port?: unknown };
  if (typeof host !== 'string' || host === '' || host.length > 300) return undefined;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port };
}

function isLocalFailureRecord(record: unknown): boolean {
  const r = record as { verdict?: { id?: unknown }; stages?: unknown; anomalies?: unknown };
  const stages = Array.isArray(r.stages) ? r.stages.filter((x): x is { error?: unknown } => typeof x === 'object' && x !== null) : [];
  const anomalies = Array.isArray(r.anomalies) ? r.anomalies.filter((x): x is string => typeof x === 'string') : [];
  return isLocalFailure({
    verdict: { id: typeof r.verdict?.id === 'string' ? r.verdict.id : '' } as never,
    stages: stages.map((s) => (typeof s.error === 'object' && s.error !== null ? { error: { ...(s.error as object), kind: String((s.error as { kind?: unknown }).kind ?? ''), message: String((s.error as { message?: unknown }).message ?? '') } } : {})) as never,
    anomalies,
  });
}

function count(done: ResumeSet, record: unknown): void {
  const r = record as { verdict?: { id?: unknown }; findings?: unknown };
  const v = typeof r.verdict?.id === 'string' ? r.verdict.id : 'unknown';
  done.verdicts[v] = (done.verdicts[v] ?? 0) + 1;
  if (!Array.isArray(r.findings)) return;
  const ids = new Set<string>();
  for (const f of r.findings) if (typeof f === 'object' && f !== null && typeof (f as { id?: unknown }).id === 'string') ids.add((f as { id: string }).id);
  for (const id of ids) done.findings[id] = (done.findings[id] ?? 0) + 1;
}
