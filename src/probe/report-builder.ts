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
  /** The constant parts of its records' JSON text; null when some of it is not ASCII (JSON.stringify writes those). */
  json: TemplateJson | null;
}

/** A template's constant JSON text as ASCII bytes, and what a record must still hold for the bytes to be its own. */
interface TemplateJson {
  /** `{"schemaVersion":…,"tool":{…},"target":` */
  head: Uint8Array;
  /** The verdict's text around its summary's JSON string: `,"verdict":{…,"summary":` and `,"fixes":…},"stages":[`. */
  verdictBefore: Uint8Array;
  verdictAfter: Uint8Array;
  /** The same around the message, for the summary as made: the opening quote and the text before it; after it. */
  summaryBefore: Uint8Array;
  /** summaryBefore after the template's depth: `,"depth":"…","verdict":{…"summary":"…`. */
  depthSummaryBefore: Uint8Array;
  summaryAfter: Uint8Array;
  /** The stages after the ones that ran, and the empty findings and anomalies: `,{…},…],"findings":[],"anomalies":[]}`. */
  tail: Uint8Array;
  tool: Flat;
  verdict: Flat;
  tailStages: Flat[];
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
 * What earlyEndReport made a record from, on the record itself as a non-enumerable symbol property: invisible to
 * JSON, to Object.keys, to spreads and to deep equality, and gone with the record. (A WeakMap from record to
 * template did the same, but each of its entries is an ephemeron the garbage collector must trace specially: with
 * 1024 probes in flight, building the record and collecting it cost more than the rest of the probe.) The summary
 * and message are kept so that a summary still the one made is written as the template's text around the message,
 * without reading (and so flattening) the joined string.
 */
class Made {
  constructor(
    readonly t: Template,
    readonly summary: string,
    readonly message: string,
  ) {}
}
const MADE = Symbol('compact record template');
const madeOf = (r: ProbeReport): Made | undefined => (r as ProbeReport & { [MADE]?: Made })[MADE];

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
  const summary = t.before + err.message + t.after;
  const verdict = { ...v, summary, fixes: v.fixes.slice() };
  if (verdict.mstsc) verdict.mstsc = { ...verdict.mstsc };
  // Made at its full length: pushing the tail onto [dns, tcp] grew it once, a second copy of the array.
  const tail = t.tail;
  const stages = new Array<StageResult>(t.ran + tail.length);
  stages[0] = e.dns;
  if (e.tcp) stages[1] = e.tcp;
  for (let i = 0; i < tail.length; i++) stages[t.ran + i] = { ...tail[i]! };
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
  Object.defineProperty(r, MADE, { value: new Made(t, summary, err.message) });
  return r;
}

/** encodeCompactRecord: the report is not a compact record as made (or holds a value only JSON.stringify writes). */
export const NOT_A_COMPACT_RECORD = -1;
/** encodeCompactRecord: the record did not fit in the buffer from the offset given. */
export const NO_ROOM_FOR_RECORD = -2;
/** Internal: a compact record with a value the byte writer leaves to JSON.stringify (an escape, a toJSON, …). */
const ODD = -3;

/**
 * JSON.stringify(r) of a compact record as UTF-8 bytes, written into buf from `at`: the template's constant text is
 * copied as bytes, and only the target, the times, the depth, the summary's message and the stages that ran are
 * written value by value (a scan writes tens of thousands of these lines; this makes no string per line).
 * Returns the offset just past the record, NOT_A_COMPACT_RECORD (write JSON.stringify(r) instead), or
 * NO_ROOM_FOR_RECORD (try again at the start of an empty buffer; when even that has no room, JSON.stringify(r)).
 * On a negative return, bytes of buf past `at` may have been overwritten.
 * The record's parts are read once each, in JSON order, but checked against the template before any is written: a
 * caller's getter that changes an earlier-checked part of the record while it is written is not followed (records
 * earlyEndReport makes hold data properties only).
 */
export function encodeCompactRecord(r: ProbeReport, buf: Uint8Array, at: number): number {
  const n = encode(r, buf, at);
  return n === ODD ? NOT_A_COMPACT_RECORD : n;
}

/**
 * JSON.stringify of a compact record, byte for byte. Undefined for any other report, or one whose shape, verdict,
 * tool, findings, anomalies or later stages have been changed since it was made.
 */
export function compactRecordJson(r: ProbeReport): string | undefined {
  const buf = scratchBuffer();
  const n = encode(r, buf, 0);
  return n >= 0 ? buf.toString('latin1', 0, n) : n === NOT_A_COMPACT_RECORD ? undefined : JSON.stringify(r);
}

