/**
 * The long fuzz run (`npm run fuzz`): at least a million cases per decoder and per connector, the same
 * properties as test/fuzz/ (which CI runs a few hundred cases of). Each target runs in a worker thread in batches
 * with their own seeds; the main thread prints cases/s, kills a worker that stops reporting (a hang) and names
 * the batch seed that hung. A failing input is shrunk, printed with its seed, path and hex, and saved under
 * test/fixtures/regressions/, which every test run replays.
 *
 *   npm run fuzz -- [--runs N] [--seed S] [--only a,b] [--jobs J] [--minutes M] [--batch B] [--list]
 *
 * --minutes bounds the whole run: the time is shared evenly by the targets not yet run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { ROOT } from '../test/fuzz/corpus.js';
import { describeConnectorFailure, describeFailure, runConnectorTarget, runDecoderTarget, seedsByTarget } from '../test/fuzz/harness.js';
import { DECODERS } from '../test/fuzz/targets.js';
import type { ConnectorKind } from '../test/fuzz/connectors.js';

const CONNECTORS: ConnectorKind[] = ['x224', 'credssp', 'session'];
/** A worker that reports nothing for this long is hung (a batch takes well under a second normally). */
const HANG_MS = 60_000;
const MAX_FAILURES_PER_TARGET = 5;

interface Job {
  target: string;
  connector: boolean;
  runs: number;
  seed: number;
  batch: number;
  deadline: number;
}

type Report =
  | { type: 'progress'; cases: number; batchSeed: number }
  | { type: 'failure'; text: string }
  | { type: 'end'; cases: number; ms: number; failures: number; values?: number; errors?: number; seen?: Record<string, number>; accepted?: number };

// ---- worker ----

function work(job: Job): void {
  const post = (r: Report): void => parentPort!.postMessage(r);
  const t = DECODERS.find((d) => d.name === job.target);
  let cases = 0;
  let failures = 0;
  let values = 0;
  let errors = 0;
  const seen: Record<string, number> = {};
  const started = performance.now();
  for (let b = 0; cases < job.runs && Date.now() < job.deadline && failures < MAX_FAILURES_PER_TARGET; b++) {
    const batchSeed = (job.seed + Math.imul(b, 0x9e3779b1)) | 0;
    post({ type: 'progress', cases, batchSeed });
    const n = Math.min(job.batch, job.runs - cases);
    if (job.connector) {
      const r = runConnectorTarget(job.target as ConnectorKind, n, batchSeed);
      cases += r.cases;
      for (const [k, v] of r.seen) seen[k] = (seen[k] ?? 0) + v;
      if (r.failure) {
        failures++;
        post({ type: 'failure', text: describeConnectorFailure(r) });
      }
    } else {
      const r = runDecoderTarget(t!, n, batchSeed);
      cases += r.cases;
      values += r.outcomes.values;
      errors += r.outcomes.errors;
      if (r.failure) {
        failures++;
        post({ type: 'failure', text: describeFailure(r) });
      }
    }
  }
  post({
    type: 'end',
    cases,
    ms: performance.now() - started,
    failures,
    ...(job.connector ? { seen } : { values, errors, accepted: seedsByTarget().get(job.target)!.accepted.length }),
  });
}

if (!isMainThread) work(workerData as Job);

// ---- main ----

