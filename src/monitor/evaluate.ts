/**
 * A policy entry against a probe report: which probe to run for it, and one check per expectation with a
 * Nagios status. Pure: the report, the entry and the clock in; check results out.
 */
import type { Depth, ProbeReport, Stage, StageResult } from '../probe/types.js';
import type { ProbeOptions } from '../transport/drive.js';
import type { PolicyEntry, Reach, TlsVersion } from './policy.js';
import { thresholdStatus, type Range, type Thresholds } from './thresholds.js';

/** Nagios plugin return codes. */
export const STATUS = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const;
export type Status = (typeof STATUS)[keyof typeof STATUS];
export const STATUS_NAMES = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;

/** For combining: CRITICAL > WARNING > UNKNOWN > OK (an unknown host does not hide a critical one). */
const RANK: Record<Status, number> = { 0: 0, 3: 1, 1: 2, 2: 3 };
export function worst(statuses: Iterable<Status>): Status {
  let w: Status = STATUS.OK;
  for (const s of statuses) if (RANK[s] > RANK[w]) w = s;
  return w;
}

export interface Check {
  /** Stable id: `verdict`, `reach`, `nla`, `standardRdpSecurity`, `tlsMin`, `certificate.days`, `certificate.pin`,
   *  `certificate.ca`, `credssp.minVersion`, `auth`, `time`. */
  id: string;
  /** false: the probe did not get far enough to tell (the verdict check already says why). */
  evaluated: boolean;
  status: Status;
  /** One sentence; may hold server-supplied text (escape it for every output). */
  message: string;
  stage?: Stage;
  /** What was seen, for CI outputs. */
  evidence?: Record<string, string | number | boolean | null>;
}

export interface PerfDatum {
  label: string;
  value: number;
  uom: '' | 's';
  warn?: string;
  crit?: string;
  min?: number;
}

export interface HostResult {
  entry: PolicyEntry;
  report?: ProbeReport;
  /** Our own problem with this entry (a password variable not set …): the host was not probed. */
  problem?: string;
  checks: Check[];
  status: Status;
  perf: PerfDatum[];
}

/** Command-line thresholds, overriding what the policy implies. */
export interface CliThresholds {
  certDays?: Thresholds;
  /** Seconds, on the whole probe. */
  time?: Thresholds;
}

const REACH_DEPTH: Record<Reach, Depth> = { x224: 'x224', tls: 'tls', credssp: 'credssp', auth: 'auth', activation: 'session' };
const REACH_STAGE: Record<Reach, Stage> = { x224: 'x224', tls: 'tls', credssp: 'credssp', auth: 'nla_auth', activation: 'activation' };
const DEPTHS: Depth[] = ['tcp', 'x224', 'tls', 'credssp', 'auth', 'session'];

/** The probe an entry needs: deep enough for every expectation, with its pins and CA, enumeration on. */
export function probeOptionsFor(entry: PolicyEntry, credentials?: { user: string; domain: string; password: string }): Partial<ProbeOptions> {
  const e = entry.expect;
  const needs: Depth[] = ['x224'];
  if (e.reach) needs.push(REACH_DEPTH[e.reach]);
  if (e.tlsMin || e.certificate) needs.push('tls');
  if (e.credssp) needs.push('credssp');
  if (e.auth) needs.push('auth');
  if (!e.reach) needs.push(e.auth ? 'auth' : 'credssp');
  const depth = needs.reduce((a, b) => (DEPTHS.indexOf(b) > DEPTHS.indexOf(a) ? b : a));
  const legacyTls = e.tlsMin === '1.0' || e.tlsMin === '1.1';
  return {
    depth,
    enumerate: true,
    legacyTls,
    stageTimeoutMs: entry.stageTimeoutMs,
    targetTimeoutMs: entry.targetTimeoutMs,
    warnDays: e.certificate?.warnDays ?? 30,
    ...(e.certificate?.ca ? { caPem: e.certificate.ca.pem } : {}),
    trust: { ...(e.certificate?.pin ? { pins: e.certificate.pin } : {}) },
    ...(credentials ? { credentials } : {}),
    // activation on an NLA server needs the credentials delegated; the pin or CA the policy demands guards them.
    delegate: depth === 'session' && credentials !== undefined,
  };
}