let scratch: Buffer | undefined;
/** Room for any compact record as made (about 2 KB); a bigger one (a caller's own long values) goes to JSON.stringify. */
function scratchBuffer(): Buffer {
  return (scratch ??= Buffer.allocUnsafeSlow(16 * 1024));
}

/** The order of a compact record's keys (earlyEndReport's object literal). */
const REPORT_KEYS = ['schemaVersion', 'tool', 'target', 'startedAt', 'durationMs', 'depth', 'verdict', 'stages', 'findings', 'anomalies'];

/** The byte writer's state for the record being written (one at a time: nothing in it awaits). */
let out: Uint8Array = new Uint8Array(0);
let pos = 0;
/** Set when a write failed for want of room rather than for a value it does not write. */
let noRoom = false;

/** True while a record is being written: a caller's getter that writes another record gets JSON.stringify's way. */
let busy = false;

function encode(r: ProbeReport, buf: Uint8Array, at: number): number {
  if (busy) return NOT_A_COMPACT_RECORD;
  busy = true;
  try {
    return encodeRecord(r, buf, at);
  } finally {
    busy = false;
    out = EMPTY; // not to keep a caller's buffer alive
  }
}

function encodeRecord(r: ProbeReport, buf: Uint8Array, at: number): number {
  const made = madeOf(r);
  const json = made?.t.json;
  if (made === undefined || !json || !asMade(r, made.t, json)) return NOT_A_COMPACT_RECORD;
  out = buf;
  pos = at;
  noRoom = false;
  longText = '';
  const ran = made.t.ran;
  const ok =
    bytes(json.head) &&
    object(r.target, TARGET_SITE, 1) &&
    bytes(STARTED_AT) &&
    value(r.startedAt) &&
    bytes(DURATION_MS) &&
    value(r.durationMs) &&
    depthAndVerdict(r, made, json) &&
    object(r.stages[0], STAGE_SITES[0], 1) &&
    (ran === 1 || (byte(COMMA) && object(r.stages[1], STAGE_SITES[1], 1))) &&
    bytes(json.tail);
  return ok ? pos : noRoom ? NO_ROOM_FOR_RECORD : ODD;
}
const EMPTY = new Uint8Array(0);

/** The depth and the verdict: as made, the template's text around the message; else the depth or summary written. */
function depthAndVerdict(r: ProbeReport, made: Made, json: TemplateJson): boolean {
  const asMadeSummary = r.verdict.summary === made.summary;
  if (asMadeSummary && r.depth === made.t.depth) return bytes(json.depthSummaryBefore) && chars(made.message) && bytes(json.summaryAfter);
  if (!bytes(DEPTH) || !value(r.depth)) return false;
  return asMadeSummary ? bytes(json.summaryBefore) && chars(made.message) && bytes(json.summaryAfter) : bytes(json.verdictBefore) && value(r.verdict.summary) && bytes(json.verdictAfter);
}

/**
 * The record still has the keys, tool, verdict (but its summary), stage count, later stages and empty lists it was
 * made with, so the template's bytes for them are its own. A compare per value: far cheaper than writing them.
 */
function asMade(r: ProbeReport, t: Template, json: TemplateJson): boolean {
  if (!isPlain(r)) return false;
  let i = 0;
  for (const k in r) if (k !== REPORT_KEYS[i++]) return false;
  if (i !== REPORT_KEYS.length || r.schemaVersion !== SCHEMA_VERSION || !same(r.tool, json.tool) || !isPlain(r.verdict) || !sameObject(r.verdict, json.verdict, 'summary')) return false;
  const { stages, findings, anomalies } = r;
  if (!isArray(stages) || !isArray(findings) || !isArray(anomalies) || findings.length !== 0 || anomalies.length !== 0 || stages.length !== t.ran + json.tailStages.length) return false;
  for (let j = 0; j < json.tailStages.length; j++) if (!sameTail(stages[t.ran + j], json.tailStages[j]!)) return false;
  return true;
}

