/**
 * GitHub Actions outputs from a real probe of the lab peer whose certificate subject holds newlines and
 * `::error::`: exactly one annotation line per failed or warning expectation, no other line that a runner would
 * read as a command, the message decoding back to what the probe saw; Markdown cells that stay cells.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEntries } from '../../src/cli/monitor-command.js';
import { parsePolicy } from '../../src/monitor/policy.js';
import { STATUS, type HostResult } from '../../src/monitor/evaluate.js';
import { escapeData, escapeProperty, formatAnnotations, formatStepSummary, markdownCell } from '../../src/report/github.js';
import type { NlaPeer } from '../../src/lab/rdp-nla-peer.js';
import { EVIL_CN, startEvilPeer } from '../monitor/evil-peer.js';

/** The runner's decoding of a command's message (actions/runner CommandStringExtensions, reversed). */
const unescapeData = (s: string): string => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');

describe('GitHub Actions annotations and step summary', () => {
  let peer: NlaPeer;
  let results: HostResult[];
  beforeAll(async () => {
    peer = await startEvilPeer('127.0.0.245');
    const policy = parsePolicy(
      `hosts:
  - target: 127.0.0.245:${peer.port}
    name: "evil, host: one"
    expect: { nla: required, certificate: { minDaysValid: 10, warnDays: 30, pin: "sha256:${'00'.repeat(32)}" } }
`,
      'policies/rdp.yaml',
    );
    results = await runEntries(policy.entries, { env: {}, concurrency: 1 });
  });
  afterAll(() => peer?.close());

  it('one annotation line per non-OK expectation, nothing else a runner would read as a command', () => {
    const bad = results[0]!.checks.filter((c) => c.evaluated && c.status !== STATUS.OK);
    expect(bad.map((c) => c.id).sort()).toEqual(['certificate.days', 'certificate.pin', 'verdict']);
    const text = formatAnnotations(results, { file: 'policies/rdp.yaml' });
    const lines = text.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(bad.length);
    expect(text.split('\n').filter((l) => l.trimStart().startsWith('::'))).toHaveLength(bad.length);
    expect(lines.filter((l) => l.startsWith('::warning '))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('::error '))).toHaveLength(2);
    for (const l of lines) {
      expect(l).not.toMatch(/[\u0000-\u001f\u007f]/);
      // properties, then the message: the only "::" boundaries are the command's own two
      const m = /^::(error|warning) ([^:]*)::(.*)$/.exec(l);
      expect(m).not.toBeNull();
      const props = m![2]!.split(',');
      expect(props.map((p) => p.split('=')[0])).toEqual(['file', 'line', 'title']);
    }
    const pin = lines.find((l) => l.includes('certificate.pin'))!;
    const message = unescapeData(pin.slice(pin.indexOf('::', 2) + 2));
    const cert = results[0]!.report!.stages.find((s) => s.stage === 'tls')!.facts!['certificate'] as Record<string, string>;
    expect(cert['subjectCN']).toBe(EVIL_CN);
    expect(message).toContain(cert['subject']!.replace('\u0007', ' '));
    expect(message.startsWith('evil, host: one: ')).toBe(true);
    // the name with ":" and "," stays inside title=
    expect(pin).toContain('title=RDP CRITICAL evil%2C host%3A one certificate.pin::');
  });

  it('escapes per the workflow-command rules', () => {
    expect(escapeData('100% \r\n::error::x')).toBe('100%25 %0D%0A::error::x');
    expect(escapeProperty('a:b,c%\n')).toBe('a%3Ab%2Cc%25%0A');
    // already-escaped text from a server is escaped again, so it decodes to itself
    expect(unescapeData(escapeData('%0A'))).toBe('%0A');
  });

  it('the step summary keeps every server string inside its table cell', () => {
    const md = formatStepSummary(results, { title: 'rdp-probe policies/rdp.yaml' });
    const rows = md.split('\n').filter((l) => l.startsWith('|'));
    // each table row has exactly its columns: unescaped | would add cells
    const cells = (row: string): number => row.slice(1, -1).split(/(?<!\\)\|/).length;
    const tables = md.split('\n\n').filter((b) => b.startsWith('|'));
    expect(tables.length).toBeGreaterThanOrEqual(2);
    for (const t of tables) {
      const [head, ...rest] = t.split('\n').filter(Boolean);
      for (const r of rest) expect(cells(r)).toBe(cells(head!));
    }
    expect(rows.length).toBeGreaterThan(3);
    expect(md).not.toContain('<x');
    expect(md).not.toContain('::error::injected\n');
    expect(md).toContain('❌ CRITICAL');
    expect(markdownCell('a|b\nc <img src=x> [l](http://e) `c` &')).toBe('a\\|b c &lt;img src=x&gt; \\[l\\](http://e) \\`c\\` &amp;');
  });
});
