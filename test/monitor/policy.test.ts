/**
 * Policy loading: the issue's example shape, groups and defaults, and one line naming line:column for every
 * kind of mistake (unknown key, bad value, wrong type, duplicate, YAML syntax, a password in the file).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findEntry, parsePolicy, PolicyError, readPolicyFile } from '../../src/monitor/policy.js';
import { probeOptionsFor } from '../../src/monitor/evaluate.js';
import { testTempDir } from '../helpers/temp-dir.js';

const PIN = `sha256:${'ab'.repeat(32)}`;
const ISSUE = `defaults: { timeout: 5s }
hosts:
  - target: jump1.example.test:3389
    expect:
      nla: required                 # required | offered | any
      standardRdpSecurity: refused  # refused | allowed
      tlsMin: "1.2"
      certificate: { minDaysValid: 30, warnDays: 60, pin: "${PIN}", ca: ca.pem }
      credssp: { minVersion: 6 }
      auth: { user: 'EXAMPLE\\probe', passwordEnv: RDP_PROBE_PW }   # a credential check passes
      reach: activation              # x224 | tls | credssp | auth | activation
`;
const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const readFile = (f: string): string => {
  if (f.endsWith('/ca.pem')) return CA;
  throw Object.assign(new Error('nope'), { code: 'ENOENT' });
};
const parse = (text: string) => parsePolicy(text, 'p.yaml', { baseDir: '/etc/rdp', readFile });
const errorOf = (text: string): string => {
  try {
    parse(text);
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    return (e as Error).message;
  }
  throw new Error('no error');
};

describe('policy files', () => {
  it('reads the example from the issue', () => {
    const p = parse(ISSUE);
    expect(p.entries).toHaveLength(1);
    const e = p.entries[0]!;
    expect(e).toMatchObject({ host: 'jump1.example.test', port: 3389, stageTimeoutMs: 5000, line: 3 });
    expect(e.expect).toEqual({
      nla: 'required',
      standardRdpSecurity: 'refused',
      tlsMin: '1.2',
      certificate: { minDaysValid: 30, warnDays: 60, pin: [PIN], ca: { file: 'ca.pem', pem: CA } },
      credssp: { minVersion: 6 },
      auth: { user: 'EXAMPLE\\probe', passwordEnv: 'RDP_PROBE_PW' },
      reach: 'activation',
    });
    // the probe it asks for: session depth, delegation (the pin and CA guard the password), enumeration on
    const o = probeOptionsFor(e, { user: 'probe', domain: 'EXAMPLE', password: 'x' });
    expect(o).toMatchObject({ depth: 'session', delegate: true, enumerate: true, caPem: CA, trust: { pins: [PIN] }, warnDays: 60 });
  });

  it('docs/policy-example.yaml loads', () => {
    const p = readPolicyFile(join(__dirname, '..', '..', 'docs', 'policy-example.yaml'), { readFile });
    expect(p.entries.length).toBeGreaterThanOrEqual(3);
  });

  it('groups and defaults merge, the host layer winning, certificate field by field', () => {
    const p = parse(`defaults:
  timeout: 2s
  concurrency: 8
  expect: { nla: required, certificate: { warnDays: 40, minDaysValid: 10 } }
groups:
  - name: jumps
    targets: [10.0.0.1, "[2001:db8::1]:3390"]
    expect: { certificate: { minDaysValid: 20 }, tlsMin: "1.3" }
hosts:
  - target: legacy.example.test
    name: legacy
    timeout: 9s
    expect: { nla: any }
`);
    expect(p.concurrency).toBe(8);
    expect(p.entries.map((e) => [e.name, e.group, e.port, e.stageTimeoutMs])).toEqual([
      ['legacy', undefined, 3389, 9000],
      ['10.0.0.1', 'jumps', 3389, 2000],
      ['[2001:db8::1]:3390', 'jumps', 3390, 2000],
    ]);
    expect(p.entries[0]!.expect).toEqual({ nla: 'any', certificate: { warnDays: 40, minDaysValid: 10 } });
    expect(p.entries[1]!.expect).toEqual({ nla: 'required', tlsMin: '1.3', certificate: { warnDays: 40, minDaysValid: 20 } });
    expect(findEntry(p, 'legacy')?.host).toBe('legacy.example.test');
    expect(findEntry(p, 'LEGACY.example.test:3389')?.name).toBe('legacy');
    expect(findEntry(p, '2001:db8::1', 3390)?.group).toBe('jumps');
    expect(findEntry(p, '10.0.0.1:3390')).toBeUndefined();
  });

  it('a mistake is one line naming file, line and column', () => {
    const cases: [string, string][] = [
      [ISSUE.replace('nla: required', 'nlaa: required'), 'p.yaml:5:7: hosts[0].expect: unknown key "nlaa"'],
      [ISSUE.replace('nla: required', 'NLA: required'), 'did you mean nla?'],
      [ISSUE.replace('nla: required', 'nla: yes'), 'p.yaml:5:12: hosts[0].expect.nla: expected required | offered | any, found the text "yes"'],
      [ISSUE.replace('tlsMin: "1.2"', 'tlsMin: "1.4"'), 'p.yaml:7:15: hosts[0].expect.tlsMin'],
      [ISSUE.replace('reach: activation', 'reach: desktop'), 'p.yaml:11:14: hosts[0].expect.reach: expected x224 | tls | credssp | auth | activation'],
      [ISSUE.replace('minVersion: 6', 'minVersion: 7'), 'p.yaml:9:30: hosts[0].expect.credssp.minVersion: expected a whole number from 2 to 6, found the number 7'],
      [ISSUE.replace('minDaysValid: 30', 'minDaysValid: "30"'), 'p.yaml:8:36: hosts[0].expect.certificate.minDaysValid: expected a whole number'],
      [ISSUE.replace(PIN, 'sha1:abcd'), 'p.yaml:8:59: hosts[0].expect.certificate.pin: expected sha256: and 64 hex digits'],
      [ISSUE.replace('ca: ca.pem', 'ca: missing.pem'), 'p.yaml:8:']
      ,
      [ISSUE.replace("passwordEnv: RDP_PROBE_PW", 'password: hunter2'), 'p.yaml:10:38: hosts[0].expect.auth.password: a password never goes in the policy'],
      [ISSUE.replace('minVersion: 6', 'minVersion: 6, minVersion: 5'), 'p.yaml:9:33: Map keys must be unique'],
      [ISSUE.replace('timeout: 5s', 'timeout: soon'), 'p.yaml:1:22: defaults.timeout: "soon" is not a duration'],
      [ISSUE.replace('jump1.example.test:3389', 'jump1.example.test:99999'), 'p.yaml:3:13: hosts[0]: port 99999 is out of range'],
      [ISSUE.replace('warnDays: 60', 'warnDays: 20'), 'warnDays (20) is below minDaysValid (30)'],
      [`${ISSUE}  - target: JUMP1.example.test\n`, 'p.yaml:12:13: hosts[1]: JUMP1.example.test is already listed (line 3)'],
      ['hosts:\n  - target: [a\n', 'p.yaml:3:1:'],
      ['', 'p.yaml:1:1: the policy is empty'],
      ['hosts: []\n', 'the policy lists no hosts'],
      ['hosts:\n  - 10.0.0.1\n', 'p.yaml:2:5: hosts[0]: expected a mapping (key: value), found the text "10.0.0.1"'],
      ['hosts:\n  - target: a\n    expect: { reach: auth }\n', 'p.yaml:3:22: hosts[0]: reach: auth needs an auth: block'],
      ['hosts:\n  - target: a\n    expect:\n      auth: { user: u, passwordEnv: PW }\n', 'p.yaml:4:13: hosts[0]: auth: needs certificate.pin or certificate.ca'],
      ['hosts:\n  - target: a\n    expect:\n      auth: { user: u, passwordEnv: PW, passwordFile: f }\n', 'give one of passwordEnv or passwordFile'],
      ['groups:\n  - name: g\n    targets: []\n', 'p.yaml:3:14: groups[0].targets: the list is empty'],
      ['hosts:\n  - target: a\nhosts:\n  - target: b\n', 'p.yaml:3:1: Map keys must be unique'],
    ];
    for (const [text, want] of cases) {
      const msg = errorOf(text);
      expect(msg, text).toContain(want);
      expect(msg).not.toContain('\n');
      expect(msg).toMatch(/^p\.yaml:\d+:\d+: /);
    }
    expect(errorOf(ISSUE.replace("passwordEnv: RDP_PROBE_PW", 'password: hunter2'))).not.toContain('hunter2');
  });

  it('reads a file from disk, ca relative to the policy folder', () => {
    const dir = testTempDir('rdp-policy-');
    writeFileSync(join(dir, 'ca.pem'), CA);
    writeFileSync(join(dir, 'p.yaml'), ISSUE);
    const p = readPolicyFile(join(dir, 'p.yaml'));
    expect(p.entries[0]!.expect.certificate?.ca?.pem).toBe(readFileSync(join(dir, 'ca.pem'), 'utf8'));
    expect(() => readPolicyFile(join(dir, 'none.yaml'))).toThrow(/none\.yaml:1:1: cannot read the policy: ENOENT/);
  });
});
