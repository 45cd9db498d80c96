/**
 * The benchmark (run by bench/run.mjs through bench/vitest.config.ts; not part of `npm test`).
 *
 * 1. starts every xrdp scenario and the shadow modes nla/tls/rdp on 127.0.9.N:3389, the filtered network
 *    namespace, and picks a closed loopback address;
 * 2. gathers ground truth for every target (bench/lib/truth.ts);
 * 3. time to verdict: BENCH_RUNS rounds (default 7); each round runs every case × tool once, sequentially;
 * 4. verdict comparison for every target (the timing cases reuse round 1), plus `nmap -d` where the script
 *    failed and xfreerdp with a wrong password where it exited 0;
 * 5. stops everything, checks that nothing is left, writes bench/results/latest.{md,json}.
 *
 * Nothing is asserted about speed; the only assertions are that the run completed and cleaned up.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import {
  DEFAULT_ADDRESS,
  SHADOW_MODES,
  XRDP_SCENARIOS,
  ensureXvfb,
  filteredNetns,
  listNetns,
  liveProcesses,
  runRoot,
  startShadow,
  startXrdp,
  stopAllServers,
  type FilteredNetns,
  type RunningServer,
  type ShadowMode,
} from '../test/servers/launcher.js';
import { REPO_ROOT } from '../test/servers/env.js';
import { tcpConnects } from '../test/servers/proc.js';
import { judge, renderNotes, type Observation } from './lib/judge.js';
import type { TimedResult } from './lib/proc.js';
import { renderMarkdown, ratio, type Baseline, type CaseTiming, type MachineFacts, type RunRecord, type ToolTiming, type VerdictRow } from './lib/render.js';
import { logSize, serverErrorsSince } from './lib/serverlog.js';
import { summarize } from './lib/stats.js';
import {
  allowNetnsSubnet,
  assertAllowedTarget,
  nmapDebugError,
  nmapLine,
  parseNmap,
  parseProbe,
  parseXf,
  probeLine,
  runNmap,
  runProbe,
  runXfreerdp,
  WRONG_PASSWORD,
  xfLine,
  type ToolEnv,
} from './lib/tools.js';
import { gatherTruth, settle, type Truth } from './lib/truth.js';
import { runTimed } from './lib/proc.js';

const PORT = 3389;
/** The benchmark's own loopback /24, clear of the test suites (127.0.0.x) and the shared harness (127.0.0.x, 127.0.1.x). */
const NET = '127.0.9';
const CLOSED_HOST = `${NET}.99`;
const SHADOW_FOR_VERDICTS: ShadowMode[] = ['nla', 'tls', 'rdp'];

const RUNS = (() => {
  const n = Number(process.env.BENCH_RUNS ?? 7);
  if (!Number.isInteger(n) || n < 1 || n > 50) throw new Error(`BENCH_RUNS must be a whole number from 1 to 50 (got ${process.env.BENCH_RUNS})`);
  return n;
})();
const ONLY_CASES = process.env.BENCH_CASES ? new Set(process.env.BENCH_CASES.split(',').map((s) => s.trim())) : null;
const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');

const log = (msg: string): void => {
  process.stderr.write(`[bench] ${msg}\n`);
};

interface Target {
  id: string;
  label: string;
  host: string;
  port: number;
  logFile?: string;
}

interface ToolSpec {
  tool: ToolTiming['tool'];
  args: string[];
}

interface Case {
  id: string;
  label: string;
  target: Target;
  /** extra rdp-probe args for this variant */
  variant: string[];
  tools: ToolSpec[];
}

/** One run of one tool, with what the server logged meanwhile. */
interface ToolRun {
  result: TimedResult;
  serverErrors: string[];
}

function shortVersion(cmd: string, args: string[], re: RegExp, env: NodeJS.ProcessEnv = process.env): string {
  try {
    const out = execFileSync(cmd, args, { timeout: 10_000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env });
    return re.exec(out)?.[0]?.trim() ?? out.split('\n')[0]!.trim();
  } catch (e) {
    const out = `${(e as { stdout?: string }).stdout ?? ''}${(e as { stderr?: string }).stderr ?? ''}`;
    return re.exec(out)?.[0]?.trim() ?? '?';
  }
}

