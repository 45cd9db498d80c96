import { SCHEMA_VERSION, STAGES, type Depth, type Enumeration, type Finding, type ProbeReport, type ProbeTarget, type Severity, type Stage, type StageError, type StageResult } from './types.js';
import { computeVerdict } from './verdict.js';

const SEVERITY_RANK: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };

/** Most severe first; equal severities keep the order they were found in. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return findings.map((f, i) => ({ f, i })).sort((a, b) => SEVERITY_RANK[a.f.severity] - SEVERITY_RANK[b.f.severity] || a.i - b.i).map((x) => x.f);
}

const DEPTH_LAST: Record<Depth, Stage> = {
  tcp: 'tcp',
  x224: 'x224',
  tls: 'tls',
  credssp: 'credssp',
  auth: 'nla_auth',
  session: 'activation',
};

/** The last stage this version can run; later ones are reported as skipped, never as passed. */
export const LAST_IMPLEMENTED: Stage = 'activation';

const STAGE_INDEX = new Map<Stage, number>(STAGES.map((s, i) => [s, i]));
/** A stage's place in STAGES; a name that is not a stage (never made by this code) gets a slot past them all. */
function stageIndex(stage: Stage): number {
  return STAGE_INDEX.get(stage) ?? STAGES.length;
}

/** Collects stage results as the driver stamps them, and fills in every stage it never reached. */
export class ReportBuilder {
  /** By STAGES index: a few slots, where a Map's hash table was a tenth of a connected probe's heap. */
  private readonly results: (StageResult | undefined)[] = [];
  private readonly started: number;
  readonly findings: Finding[] = [];
  readonly anomalies: string[] = [];
  enumeration?: Enumeration;
  /** Why stages past the depth are skipped; defaults to naming --depth. */
  beyondDepthReason?: string;
  private aborted?: StageError;

  constructor(
    readonly target: ProbeTarget,
    readonly depth: Depth,
    private readonly clock: () => number,
    private readonly startedAt: Date,
    private readonly version: string,
    /** The clock reading the report's times count from (default: now); for stages timed before the builder existed. */
    startedMs?: number,
  ) {
    this.started = startedMs ?? clock();
  }

  elapsed(): number {
    return round(this.clock() - this.started);
  }

  /** True when the stage is within the requested depth. */
  wants(stage: Stage): boolean {
    return STAGES.indexOf(stage) <= STAGES.indexOf(DEPTH_LAST[this.depth]);
  }

  begin(stage: Stage): { end: (r: Omit<StageResult, 'stage' | 'startMs' | 'durationMs'>) => StageResult } {
    const t0 = this.elapsed();
    return {
      end: (r) => {
        const res: StageResult = { stage, startMs: t0, durationMs: round(this.elapsed() - t0), ...stripUndefined(r) };
        this.results[stageIndex(stage)] = res;
        return res;
      },
    };
  }

  /** Files a finished result under its own stage (used when one timing window covered a later stage). */
  set(r: StageResult): void {
    this.results[stageIndex(r.stage)] = r;
  }

  skip(stage: Stage, reason: string): void {
    this.results[stageIndex(stage)] = { stage, status: 'skipped', reason };
  }

  get(stage: Stage): StageResult | undefined {
    return this.results[stageIndex(stage)];
  }

  /**
   * The probe stopped for a reason that is not the server's: our own bug (layer 'internal') or this machine
   * (layer 'local'). The first stage it was still going to run fails with that error; when every stage had run
   * (it broke in enumeration), the stages stay as they were and the verdict names the error, never ok.
   */
  abort(error: StageError): void {
    this.aborted ??= error;
  }

  /** Files the abort under the first stage it kept from running; false when every stage had already run. */
  private fileAbort(error: StageError): boolean {
    const next = STAGES.find((s) => this.wants(s) && this.results[stageIndex(s)] === undefined && STAGES.indexOf(s) <= STAGES.indexOf(LAST_IMPLEMENTED));
    if (!next) return false;
    const at = this.elapsed();
    this.results[stageIndex(next)] = { stage: next, status: 'failed', startMs: at, durationMs: 0, error };
    return true;
  }