/** A template object's own enumerable keys in JSON's order and its values (objects among them as Flat, arrays copied). */
class Flat {
  constructor(
    readonly keys: string[],
    readonly values: unknown[],
  ) {}
}
function flat(o: object): Flat {
  const keys = Object.keys(o);
  return new Flat(
    keys,
    keys.map((k) => {
      const v = (o as Record<string, unknown>)[k];
      return Array.isArray(v) ? v.slice() : typeof v === 'object' && v !== null ? flat(v) : v;
    }),
  );
}
/** `a` writes as JSON the same as the template value `f` (a primitive, an array of primitives, or a Flat). */
function same(a: unknown, f: unknown): boolean {
  if (f instanceof Flat) return isPlain(a) && sameObject(a, f);
  if (Array.isArray(f)) {
    if (!isArray(a) || a.length !== f.length) return false;
    for (let i = 0; i < f.length; i++) if (a[i] !== f[i]) return false;
    return true;
  }
  return a === f;
}
/**
 * same() for a later stage (primitive values only), in a function of its own: its property loads see the two or
 * three shapes of later stages, where those of same() see every object of a record (and are slower for it).
 */
function sameTail(o: unknown, f: Flat): boolean {
  if (typeof o !== 'object' || o === null || Object.getPrototypeOf(o) !== Object.prototype || typeof (o as { toJSON?: unknown }).toJSON === 'function') return false;
  const { keys, values } = f;
  let i = 0;
  for (const k in o) {
    if (k !== keys[i] || (o as Record<string, unknown>)[k] !== values[i]) return false;
    i++;
  }
  return i === keys.length;
}
function sameObject(o: object, f: Flat, except?: string): boolean {
  let i = 0;
  for (const k in o) {
    if (k !== f.keys[i]) return false;
    if (k !== except && !same((o as Record<string, unknown>)[k], f.values[i])) return false;
    i++;
  }
  return i === f.keys.length;
}

/**
 * An object JSON.stringify writes as its own enumerable keys: no toJSON, and a plain prototype (a String or Number
 * wrapper, a Date, a class with getters would not write as for-in sees them).
 */
function isPlain(o: unknown): o is object {
  if (typeof o !== 'object' || o === null || typeof (o as { toJSON?: unknown }).toJSON === 'function') return false;
  const p: unknown = Object.getPrototypeOf(o);
  return p === Object.prototype || p === null;
}
function isArray(a: unknown): a is unknown[] {
  return Array.isArray(a) && Object.getPrototypeOf(a) === Array.prototype && typeof (a as { toJSON?: unknown }).toJSON !== 'function';
}

/**
 * The keys of an object and its constant JSON text, so that writing an object of a shape seen before writes only
 * what varies. Told apart by comparing an object's for-in keys with the list in order (no key array per object).
 * A key's value is fixed while every object of the shape has had the same one (a stage's name and status, the
 * error's layer, kind and code, the port of a scan): its text is folded into the runs around it and the object's
 * value is only compared; the first object that differs makes the key vary from then on (at most once per key).
 * `sub` holds the shapes of the objects under each key (dns facts, the tcp error).
 */
class Shape {
  readonly sub: (Shape[] | undefined)[];
  /** Per key: the value every object of this shape has had so far, or VARIES. */
  readonly fixed: unknown[];
  /** Per varying key: the constant text since the previous varying value, up to its `"key":`; null for a fixed key. */
  runs: (Uint8Array | null)[] = [];
  /** The constant text after the last varying value, the closing brace included. */
  close: Uint8Array = EMPTY;

  constructor(
    readonly keys: string[],
    first: object,
  ) {
    this.sub = keys.map(() => undefined);
    this.fixed = keys.map((k) => fixable((first as Record<string, unknown>)[k]));
  }

