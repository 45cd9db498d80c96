/**
 * One probe report as Prometheus text exposition (format 0.0.4), in the blackbox_exporter's vocabulary where one
 * exists (probe_success, probe_duration_seconds, probe_ssl_earliest_cert_expiry, probe_tls_version_info) and as
 * probe_rdp_* for what is RDP's own. Pure: no clock, no sockets.
 */
import { STAGES, type ProbeReport, type Stage, type StageStatus } from '../probe/types.js';

/** Verdicts that count as probe_success 1: every stage run passed (the CLI exits 0 for the same ones). */
export const SUCCESS_VERDICTS: ReadonlySet<string> = new Set(['ok', 'legacy_server', 'connects']);

const STATUSES: readonly StageStatus[] = ['ok', 'failed', 'skipped', 'not_reached'];
const NLA_STATES = ['required', 'offered', 'not_supported', 'unknown'] as const;

/** Every metric family a probe can answer with, with its HELP text (also what the dashboard test checks against). */
export const PROBE_METRICS = {
  probe_success: 'Whether the probe succeeded: every stage up to the module depth passed',
  probe_duration_seconds: 'How long the probe took, in seconds',
  probe_ssl_earliest_cert_expiry: 'Expiry of the server certificate, as a unix timestamp (seconds)',
  probe_tls_version_info: 'The TLS version the server negotiated',
  probe_rdp_stage_duration_seconds: 'Duration of each stage that ran, in seconds',
  probe_rdp_stage_status: 'Status of each stage (1 for its status, 0 for the others)',
  probe_rdp_failed_stage: 'The stage where the connection died (absent when none did)',
  probe_rdp_verdict: 'The verdict of the probe (one series, value 1)',
  probe_rdp_selected_protocol: 'The security protocol the server selected in its X.224 Connection Confirm',
  probe_rdp_nla: 'Network Level Authentication as the protocol enumeration found it (1 for the state found)',
  probe_rdp_credssp_version: 'The CredSSP version the server announced',
  probe_rdp_last_errinfo: 'The last Set Error Info code the server sent (0 for none; at depth session only)',
  probe_rdp_finding: 'A finding about the server (one series per finding, value 1)',
  probe_rdp_policy_status: 'With a policy module: the Nagios status of the host against its policy entry (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)',
  probe_rdp_policy_check: 'With a policy module: the Nagios status of each expectation that could be judged',
} as const;

/** A policy verdict on the probe (src/monitor/evaluate's HostResult, reduced to what the metrics need). */
export interface PolicyOutcome {
  status: 0 | 1 | 2 | 3;
  checks: { id: string; evaluated: boolean; status: number }[];
}
export type ProbeMetricName = keyof typeof PROBE_METRICS;

/** Label value escaping of the text format: backslash, double quote and line feed. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escaping: backslash and line feed. */
export function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

type Labels = Record<string, string>;
interface Sample {
  labels?: Labels;
  value: number;
}