  build(): ProbeReport {
    const unfiled = this.aborted !== undefined && !this.fileAbort(this.aborted) ? this.aborted : undefined;
    const stages: StageResult[] = [];
    let failedSeen = false;
    for (const s of STAGES) {
      const r = this.results[stageIndex(s)];
      if (r) {
        stages.push(r);
        if (r.status === 'failed') failedSeen = true;
        continue;
      }
      if (failedSeen) stages.push({ stage: s, status: 'not_reached' });
      else if (STAGES.indexOf(s) > STAGES.indexOf(LAST_IMPLEMENTED) && this.wants(s)) stages.push({ stage: s, status: 'skipped', reason: `not probed yet: this version stops after ${LAST_IMPLEMENTED}` });
      else if (!this.wants(s)) stages.push({ stage: s, status: 'skipped', reason: this.beyondDepthReason ?? `beyond --depth ${this.depth}` });
      else stages.push({ stage: s, status: 'not_reached' });
    }
    return {
      schemaVersion: SCHEMA_VERSION,
      tool: { name: 'rdp-probe', version: this.version },
      target: this.target,
      startedAt: this.startedAt.toISOString(),
      durationMs: this.elapsed(),
      depth: this.depth,
      verdict: computeVerdict(stages, this.enumeration, unfiled),
      stages,
      findings: sortFindings(this.findings),
      ...(this.enumeration ? { enumeration: this.enumeration } : {}),
      anomalies: this.anomalies,
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function stripUndefined<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}

/**
 * A report for a target that never got past TCP (the name did not resolve; the port is closed, filtered or
 * unreachable): most of a scan's targets. Its shape is the one ReportBuilder.build gives for the same stages,
 * made from a template built once per kind of failure by that very code (with a marker for the error message),
 * so the two cannot drift; per target only the target, the times, the dns facts and the message are filled in.
 */
export interface EarlyEnd {
  target: ProbeTarget;
  depth: Depth;
  version: string;
  startedAt: Date;
  durationMs: number;
  /** The dns stage as run (ok or failed). */
  dns: StageResult;
  /** The failed tcp stage; absent when dns failed. */
  tcp?: StageResult;
}

interface Template {
  /** What it was built for: the depth, the version and the failed stage's error (its message aside). */
  depth: Depth;
  version: string;
  error: StageError;
  verdict: ProbeReport['verdict'];
  /** The verdict summary around the error message. */
  before: string;
  after: string;
  /** Every stage after the failed one, as build() gives them. */
  tail: StageResult[];
  /** How many stages ran (dns, or dns and tcp): the ones before the tail. */
  ran: number;
  /** The constant parts of its JSON text, made on first use. */
  json?: { head: string; verdictBefore: string; verdictAfter: string; tail: string };
}

/** Stands for the error message while a template is built; no server can put a NUL pair into our message. */
const MARK = '\u0000message\u0000';
const TEMPLATE_HOST = 'template.invalid';
/**
 * Templates by failed stage and error kind, each list told apart by the rest of the error (sameError): a lookup
 * makes no key string (a scan looks one up per target). null: this kind of failure has no template.
 */
const templates = new Map<string, Map<string, { t: Template | null; depth: Depth; version: string; error: StageError }[]>>();
let templateCount = 0;
/** Distinct kinds of early end are few (a handful of errno codes); the cap only bounds the unexpected. */
const MAX_TEMPLATES = 256;

/** The two errors are the same but for their message (every field of a StageError is a primitive). */
function sameError(a: StageError, b: StageError): boolean {
  let n = 0;
  for (const k in a) {
    n++;
    if (k !== 'message' && (a as unknown as Record<string, unknown>)[k] !== (b as unknown as Record<string, unknown>)[k]) return false;
  }
  for (const _ in b) n--;
  return n === 0;
}

function findTemplate(e: EarlyEnd, failed: StageResult, err: StageError): Template | null {
  let byKind = templates.get(failed.stage);
  if (!byKind) templates.set(failed.stage, (byKind = new Map()));
  let list = byKind.get(err.kind);
  if (!list) byKind.set(err.kind, (list = []));
  for (const c of list) if (c.depth === e.depth && c.version === e.version && sameError(c.error, err)) return c.t;
  const t = buildTemplate(e, failed, err);
  if (templateCount < MAX_TEMPLATES) {
    templateCount++;
    list.push({ t, depth: e.depth, version: e.version, error: { ...err, message: '' } });
  }
  return t;
}

/**
 * The report of an early end without building it stage by stage; undefined when this kind of failure has no
 * template (its verdict uses the message other than once in its summary, or names something per target), and the
 * caller must use ReportBuilder.
 */
export function earlyEndReport(e: EarlyEnd): ProbeReport | undefined {
  const failed = e.tcp ?? e.dns;
  const err = failed.error;
  if (failed.status !== 'failed' || !err || (e.tcp !== undefined && e.dns.status !== 'ok')) return undefined;
  const t = findTemplate(e, failed, err);
  if (t === null) return undefined;
  const v = t.verdict;
  // Copies, so that reports share nothing (a caller may change one); keys stay in the template's order.
  const verdict = { ...v, summary: t.before + err.message + t.after, fixes: v.fixes.slice() };
  if (verdict.mstsc) verdict.mstsc = { ...verdict.mstsc };
  const stages = e.tcp ? [e.dns, e.tcp] : [e.dns];
  for (const s of t.tail) stages.push({ ...s });
  const r: ProbeReport = {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'rdp-probe', version: e.version },
    target: e.target,
    startedAt: e.startedAt.toISOString(),
    durationMs: e.durationMs,
    depth: e.depth,
    verdict,
    stages,
    findings: [],
    anomalies: [],
  };
  Object.defineProperty(r, TEMPLATE, { value: t });
  return r;
}

/**
 * A compact record's template, on the record itself as a non-enumerable symbol property: invisible to JSON, to
 * Object.keys, to spreads and to deep equality, and gone with the record. (A WeakMap from record to template did the
 * same, but each of its entries is an ephemeron the garbage collector must trace specially: with 1024 probes in
 * flight, building the record and collecting it cost more than the rest of the probe.)
 */
const TEMPLATE = Symbol('compact record template');
const templateOf = (r: ProbeReport): Template | undefined => (r as ProbeReport & { [TEMPLATE]?: Template })[TEMPLATE];

/**
 * JSON.stringify of a compact record, byte for byte, from its template's text: only the target, the times, the
 * summary and the two stages that ran are serialised per report (a scan writes tens of thousands of these lines).
 * Undefined for any other report, or one whose findings, anomalies or stages have been changed since it was made.
 */
export function compactRecordJson(r: ProbeReport): string | undefined {
  let out = '';
  return writeCompactRecord(r, (text) => void (out += text)) ? out : undefined;
}

/**
 * The same text as compactRecordJson, handed to `put` piece by piece (the template's constant pieces as they are):
 * a writer can encode them straight into its buffer without the line ever being one string. False, having put
 * nothing, when the report is not a compact record as made.
 */
export function writeCompactRecord(r: ProbeReport, put: (text: string) => void): boolean {
  const t = templateOf(r);
  if (!t || r.findings.length !== 0 || r.anomalies.length !== 0 || r.enumeration !== undefined || r.stages.length !== t.ran + t.tail.length || r.verdict.id !== t.verdict.id || r.verdict.fixes.length !== t.verdict.fixes.length) return false;
  const json = (t.json ??= templateJson(t, r));
  // One string, put once: a writer's encode per piece (a call into C++ each, a dozen per line) cost more than
  // joining the pieces here.
  // The opening (schema version, tool) is the template's while the report still carries the values it was made with.
  const tool = r.tool;
  let out = r.schemaVersion === SCHEMA_VERSION && isTool(tool, t.version) ? json.head : `{"schemaVersion":${JSON.stringify(r.schemaVersion)},"tool":${JSON.stringify(tool)},"target":`;
  out += plainJson(r.target, 1);
  out += ',"startedAt":';
  out += jsonString(r.startedAt);
  out += ',"durationMs":';
  out += jsonNumber(r.durationMs);
  out += ',"depth":';
  out += jsonString(r.depth);
  out += json.verdictBefore;
  out += jsonString(r.verdict.summary);
  out += json.verdictAfter;
  out += plainJson(r.stages[0]!, 1);
  if (t.ran === 2) {
    out += ',';
    out += plainJson(r.stages[1]!, 1);
  }
  out += json.tail;
  put(out);
  return true;
}

/** The tool object as made: exactly { name: 'rdp-probe', version }, in that key order (so its JSON is the template's). */
function isTool(tool: ProbeReport['tool'], version: string): boolean {
  if (tool.name !== 'rdp-probe' || tool.version !== version) return false;
  let i = 0;
  for (const k in tool) if (k !== (i++ === 0 ? 'name' : i === 2 ? 'version' : '')) return false;
  return i === 2;
}

/** Keys as JSON text: a record's few dozen distinct keys, each tested and quoted once (bounded for a caller's own). */
const quotedKeys = new Map<string, string>();
function quotedKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = NEEDS_ESCAPE.test(k) ? JSON.stringify(k) : `"${k}"`;
    if (quotedKeys.size < 1024) quotedKeys.set(k, q);
  }
  return q;
}