interface Options {
  runs: number;
  seed: number;
  only: string[];
  jobs: number;
  minutes: number | undefined;
  batch: number;
  list: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { runs: 1_000_000, seed: Date.now() | 0, only: [], jobs: 1, minutes: undefined, batch: 20_000, list: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--runs') o.runs = Number(v());
    else if (a === '--seed') o.seed = Number(v()) | 0;
    else if (a === '--only') o.only = v().split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    else if (a === '--jobs') o.jobs = Math.max(1, Number(v()));
    else if (a === '--minutes') o.minutes = Number(v());
    else if (a === '--batch') o.batch = Math.max(1, Number(v()));
    else if (a === '--list') o.list = true;
    else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error('--runs must be a positive integer');
  return o;
}

interface Row {
  target: string;
  cases: number;
  seconds: number;
  perSecond: number;
  failures: number;
  hung?: string;
  detail: string;
}

function runJob(job: Job, onLine: (s: string) => void): Promise<Row> {
  return new Promise((resolve) => {
    const w = new Worker(fileURLToPath(import.meta.url), { workerData: job });
    let last = Date.now();
    let batchSeed = job.seed;
    let cases = 0;
    let failures = 0;
    let lastPrint = Date.now();
    const started = Date.now();
    const row = (extra: Partial<Row>): Row => {
      const seconds = (Date.now() - started) / 1000;
      return { target: job.target, cases, seconds, perSecond: cases / Math.max(seconds, 1e-3), failures, detail: '', ...extra };
    };
    const watchdog = setInterval(() => {
      if (Date.now() - last < HANG_MS) return;
      clearInterval(watchdog);
      void w.terminate();
      const hung = `no progress for ${HANG_MS / 1000} s in the batch with seed ${batchSeed} (replay: --only '${job.target}' --seed ${batchSeed} --batch ${job.batch})`;
      onLine(`HANG ${job.target}: ${hung}`);
      resolve(row({ failures: failures + 1, hung }));
    }, 1000);
    w.on('message', (r: Report) => {
      last = Date.now();
      if (r.type === 'progress') {
        batchSeed = r.batchSeed;
        cases = r.cases;
        if (Date.now() - lastPrint > 10_000) {
          lastPrint = Date.now();
          onLine(`  ${job.target}: ${cases.toLocaleString('en')} cases, ${Math.round(cases / ((Date.now() - started) / 1000)).toLocaleString('en')}/s`);
        }
      } else if (r.type === 'failure') {
        failures++;
        onLine(`FAIL ${r.text}`);
      } else {
        clearInterval(watchdog);
        cases = r.cases;
        const detail = r.seen
          ? Object.entries(r.seen)
              .sort((a, b) => b[1] - a[1])
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')
          : `${r.values} values, ${r.errors} DecodeErrors, ${r.accepted} accepted seeds`;
        resolve(row({ failures: r.failures, seconds: r.ms / 1000, perSecond: r.cases / Math.max(r.ms / 1000, 1e-3), detail }));
      }
    });
    w.on('error', (e) => {
      clearInterval(watchdog);
      onLine(`FAIL ${job.target}: the worker died: ${e.stack ?? String(e)}`);
      resolve(row({ failures: failures + 1, detail: `worker died: ${e.message}` }));
    });
  });
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const all = [...DECODERS.map((d) => ({ target: d.name, connector: false })), ...CONNECTORS.map((k) => ({ target: k, connector: true }))];
  if (o.list) {
    for (const t of all) console.log(`${t.connector ? 'connector' : 'decoder  '}  ${t.target}`);
    return;
  }
  const chosen = o.only.length === 0 ? all : all.filter((t) => o.only.some((s) => t.target.toLowerCase().includes(s)));
  if (chosen.length === 0) throw new Error(`no target matches ${o.only.join(', ')}`);
  const endAt = o.minutes === undefined ? Number.POSITIVE_INFINITY : Date.now() + o.minutes * 60_000;
  console.log(`rdp-probe fuzz: ${chosen.length} targets, ${o.runs.toLocaleString('en')} cases each, seed ${o.seed}, ${o.jobs} job(s)${o.minutes ? `, at most ${o.minutes} min` : ''}`);
  const rows: Row[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < chosen.length) {
      const i = next++;
      const t = chosen[i]!;
      // Share the time left evenly by the targets not started yet (each lane runs one at a time).
      const left = chosen.length - i;
      const deadline = Number.isFinite(endAt) ? Date.now() + ((endAt - Date.now()) * o.jobs) / left : Number.POSITIVE_INFINITY;
      const seed = (o.seed + Math.imul(i + 1, 0x85ebca6b)) | 0;
      const r = await runJob({ ...t, runs: o.runs, seed, batch: t.connector ? Math.max(1, Math.floor(o.batch / 10)) : o.batch, deadline: Number.isFinite(deadline) ? deadline : 8.64e15 }, (s) => console.log(s));
      rows.push(r);
      console.log(
        `${r.failures > 0 ? 'FAIL' : 'ok  '} ${r.target.padEnd(36)} ${r.cases.toLocaleString('en').padStart(11)} cases ${r.seconds.toFixed(1).padStart(7)} s ${Math.round(r.perSecond).toLocaleString('en').padStart(8)}/s  ${r.detail}`,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.jobs, chosen.length) }, () => lane()));
  const total = rows.reduce((n, r) => n + r.cases, 0);
  const failed = rows.filter((r) => r.failures > 0);
  const short = rows.filter((r) => r.cases < o.runs);
  console.log(`\ntotal: ${total.toLocaleString('en')} cases over ${rows.length} targets; ${failed.length} target(s) failed${short.length > 0 ? `; ${short.length} stopped short of ${o.runs.toLocaleString('en')} (time bound or failures)` : ''}`);
  const out = path.join(ROOT, '.run', 'fuzz', 'summary.json');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ seed: o.seed, runs: o.runs, rows }, null, 1)}\n`);
  console.log(`summary: ${path.relative(process.cwd(), out)}`);
  process.exitCode = failed.length > 0 ? 1 : 0;
}

if (isMainThread) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exitCode = 2;
  });
}
