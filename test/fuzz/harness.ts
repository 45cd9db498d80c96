/**
 * What the CI fuzz tests and the long runner (fuzz/run.ts) share: seeds per target, one fast-check run of a
 * target, and saving a failing input as a regression fixture that every test run replays.
 */
import fc from 'fast-check';
import { checkConnector, planArb, type ConnectorKind, type ConnectorPlan } from './connectors.js';
import { loadCorpus, type Unit } from './corpus.js';
import { KNOWN_OPEN_WHY, saveConnectorRegression, saveDecoderRegression } from './replay.js';
import { inputArb, type FuzzInput } from './mutate.js';
import { encodedSeeds } from './roundtrip.js';
import { checkDecode, DECODERS, type DecoderTarget, type Outcomes, type Violation } from './targets.js';

export interface TargetSeeds {
  /** Inputs the target decodes to a value: the real frames of its layer, and encoder outputs. */
  accepted: Uint8Array[];
  /** A sample of every other unit. */
  others: Uint8Array[];
}

function decodes(t: DecoderTarget, b: Uint8Array): boolean {
  try {
    t.decode(b);
    return true;
  } catch {
    return false;
  }
}

let seedCache: Map<string, TargetSeeds> | undefined;

/** Seeds for every decoder target (built once per process from the corpus and the encoders). */
export function seedsByTarget(maxAccepted = 200, maxOthers = 300): Map<string, TargetSeeds> {
  if (seedCache) return seedCache;
  const corpus = loadCorpus();
  const encoded = encodedSeeds();
  const out = new Map<string, TargetSeeds>();
  const everyOther = (units: Unit[]): Uint8Array[] => {
    const step = Math.max(1, Math.floor(units.length / maxOthers));
    return units.filter((_, i) => i % step === 0).map((u) => u.bytes);
  };
  for (const t of DECODERS) {
    const own = corpus.units.filter((u) => t.layers.includes(u.layer));
    const rest = corpus.units.filter((u) => !t.layers.includes(u.layer));
    const accepted: Uint8Array[] = [];
    for (const b of [...(encoded.get(t.name) ?? []), ...own.map((u) => u.bytes), ...rest.map((u) => u.bytes)]) {
      if (accepted.length >= maxAccepted) break;
      if (decodes(t, b)) accepted.push(b);
    }
    out.set(t.name, { accepted, others: everyOther(rest.length > 0 ? [...own, ...rest] : own) });
  }
  seedCache = out;
  return out;
}

export interface TargetRun {
  target: string;
  cases: number;
  ms: number;
  /** How the generated cases ended (shrinking excluded). */
  outcomes: Outcomes;
  failure?: { violation: Violation; input: FuzzInput; seed: number; path?: string; saved: string; hex: string };
}

/** One fast-check run of a decoder target: `numRuns` cases from `seed`; a failure is shrunk, then saved. */
export function runDecoderTarget(t: DecoderTarget, numRuns: number, seed: number, save = true): TargetRun {
  const seeds = seedsByTarget().get(t.name)!;
  const arb = inputArb({ accepted: seeds.accepted, others: seeds.others, maxRandom: t.maxRandom ?? 256 });
  let last: Violation | undefined;
  const outcomes: Outcomes = { values: 0, errors: 0 };
  const started = performance.now();
  const result = fc.check(
    fc.property(arb, (input) => {
      last = checkDecode(t, input.bytes, outcomes);
      return last === undefined;
    }),
    { numRuns, seed, endOnFailure: false },
  );
  const ms = performance.now() - started;
  if (!result.failed || !result.counterexample) return { target: t.name, cases: result.numRuns, ms, outcomes };
  const input = result.counterexample[0];
  const violation = checkDecode(t, input.bytes) ?? last ?? { target: t.name, why: 'failed only while shrinking' };
  const saved = save ? saveDecoderRegression(t.name, input.bytes) : '(not saved)';
  return {
    target: t.name,
    cases: result.numRuns,
    ms,
    outcomes,
    failure: { violation, input, seed: result.seed, ...(result.counterexamplePath ? { path: result.counterexamplePath } : {}), saved, hex: Buffer.from(input.bytes).toString('hex') },
  };
}

export function describeFailure(r: TargetRun): string {
  const f = r.failure!;
  return [
    `${r.target}: ${f.violation.why}`,
    `  seed ${f.seed}${f.path ? ` path ${f.path}` : ''} (replay: fc.check(..., { seed: ${f.seed}${f.path ? `, path: '${f.path}'` : ''} }))`,
    `  input (${f.input.bytes.length} bytes): ${f.hex.slice(0, 2000)}${f.hex.length > 2000 ? '…' : ''}`,
    `  made as: ${f.input.how().slice(0, 600)}`,
    `  saved: ${f.saved}`,
    ...(f.violation.stack ? [`  stack: ${f.violation.stack.split('\n').slice(0, 8).join('\n    ')}`] : []),
  ].join('\n');
}

export interface ConnectorRun {
  kind: ConnectorKind;
  cases: number;
  ms: number;
  /** Stage outcomes reached ('nla_auth ok', 'mcs failed: malformed_pdu', ...) and how often. */
  seen: Map<string, number>;
  failure?: { why: string; stack?: string; plan: ConnectorPlan; seed: number; path?: string; saved: string };
}

/** One fast-check run of a connector: `numRuns` plans from `seed`; a failure is shrunk, then saved. */
export function runConnectorTarget(kind: ConnectorKind, numRuns: number, seed: number, save = true): ConnectorRun {
  const seen = new Map<string, number>();
  const started = performance.now();
  const result = fc.check(
    fc.property(planArb(kind), (p) => {
      const v = checkConnector(kind, p, seen);
      if (v && KNOWN_OPEN_WHY.some((re) => re.test(v.why))) {
        seen.set('KNOWN OPEN BUG', (seen.get('KNOWN OPEN BUG') ?? 0) + 1);
        return true;
      }
      return v === undefined;
    }),
    { numRuns, seed },
  );
  const ms = performance.now() - started;
  if (!result.failed || !result.counterexample) return { kind, cases: result.numRuns, ms, seen };
  const plan = result.counterexample[0];
  const v = checkConnector(kind, plan) ?? { why: 'failed only while shrinking' };
  const saved = save ? saveConnectorRegression(kind, plan) : '(not saved)';
  return { kind, cases: result.numRuns, ms, seen, failure: { ...v, plan, seed: result.seed, ...(result.counterexamplePath ? { path: result.counterexamplePath } : {}), saved } };
}

export function describeConnectorFailure(r: ConnectorRun): string {
  const f = r.failure!;
  const hex = Buffer.from(f.plan.stream).toString('hex');
  return [
    `${r.kind} connector: ${f.why}`,
    `  seed ${f.seed}${f.path ? ` path ${f.path}` : ''}`,
    `  plan: variant ${f.plan.variant}, chunks ${JSON.stringify(f.plan.chunks)}, ending ${JSON.stringify(f.plan.ending)}`,
    `  stream (${f.plan.stream.length} bytes): ${hex.slice(0, 2000)}${hex.length > 2000 ? '…' : ''}`,
    `  made as: ${f.plan.how.slice(0, 600)}`,
    `  saved: ${f.saved}`,
    ...(f.stack ? [`  stack: ${f.stack.split('\n').slice(0, 8).join('\n    ')}`] : []),
  ].join('\n');
}
