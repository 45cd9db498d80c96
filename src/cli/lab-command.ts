/**
 * `rdp-probe lab`: the embedded scenario server (src/lab) on loopback. `lab` serves scenarios until SIGINT or
 * SIGTERM (a port each, or one --port with the scenario chosen by the X.224 cookie `mstshash=<scenario>`);
 * `lab --list` prints the table of scenarios; `lab --tour` starts the lab, probes every scenario in this process,
 * prints scenario / expected / observed and the stage ladder of one failure, stops, and exits 1 if any scenario
 * disagrees. `check --lab NAME` uses labCheck() for one scenario.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Argv } from 'yargs';
import { isLoopback } from '../lab/rdp-nla-peer.js';
import { SCENARIOS, SCENARIO_NAMES, expectedText, scenario as findScenario, type LabScenario } from '../lab/scenarios.js';
import type { LabServer } from '../lab/server.js';
import { WRONG_PASSWORD, type TourResult } from '../lab/tour.js';
import type { ProbeOptions } from '../transport/drive.js';
import { formatText } from '../report/text.js';
import { useColor } from './color.js';
import { LAB_ACCOUNT } from './lab-account.js';
import { UsageError } from './target.js';

export interface LabIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** Where SIGINT/SIGTERM end `rdp-probe lab` (the process, in the CLI). */
  signals?: NodeJS.EventEmitter;
}

export interface LabArgs {
  scenario?: string[];
  port?: number;
  listen?: string;
  list?: boolean;
  tour?: boolean;
  'nla-status'?: string;
  color?: boolean;
}

/** The scenario the tour shows the stage ladder of. */
export const LADDER_SCENARIO = 'errinfo-0x7';

export function labOptions<T>(y: Argv<T>) {
  return y
    .option('scenario', { type: 'string', array: true, describe: 'serve only these scenarios (default: all; lab --list names them)' })
    .option('port', { alias: 'p', type: 'number', describe: 'one port for every scenario, chosen by the X.224 cookie mstshash=<scenario> (default: a free port each)' })
    .option('listen', { type: 'string', default: '127.0.0.1', describe: 'loopback address to listen on (127.0.0.0/8 or ::1)' })
    .option('list', { type: 'boolean', default: false, describe: 'print the scenarios: name, expected verdict and stage, description' })
    .option('tour', { type: 'boolean', default: false, describe: 'start the lab, probe every scenario, print expected against observed, stop; exit 1 if any disagrees' })
    .option('nla-status', { type: 'string', describe: 'the NTSTATUS the nla-status scenario refuses the logon with (hex, e.g. 0xC0000072)' })
    .option('color', { type: 'boolean', describe: 'colour the ladder (default: when stdout is a TTY)' });
}

/** Checks the arguments (usage errors are thrown before anything starts) and returns the work. */
export function labJob(a: LabArgs, io: LabIo): () => Promise<number> {
  if (a.listen !== undefined && !isLoopback(a.listen)) throw new UsageError(`--listen ${a.listen}: the lab listens on loopback only (127.0.0.0/8 or ::1)`);
  if (a.port !== undefined && (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535)) throw new UsageError(`--port ${String(a.port)}: give a port from 1 to 65535`);
  for (const n of a.scenario ?? []) if (!findScenario(n)) throw new UsageError(`unknown scenario ${JSON.stringify(n)}: rdp-probe lab --list names them`);
  if (a.list && a.tour) throw new UsageError('--list and --tour exclude each other');
  const nlaStatus = a['nla-status'] === undefined ? undefined : parseStatus(a['nla-status']);
  if (a.list) {
    return async () => {
      await write(io.stdout, formatScenarioList());
      return 0;
    };
  }
  const color = useColor(a.color, io.env, io.stdout.isTTY);
  if (a.tour) {
    if (a.port !== undefined) throw new UsageError('--tour gives each scenario its own free port: drop --port');
    return async () => {
      const { runTour } = await import('../lab/tour.js');
      const r = await runTour({ solo: LADDER_SCENARIO, ...(a.scenario ? { scenarios: a.scenario } : {}), lab: { host: a.listen ?? '127.0.0.1', ...(nlaStatus !== undefined ? { nlaStatus } : {}) } });
      await write(io.stdout, formatTour(r, { color }));
      return r.ok ? 0 : 1;
    };
  }
  return async () => {
    const { startLab } = await import('../lab/server.js');
    const lab = await startLab({ host: a.listen ?? '127.0.0.1', ...(a.scenario ? { scenarios: a.scenario } : {}), ...(a.port !== undefined ? { port: a.port } : {}), ...(nlaStatus !== undefined ? { nlaStatus } : {}) });
    await write(io.stdout, formatServing(lab, a.port !== undefined));
    if (io.signals) await Promise.race([once(io.signals, 'SIGINT'), once(io.signals, 'SIGTERM')]);
    await lab.close();
    return 0;
  };
}

function parseStatus(text: string): number {
  const v = /^0x[0-9a-f]{1,8}$/i.test(text.trim()) ? parseInt(text.trim(), 16) : NaN;
  if (!Number.isInteger(v)) throw new UsageError(`--nla-status ${text}: give an NTSTATUS in hex (e.g. 0xC0000072)`);
  return v >>> 0;
}