const GOOD_VERDICTS = new Set(['ok', 'connects', 'legacy_server']);

function isInternal(r: ProbeReport): boolean {
  const id = r.verdict.id as string;
  return id === 'internal_error' || id === 'local_failure' || r.anomalies.some((x) => /^internal error/i.test(x));
}

const stageOf = (r: ProbeReport, s: Stage): StageResult | undefined => r.stages.find((x) => x.stage === s);

const DAY_MS = 86_400_000;

/** Whole days left (negative once expired), floored: 0.9 days left is 0. */
export function daysLeft(notAfter: string, now: Date): number | undefined {
  const t = Date.parse(notAfter);
  if (!Number.isFinite(t)) return undefined;
  return Math.floor((t - now.getTime()) / DAY_MS);
}

/** "TLS 1.2", "TLSv1.3" → "1.2". */
export function tlsVersionNumber(label: unknown): TlsVersion | undefined {
  const m = typeof label === 'string' ? /TLS\s*v?(1\.[0-3])/i.exec(label) : null;
  return (m?.[1] as TlsVersion | undefined) ?? undefined;
}

export function certThresholds(entry: PolicyEntry, cli: CliThresholds = {}): Thresholds {
  if (cli.certDays) return cli.certDays;
  const c = entry.expect.certificate;
  const range = (n: number): Range => ({ start: n, end: Infinity, inside: false, text: `${n}:` });
  return { ...(c?.warnDays !== undefined ? { warning: range(c.warnDays) } : {}), ...(c?.minDaysValid !== undefined ? { critical: range(c.minDaysValid) } : {}) };
}

