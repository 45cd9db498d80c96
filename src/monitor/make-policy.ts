/**
 * --make-policy: a policy entry that a host passes today, from one probe of it (as ssh-audit -M writes one from
 * a known-good server). It records what was seen, so tomorrow's change (NLA off, an older TLS, another
 * certificate) fails the check. The result is evaluated against the same report before it is handed out.
 */
import { stringify } from 'yaml';
import type { ProbeReport } from '../model/report.js';
import type { Expectations, PolicyEntry, Reach } from './policy.js';
import { daysLeft, evaluate, STATUS, tlsVersionNumber } from './evaluate.js';

export interface MakePolicyOptions {
  /** The target as the user typed it. */
  target: string;
  now: Date;
  /** The credential check to keep: never a password, only where it comes from. */
  auth?: { user: string; passwordEnv?: string; passwordFile?: string };
}

const ok = (r: ProbeReport, s: string): boolean => r.stages.some((x) => x.stage === s && x.status === 'ok');

export function expectationsFrom(report: ProbeReport, opts: MakePolicyOptions): Expectations {
  const e: Expectations = {};
  const en = report.enumeration;
  if (en?.nla === 'required' || en?.nla === 'offered') e.nla = en.nla;
  else if (en) e.nla = 'any';
  if (en?.standardRdpSecurity === 'refused' || en?.standardRdpSecurity === 'allowed') e.standardRdpSecurity = en.standardRdpSecurity;
  const tls = report.stages.find((s) => s.stage === 'tls');
  const v = tlsVersionNumber(tls?.facts?.['version']);
  if (v) e.tlsMin = v;
  const cert = tls?.facts?.['certificate'] as Record<string, unknown> | undefined;
  if (cert && typeof cert['sha256'] === 'string') {
    const days = typeof cert['notAfter'] === 'string' ? daysLeft(cert['notAfter'], opts.now) : undefined;
    e.certificate = {
      ...(days !== undefined && days >= 0 ? { minDaysValid: Math.min(14, days), warnDays: Math.min(30, days) } : {}),
      pin: [`sha256:${cert['sha256']}`],
    };
  }
  const credssp = report.stages.find((s) => s.stage === 'credssp')?.facts?.['serverVersion'];
  if (typeof credssp === 'number' && ok(report, 'credssp')) e.credssp = { minVersion: credssp };
  if (opts.auth && ok(report, 'nla_auth')) e.auth = opts.auth;
  const reach: Reach | undefined = ok(report, 'activation') ? 'activation' : ok(report, 'nla_auth') && e.auth ? 'auth' : ok(report, 'credssp') ? 'credssp' : ok(report, 'tls') ? 'tls' : ok(report, 'x224') ? 'x224' : undefined;
  if (reach) e.reach = reach;
  return e;
}

export class MakePolicyError extends Error {
  override name = 'MakePolicyError';
}

/** The YAML text of a one-host policy; throws MakePolicyError when the host does not pass today. */
export function makePolicy(report: ProbeReport, opts: MakePolicyOptions): string {
  const v = report.verdict.id;
  if (v !== 'ok' && v !== 'connects' && v !== 'legacy_server') throw new MakePolicyError(`${opts.target} fails today (${v}${report.verdict.stage ? ` at ${report.verdict.stage}` : ''}): a policy is made from a host that works`);
  const expect = expectationsFrom(report, opts);
  const entry: PolicyEntry = { target: opts.target, host: report.target.host, port: report.target.port, name: opts.target, expect, stageTimeoutMs: 5000, targetTimeoutMs: 30000, line: 1 };
  const check = evaluate(entry, report, opts.now);
  if (check.status !== STATUS.OK) throw new MakePolicyError(`the policy made from ${opts.target} does not pass against the same probe: ${check.checks.filter((c) => c.status !== STATUS.OK).map((c) => c.id).join(', ')}`);
  const doc = {
    hosts: [
      {
        target: opts.target,
        expect: {
          ...expect,
          ...(expect.certificate ? { certificate: { ...expect.certificate, pin: expect.certificate.pin?.length === 1 ? expect.certificate.pin[0] : expect.certificate.pin } } : {}),
        },
      },
    ],
  };
  const head = `# rdp-probe policy made from ${report.target.host}:${report.target.port} on ${report.startedAt} (verdict ${v}).\n# check it with: rdp-probe check ${opts.target} --policy FILE\n`;
  return head + stringify(doc, { lineWidth: 0 });
}