  /** The runs for the keys now fixed; false when a key's text is not ASCII. */
  build(): boolean {
    const runs: (Uint8Array | null)[] = [];
    let text = '';
    for (let i = 0; i < this.keys.length; i++) {
      text += `${i === 0 ? '{' : ','}${JSON.stringify(this.keys[i])}:`;
      const f = this.fixed[i];
      if (f === VARIES) {
        const run = ascii(text);
        if (run === null) return false;
        runs.push(run);
        text = '';
      } else {
        runs.push(null);
        text += JSON.stringify(f);
      }
    }
    const close = ascii(this.keys.length === 0 ? '{}' : `${text}}`);
    if (close === null) return false;
    this.runs = runs;
    this.close = close;
    return true;
  }
}
/** A key whose value is not (or no longer) folded into its shape's text. */
const VARIES = Symbol('varies');
/** A value the runs can hold: a primitive with ASCII JSON text that compares equal (===) only to values of the same text. */
function fixable(v: unknown): unknown {
  if (typeof v === 'string') return ascii(JSON.stringify(v)) === null ? VARIES : v;
  return (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean' || v === null ? v : VARIES;
}

/** Where objects are written: each its few shapes seen, the last one used first. */
const TARGET_SITE: Shape[] = [];
const STAGE_SITES: [Shape[], Shape[]] = [[], []];
let shapeCount = 0;
/** A record has a handful of shapes; the caps only bound a caller's own objects (past them, JSON.stringify). */
const MAX_SHAPES = 512;
const MAX_SHAPES_PER_SITE = 8;

/** fields(): the object is written; it is not of this shape (or holds what only JSON.stringify writes); try again. */
const WRITTEN = 1;
const NOT_THIS = 0;
const RETRY = 2;

function object(o: unknown, site: Shape[], depth: number): boolean {
  if (!isPlain(o)) return false;
  const start = pos;
  let shape = site[0];
  let searched = false;
  for (;;) {
    const r = shape === undefined ? NOT_THIS : fields(o, shape, depth);
    if (r === WRITTEN) return true;
    if (noRoom) return false;
    pos = start;
    // What was written from start is gone: the long string remembered there too.
    if (longAt >= start) longText = '';
    // A fixed value differed: the same shape, with that key varying now (so this ends, a key at a time).
    if (r === RETRY) continue;
    if (searched) return false;
    searched = true;
    const next = findShape(o, site);
    if (next === undefined || next === shape) return false;
    shape = next;
  }
}

function fields(o: object, shape: Shape, depth: number): number {
  const { keys, fixed, runs } = shape;
  let i = 0;
  for (const k in o) {
    if (k !== keys[i]) return NOT_THIS;
    const v = (o as Record<string, unknown>)[k];
    const f = fixed[i];
    if (f !== VARIES) {
      if (v === f) {
        i++;
        continue;
      }
      fixed[i] = VARIES;
      return shape.build() ? RETRY : NOT_THIS;
    }
    if (!bytes(runs[i]!)) return NOT_THIS;
    if (typeof v === 'object' && v !== null) {
      // Arrays (of primitives) at any level; objects down to the depth given.
      if (!(Array.isArray(v) ? array(v) : depth > 0 && object(v, (shape.sub[i] ??= []), depth - 1))) return NOT_THIS;
    } else if (!value(v)) return NOT_THIS;
    i++;
  }
  return i === keys.length && bytes(shape.close) ? WRITTEN : NOT_THIS;
}

function findShape(o: object, site: Shape[]): Shape | undefined {
  for (let j = 0; j < site.length; j++) {
    const s = site[j]!;
    if (sameKeys(o, s.keys)) {
      site[j] = site[0]!;
      site[0] = s;
      return s;
    }
  }
  if (site.length >= MAX_SHAPES_PER_SITE || shapeCount >= MAX_SHAPES) return undefined;
  const keys = Object.keys(o);
  // An inherited enumerable key shows in for-in and not in Object.keys: such an object never matches a shape.
  if (!sameKeys(o, keys)) return undefined;
  const s = new Shape(keys, o);
  if (!s.build()) return undefined;
  shapeCount++;
  site.unshift(s);
  return s;
}

function sameKeys(o: object, keys: readonly string[]): boolean {
  let i = 0;
  for (const k in o) if (k !== keys[i++]) return false;
  return i === keys.length;
}

/** An array of strings, numbers, booleans and nulls (anything else: JSON.stringify). */
function array(a: unknown[]): boolean {
  if (!isArray(a) || !byte(OPEN_BRACKET)) return false;
  for (let i = 0; i < a.length; i++) if ((i !== 0 && !byte(COMMA)) || !value(a[i])) return false;
  return byte(CLOSE_BRACKET);
}

function value(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
      return quoted(v);
    case 'number':
      return number(v);
    case 'boolean':
      return bytes(v ? TRUE : FALSE);
    case 'object':
      return v === null && bytes(NULL);
    default:
      // undefined, a function, a symbol (JSON leaves the key out), a bigint (JSON throws): JSON.stringify's call.
      return false;
  }
}

/**
 * A string's characters as they are, when all are printable ASCII other than `"` and `\` (then JSON's text is the
 * string itself): one pass both tests and copies, where a regex per value cost as much as the writing.
 */
function chars(s: string): boolean {
  const n = s.length;
  if (pos + n > out.length) return full();
  const o = out;
  const at = pos;
  if (n >= LONG) {
    if (s === longText) {
      o.copyWithin(at, longAt, longAt + n);
      pos = at + n;
      return true;
    }
    longText = s;
    longAt = at;
  }
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
      longText = '';
      return false;
    }
    o[at + i] = c;
  }
  pos = at + n;
  return true;
}
function quoted(s: string): boolean {
  if (pos + s.length + 2 > out.length) return full();
  out[pos++] = QUOTE;
  if (!chars(s)) return false;
  out[pos++] = QUOTE;
  return true;
}

