/**
 * Probing the lab: the probe options each scenario needs, the judgement of a report against the scenario's
 * expectation, and the tour (every scenario probed in this process, concurrently, with the library's runProbe).
 */
import type { ProbeReport } from '../probe/types.js';
import { runProbe, type ProbeOptions } from '../transport/drive.js';
import { SCENARIOS, expectedText, type Expected, type LabScenario } from './scenarios.js';
import { LAB_USERS, startLab, type LabServer, type LabServerOptions } from './server.js';

/** What the 'lab-wrong' scenarios type instead of the lab password. */
export const WRONG_PASSWORD = 'not-the-lab-password';

/** The options a probe of this scenario needs (its depth, the lab account, a pin on the lab certificate). */
export function scenarioProbeOptions(lab: LabServer, s: LabScenario, over: Partial<ProbeOptions> = {}): Partial<ProbeOptions> {
  const p = s.probe;
  const account = LAB_USERS[0]!;
  return {
    depth: p.depth,
    enumerate: false,
    stageTimeoutMs: p.stageTimeoutMs ?? 3000,
    targetTimeoutMs: 15_000,
    ...(p.requestedProtocols !== undefined ? { requestedProtocols: p.requestedProtocols } : {}),
    ...(p.account ? { credentials: { user: account.user, domain: account.domain, password: p.account === 'lab-wrong' ? WRONG_PASSWORD : account.password } } : {}),
    delegate: p.delegate === true,
    // The lab's own certificate, known to us: the lab password goes to nothing else.
    trust: { pins: [lab.fingerprint(s.name)] },
    ...over,
  };
}

export interface Judgement {
  ok: boolean;
  observed: string;
  /** What differs, when it does. */
  why?: string;
}

/** "session_refused at activation", with the finding the scenario looks for when the report has it. */
export function observedText(r: ProbeReport, e?: Expected): string {
  const base = r.verdict.stage ? `${r.verdict.id} at ${r.verdict.stage}` : r.verdict.id;
  return e?.finding && r.findings.some((f) => f.id === e.finding) ? `${base} + ${e.finding}` : base;
}

export function judge(r: ProbeReport, e: Expected): Judgement {
  const observed = observedText(r, e);
  const why: string[] = [];
  if (r.verdict.id !== e.verdict || r.verdict.stage !== e.stage) why.push(`verdict ${observed}, expected ${expectedText(e)}`);
  if (e.finding && !r.findings.some((f) => f.id === e.finding)) why.push(`no finding ${e.finding}`);
  if (e.fact) {
    const got = r.stages.find((s) => s.stage === e.fact!.stage)?.facts?.[e.fact.key];
    if (got !== e.fact.value) why.push(`${e.fact.stage}.${e.fact.key} is ${JSON.stringify(got)}, expected ${JSON.stringify(e.fact.value)}`);
  }
  if (e.codeName) {
    const got = r.stages.find((s) => s.status === 'failed')?.error?.codeName;
    if (got !== e.codeName) why.push(`the failed stage names ${String(got)}, expected ${e.codeName}`);
  }
  if (e.mstsc) {
    const m = r.verdict.mstsc;
    if (!m || m.disconnectReason !== e.mstsc[0] || m.extendedReason !== e.mstsc[1]) why.push(`mstsc pair ${m ? `0x${m.disconnectReason.toString(16)}/0x${m.extendedReason.toString(16)}` : 'none'}, expected 0x${e.mstsc[0].toString(16)}/0x${e.mstsc[1].toString(16)}`);
  }
  return why.length === 0 ? { ok: true, observed } : { ok: false, observed, why: why.join('; ') };
}

export interface TourRow {
  scenario: LabScenario;
  report: ProbeReport;
  judgement: Judgement;
}

export interface TourResult {
  rows: TourRow[];
  startup: LabServer['startup'];
  /** The whole tour: start, every probe, stop (ms). */
  ms: number;
  ok: boolean;
}

/** Starts the lab, probes every scenario (or those named) concurrently, stops the lab. */
export async function runTour(opts: { scenarios?: readonly string[]; lab?: LabServerOptions; concurrency?: number; solo?: string } = {}): Promise<TourResult> {
  const t0 = performance.now();
  const list = opts.scenarios && opts.scenarios.length > 0 ? SCENARIOS.filter((s) => opts.scenarios!.includes(s.name)) : SCENARIOS;
  const lab = await startLab({ ...opts.lab, scenarios: list.map((s) => s.name) });
  const rows: TourRow[] = new Array(list.length);
  try {
    // The slow ones (a hang waits for its deadline) start first, so they overlap with the rest.
    const order = list.map((_, i) => i).sort((a, b) => Number(list[a]!.probe.stageTimeoutMs === undefined) - Number(list[b]!.probe.stageTimeoutMs === undefined));
    // `solo` (the one whose ladder is shown) runs alone first, so its stage times are not those of a crowd.
    const soloAt = list.findIndex((s) => s.name === opts.solo);
    if (soloAt >= 0) {
      order.splice(order.indexOf(soloAt), 1);
      const s = list[soloAt]!;
      const report = await runProbe({ host: lab.host, port: lab.ports[s.name]! }, scenarioProbeOptions(lab, s));
      rows[soloAt] = { scenario: s, report, judgement: judge(report, s.expected) };
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const i = order[next++];
        if (i === undefined) return;
        const s = list[i]!;
        const report = await runProbe({ host: lab.host, port: lab.ports[s.name]! }, scenarioProbeOptions(lab, s));
        rows[i] = { scenario: s, report, judgement: judge(report, s.expected) };
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 8) }, worker));
  } finally {
    await lab.close();
  }
  return { rows, startup: lab.startup, ms: Math.round(performance.now() - t0), ok: rows.every((r) => r.judgement.ok) };
}
