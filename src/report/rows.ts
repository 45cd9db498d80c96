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

/** Verdicts `scan --open` leaves out of the per-target output: nothing answered on that port. */
export const NOT_OPEN_VERDICTS: ReadonlySet<string> = new Set(['port_closed', 'filtered', 'unreachable', 'dns_failure']);

export function isOpen(r: ProbeReport): boolean {
  return !NOT_OPEN_VERDICTS.has(r.verdict.id);
}

const CELL_MAX = 48;
const CUT_MARK = '…';
const BREAK = /[\s;,/-]/;

/** Cuts a cell to `max` characters on a word boundary (space ; , / -) with a marker; a hard cut only when no boundary lies in the second half. */
export function cutCell(text: string, max = CELL_MAX): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  const room = max - CUT_MARK.length;
  let at = -1;
  for (let i = room; i > room / 2; i--) {
    if (BREAK.test(chars[i] ?? '')) {
      at = i;
      break;
    }
  }
  let kept = chars.slice(0, at > 0 ? at : room).join('');
  if (at > 0) kept = kept.replace(/[\s;,/-]+$/, '');
  return `${kept}${CUT_MARK}`;
}

const RESET = '\x1b[0m';

function verdictColour(id: string): string {
  if (id === 'ok') return '\x1b[32m';
  if (NOT_OPEN_VERDICTS.has(id)) return '\x1b[2m';
  return '\x1b[31m';
}

export function formatTable(reports: ProbeReport[], options: { color?: boolean } = {}): string {
  const cols: (keyof Row)[] = ['target', 'verdict', 'stage', 'selected', 'nla', 'tls', 'certNotAfter', 'findings'];
  const rows = reports.map((r) => {
    const row = toRow(r);
    const cells: Record<string, string> = {};
    for (const c of cols) cells[c] = cutCell(row[c]);
    return cells;
  });
  const head: Record<string, string> = { target: 'TARGET', verdict: 'VERDICT', stage: 'STAGE', selected: 'SECURITY', nla: 'NLA', tls: 'TLS', certNotAfter: 'CERT UNTIL', findings: 'FINDINGS' };
  const len = (v: string): number => [...v].length;
  const widths = cols.map((c) => Math.max(len(head[c]!), ...rows.map((r) => len(r[c] ?? ''))));
  const fmt = (vals: Record<string, string>, paint: boolean): string =>
    cols
      .map((c, i) => {
        const v = vals[c] ?? '';
        const pad = ' '.repeat(Math.max(0, widths[i]! - len(v)));
        return paint && c === 'verdict' ? `${verdictColour(v)}${v}${RESET}${pad}` : v + pad;
      })
      .join('  ')
      .trimEnd();
  return `${[fmt(head, false), ...rows.map((r) => fmt(r, options.color === true))].join('\n')}\n`;
}

export interface Summary {
  total: number;
  interrupted: number;
  verdicts: Record<string, number>;
  findings: Record<string, number>;
  /** Of `total`, the targets counted from an earlier run's results (--resume). */
  resumed?: number;
}

export function summarize(reports: Iterable<ProbeReport>, interrupted = 0): Summary {
  const s: Summary = { total: 0, interrupted, verdicts: {}, findings: {} };
  for (const r of reports) addToSummary(s, r);
  return s;
}

export function addToSummary(s: Summary, r: ProbeReport): void {
  s.total++;
  s.verdicts[r.verdict.id] = (s.verdicts[r.verdict.id] ?? 0) + 1;
  // Most reports of a scan have none: no Set for them.
  if (r.findings.length > 0) for (const f of new Set(r.findings.map((x) => x.id))) s.findings[f] = (s.findings[f] ?? 0) + 1;
}

export function formatSummary(s: Summary): string {
  const v = Object.entries(s.verdicts).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
  const f = Object.entries(s.findings).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
  const resumed = s.resumed ? ` (${s.resumed} from --resume, ${s.total - s.resumed} now)` : '';
  return `scanned ${s.total} target(s)${resumed}${s.interrupted ? `, ${s.interrupted} interrupted (not written)` : ''}\nverdicts: ${v || 'none'}\nfindings: ${f || 'none'}\n`;
}