function machineFacts(): MachineFacts {
  let cpu = cpus()[0]?.model ?? '?';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    // keep os.cpus()
  }
  let git = '?';
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, timeout: 10_000, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: REPO_ROOT, timeout: 10_000, encoding: 'utf8' }).trim();
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version?: string };
    git = `${pkg.version ?? '?'} @ ${head}${dirty ? ' + uncommitted changes in src/' : ''} (dist/ built from the working tree)`;
  } catch {
    // not a git checkout
  }
  let nproc = cpus().length;
  try {
    nproc = Number(execFileSync('nproc', { timeout: 5_000, encoding: 'utf8' }).trim()) || nproc;
  } catch {
    // keep os.cpus()
  }
  return {
    date: new Date().toISOString(),
    node: process.version,
    nproc,
    cpu,
    kernel: execFileSync('uname', ['-r'], { timeout: 5_000, encoding: 'utf8' }).trim(),
    nmap: shortVersion('nmap', ['--version'], /Nmap version \S+/),
    xfreerdp: '? (needs a display; filled in once Xvfb runs)',
    xrdp: shortVersion('xrdp', ['--version'], /xrdp \S+/),
    shadow: shortVersion('freerdp-shadow-cli', ['/version'], /FreeRDP version \S+/),
    git,
    runs: RUNS,
    loadStart: loadavg().map((l) => l.toFixed(2)).join(' '),
  };
}

let netns: FilteredNetns | undefined;
let xdgDir: string | undefined;

async function cleanup(): Promise<string[]> {
  const problems: string[] = [];
  await stopAllServers();
  const nsName = netns?.name;
  if (netns) {
    try {
      await netns.down();
    } catch (e) {
      problems.push(`netns down: ${(e as Error).message}`);
    }
    netns = undefined;
  }
  if (xdgDir) {
    rmSync(xdgDir, { recursive: true, force: true });
    xdgDir = undefined;
  }
  const left = liveProcesses();
  if (left.length) problems.push(`still running: ${left.map((p) => `${p.name} (${p.pid})`).join(', ')}`);
  if (nsName && (await listNetns()).includes(nsName)) problems.push(`netns ${nsName} still present`);
  return problems;
}

afterAll(async () => {
  await cleanup();
}, 120_000);