export function evaluate(entry: PolicyEntry, report: ProbeReport, now: Date, cli: CliThresholds = {}): HostResult {
  const checks: Check[] = [];
  const e = entry.expect;
  const internal = isInternal(report);
  const good = GOOD_VERDICTS.has(report.verdict.id);
  const failedStage = report.stages.find((s) => s.status === 'failed');
  checks.push({
    id: 'verdict',
    evaluated: true,
    status: internal ? STATUS.UNKNOWN : good ? STATUS.OK : STATUS.CRITICAL,
    message: internal
      ? `the probe itself failed, not the server (${report.verdict.id}): ${report.verdict.summary}`
      : good
        ? `${report.verdict.id}: ${report.verdict.summary}`
        : `${report.verdict.id}${report.verdict.stage ? ` at ${report.verdict.stage}` : ''}: ${report.verdict.summary}`,
    ...(report.verdict.stage ? { stage: report.verdict.stage } : {}),
    evidence: {
      verdict: report.verdict.id,
      ...(failedStage?.error ? { error: failedStage.error.kind, ...(failedStage.error.codeName ? { code: failedStage.error.codeName } : {}), ...(failedStage.error.code !== undefined ? { codeValue: `0x${failedStage.error.code.toString(16)}` } : {}) } : {}),
      ...(failedStage?.evidence?.[0] ? { frame: failedStage.evidence[0].hex.slice(0, 256), pdu: failedStage.evidence[0].pdu ?? null } : {}),
    },
  });
  // A failure of our own says nothing about the server: no expectation is judged.
  const judge = (c: Omit<Check, 'evaluated'>, known: boolean): void => {
    if (internal || (!known && !good)) checks.push({ ...c, evaluated: false, status: STATUS.OK, message: `not evaluated: ${internal ? 'the probe itself failed' : `the probe stopped at ${report.verdict.stage ?? 'an earlier stage'}`}` });
    else checks.push({ ...c, evaluated: true });
  };
  const crit = (ok: boolean): Status => (ok ? STATUS.OK : STATUS.CRITICAL);

  if (e.reach) {
    const st = stageOf(report, REACH_STAGE[e.reach]);
    const ok = st?.status === 'ok';
    checks.push({
      id: 'reach',
      evaluated: !internal,
      status: internal ? STATUS.OK : crit(ok),
      stage: REACH_STAGE[e.reach],
      message: ok ? `reached ${e.reach}` : `expected to reach ${e.reach}; the ${REACH_STAGE[e.reach]} stage is ${st?.status ?? 'absent'}${st?.reason ? ` (${st.reason})` : st?.error ? ` (${st.error.message})` : ''}`,
      evidence: { stage: REACH_STAGE[e.reach], status: st?.status ?? null },
    });
  }
  const en = report.enumeration;
  if (e.nla) {
    const seen = en?.nla ?? 'unknown';
    const ok = e.nla === 'any' || (e.nla === 'required' ? seen === 'required' : seen === 'required' || seen === 'offered');
    judge({ id: 'nla', status: crit(ok), stage: 'x224', message: ok ? `NLA ${seen}` : `expected NLA ${e.nla}; the server shows ${seen}`, evidence: { expected: e.nla, seen } }, seen !== 'unknown' || e.nla === 'any');
  }
  if (e.standardRdpSecurity) {
    const seen = en?.standardRdpSecurity ?? 'unknown';
    const ok = seen === e.standardRdpSecurity;
    judge({ id: 'standardRdpSecurity', status: crit(ok), stage: 'x224', message: ok ? `standard RDP security ${seen}` : `expected standard RDP security ${e.standardRdpSecurity}; the server shows ${seen}`, evidence: { expected: e.standardRdpSecurity, seen } }, seen !== 'unknown');
  }
  const tls = stageOf(report, 'tls');
  if (e.tlsMin) {
    const v = tlsVersionNumber(tls?.facts?.['version']);
    const ok = v !== undefined && v >= e.tlsMin;
    const message = v === undefined ? `expected TLS ${e.tlsMin} or newer; no TLS session (tls ${tls?.status ?? 'absent'}${tls?.reason ? `: ${tls.reason}` : ''})` : ok ? `TLS ${v}` : `expected TLS ${e.tlsMin} or newer; the server negotiated TLS ${v}`;
    judge({ id: 'tlsMin', status: crit(ok), stage: 'tls', message, evidence: { expected: e.tlsMin, seen: v ?? null } }, v !== undefined || tls?.status === 'skipped');
  }
  const cert = tls?.facts?.['certificate'] as Record<string, unknown> | undefined;
  const days = typeof cert?.['notAfter'] === 'string' ? daysLeft(cert['notAfter'], now) : undefined;
  const ct = certThresholds(entry, cli);
  if (ct.warning || ct.critical) {
    const status: Status = days === undefined ? STATUS.CRITICAL : thresholdStatus(ct, days);
    const limits = [ct.warning ? `warning ${ct.warning.text}` : '', ct.critical ? `critical ${ct.critical.text}` : ''].filter(Boolean).join(', ');
    judge({
      id: 'certificate.days',
      status,
      stage: 'tls',
      message: days === undefined ? 'no server certificate to check' : `the certificate${typeof cert?.['subject'] === 'string' ? ` ${cert['subject']}` : ''} ${days < 0 ? `expired ${-days} days ago` : `expires in ${days} days`} (${String(cert?.['notAfter'])}; ${limits})`,
      evidence: { days: days ?? null, notAfter: typeof cert?.['notAfter'] === 'string' ? cert['notAfter'] : null, subject: typeof cert?.['subject'] === 'string' ? cert['subject'] : null },
    }, days !== undefined);
  }
  if (e.certificate?.pin) {
    const have = [cert?.['sha256'], cert?.['spkiSha256']].filter((x): x is string => typeof x === 'string').map((h) => `sha256:${h.toLowerCase()}`);
    const ok = e.certificate.pin.some((p) => have.includes(p));
    judge({ id: 'certificate.pin', status: crit(ok), stage: 'tls', message: ok ? 'the certificate matches its pin' : cert ? `the certificate ${String(cert['subject'])} (sha256:${String(cert['sha256'])}) matches no pin` : 'no server certificate to match the pin', evidence: { sha256: typeof cert?.['sha256'] === 'string' ? cert['sha256'] : null, subject: typeof cert?.['subject'] === 'string' ? cert['subject'] : null } }, cert !== undefined);
  }
  if (e.certificate?.ca) {
    const trusted = tls?.facts?.['chainTrusted'];
    const why = tls?.facts?.['chainError'];
    judge({ id: 'certificate.ca', status: crit(trusted === true), stage: 'tls', message: trusted === true ? `the chain verifies against ${e.certificate.ca.file}` : `the chain does not verify against ${e.certificate.ca.file}${typeof why === 'string' ? `: ${why}` : ''}`, evidence: { chainTrusted: typeof trusted === 'boolean' ? trusted : null, chainError: typeof why === 'string' ? why : null } }, typeof trusted === 'boolean');
  }
  if (e.credssp) {
    const v = stageOf(report, 'credssp')?.facts?.['serverVersion'];
    const ok = typeof v === 'number' && v >= e.credssp.minVersion;
    judge({ id: 'credssp.minVersion', status: crit(ok), stage: 'credssp', message: typeof v !== 'number' ? `expected CredSSP ${e.credssp.minVersion} or newer; no CredSSP version seen` : ok ? `CredSSP ${v}` : `expected CredSSP ${e.credssp.minVersion} or newer; the server speaks ${v}`, evidence: { expected: e.credssp.minVersion, seen: typeof v === 'number' ? v : null } }, typeof v === 'number');
  }
  if (e.auth) {
    const st = stageOf(report, 'nla_auth');
    const ok = st?.status === 'ok';
    judge({ id: 'auth', status: crit(ok), stage: 'nla_auth', message: ok ? `${e.auth.user} authenticates` : `expected ${e.auth.user} to authenticate; nla_auth ${st?.status ?? 'absent'}${st?.error ? `: ${st.error.message}${st.error.codeName ? ` (${st.error.codeName})` : ''}` : st?.reason ? `: ${st.reason}` : ''}`, evidence: { user: e.auth.user, status: st?.status ?? null, code: st?.error?.codeName ?? null } }, st?.status === 'ok' || st?.status === 'failed' || st?.status === 'skipped');
  }
  const seconds = report.durationMs / 1000;
  if (cli.time && (cli.time.warning || cli.time.critical)) {
    checks.push({ id: 'time', evaluated: true, status: thresholdStatus(cli.time, seconds), message: `the probe took ${seconds.toFixed(3)} s`, evidence: { seconds } });
  }

  const perf: PerfDatum[] = [{ label: 'time', value: round(seconds), uom: 's', ...(cli.time?.warning ? { warn: cli.time.warning.text } : {}), ...(cli.time?.critical ? { crit: cli.time.critical.text } : {}), min: 0 }];
  for (const s of report.stages) if ((s.status === 'ok' || s.status === 'failed') && s.durationMs !== undefined) perf.push({ label: s.stage, value: round(s.durationMs / 1000), uom: 's', min: 0 });
  if (days !== undefined) perf.push({ label: 'cert_days', value: days, uom: '', ...(ct.warning ? { warn: ct.warning.text } : {}), ...(ct.critical ? { crit: ct.critical.text } : {}) });
  const credsspVersion = stageOf(report, 'credssp')?.facts?.['serverVersion'];
  if (typeof credsspVersion === 'number') perf.push({ label: 'credssp_version', value: credsspVersion, uom: '' });

  return { entry, report, checks, status: internal ? STATUS.UNKNOWN : worst(checks.filter((c) => c.evaluated).map((c) => c.status)), perf };
}

/** An entry we could not probe because of our own configuration (unset password variable …): UNKNOWN. */
export function notProbed(entry: PolicyEntry, problem: string): HostResult {
  return { entry, problem, checks: [{ id: 'config', evaluated: true, status: STATUS.UNKNOWN, message: problem }], status: STATUS.UNKNOWN, perf: [] };
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
