/**
 * GitHub Actions outputs: workflow-command annotations (::error / ::warning) on stdout and a Markdown step summary
 * for $GITHUB_STEP_SUMMARY. A workflow command is one line that starts with `::`; escaping keeps every
 * server-supplied string inside its own command (no newline can start another one) and every Markdown cell inside
 * its cell.
 */
import { STATUS, STATUS_NAMES, type HostResult } from '../monitor/evaluate.js';

/** Message part of a workflow command (after the last `::`). */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A property value (file=, title=): also `:` and `,`, which end a value. */
export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export interface AnnotationOptions {
  /** The policy file: annotations point at the entry's line in it. */
  file?: string;
}

/** One annotation per failed or warning expectation; nothing for a host that is OK. */
export function formatAnnotations(results: HostResult[], opts: AnnotationOptions = {}): string {
  const lines: string[] = [];
  for (const r of results) {
    for (const c of r.checks) {
      if (!c.evaluated || c.status === STATUS.OK) continue;
      const cmd = c.status === STATUS.WARNING ? 'warning' : 'error';
      const props = [
        ...(opts.file ? [`file=${escapeProperty(opts.file)}`, `line=${r.entry.line}`] : []),
        `title=${escapeProperty(`RDP ${STATUS_NAMES[c.status]} ${r.entry.name} ${c.id}`)}`,
      ];
      // Other control characters mean nothing to the runner but can garble a log: shown as spaces.
      lines.push(`::${cmd} ${props.join(',')}::${escapeData(`${r.entry.name}: ${c.message}`.replace(/[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f]/g, ' '))}`);
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** Inside a table cell: no row or cell breaks, no markup, no links, no HTML. */
export function markdownCell(s: string): string {
  return s
    .replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|~])/g, '\\$1')
    .trim();
}

const ICON: Record<number, string> = { 0: '✅', 1: '⚠️', 2: '❌', 3: '❔' };

export function formatStepSummary(results: HostResult[], opts: { title?: string } = {}): string {
  const out: string[] = [];
  out.push(`## ${markdownCell(opts.title ?? 'rdp-probe monitor')}`, '');
  out.push('| status | host | verdict | time | problems |', '|---|---|---|---|---|');
  for (const r of results) {
    const bad = r.checks.filter((c) => c.evaluated && c.status !== STATUS.OK).map((c) => `${c.id}: ${c.message}`);
    const time = r.report ? `${(r.report.durationMs / 1000).toFixed(3)} s` : '';
    out.push(`| ${ICON[r.status]} ${STATUS_NAMES[r.status]} | ${markdownCell(r.entry.name)} | ${markdownCell(r.report?.verdict.id ?? '')} | ${time} | ${markdownCell(bad.join('; ')) || '—'} |`);
  }
  for (const r of results) {
    out.push('', `### ${ICON[r.status]} ${markdownCell(r.entry.name)}`, '', '| status | check | result |', '|---|---|---|');
    for (const c of r.checks) out.push(`| ${c.evaluated ? STATUS_NAMES[c.status] : 'skipped'} | ${markdownCell(c.id)} | ${markdownCell(c.message)} |`);
  }
  return `${out.join('\n')}\n`;
}
