/** One flat row per report, shared by the table and CSV formatters. Pure. */
import { formatHostPort as targetText } from '../probe/host-port.js';
import type { ProbeReport } from '../probe/types.js';

export interface Row {
  target: string;
  address: string;
  verdict: string;
  stage: string;
  selected: string;
  nla: string;
  tls: string;
  certSubject: string;
  certNotAfter: string;
  findings: string;
  ms: string;
}

export const ROW_COLUMNS: (keyof Row)[] = ['target', 'address', 'verdict', 'stage', 'selected', 'nla', 'tls', 'certSubject', 'certNotAfter', 'findings', 'ms'];

export { targetText };

export function toRow(r: ProbeReport): Row {
  const x = r.stages.find((s) => s.stage === 'x224');
  const t = r.stages.find((s) => s.stage === 'tls');
  const cert = t?.facts?.['certificate'] as Record<string, unknown> | undefined;
  const cr = r.stages.find((s) => s.stage === 'credssp');
  return {
    target: targetText(r.target.host, r.target.port),
    address: r.target.address ?? '',
    verdict: r.verdict.id,
    stage: r.verdict.stage ?? '',
    selected: String(x?.facts?.['selected'] ?? (x?.error?.codeName ?? '')),
    nla: r.enumeration?.nla ?? (cr?.status === 'ok' ? 'offered' : ''),
    tls: String(t?.facts?.['version'] ?? ''),
    certSubject: cert && typeof cert === 'object' ? String(cert['subjectCN'] ?? cert['subject'] ?? '') : '',
    certNotAfter: cert && typeof cert === 'object' ? String(cert['notAfter'] ?? '').slice(0, 10) : '',
    findings: r.findings.map((f) => f.id).join(';'),
    ms: String(Math.round(r.durationMs)),
  };
}

export function formatCsvHeader(): string {
  return `${ROW_COLUMNS.join(',')}\n`;
}

export function formatCsvRow(r: ProbeReport): string {
  const row = toRow(r);
  return `${ROW_COLUMNS.map((c) => csvCell(row[c])).join(',')}\n`;
}

function csvCell(v: string): string {
  // Quote when needed; neutralise spreadsheet formulas from server-controlled text (certificate subjects).
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function formatTable(reports: ProbeReport[]): string {
  const rows = reports.map(toRow);
  const cols: (keyof Row)[] = ['target', 'verdict', 'stage', 'selected', 'nla', 'tls', 'certNotAfter', 'findings'];
  const head: Record<string, string> = { target: 'TARGET', verdict: 'VERDICT', stage: 'STAGE', selected: 'SECURITY', nla: 'NLA', tls: 'TLS', certNotAfter: 'CERT UNTIL', findings: 'FINDINGS' };
  const width = (c: keyof Row) => Math.min(48, Math.max(head[c]!.length, ...rows.map((r) => r[c].length)));
  const fmt = (vals: Record<string, string>) => cols.map((c) => (vals[c] ?? '').slice(0, 48).padEnd(width(c))).join('  ').trimEnd();
  return `${[fmt(head), ...rows.map((r) => fmt(r as unknown as Record<string, string>))].join('\n')}\n`;
}

export interface Summary {
  total: number;
  interrupted: number;
  verdicts: Record<string, number>;
  findings: Record<string, number>;
}

export function summarize(reports: Iterable<ProbeReport>, interrupted = 0): Summary {
  const s: Summary = { total: 0, interrupted, verdicts: {}, findings: {} };
  for (const r of reports) addToSummary(s, r);
  return s;
}

export function addToSummary(s: Summary, r: ProbeReport): void {
  s.total++;
  s.verdicts[r.verdict.id] = (s.verdicts[r.verdict.id] ?? 0) + 1;
  for (const f of new Set(r.findings.map((x) => x.id))) s.findings[f] = (s.findings[f] ?? 0) + 1;
}

export function formatSummary(s: Summary): string {
  const v = Object.entries(s.verdicts).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
  const f = Object.entries(s.findings).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
  return `scanned ${s.total} target(s)${s.interrupted ? `, ${s.interrupted} interrupted (not written)` : ''}\nverdicts: ${v || 'none'}\nfindings: ${f || 'none'}\n`;
}