/** Characters JSON.stringify escapes (or may: everything past ASCII is left to it, lone surrogates included). */
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\u007f-\uffff]/;

/**
 * JSON.stringify(o), byte for byte, for the small plain objects of a record (the target, the dns and tcp stages):
 * about twice as fast on this engine. Own keys in JSON's order, strings quoted as they are unless they hold a
 * character to escape; anything unusual (another prototype, a toJSON, an array, an escape) goes to JSON.stringify.
 */
function plainJson(o: object, depth: number): string {
  if (Object.getPrototypeOf(o) !== Object.prototype || typeof (o as { toJSON?: unknown }).toJSON === 'function') return JSON.stringify(o);
  let out = '{';
  for (const k of Object.keys(o)) {
    const v = (o as Record<string, unknown>)[k];
    let text: string;
    switch (typeof v) {
      case 'string':
        text = NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : `"${v}"`;
        break;
      case 'number':
        text = Number.isFinite(v) ? `${v}` : 'null';
        break;
      case 'boolean':
        text = v ? 'true' : 'false';
        break;
      case 'undefined':
      case 'function':
      case 'symbol':
        continue;
      case 'object':
        text = v === null ? 'null' : depth > 0 && !Array.isArray(v) ? plainJson(v, depth - 1) : JSON.stringify(v);
        break;
      default:
        return JSON.stringify(o);
    }
    out += `${out.length === 1 ? '' : ','}${quotedKey(k)}:${text}`;
  }
  return `${out}}`;
}

