/**
 * Nagios plugin output (Monitoring Plugins developer guidelines): a first line `RDP STATUS: text | perfdata`,
 * then long output, one line per host or check. The exit code is the status (0 OK, 1 WARNING, 2 CRITICAL,
 * 3 UNKNOWN). Text from the server is flattened to one line and loses `|`, which would start the performance data.
 */
import { STATUS, STATUS_NAMES, worst, type HostResult, type PerfDatum, type Status } from './evaluate.js';

/** One line, printable, no `|`: safe anywhere in plugin output. */
export function pluginText(s: string): string {
  return s
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .replace(/\|/g, '/')
    .replace(/ {2,}/g, ' ')
    .trim();
}

/** 'label'=value[UOM];[warn];[crit];[min];[max], the label quoted with ' doubled inside. */
export function formatPerf(p: PerfDatum, prefix = ''): string {
  const label = pluginText(`${prefix}${p.label}`).replace(/=/g, '_').replace(/'/g, "''");
  const fields = [`${formatNumber(p.value)}${p.uom}`, p.warn ?? '', p.crit ?? '', p.min !== undefined ? formatNumber(p.min) : ''];
  while (fields.length > 1 && fields[fields.length - 1] === '') fields.pop();
  return `'${label}'=${fields.join(';')}`;
}

function formatNumber(n: number): string {
  // Plain decimal, never exponent notation, which graphers do not read.
  if (Number.isInteger(n)) return String(n);
  return n.toFixed(6).replace(/0+$/, '').replace(/\.$/, '');
}

/** The problems of a host, worst first, or a short note of what passed. */
export function hostSummary(r: HostResult): string {
  const bad = r.checks.filter((c) => c.evaluated && c.status !== STATUS.OK);
  if (bad.length > 0) {
    const order = [STATUS.CRITICAL, STATUS.UNKNOWN, STATUS.WARNING];
    bad.sort((a, b) => order.indexOf(a.status as 1 | 2 | 3) - order.indexOf(b.status as 1 | 2 | 3));
    return bad.map((c) => (c.id === 'verdict' ? c.message : `${c.id}: ${c.message}`)).join('; ');
  }
  const n = r.checks.filter((c) => c.evaluated && c.id !== 'verdict').length;
  const v = r.report?.verdict.id ?? 'ok';
  return `${v}, ${n} expectation${n === 1 ? '' : 's'} met`;
}

const MAX_SUMMARY = 400;

function cut(s: string): string {
  return s.length > MAX_SUMMARY ? `${s.slice(0, MAX_SUMMARY - 1)}…` : s;
}

/** check HOST --policy: the host's status line, its perfdata, then one line per check. */
export function formatNagiosHost(r: HostResult): string {
  const head = `RDP ${STATUS_NAMES[r.status]}: ${pluginText(r.entry.name)}: ${cut(pluginText(hostSummary(r)))}`;
  const perf = r.perf.map((p) => formatPerf(p)).join(' ');
  const lines = [perf ? `${head} | ${perf}` : head];
  for (const c of r.checks) lines.push(`[${c.evaluated ? STATUS_NAMES[c.status] : 'SKIPPED'}] ${c.id}: ${pluginText(c.message)}`);
  return `${lines.join('\n')}\n`;
}

/** monitor FILE: one status for every host (the worst), the problems named, then one line per host. */
export function formatNagiosMany(results: HostResult[]): { text: string; status: Status } {
  const status = worst(results.map((r) => r.status));
  const counts = [STATUS.CRITICAL, STATUS.WARNING, STATUS.UNKNOWN, STATUS.OK]
    .map((s) => [s, results.filter((r) => r.status === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${STATUS_NAMES[s]}`);
  const problems = results.filter((r) => r.status !== STATUS.OK).map((r) => `${r.entry.name}: ${hostSummary(r)}`);
  const head = `RDP ${STATUS_NAMES[status]}: ${results.length} host${results.length === 1 ? '' : 's'}, ${counts.join(', ')}${problems.length ? `; ${cut(pluginText(problems.join('; ')))}` : ''}`;
  const perf = results.flatMap((r) => r.perf.map((p) => formatPerf(p, `${r.entry.name} `))).join(' ');
  const lines = [perf ? `${head} | ${perf}` : head];
  for (const r of results) lines.push(`[${STATUS_NAMES[r.status]}] ${pluginText(r.entry.name)}: ${cut(pluginText(hostSummary(r)))}`);
  return { text: `${lines.join('\n')}\n`, status };
}

/** Our own failure before any host was probed (a bad policy, a bad option): UNKNOWN, exit 3. */
export function formatNagiosUnknown(message: string): string {
  return `RDP UNKNOWN: ${pluginText(message)}\n`;
}
