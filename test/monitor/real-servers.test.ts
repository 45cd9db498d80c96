/**
 * Policies against real servers through the real CLI (in process): xrdp 0.9 (Debian package, TLS only) on
 * 127.0.0.240, the lab NLA peer on 127.0.0.241 (a real CredSSP/NTLM verifier), the hostile-certificate peer
 * (expires in 20 days) on 127.0.0.242, and nothing on 127.0.0.249. A policy that passes exits 0, one that warns 1,
 * one that fails 2, an unreachable host is CRITICAL (2), our own failures UNKNOWN (3).
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './cli.js';
import { startNlaPeer, type NlaPeer } from '../../src/lab/rdp-nla-peer.js';
import { realServerSuite, startXrdp, stopAllServers, type RunningServer } from '../servers/launcher.js';
import { LAB_USER, startEvilPeer } from './evil-peer.js';
import { findAll, parseXml } from './xml-check.js';

const { skip } = realServerSuite(['xrdp'], 'monitoring policies');


const PW = 'RDP_PROBE_PW';

describe.skipIf(skip)('policies against real servers', () => {
  let xrdp: RunningServer;
  let lab: NlaPeer;
  let evil: NlaPeer;
  /** Made in beforeAll, not at collection, so a skipped suite leaves nothing behind. */
  let dir: string;
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const env = { [PW]: LAB_USER.password };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rdp-monitor-'));
    xrdp = await startXrdp('tls', { host: '127.0.0.240' });
    lab = await startNlaPeer({ host: '127.0.0.241', users: [LAB_USER], credsspVersion: 6, protocol: 'hybrid_ex' });
    evil = await startEvilPeer('127.0.0.242');
  }, 60_000);
  afterAll(async () => {
    await lab?.close();
    await evil?.close();
    await stopAllServers();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const passPolicy = (): string =>
    file(
      'pass.yaml',
      `defaults: { timeout: 4s, targetTimeout: 20s }
hosts:
  - target: 127.0.0.240
    name: xrdp
    expect: { nla: any, standardRdpSecurity: refused, tlsMin: "1.2", certificate: { minDaysValid: 1 }, reach: tls }
  - target: 127.0.0.241:${lab.port}
    name: lab
    expect:
      nla: required
      standardRdpSecurity: refused
      tlsMin: "1.2"
      certificate: { minDaysValid: 30, warnDays: 60, pin: "${lab.fingerprint}" }
      credssp: { minVersion: 6 }
      auth: { user: 'LAB\\probe', passwordEnv: ${PW} }
      reach: auth
`,
    );

  it('passes: exit 0, RDP OK with performance data, for one host and for all', async () => {
    const p = passPolicy();
    const one = await cli(['check', '127.0.0.240', '--policy', p]);
    expect(one.code, one.out + one.err).toBe(0);
    const first = one.out.split('\n')[0]!;
    expect(first).toMatch(/^RDP OK: xrdp: ok, 5 expectations met \| 'time'=[\d.]+s;;;0 'dns'=[\d.]+s;;;0 'tcp'=[\d.]+s;;;0 'x224'=[\d.]+s;;;0 'tls'=[\d.]+s;;;0 'cert_days'=\d+;;1:$/);
    const all = await cli(['monitor', p], env);
    expect(all.code, all.out).toBe(0);
    expect(all.out).toMatch(/^RDP OK: 2 hosts, 2 OK \| /);
    expect(all.out).toContain("'lab nla_auth'=");
    expect(all.out).toContain("'lab cert_days'=");
    expect(all.out).toMatch(/'lab cert_days'=\d+;60:;30:/);
    expect(all.out).toContain("'lab credssp_version'=6");
    expect(all.out.split('\n')[1]).toBe('[OK] xrdp: ok, 5 expectations met');
    // the password went to the pinned lab server only, and into no output
    expect(all.out + all.err).not.toContain(LAB_USER.password);
    expect(lab.connections.some((c) => c.credssp?.clientPubKeyAuth === 'ok')).toBe(true);
  });

  it('warns: the certificate expires within warnDays (exit 1); command-line thresholds override the policy', async () => {
    const p = file('warn.yaml', `hosts:\n  - target: 127.0.0.242:${evil.port}\n    name: short-lived\n    expect: { nla: required, certificate: { minDaysValid: 10, warnDays: 30 } }\n`);
    const r = await cli(['check', `127.0.0.242:${evil.port}`, '--policy', p]);
    expect(r.code, r.out).toBe(1);
    const first = r.out.split('\n')[0]!;
    expect(first).toMatch(/^RDP WARNING: short-lived: certificate\.days: the certificate CN=evil ::error::injected ::warning title=x::%0A\]\]\\>\\<x a='1'\\>&amp\\; \/ cell bell expires in 20 days \(.*; warning 30:, critical 10:\) \| /);
    expect(first).toContain("'cert_days'=20;30:;10:");
    expect(r.out.split('\n').filter((l) => l.startsWith('RDP '))).toHaveLength(1);
    const relaxed = await cli(['check', `127.0.0.242:${evil.port}`, '--policy', p, '--warning-cert-days', '10:', '--critical-cert-days', '5:']);
    expect(relaxed.code, relaxed.out).toBe(0);
    expect(relaxed.out).toContain("'cert_days'=20;10:;5:");
    const strict = await cli(['check', `127.0.0.242:${evil.port}`, '--policy', p, '--critical-cert-days', '25:', '--warning-time', '@0:100']);
    expect(strict.code).toBe(2);
    expect(strict.out).toMatch(/^RDP CRITICAL: .*time: the probe took/);
    expect(strict.out).toMatch(/'time'=[\d.]+s;@0:100;;0/);
  });

  it('fails: nla required against xrdp (exit 2); an unreachable host is CRITICAL, not UNKNOWN', async () => {
    const p = file(
      'fail.yaml',
      `hosts:\n  - target: 127.0.0.240\n    expect: { nla: required, tlsMin: "1.3", reach: credssp }\n  - target: 127.0.0.249\n    name: gone\n    expect: { nla: required }\n`,
    );
    const r = await cli(['check', '127.0.0.240', '--policy', p]);
    expect(r.code, r.out).toBe(2);
    expect(r.out).toMatch(/^RDP CRITICAL: 127\.0\.0\.240: reach: expected to reach credssp; the credssp stage is skipped \(the server selected SSL: no CredSSP \(NLA\) on this connection\); nla: expected NLA required; the server shows not_supported \| /);
    expect(r.out).toContain('[OK] tlsMin: TLS 1.3');
    const gone = await cli(['check', 'gone', '--policy', p]);
    expect(gone.code, gone.out).toBe(2);
    expect(gone.out).toMatch(/^RDP CRITICAL: gone: port_closed at tcp: /);
    expect(gone.out).toContain('[SKIPPED] nla: not evaluated: the probe stopped at tcp');
  });

  it('monitor: the worst host decides; --junit and --github (annotations, step summary) from the same run', async () => {
    const p = file(
      'all.yaml',
      `defaults: { timeout: 4s, concurrency: 2 }
hosts:
  - target: 127.0.0.240
    name: xrdp
    expect: { nla: required }
  - target: 127.0.0.241:${lab.port}
    name: lab
    expect: { nla: required, credssp: { minVersion: 6 }, certificate: { pin: "${lab.fingerprint}", warnDays: 30 } }
  - target: 127.0.0.242:${evil.port}
    name: short-lived
    expect: { certificate: { warnDays: 30 } }
  - target: 127.0.0.249
    name: gone
`,
    );
    const junit = join(dir, 'rdp.xml');
    const summary = join(dir, 'summary.md');
    appendFileSync(summary, '# before\n');
    const r = await cli(['monitor', p, '--junit', junit], { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary });
    expect(r.code, r.out).toBe(2);
    const lines = r.out.split('\n').filter(Boolean);
    expect(lines[0]).toMatch(/^RDP CRITICAL: 4 hosts, 2 CRITICAL, 1 WARNING, 1 OK; xrdp: nla: expected NLA required; the server shows not_supported; short-lived: certificate\.days: .*; gone: port_closed at tcp: .* \| 'xrdp time'=/);
    expect(lines.slice(1, 5)).toEqual([
      '[CRITICAL] xrdp: nla: expected NLA required; the server shows not_supported',
      '[OK] lab: ok, 4 expectations met',
      expect.stringMatching(/^\[WARNING\] short-lived: certificate\.days: the certificate CN=evil ::error::injected/),
      expect.stringMatching(/^\[CRITICAL\] gone: port_closed at tcp: /),
    ]);
    const annotations = lines.filter((l) => l.startsWith('::'));
    expect(annotations).toHaveLength(3); // xrdp nla, short-lived certificate.days, gone verdict
    expect(annotations.filter((l) => l.startsWith('::warning '))).toHaveLength(1);
    expect(annotations.every((l) => l.includes(`file=${p.replace(/:/g, '%3A').replace(/,/g, '%2C')},line=`))).toBe(true);
    expect(annotations.find((l) => l.includes('short-lived'))).toContain('CN=evil%0A::error::injected%0D%0A::warning title=x::%250A');
    const xml = parseXml(readFileSync(junit, 'utf8'));
    const suites = findAll(xml, 'testsuite');
    expect(suites.map((s) => [s.attrs['name'], s.attrs['failures']])).toEqual([
      ['xrdp', '1'],
      ['lab', '0'],
      ['short-lived', '0'],
      ['gone', '2'],
    ]);
    const md = readFileSync(summary, 'utf8');
    expect(md.startsWith('# before\n## rdp-probe ')).toBe(true);
    expect(md).toContain('| ❌ CRITICAL | xrdp | ok |');
    expect(md).toContain('| ⚠️ WARNING | short-lived | ok |');
  });

  it('our own failures are UNKNOWN (3): a bad policy, a missing entry, an unset password variable, a bad threshold', async () => {
    const bad = file('bad.yaml', 'hosts:\n  - target: 127.0.0.240\n    expect: { nla: requird }\n');
    const r = await cli(['monitor', bad]);
    expect(r).toMatchObject({ code: 3 });
    expect(r.out).toBe(`RDP UNKNOWN: ${bad}:3:20: hosts[0].expect.nla: expected required / offered / any, found the text "requird"\n`);
    const none = await cli(['check', '127.0.0.9', '--policy', passPolicy()]);
    expect(none.code).toBe(3);
    expect(none.out).toMatch(/^RDP UNKNOWN: .*pass\.yaml has no entry for 127\.0\.0\.9 \(entries: xrdp, lab\)/);
    const nopw = await cli(['check', 'lab', '--policy', passPolicy()], {});
    expect(nopw.code).toBe(3);
    expect(nopw.out).toMatch(/^RDP UNKNOWN: lab: config: auth: passwordEnv RDP_PROBE_PW: that environment variable is not set/);
    expect(lab.connections.length).toBeGreaterThan(0);
    const thr = await cli(['monitor', passPolicy(), '--warning-time', '5s']);
    expect(thr.code).toBe(3);
    expect(thr.out).toBe('RDP UNKNOWN: --warning-time 5s: "5s" is not a number (the end of the range)\n');
    const opt = await cli(['monitor', passPolicy(), '--no-such-option']);
    expect(opt.code).toBe(3);
    expect(opt.out).toMatch(/^RDP UNKNOWN: Unknown argument/);
  });

  it('--make-policy writes a policy the host passes today, without the password', async () => {
    const made = await cli(['check', '127.0.0.240', '--make-policy']);
    expect(made.code, made.err).toBe(0);
    expect(made.out).toContain('nla: any');
    expect(made.out).toContain('standardRdpSecurity: refused');
    expect(made.out).toMatch(/tlsMin: "1\.[23]"/);
    expect(made.out).toMatch(/pin: sha256:[0-9a-f]{64}/);
    expect(made.out).toContain('reach: credssp'.replace('credssp', 'tls'));
    const p = file('made-xrdp.yaml', made.out);
    const again = await cli(['check', '127.0.0.240', '--policy', p]);
    expect(again.code, again.out).toBe(0);

    const labMade = await cli(['check', `127.0.0.241:${lab.port}`, '--make-policy', '--depth', 'auth', '--user', 'LAB\\probe', '--password-env', PW, '--pin', lab.fingerprint], env);
    expect(labMade.code, labMade.err).toBe(0);
    expect(labMade.out).not.toContain(LAB_USER.password);
    expect(labMade.out).toContain(`passwordEnv: ${PW}`);
    expect(labMade.out).toContain('nla: required');
    expect(labMade.out).toContain('minVersion: 6');
    expect(labMade.out).toContain('reach: auth');
    const lp = file('made-lab.yaml', labMade.out);
    const labAgain = await cli(['check', `127.0.0.241:${lab.port}`, '--policy', lp], env);
    expect(labAgain.code, labAgain.out).toBe(0);
    // a host that fails today gets no policy
    const gone = await cli(['check', '127.0.0.249', '--make-policy']);
    expect(gone.code).toBe(1);
    expect(gone.err).toMatch(/^rdp-probe: 127\.0\.0\.249 fails today \(port_closed at tcp\)/);
  });
});
