/**
 * Every lab scenario probed through the CLI's main() in process (`check --lab NAME`, which starts the scenario,
 * probes it with the depth and options it needs, and stops it), judged against the scenario's expected verdict,
 * stage, finding, fact, code and mstsc pair; the table's shape; and what the lab saw the probe send.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { LAB_ACCOUNT } from '../../src/cli/lab-account.js';
import { SCENARIOS, SCENARIO_NAMES, scenario } from '../../src/lab/scenarios.js';
import { LAB_USERS } from '../../src/lab/server.js';
import { judge, WRONG_PASSWORD } from '../../src/lab/tour.js';
import type { ProbeReport } from '../../src/probe/types.js';

function cli(env: Record<string, string> = {}) {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (d) => (o += d));
  err.on('data', (d) => (e += d));
  return { io: { stdout: out, stderr: err, env, stdin: new PassThrough() }, out: () => o, err: () => e };
}

const EXIT_OK = new Set(['ok', 'legacy_server', 'connects']);

describe('the scenario table', () => {
  it('names the scenarios issue #8 asks for, each once, each with a description and a probe plan', () => {
    const must = [
      'neg-ssl-required', 'neg-ssl-not-allowed', 'neg-cert-not-on-server', 'neg-inconsistent-flags', 'neg-hybrid-required', 'neg-ssl-with-user-auth',
      'legacy', 'cert-expired', 'cert-not-yet-valid', 'cert-wrong-name', 'cert-self-signed', 'cert-sha1', 'cert-1024', 'tls10-only', 'reset-after-cr',
      'reset-in-tls', 'hang', 'credssp-2', 'credssp-3', 'credssp-5', 'credssp-6', 'nla-logon-failure', 'nla-status', 'nla-account-locked',
      'early-authz-denied', 'license-no-server', 'license-total-abort', 'license-invalid-client', 'errinfo-0x7', 'errinfo-0x9', 'errinfo-0xa',
      'dpum-after-connect-initial', 'mcs-connect-failed', 'redirect', 'connects', 'connects-rdp-security',
    ];
    for (const n of must) expect(SCENARIO_NAMES).toContain(n);
    expect(new Set(SCENARIO_NAMES).size).toBe(SCENARIO_NAMES.length);
    for (const s of SCENARIOS) {
      expect(s.description.length).toBeGreaterThan(20);
      expect(['tcp', 'x224', 'tls', 'credssp', 'auth', 'session']).toContain(s.probe.depth);
      // A failure names its stage; a pass names none.
      expect(s.expected.stage === undefined).toBe(['ok', 'connects'].includes(s.expected.verdict));
    }
    expect(scenario('errinfo-0x7')?.expected).toMatchObject({ verdict: 'session_refused', stage: 'activation', mstsc: [3, 7] });
  });

  it("the lab's account is the CLI's lab account", () => {
    expect(LAB_USERS).toEqual([{ user: LAB_ACCOUNT.user, domain: LAB_ACCOUNT.domain, password: LAB_ACCOUNT.password }]);
    expect(WRONG_PASSWORD).not.toBe(LAB_ACCOUNT.password);
  });
});

describe('rdp-probe check --lab NAME, for every scenario', () => {
  it.each(SCENARIOS.map((s) => s.name))('%s', async (name) => {
    const s = scenario(name)!;
    const t = cli();
    const code = await main(['check', '--lab', name, '--json', '--no-enumerate'], t.io);
    const r = JSON.parse(t.out()) as ProbeReport;
    const j = judge(r, s.expected);
    expect(j.why ?? '').toBe('');
    expect(j.ok).toBe(true);
    expect(code).toBe(EXIT_OK.has(s.expected.verdict) ? 0 : 1);
    expect(t.err()).toBe('');
    // The lab password the tool supplied to its own lab appears nowhere in what it printed.
    expect(t.out()).not.toContain(LAB_ACCOUNT.password);
  }, 20_000);

  it('nla-closes-on-failure typed by hand: the lab account with a wrong password is refused the same way', async () => {
    const t = cli({ PW: 'typed-wrong' });
    const code = await main(['check', '--lab', 'nla-closes-on-failure', '--depth', 'auth', '--user', LAB_ACCOUNT.typed, '--password-env', 'PW', '--insecure', '--json', '--no-enumerate'], t.io);
    expect(code).toBe(1);
    const r = JSON.parse(t.out()) as ProbeReport;
    expect(r.verdict).toMatchObject({ id: 'nla_rejected', stage: 'nla_auth' });
    expect(r.stages.find((s) => s.stage === 'nla_auth')?.error?.kind).toBe('closed_after_authenticate');
  }, 20_000);
});