/** JSON.stringify of a string, byte for byte; plain printable ASCII (most of a record) is quoted as it is. */
function jsonString(s: unknown): string {
  return typeof s !== 'string' || NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/** JSON.stringify of a number, byte for byte (a finite number prints as String() prints it; -0 as 0). */
function jsonNumber(n: unknown): string {
  return typeof n === 'number' && Number.isFinite(n) ? `${n}` : JSON.stringify(n);
}

function templateJson(t: Template, r: ProbeReport): NonNullable<Template['json']> {
  const v = JSON.stringify({ ...r.verdict, summary: MARK });
  const at = v.indexOf(JSON.stringify(MARK));
  return {
    head: `{"schemaVersion":${JSON.stringify(SCHEMA_VERSION)},"tool":${JSON.stringify({ name: 'rdp-probe', version: t.version })},"target":`,
    verdictBefore: `,"verdict":${v.slice(0, at)}`,
    verdictAfter: `${v.slice(at + JSON.stringify(MARK).length)},"stages":[`,
    tail: `${t.tail.map((s) => `,${JSON.stringify(s)}`).join('')}],"findings":[],"anomalies":[]}`,
  };
}

function buildTemplate(e: EarlyEnd, failed: StageResult, err: StageError): Template | null {
  const b = new ReportBuilder({ host: TEMPLATE_HOST, port: 0 }, e.depth, () => 0, new Date(0), e.version);
  // The dns facts of the target stay out of the template: a verdict that read them would be caught by the test
  // that holds this report against the full path.
  b.set(failed.stage === 'dns' ? { ...failed, error: { ...err, message: MARK } } : { stage: 'dns', status: 'ok', startMs: 0, durationMs: 0 });
  if (e.tcp) b.set({ ...e.tcp, error: { ...err, message: MARK } });
  const r = b.build();
  const parts = r.verdict.summary.split(MARK);
  const rest = JSON.stringify({ ...r.verdict, summary: '' });
  const at = r.stages.findIndex((s) => s.stage === failed.stage);
  if (parts.length !== 2 || rest.includes(TEMPLATE_HOST) || rest.includes(JSON.stringify(MARK).slice(1, -1)) || at < 0) return null;
  return { depth: e.depth, version: e.version, error: { ...err, message: '' }, verdict: r.verdict, before: parts[0]!, after: parts[1]!, ran: at + 1, tail: r.stages.slice(at + 1) };
}