it('benchmark: time to verdict and verdict comparison', async () => {
  const t0 = performance.now();
  const facts = machineFacts();
  const runNotes: string[] = [];
  log(`runs per case and tool: ${RUNS}; run dir ${runRoot()}`);

  let result: { cases: CaseTiming[]; baselines: Baseline[]; rows: VerdictRow[]; truths: Record<string, Truth>; warmup: Record<string, RunRecord>; raw: Record<string, unknown> } | undefined;
  let problems: string[] = [];
  try {
    // ---------------------------------------------------------------------------------------------------------
    // servers and targets
    const targets = new Map<string, Target>();
    for (const s of XRDP_SCENARIOS) {
      const host = `${NET}.${DEFAULT_ADDRESS.xrdp[s].split('.')[3]}`;
      const srv: RunningServer = await startXrdp(s, { host, port: PORT });
      targets.set(`xrdp:${s}`, { id: `xrdp:${s}`, label: `xrdp ${s}`, host, port: PORT, logFile: srv.logFile });
    }
    for (const m of SHADOW_MODES.filter((x) => SHADOW_FOR_VERDICTS.includes(x))) {
      const host = `${NET}.${DEFAULT_ADDRESS.shadow[m].split('.')[3]}`;
      const srv = await startShadow(m, { host, port: PORT });
      targets.set(`shadow:${m}`, { id: `shadow:${m}`, label: `shadow ${m}`, host, port: PORT, logFile: srv.logFile });
    }
    if (await tcpConnects(CLOSED_HOST, PORT, 500)) throw new Error(`${CLOSED_HOST}:${PORT} has a listener; it is meant to be closed`);
    targets.set('closed', { id: 'closed', label: 'closed (nothing listening)', host: CLOSED_HOST, port: PORT });
    netns = await filteredNetns();
    allowNetnsSubnet(netns.subnet);
    targets.set('filtered', { id: 'filtered', label: 'filtered (netns DROP)', host: netns.filtered.host, port: netns.filtered.port });
    for (const t of targets.values()) assertAllowedTarget(t.host);
    log(`started ${targets.size - 2} servers, netns ${netns.name} (${netns.subnet})`);

    const { display } = await ensureXvfb();
    facts.xfreerdp = shortVersion('xfreerdp', ['/version'], /FreeRDP version \S+/, { ...process.env, DISPLAY: display });
    xdgDir = mkdtempSync(join(tmpdir(), 'rdp-probe-bench-xdg-'));
    const env: ToolEnv = { repoRoot: REPO_ROOT, xfEnv: { ...process.env, DISPLAY: display, XDG_CONFIG_HOME: xdgDir, HOME: xdgDir } };
    const T = (id: string): Target => {
      const t = targets.get(id);
      if (!t) throw new Error(`no target ${id}`);
      return t;
    };

    /**
     * One tool run against a target, with the server log window around it. With `capture`, the runner waits
     * for the server to finish logging earlier connections before and this one after (outside the timed span).
     */
    const runTool = async (spec: ToolSpec, t: Target, capture = false): Promise<ToolRun> => {
      if (capture && t.logFile) await settle();
      const before = logSize(t.logFile);
      let result: TimedResult;
      switch (spec.tool) {
        case 'rdp-probe':
        case 'rdp-probe --no-enumerate':
          result = await runProbe(env, t.host, t.port, spec.args);
          break;
        case 'nmap':
          result = await runNmap(t.host, t.port);
          break;
        case 'xfreerdp':
          result = await runXfreerdp(env, t.host, t.port);
          break;
      }
      if (capture && t.logFile) await settle();
      return { result, serverErrors: serverErrorsSince(t.logFile, before) };
    };

    const outcomeOf = (spec: ToolSpec, r: TimedResult): { outcome: string; durationMs?: number } => {
      if (spec.tool === 'nmap') {
        const n = parseNmap(r);
        return { outcome: n.timedOut ? 'killed' : n.scriptFailed ? `${n.state}, script failed` : `${n.state}${Object.keys(n.layers).length ? `, ${Object.values(n.layers).filter((v) => v === 'SUCCESS').length} layers SUCCESS` : ''}` };
      }
      if (spec.tool === 'xfreerdp') {
        const x = parseXf(r);
        return { outcome: x.timedOut ? 'timeout (killed at 20 s)' : `rc ${x.rc}${x.error ? ` ${x.error.replace(/^ERRCONNECT_|^ERRINFO_/, '')}` : ''}` };
      }
      const p = parseProbe(r);
      return { outcome: p.verdict, ...(p.durationMs !== undefined ? { durationMs: p.durationMs } : {}) };
    };

    // ---------------------------------------------------------------------------------------------------------
    // ground truth
    const truths: Record<string, Truth> = {};
    for (const t of targets.values()) truths[t.id] = await gatherTruth(t.host, t.port, t.logFile);
    log('ground truth gathered');

    // ---------------------------------------------------------------------------------------------------------
    // time to verdict
    const probeSpecs = (variant: string[]): ToolSpec[] => [
      { tool: 'rdp-probe', args: variant },
      { tool: 'rdp-probe --no-enumerate', args: ['--no-enumerate', ...variant] },
    ];
    const peerSpecs: ToolSpec[] = [
      { tool: 'nmap', args: [] },
      { tool: 'xfreerdp', args: [] },
    ];
    const allCases: Case[] = [
      { id: 'closed', label: 'closed', target: T('closed'), variant: [], tools: [...probeSpecs([]), ...peerSpecs] },
      { id: 'filtered', label: 'filtered', target: T('filtered'), variant: [], tools: [...probeSpecs([]), ...peerSpecs] },
      // nmap and xfreerdp are measured once per round for 'filtered'; the 1 s row repeats their figures
      { id: 'filtered-1s', label: 'filtered', target: T('filtered'), variant: ['--timeout', '1s'], tools: probeSpecs(['--timeout', '1s']) },
      { id: 'nego-xrdp-nocert', label: 'negotiation failure: xrdp nocert (SSL_CERT_NOT_ON_SERVER)', target: T('xrdp:nocert'), variant: [], tools: [...probeSpecs([]), ...peerSpecs] },
      { id: 'nego-shadow-rdp', label: 'negotiation failure: shadow rdp (SSL_NOT_ALLOWED_BY_SERVER)', target: T('shadow:rdp'), variant: [], tools: [...probeSpecs([]), ...peerSpecs] },
      { id: 'tls-ok', label: 'TLS ok: xrdp tls', target: T('xrdp:tls'), variant: [], tools: [...probeSpecs([]), ...peerSpecs] },
      { id: 'tls10', label: 'TLS 1.0 only: xrdp tls10', target: T('xrdp:tls10'), variant: [], tools: [...probeSpecs([]), ...peerSpecs] },
      { id: 'tls-setup', label: 'server TLS setup failure: xrdp rsa1024', target: T('xrdp:rsa1024'), variant: [], tools: [...probeSpecs([]), ...peerSpecs] },
    ];
    const cases = allCases.filter((c) => !ONLY_CASES || ONLY_CASES.has(c.id) || (c.id === 'filtered-1s' && ONLY_CASES.has('filtered')));

    // warm-up (discarded): every binary once, and xfreerdp's first TLS connection creates its config dirs
    const warmup: Record<string, RunRecord> = {};
    for (const spec of [...probeSpecs([]), ...peerSpecs]) {
      const r = await runTool(spec, T('closed'));
      warmup[`${spec.tool} → closed`] = { wallMs: r.result.wallMs, rc: r.result.rc, timedOut: r.result.timedOut, ...outcomeOf(spec, r.result) };
    }
    {
      const r = await runTool({ tool: 'xfreerdp', args: [] }, T('xrdp:tls'));
      warmup['xfreerdp → xrdp tls'] = { wallMs: r.result.wallMs, rc: r.result.rc, timedOut: r.result.timedOut, ...outcomeOf({ tool: 'xfreerdp', args: [] }, r.result) };
    }
    log('warm-up done');

    // start-up baselines (no network): what every run of each tool pays before it sends a packet
    const baselineSpecs: { label: string; what: string; command: string; args: string[]; env?: NodeJS.ProcessEnv }[] = [
      { label: 'node -e ""', what: 'Node.js alone', command: process.execPath, args: ['-e', ''] },
      { label: 'node dist/cli/main.js --version', what: 'rdp-probe: Node.js + loading its modules', command: process.execPath, args: ['dist/cli/main.js', '--version'] },
      { label: 'nmap --version', what: 'nmap binary (no NSE loaded)', command: 'nmap', args: ['--version'] },
      { label: 'xfreerdp /version', what: 'xfreerdp binary + X display', command: 'xfreerdp', args: ['/version'], env: env.xfEnv },
    ];
    const baselineRuns = new Map<string, number[]>();

    const timing = new Map<string, RunRecord[]>();
    const key = (c: Case, s: ToolSpec): string => `${c.id}|${s.tool}`;
    const firstRuns = new Map<string, ToolRun>();
    for (let round = 1; round <= RUNS; round++) {
      const rt = performance.now();
      for (const b of baselineSpecs) {
        const r = await runTimed(b.command, b.args, { timeoutMs: 20_000, cwd: REPO_ROOT, ...(b.env ? { env: b.env } : {}) });
        if (!r.timedOut) baselineRuns.set(b.label, [...(baselineRuns.get(b.label) ?? []), Math.round(r.wallMs * 10) / 10]);
      }
      for (const c of cases) {
        for (const spec of c.tools) {
          const r = await runTool(spec, c.target, round === 1);
          const rec: RunRecord = { wallMs: Math.round(r.result.wallMs * 10) / 10, rc: r.result.rc, timedOut: r.result.timedOut, ...outcomeOf(spec, r.result) };
          const k = key(c, spec);
          timing.set(k, [...(timing.get(k) ?? []), rec]);
          if (round === 1 && c.variant.length === 0) firstRuns.set(`${c.target.id}|${spec.tool}`, r);
        }
      }
      log(`round ${round}/${RUNS} done in ${((performance.now() - rt) / 1000).toFixed(1)} s`);
    }

    const commandFor = (c: Case, s: ToolSpec): string => {
      const a = `${c.target.host}:${c.target.port}`;
      if (s.tool === 'nmap') return `nmap -n -Pn -p ${c.target.port} --script rdp-enum-encryption ${c.target.host}`;
      if (s.tool === 'xfreerdp') return `xfreerdp +auth-only /v:${a} /u:rdpuser /p:Passw0rd! /cert:ignore (killed after 20 s)`;
      return `node dist/cli/main.js check ${a} --json${s.args.length ? ` ${s.args.join(' ')}` : ''}`;
    };
    const toolTiming = (c: Case, s: ToolSpec, runs: RunRecord[]): ToolTiming => ({
      tool: s.tool,
      args: s.args,
      command: commandFor(c, s),
      runs,
      summary: summarize(runs.filter((r) => !r.timedOut).map((r) => r.wallMs)),
      outcomes: [...new Set(runs.map((r) => r.outcome))],
      timeouts: runs.filter((r) => r.timedOut).length,
    });
    const caseTimings: CaseTiming[] = cases.map((c) => {
      const tools = c.tools.map((s) => toolTiming(c, s, timing.get(key(c, s)) ?? []));
      if (c.id === 'filtered-1s') {
        const base = cases.find((x) => x.id === 'filtered');
        if (base) for (const s of peerSpecs) tools.push(toolTiming(base, s, timing.get(key(base, s)) ?? []));
      }
      return { id: c.id, label: c.label, target: `${c.target.host}:${c.target.port}`, variant: c.variant.join(' '), tools };
    });
    // a killed run has no wall time of its own: summarize() leaves it out and the table says so
    for (const c of caseTimings) {
      for (const t of c.tools) if (t.timeouts) runNotes.push(`${c.label}: ${t.tool} was killed at its time limit in ${t.timeouts} of ${t.runs.length} runs; its median is over the other runs`);
    }

    // ---------------------------------------------------------------------------------------------------------
    // verdict comparison
    const verdictTargets = [...targets.values()];
    const observations = new Map<string, { probe: ToolRun; nmap: ToolRun; xf: ToolRun; source: string }>();
    const pending = verdictTargets.filter((t) => !(firstRuns.has(`${t.id}|rdp-probe`) && firstRuns.has(`${t.id}|nmap`) && firstRuns.has(`${t.id}|xfreerdp`)));
    for (const t of verdictTargets) {
      const p = firstRuns.get(`${t.id}|rdp-probe`);
      const n = firstRuns.get(`${t.id}|nmap`);
      const x = firstRuns.get(`${t.id}|xfreerdp`);
      if (p && n && x) observations.set(t.id, { probe: p, nmap: n, xf: x, source: 'timing round 1' });
    }
    // two targets at a time (different servers; tools on one target run one after the other)
    const queue = [...pending];
    const worker = async (): Promise<void> => {
      for (let t = queue.shift(); t; t = queue.shift()) {
        const probe = await runTool({ tool: 'rdp-probe', args: [] }, t, true);
        const nmap = await runTool({ tool: 'nmap', args: [] }, t, true);
        const xf = await runTool({ tool: 'xfreerdp', args: [] }, t, true);
        observations.set(t.id, { probe, nmap, xf, source: 'verdict run' });
      }
    };
    await Promise.all([worker(), worker()]);
    log(`verdict runs done (${pending.length} targets beyond the timing cases)`);

    // follow-ups: nmap -d where the script failed, xfreerdp with a wrong password where it exited 0
    const debugErrors = new Map<string, string>();
    const wrongPw = new Map<string, ReturnType<typeof parseXf>>();
    const follow = verdictTargets.filter((t) => observations.has(t.id));
    const fq = [...follow];
    const followWorker = async (): Promise<void> => {
      for (let t = fq.shift(); t; t = fq.shift()) {
        const o = observations.get(t.id)!;
        if (parseNmap(o.nmap.result).scriptFailed) {
          const d = nmapDebugError(await runNmap(t.host, t.port, true));
          if (d) debugErrors.set(t.id, d);
        }
        if (o.xf.result.rc === 0) wrongPw.set(t.id, parseXf(await runXfreerdp(env, t.host, t.port, WRONG_PASSWORD)));
      }
    };
    await Promise.all([followWorker(), followWorker()]);
    log('follow-up runs done');

    const rows: VerdictRow[] = [];
    const raw: Record<string, unknown> = {};
    for (const t of verdictTargets) {
      const o = observations.get(t.id);
      if (!o) continue;
      const truth = truths[t.id]!;
      const probe = parseProbe(o.probe.result);
      const nmap = parseNmap(o.nmap.result);
      const xf = parseXf(o.xf.result);
      const obs: Observation = {
        truth,
        probe,
        nmap,
        xf,
        serverLog: { probe: o.probe.serverErrors, nmap: o.nmap.serverErrors, xf: o.xf.serverErrors },
      };
      const dbg = debugErrors.get(t.id);
      if (dbg) obs.nmapDebugError = dbg;
      const wp = wrongPw.get(t.id);
      if (wp) obs.xfWrongPassword = wp;
      const notes = judge(obs);
      const xfl = xfLine(xf) + (wp ? `; wrong password: ${xfLine(wp)}` : '');
      rows.push({
        id: t.id,
        label: t.label,
        target: `${t.host}:${t.port}`,
        source: o.source,
        truth,
        probeLine: probeLine(probe),
        nmapLine: nmapLine(nmap),
        xfLine: xfl,
        notes,
        judgement: renderNotes(notes),
      });
      raw[t.id] = {
        source: o.source,
        wallMs: { probe: o.probe.result.wallMs, nmap: o.nmap.result.wallMs, xfreerdp: o.xf.result.wallMs },
        probe,
        nmap,
        nmapStdout: o.nmap.result.stdout,
        ...(dbg ? { nmapDebugError: dbg } : {}),
        xfreerdp: xf,
        xfreerdpLog: `${o.xf.result.stdout}\n${o.xf.result.stderr}`.split('\n').filter((l) => /\[(ERROR|WARN)\]/.test(l)).map((l) => l.replace(/^\[[^\]]*\] \[[^\]]*\] /, '')),
        ...(wp ? { xfreerdpWrongPassword: wp } : {}),
        serverLog: obs.serverLog,
      };
    }
    const baselines: Baseline[] = baselineSpecs.map((b) => ({ label: b.label, what: b.what, runs: baselineRuns.get(b.label) ?? [], summary: summarize(baselineRuns.get(b.label) ?? []) }));
    result = { cases: caseTimings, baselines, rows, truths, warmup, raw };
  } finally {
    problems = await cleanup();
  }

  facts.totalSeconds = (performance.now() - t0) / 1000;
  facts.loadEnd = loadavg().map((l) => l.toFixed(2)).join(' ');
  if (problems.length) runNotes.push(`cleanup problems: ${problems.join('; ')}`);
  else runNotes.push('cleanup: every server, Xvfb and the network namespace this run started were stopped and checked gone');
  if (ONLY_CASES) runNotes.push(`BENCH_CASES=${[...ONLY_CASES].join(',')}: only these timing cases ran`);

  const md = renderMarkdown(facts, result.cases, result.baselines, result.rows, runNotes);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = {
    schema: 'rdp-probe-bench/1',
    machine: facts,
    timing: result.cases.map((c) => {
      const p = c.tools.find((t) => t.tool === 'rdp-probe');
      const pn = c.tools.find((t) => t.tool === 'rdp-probe --no-enumerate');
      const nm = c.tools.find((t) => t.tool === 'nmap');
      const xf = c.tools.find((t) => t.tool === 'xfreerdp');
      return {
        ...c,
        ratios: {
          nmapOverProbe: ratio(nm, p),
          xfreerdpOverProbe: ratio(xf, p),
          nmapOverProbeNoEnumerate: ratio(nm, pn),
          xfreerdpOverProbeNoEnumerate: ratio(xf, pn),
        },
      };
    }),
    baselines: result.baselines,
    warmup: result.warmup,
    verdicts: result.rows.map((r) => ({ ...r, raw: result!.raw[r.id] })),
    notes: runNotes,
  };
  writeFileSync(join(RESULTS_DIR, 'latest.md'), md);
  writeFileSync(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
  log(`wrote bench/results/latest.md and latest.json (${facts.totalSeconds.toFixed(0)} s)`);
  expect(problems).toEqual([]);
}, 30 * 60_000);
