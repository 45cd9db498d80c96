/**
 * JUnit XML from real probes of the lab NLA peer, one of them serving a certificate whose subject holds a newline,
 * a workflow command, "]]>", markup and a control character: the XML must stay well-formed under a strict reader,
 * carry one testsuite per host with a testcase per expectation and stage, and give the subject back intact
 * (minus the one character XML cannot hold).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEntries } from '../../src/cli/monitor-command.js';
import { parsePolicy } from '../../src/monitor/policy.js';
import { STATUS, type HostResult } from '../../src/monitor/evaluate.js';
import { formatJunit, xmlAttr, xmlText } from '../../src/report/junit.js';
import type { NlaPeer } from '../../src/lab/rdp-nla-peer.js';
import { EVIL_CN, startEvilPeer } from '../monitor/evil-peer.js';
import { findAll, parseXml, XmlError } from '../monitor/xml-check.js';

describe('JUnit XML', () => {
  let peer: NlaPeer;
  let results: HostResult[];
  beforeAll(async () => {
    peer = await startEvilPeer('127.0.0.243');
    const policy = parsePolicy(
      `hosts:
  - target: 127.0.0.243:${peer.port}
    name: evil
    expect: { nla: required, credssp: { minVersion: 6 }, certificate: { minDaysValid: 10, warnDays: 30, pin: "sha256:${'00'.repeat(32)}" } }
  - target: 127.0.0.244:${peer.port}
    name: closed
  - target: 127.0.0.249:9
    expect: { nla: required }
`,
      'evil.yaml',
    );
    results = await runEntries(policy.entries, { env: {}, concurrency: 3 });
  });
  afterAll(() => peer?.close());

  it('the hosts are judged as the servers behaved', () => {
    expect(results.map((r) => r.status)).toEqual([STATUS.CRITICAL, STATUS.CRITICAL, STATUS.CRITICAL]);
    expect(results[0]!.report!.verdict.id).toBe('untrusted_certificate');
    expect(results[0]!.checks.find((c) => c.id === 'certificate.days')!.status).toBe(STATUS.WARNING);
    expect(results[1]!.report!.verdict.id).toBe('port_closed');
  });

  it('is well-formed under a strict reader and gives the hostile subject back', () => {
    const xml = formatJunit(results, { name: 'rdp-probe evil.yaml', timestamp: new Date('2026-01-01T00:00:00Z') });
    const root = parseXml(xml);
    expect(root.name).toBe('testsuites');
    const suites = findAll(root, 'testsuite');
    expect(suites.map((s) => s.attrs['name'])).toEqual(['evil', 'closed', '127.0.0.249:9']);
    // one testcase per check and per stage that ran
    for (const [k, s] of suites.entries()) {
      const r = results[k]!;
      const ran = r.report!.stages.filter((x) => x.status === 'ok' || x.status === 'failed').length;
      expect(findAll(s, 'testcase')).toHaveLength(r.checks.length + ran);
      expect(Number(s.attrs['tests'])).toBe(r.checks.length + ran);
      expect(Number(s.attrs['failures'])).toBe(findAll(s, 'failure').length);
    }
    expect(Number(root.attrs['tests'])).toBe(findAll(root, 'testcase').length);
    const evil = suites[0]!;
    const pin = findAll(evil, 'testcase').find((t) => t.attrs['name'] === 'expect certificate.pin')!;
    const failure = pin.children[0]!;
    expect(failure.name).toBe('failure');
    // The probe saw the hostile name as it was sent (subject is the RFC 4514 form, newline and all).
    const cert = results[0]!.report!.stages.find((s) => s.stage === 'tls')!.facts!['certificate'] as Record<string, string>;
    expect(cert['subjectCN']).toBe(EVIL_CN);
    expect(cert['subject']).toContain('\n::error::injected\r\n');
    // The BEL (not representable in XML 1.0) is shown as \u{7}; everything else arrives exactly as the probe saw it.
    const expected = cert['subject']!.replace('\u0007', '\\u{7}');
    expect(failure.attrs['message']).toContain(expected);
    expect(failure.text).toContain(expected);
    const tls = findAll(evil, 'testcase').find((t) => t.attrs['name'] === 'stage tls')!;
    expect(tls.children[0]!.attrs['type']).toBe('untrusted_certificate');
    const warn = findAll(evil, 'testcase').find((t) => t.attrs['name'] === 'expect certificate.days')!;
    expect(warn.children.map((c) => c.name)).toEqual(['system-out']);
    expect(warn.children[0]!.text).toMatch(/^WARNING: the certificate CN=evil/);
    const closed = findAll(suites[1]!, 'testcase').find((t) => t.attrs['name'] === 'stage tcp')!;
    expect(closed.children[0]!.attrs['type']).toBe('refused');
    expect(closed.children[0]!.text).toContain('verdict: port_closed');
  });

  it('the strict reader refuses what unescaped server text would produce', () => {
    expect(() => parseXml(`<a m="${EVIL_CN}"/>`)).toThrow(XmlError);
    expect(() => parseXml(`<a>${EVIL_CN}</a>`)).toThrow(XmlError);
    expect(() => parseXml(`<a>x & y</a>`)).toThrow(XmlError);
    expect(() => parseXml(`<a></b>`)).toThrow(XmlError);
    expect(() => parseXml(`<a/><b/>`)).toThrow(XmlError);
    expect(parseXml(`<a m="${xmlAttr(EVIL_CN)}">${xmlText(EVIL_CN)}</a>`).attrs['m']).toBe(EVIL_CN.replace('\u0007', '\\u{7}'));
  });

  it('escapes lone surrogates and U+FFFE, keeps astral characters', () => {
    const s = `a\ud800b\ufffec😀`;
    expect(parseXml(`<a>${xmlText(s)}</a>`).text).toBe('a\\u{d800}b\\u{fffe}c😀');
  });
});