/** Milliseconds as seconds to the microsecond: 97.7 ms is 0.0977, not 0.09770000000000001. */
function seconds(ms: number): number {
  return Math.round(ms * 1000) / 1e6;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function family(name: ProbeMetricName, samples: Sample[]): string {
  if (samples.length === 0) return '';
  const lines = [`# HELP ${name} ${escapeHelp(PROBE_METRICS[name])}`, `# TYPE ${name} gauge`];
  for (const s of samples) {
    const labels = s.labels ? Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`) : [];
    lines.push(`${name}${labels.length ? `{${labels.join(',')}}` : ''} ${formatValue(s.value)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The facts the metrics are made of, pulled out of a report (kept apart so the HTML report and tests can share them). */
export interface ProbeFacts {
  success: boolean;
  durationSeconds: number;
  certNotAfter?: Date;
  tlsVersion?: string;
  selectedProtocol?: string;
  nla: (typeof NLA_STATES)[number];
  credsspVersion?: number;
  /** Defined at depth session: the last ERRINFO code, 0 when the server sent none. */
  lastErrinfo?: number;
  failedStage?: Stage;
}

export function probeFacts(r: ProbeReport): ProbeFacts {
  const get = (s: Stage) => r.stages.find((x) => x.stage === s);
  const tls = get('tls');
  const cert = tls?.facts?.['certificate'] as Record<string, unknown> | undefined;
  const notAfter = typeof cert?.['notAfter'] === 'string' ? new Date(cert['notAfter']) : undefined;
  const version = tls?.status === 'ok' && typeof tls.facts?.['version'] === 'string' ? tls.facts['version'] : undefined;
  const x = get('x224');
  const selected = x?.status === 'ok' && typeof x.facts?.['selected'] === 'string' ? x.facts['selected'] : undefined;
  const cr = get('credssp');
  const credssp = typeof cr?.facts?.['serverVersion'] === 'number' ? cr.facts['serverVersion'] : undefined;
  const nla = r.enumeration?.nla ?? (cr?.status === 'ok' ? 'offered' : 'unknown');
  const failed = r.stages.find((s) => s.status === 'failed')?.stage ?? (SUCCESS_VERDICTS.has(r.verdict.id) ? undefined : r.verdict.stage);
  const facts: ProbeFacts = { success: SUCCESS_VERDICTS.has(r.verdict.id), durationSeconds: seconds(r.durationMs), nla };
  if (notAfter && !Number.isNaN(notAfter.getTime())) facts.certNotAfter = notAfter;
  if (version) facts.tlsVersion = version;
  if (selected) facts.selectedProtocol = selected;
  if (credssp !== undefined) facts.credsspVersion = credssp;
  if (failed) facts.failedStage = failed;
  if (r.depth === 'session') facts.lastErrinfo = lastErrinfo(r);
  return facts;
}

/** Set Error Info codes come as stage facts (errorInfo: [codes]) and as a stage error of kind error_info; the last in stage order wins. */
function lastErrinfo(r: ProbeReport): number {
  let last = 0;
  for (const s of r.stages) {
    const before = s.facts?.['errorInfoBeforeDemandActive'];
    if (Array.isArray(before)) for (const c of before) if (typeof c === 'number') last = c;
    const seen = s.facts?.['errorInfo'];
    if (Array.isArray(seen)) for (const c of seen) if (typeof c === 'number') last = c;
    if (s.error?.kind === 'error_info' && typeof s.error.code === 'number') last = s.error.code;
  }
  return last;
}

/**
 * The /probe answer for one report. With a policy outcome, probe_success means "meets the policy" (OK or
 * WARNING: a warning is for people, not for up/down), and the policy status and checks are added.
 */
export function formatProbeMetrics(r: ProbeReport, policy?: PolicyOutcome): string {
  const f = probeFacts(r);
  const out: string[] = [];
  const success = policy ? policy.status === 0 || policy.status === 1 : f.success;
  out.push(family('probe_success', [{ value: success ? 1 : 0 }]));
  out.push(family('probe_duration_seconds', [{ value: f.durationSeconds }]));
  if (f.certNotAfter) out.push(family('probe_ssl_earliest_cert_expiry', [{ value: Math.floor(f.certNotAfter.getTime() / 1000) }]));
  if (f.tlsVersion) out.push(family('probe_tls_version_info', [{ labels: { version: f.tlsVersion }, value: 1 }]));
  out.push(family('probe_rdp_stage_duration_seconds', r.stages.filter((s) => s.durationMs !== undefined).map((s) => ({ labels: { stage: s.stage }, value: seconds(s.durationMs ?? 0) }))));
  const status = new Map(r.stages.map((s) => [s.stage, s.status]));
  out.push(family('probe_rdp_stage_status', STAGES.flatMap((stage) => STATUSES.map((st) => ({ labels: { stage, status: st }, value: (status.get(stage) ?? 'not_reached') === st ? 1 : 0 })))));
  if (f.failedStage) out.push(family('probe_rdp_failed_stage', [{ labels: { stage: f.failedStage }, value: 1 }]));
  out.push(family('probe_rdp_verdict', [{ labels: { verdict: r.verdict.id }, value: 1 }]));
  if (f.selectedProtocol) out.push(family('probe_rdp_selected_protocol', [{ labels: { protocol: f.selectedProtocol }, value: 1 }]));
  out.push(family('probe_rdp_nla', NLA_STATES.map((state) => ({ labels: { state }, value: f.nla === state ? 1 : 0 }))));
  if (f.credsspVersion !== undefined) out.push(family('probe_rdp_credssp_version', [{ value: f.credsspVersion }]));
  if (f.lastErrinfo !== undefined) out.push(family('probe_rdp_last_errinfo', [{ value: f.lastErrinfo }]));
  const findings = [...new Map(r.findings.map((x) => [x.id, x])).values()];
  out.push(family('probe_rdp_finding', findings.map((x) => ({ labels: { finding: x.id, severity: x.severity }, value: 1 }))));
  if (policy) {
    out.push(family('probe_rdp_policy_status', [{ value: policy.status }]));
    out.push(family('probe_rdp_policy_check', policy.checks.filter((c) => c.evaluated).map((c) => ({ labels: { check: c.id }, value: c.status }))));
  }
  return out.join('');
}