/**
 * The last long string written and where: a record has its message twice (in the summary and in the tcp error),
 * and copying the bytes written the first time is several times faster than testing and writing it again.
 */
const LONG = 32;
let longText = '';
let longAt = 0;

/**
 * A number as JSON.stringify writes it. The times are tenths of a millisecond: when n is k/10 for an integer k of
 * at most 14 digits, its shortest round-trip text is k's digits with a point before the last one (or none for a
 * zero tenth), written here without making the string; anything else goes through String(n).
 */
function number(n: number): boolean {
  if (!Number.isFinite(n)) return bytes(NULL);
  let k = Math.round(n * 10);
  if (k / 10 !== n || !(k < 1e14 && k > -1e14)) return chars(String(n));
  // At most a sign, 13 digits, a point and a digit.
  if (pos + 16 > out.length) return full();
  if (k < 0) {
    out[pos++] = 0x2d;
    k = -k;
  }
  const whole = Math.floor(k / 10);
  const tenth = k - whole * 10;
  let d = 1;
  while (d * 10 <= whole) d *= 10;
  for (let w = whole; d >= 1; d /= 10) {
    const q = Math.floor(w / d);
    out[pos++] = 0x30 + q;
    w -= q * d;
  }
  if (tenth !== 0) {
    out[pos++] = 0x2e;
    out[pos++] = 0x30 + tenth;
  }
  return true;
}

function bytes(p: Uint8Array): boolean {
  const n = p.length;
  if (pos + n > out.length) return full();
  // A short piece is copied faster by a loop than by a call to set().
  if (n > 32) out.set(p, pos);
  else for (let i = 0; i < n; i++) out[pos + i] = p[i]!;
  pos += n;
  return true;
}
function byte(c: number): boolean {
  if (pos >= out.length) return full();
  out[pos++] = c;
  return true;
}
function full(): false {
  noRoom = true;
  return false;
}

/** The text as bytes when it is all ASCII (so that its bytes are its UTF-8 and its latin1 alike), else null. */
function ascii(text: string): Uint8Array | null {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return null;
  return Buffer.from(text, 'latin1');
}
const QUOTE = 0x22;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const STARTED_AT = ascii(',"startedAt":')!;
const DURATION_MS = ascii(',"durationMs":')!;
const DEPTH = ascii(',"depth":')!;
const TRUE = ascii('true')!;
const FALSE = ascii('false')!;
const NULL = ascii('null')!;

/** The template's constant text, from its own verdict and tail (never a record's, which its caller may change). */
function templateJson(t: Omit<Template, 'json'>): TemplateJson | null {
  const tool = { name: 'rdp-probe', version: t.version };
  const markJson = JSON.stringify(MARK);
  const v = JSON.stringify({ ...t.verdict, summary: MARK });
  const at = v.indexOf(markJson);
  const verdictBefore = `,"verdict":${v.slice(0, at)}`;
  const verdictAfter = `${v.slice(at + markJson.length)},"stages":[`;
  const parts = [
    `{"schemaVersion":${JSON.stringify(SCHEMA_VERSION)},"tool":${JSON.stringify(tool)},"target":`,
    verdictBefore,
    verdictAfter,
    verdictBefore + JSON.stringify(t.before).slice(0, -1),
    JSON.stringify(t.after).slice(1) + verdictAfter,
    `${t.tail.map((s) => `,${JSON.stringify(s)}`).join('')}],"findings":[],"anomalies":[]}`,
    `,"depth":${JSON.stringify(t.depth)}${verdictBefore}${JSON.stringify(t.before).slice(0, -1)}`,
  ].map(ascii);
  const [head, vb, va, sb, sa, tail, dsb] = parts;
  if (!head || !vb || !va || !sb || !sa || !tail || !dsb) return null;
  return { head, verdictBefore: vb, verdictAfter: va, summaryBefore: sb, summaryAfter: sa, depthSummaryBefore: dsb, tail, tool: flat(tool), verdict: flat(t.verdict), tailStages: t.tail.map(flat) };
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
  const t = { depth: e.depth, version: e.version, error: { ...err, message: '' }, verdict: r.verdict, before: parts[0]!, after: parts[1]!, ran: at + 1, tail: r.stages.slice(at + 1) };
  return { ...t, json: templateJson(t) };
}