function write(out: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => out.write(text, (e) => (e ? reject(e) : resolve())));
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

/** `lab --list`: name, expected verdict, stage, what the probe needs, description. */
export function formatScenarioList(): string {
  const rows = [['scenario', 'expected', 'stage', 'probe with', 'description']];
  for (const s of SCENARIOS) rows.push([s.name, s.expected.finding ? `${s.expected.verdict} + ${s.expected.finding}` : s.expected.verdict, s.expected.stage ?? '-', s.probe.flags || '(defaults)', s.description]);
  return `${table(rows)}\n`;
}

function formatServing(lab: LabServer, onePort: boolean): string {
  const lines = [`rdp-probe lab on ${lab.host} (started in ${lab.startup.totalMs} ms; Ctrl-C stops it)`, ''];
  if (onePort) {
    const port = Object.values(lab.ports)[0];
    lines.push(`one port, ${port}: the X.224 cookie "Cookie: mstshash=<scenario>" chooses the scenario (default ${Object.keys(lab.ports)[0]})`, '');
  }
  const rows = [['scenario', 'address', 'expected', 'probe with']];
  for (const [name, port] of Object.entries(lab.ports)) {
    const s = findScenario(name)!;
    rows.push([name, `${lab.host.includes(':') ? `[${lab.host}]` : lab.host}:${port}`, expectedText(s.expected), s.probe.flags || '(defaults)']);
  }
  lines.push(table(rows), '', `the lab account: --user '${LAB_ACCOUNT.typed}', password ${LAB_ACCOUNT.password}`);
  return `${lines.join('\n')}\n`;
}

/** The tour: scenario / expected / observed, the stage ladder of one failure, and the total. */
export function formatTour(r: TourResult, o: { color?: boolean } = {}): string {
  const rows = [['scenario', 'expected', 'observed', '']];
  for (const row of r.rows) rows.push([row.scenario.name, expectedText(row.scenario.expected), row.judgement.observed, row.judgement.ok ? 'ok' : `DIFFERS: ${row.judgement.why ?? ''}`]);
  const out = [`rdp-probe lab --tour: ${r.rows.length} scenarios on loopback`, '', table(rows), ''];
  const ladder = r.rows.find((x) => x.scenario.name === LADDER_SCENARIO) ?? r.rows.find((x) => x.report.verdict.stage !== undefined);
  if (ladder) {
    out.push(`The stage ladder of ${ladder.scenario.name} (${ladder.scenario.description}):`);
    out.push(...ladderLines(formatText(ladder.report, { color: o.color === true })), '');
  }
  const bad = r.rows.filter((x) => !x.judgement.ok).length;
  out.push(bad === 0 ? `${r.rows.length}/${r.rows.length} scenarios as expected in ${(r.ms / 1000).toFixed(1)} s (lab start-up ${r.startup.totalMs} ms)` : `${bad} of ${r.rows.length} scenarios differ from what they should show (${(r.ms / 1000).toFixed(1)} s)`);
  return `${out.join('\n')}\n`;
}

/** The stage lines of a text report, and its verdict and mstsc lines. */
export function ladderLines(text: string): string[] {
  const lines = text.split('\n');
  const plain = (l: string): string => l.replace(/\x1b\[[0-9;]*m/g, '');
  const first = lines.findIndex((l) => /^\s+\S+ dns\b/.test(plain(l)));
  const out: string[] = [];
  for (let i = first; i >= 0 && i < lines.length && lines[i]!.trim() !== ''; i++) out.push(lines[i]!);
  for (const l of lines) if (/^(Verdict|mstsc)\b/i.test(plain(l).trim())) out.push(l);
  return out;
}

/** For `check --lab NAME`: the scenario, what a probe of it needs, and a lab serving only it. */
export interface LabCheck {
  scenario: LabScenario;
  /** The depth to use when the user gave none. */
  depth: ProbeOptions['depth'];
  /** The probe supplies the lab account (when the user gave no --user) with this password. */
  account: boolean;
  password: string;
  delegate: boolean;
  requestedProtocols?: number;
  stageTimeoutMs?: number;
  start(): Promise<{ port: number; fingerprint: string; close(): Promise<void> }>;
}

export function labCheck(name: string): LabCheck {
  const s = findScenario(name);
  if (!s) throw new UsageError(`unknown lab scenario ${JSON.stringify(name)}: rdp-probe lab --list names them`);
  return {
    scenario: s,
    depth: s.probe.depth,
    account: s.probe.account !== undefined,
    // A scenario about a wrong password is shown with one.
    password: s.probe.account === 'lab-wrong' ? WRONG_PASSWORD : LAB_ACCOUNT.password,
    delegate: s.probe.delegate === true,
    ...(s.probe.requestedProtocols !== undefined ? { requestedProtocols: s.probe.requestedProtocols } : {}),
    ...(s.probe.stageTimeoutMs !== undefined ? { stageTimeoutMs: s.probe.stageTimeoutMs } : {}),
    start: async () => {
      const { startLab } = await import('../lab/server.js');
      const lab = await startLab({ scenarios: [s.name] });
      return { port: lab.ports[s.name]!, fingerprint: lab.fingerprint(s.name), close: () => lab.close() };
    },
  };
}

export { SCENARIO_NAMES as LAB_SCENARIO_NAMES };
