/**
 * JUnit XML for CI (the Ant/Surefire shape Jenkins, GitLab and GitHub test reporters read): one testsuite per
 * host, one testcase per expectation and per stage that ran. CRITICAL is a <failure>, UNKNOWN (our own failure)
 * an <error>, an expectation the probe never got to a <skipped>; a WARNING passes with the warning in
 * <system-out>. Every string, the server's included, goes through xmlText/xmlAttr: no markup, no characters
 * XML 1.0 forbids.
 */
import { STATUS, STATUS_NAMES, type Check, type HostResult } from '../monitor/evaluate.js';
import type { StageResult } from '../probe/types.js';

/** Drops what XML 1.0 cannot hold at all (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF). */
export function xmlChars(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    const ok = c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || c >= 0x10000;
    out += ok ? ch : `\\u{${c.toString(16)}}`;
  }
  return out;
}

export function xmlText(s: string): string {
  return xmlChars(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Attribute values keep their newlines and tabs as character references (a parser would fold them to spaces). */
export function xmlAttr(s: string): string {
  return xmlText(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

/** CDATA would break on "]]>" from a server; plain escaped text cannot. */
function element(name: string, attrs: Record<string, string | number | undefined>, body?: string): string {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${xmlAttr(String(v))}"`)
    .join('');
  return body === undefined ? `<${name}${a}/>` : `<${name}${a}>${body}</${name}>`;
}

function secs(ms: number | undefined): string {
  return ((ms ?? 0) / 1000).toFixed(3);
}

function evidenceText(e: Record<string, unknown> | undefined): string {
  if (!e) return '';
  return Object.entries(e)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}: ${String(v)}`)
    .join('\n');
}

interface Case {
  xml: string;
  failed: boolean;
  error: boolean;
  skipped: boolean;
  ms: number;
}

function checkCase(host: string, c: Check, verdict: string | undefined): Case {
  const name = `expect ${c.id}`;
  const classname = `rdp-probe.${host}`;
  const base = { classname, name, time: '0.000' };
  if (!c.evaluated) return { xml: element('testcase', base, element('skipped', { message: c.message })), failed: false, error: false, skipped: true, ms: 0 };
  const detail = [c.message, verdict && c.evidence?.['verdict'] === undefined ? `verdict: ${verdict}` : '', evidenceText(c.evidence)].filter(Boolean).join('\n');
  if (c.status === STATUS.CRITICAL) return { xml: element('testcase', base, element('failure', { type: c.id, message: `CRITICAL: ${c.message}` }, xmlText(detail))), failed: true, error: false, skipped: false, ms: 0 };
  if (c.status === STATUS.UNKNOWN) return { xml: element('testcase', base, element('error', { type: c.id, message: `UNKNOWN: ${c.message}` }, xmlText(detail))), failed: false, error: true, skipped: false, ms: 0 };
  if (c.status === STATUS.WARNING) return { xml: element('testcase', base, element('system-out', {}, xmlText(`WARNING: ${detail}`))), failed: false, error: false, skipped: false, ms: 0 };
  return { xml: element('testcase', base), failed: false, error: false, skipped: false, ms: 0 };
}

function stageCase(host: string, s: StageResult, verdict: string): Case {
  const base = { classname: `rdp-probe.${host}.stages`, name: `stage ${s.stage}`, time: secs(s.durationMs) };
  if (s.status === 'ok') return { xml: element('testcase', base), failed: false, error: false, skipped: false, ms: s.durationMs ?? 0 };
  const err = s.error;
  const lines = [
    err?.message ?? 'failed',
    `verdict: ${verdict}`,
    err ? `error: ${err.layer}/${err.kind}${err.codeName ? ` ${err.codeName}` : ''}${err.code !== undefined ? ` (0x${err.code.toString(16)})` : ''}${err.spec ? ` ${err.spec}` : ''}` : '',
    ...(s.evidence ?? []).map((e) => `${e.direction} ${e.pdu ?? 'frame'} (${e.length} bytes): ${e.hex}`),
  ].filter(Boolean);
  return { xml: element('testcase', base, element('failure', { type: err?.kind ?? 'failed', message: `${s.stage}: ${err?.message ?? 'failed'}` }, xmlText(lines.join('\n')))), failed: true, error: false, skipped: false, ms: s.durationMs ?? 0 };
}

export interface JunitOptions {
  /** Name of the whole run, e.g. the policy file. */
  name: string;
  timestamp?: Date;
}

export function formatJunit(results: HostResult[], opts: JunitOptions): string {
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  let errors = 0;
  let skipped = 0;
  let totalMs = 0;
  for (const r of results) {
    const host = r.entry.name;
    const verdict = r.report?.verdict.id;
    const cases = [
      ...r.checks.map((c) => checkCase(host, c, verdict)),
      ...(r.report ? r.report.stages.filter((s) => s.status === 'ok' || s.status === 'failed').map((s) => stageCase(host, s, r.report!.verdict.id)) : []),
    ];
    const f = cases.filter((c) => c.failed).length;
    const e = cases.filter((c) => c.error).length;
    const sk = cases.filter((c) => c.skipped).length;
    const ms = r.report?.durationMs ?? 0;
    tests += cases.length;
    failures += f;
    errors += e;
    skipped += sk;
    totalMs += ms;
    const props = [
      element('property', { name: 'target', value: `${r.entry.host}:${r.entry.port}` }),
      element('property', { name: 'status', value: STATUS_NAMES[r.status] }),
      ...(verdict ? [element('property', { name: 'verdict', value: verdict })] : []),
      ...(r.report?.verdict.summary ? [element('property', { name: 'summary', value: r.report.verdict.summary })] : []),
      ...(r.entry.group !== undefined ? [element('property', { name: 'group', value: r.entry.group })] : []),
    ];
    suites.push(
      `  ${element(
        'testsuite',
        { name: host, tests: cases.length, failures: f, errors: e, skipped: sk, time: secs(ms), ...(r.report ? { timestamp: r.report.startedAt.replace(/Z$/, '') } : {}), hostname: r.entry.host },
        `\n    ${element('properties', {}, props.join(''))}\n${cases.map((c) => `    ${c.xml}\n`).join('')}  `,
      )}`,
    );
  }
  const root = element('testsuites', { name: opts.name, tests, failures, errors, skipped, time: secs(totalMs), ...(opts.timestamp ? { timestamp: opts.timestamp.toISOString().replace(/Z$/, '') } : {}) }, `\n${suites.join('\n')}\n`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${root}\n`;
}
