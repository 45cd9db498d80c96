/**
 * `rdp-probe check HOST --policy FILE`, `rdp-probe monitor FILE` and `check HOST --make-policy`: the argv/env/file
 * side of monitoring. Output follows the Nagios plugin conventions (first line `RDP STATUS: …|perfdata`, exit
 * 0/1/2/3); --junit and --github (automatic under GitHub Actions) add CI outputs. UNKNOWN (3) is only ever our
 * own failure: a bad policy or option, an unset password variable, a local_failure/internal_error verdict.
 */
import fs from 'node:fs';
import type { Writable } from 'node:stream';
import type { Argv } from 'yargs';
import pLimit from 'p-limit';
import type { ProbeReport } from '../model/report.js';
import { runProbe, type ProbeOptions } from '../transport/drive.js';
import { evaluate, notProbed, probeOptionsFor, STATUS, worst, type CliThresholds, type HostResult, type Status } from '../monitor/evaluate.js';
import { formatNagiosHost, formatNagiosMany, formatNagiosUnknown } from '../monitor/nagios.js';
import { findEntry, PolicyError, readPolicyFile, type Policy, type PolicyEntry } from '../monitor/policy.js';
import { makePolicy, MakePolicyError } from '../monitor/make-policy.js';
import { parseRange, ThresholdError, type Range } from '../monitor/thresholds.js';
import { formatJunit } from '../report/junit.js';
import { formatAnnotations, formatStepSummary } from '../report/github.js';
import { readPassword, splitUser } from './credentials.js';
import { POLICY_CHECK_OPTIONS } from './policy-check-options.js';

export interface MonitorIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

// Declared apart so `check` can offer them without loading the policy code (yaml).
export { POLICY_CHECK_OPTIONS };

export function monitorOptions<T>(y: Argv<T>) {
  return y
    .positional('file', { type: 'string', demandOption: true, describe: 'policy file (YAML): hosts and groups and what each must show' })
    .options(POLICY_CHECK_OPTIONS)
    .option('concurrency', { type: 'number', describe: 'hosts probed at once (default: defaults.concurrency of the policy, else 4)' });
}

interface PolicyArgs {
  policy?: string | undefined;
  junit?: string | undefined;
  github?: boolean | undefined;
  'warning-cert-days'?: string | undefined;
  'critical-cert-days'?: string | undefined;
  'warning-time'?: string | undefined;
  'critical-time'?: string | undefined;
}

/** True when argv asks for Nagios output: a usage error must then say RDP UNKNOWN and exit 3. */
export function wantsNagios(argv: readonly string[]): boolean {
  return argv[0] === 'monitor' || (argv[0] === 'check' && argv.some((a) => a === '--policy' || a.startsWith('--policy=')));
}

export const NAGIOS_UNKNOWN = STATUS.UNKNOWN;
export { formatNagiosUnknown };

class OwnError extends Error {}

function range(text: string | undefined, what: string): Range | undefined {
  if (text === undefined) return undefined;
  try {
    return parseRange(String(text));
  } catch (e) {
    if (e instanceof ThresholdError) throw new OwnError(`${what} ${e.message}`);
    throw e;
  }
}

function thresholds(a: PolicyArgs): CliThresholds {
  const wc = range(a['warning-cert-days'], '--warning-cert-days');
  const cc = range(a['critical-cert-days'], '--critical-cert-days');
  const wt = range(a['warning-time'], '--warning-time');
  const ct = range(a['critical-time'], '--critical-time');
  return {
    ...(wc || cc ? { certDays: { ...(wc ? { warning: wc } : {}), ...(cc ? { critical: cc } : {}) } } : {}),
    ...(wt || ct ? { time: { ...(wt ? { warning: wt } : {}), ...(ct ? { critical: ct } : {}) } } : {}),
  };
}

export interface RunEntriesOptions {
  env: NodeJS.ProcessEnv;
  concurrency: number;
  thresholds?: CliThresholds;
  now?: () => Date;
  /** The probe (tests may pass a wrapper); default runProbe. */
  probe?: (target: { host: string; port: number }, options: Partial<ProbeOptions>) => Promise<ProbeReport>;
}

/** Probes every entry (at most `concurrency` at once) and judges each; results in policy order. */
export async function runEntries(entries: PolicyEntry[], opts: RunEntriesOptions): Promise<HostResult[]> {
  const limit = pLimit(Math.max(1, Math.min(256, Math.floor(opts.concurrency))));
  const probe = opts.probe ?? runProbe;
  const now = opts.now ?? (() => new Date());
  return Promise.all(
    entries.map((entry) =>
      limit(async () => {
        let credentials: { user: string; domain: string; password: string } | undefined;
        const auth = entry.expect.auth;
        if (auth) {
          try {
            const password = await readPassword(auth.passwordEnv !== undefined ? { env: auth.passwordEnv } : { file: auth.passwordFile! }, opts.env, undefined);
            credentials = { ...splitUser(auth.user, undefined), password };
          } catch (e) {
            // The message names the variable or file, never its content.
            return notProbed(entry, `auth: ${(e as Error).message.replace(/^--password-(env|file) /, auth.passwordEnv !== undefined ? 'passwordEnv ' : 'passwordFile ')}`);
          }
        }
        const report = await probe({ host: entry.host, port: entry.port }, probeOptionsFor(entry, credentials));
        return evaluate(entry, report, now(), opts.thresholds);
      }),
    ),
  );
}

function write(out: Writable, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (text === '' || out.destroyed || out.writableEnded) {
      resolve();
      return;
    }
    const done = (): void => resolve();
    out.once('error', done);
    out.write(text, () => {
      out.off('error', done);
      resolve();
    });
  });
}

async function outputs(results: HostResult[], text: string, status: Status, policy: Policy, a: PolicyArgs, io: MonitorIo): Promise<Status> {
  await write(io.stdout, text);
  let final = status;
  if (a.junit !== undefined) {
    try {
      fs.writeFileSync(a.junit, formatJunit(results, { name: `rdp-probe ${policy.file}`, timestamp: new Date() }));
    } catch (e) {
      await write(io.stderr, `rdp-probe: cannot write --junit ${a.junit}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
      final = worst([final, STATUS.UNKNOWN]);
    }
  }
  const github = a.github ?? io.env['GITHUB_ACTIONS'] === 'true';
  if (github) {
    await write(io.stdout, formatAnnotations(results, { file: policy.file }));
    const summary = io.env['GITHUB_STEP_SUMMARY'];
    if (summary) {
      try {
        fs.appendFileSync(summary, formatStepSummary(results, { title: `rdp-probe ${policy.file}` }));
      } catch (e) {
        await write(io.stderr, `rdp-probe: cannot append to GITHUB_STEP_SUMMARY: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
      }
    }
  }
  return final;
}

async function unknown(io: MonitorIo, message: string): Promise<Status> {
  await write(io.stdout, formatNagiosUnknown(message));
  return STATUS.UNKNOWN;
}

function loadPolicy(file: string): Policy {
  return readPolicyFile(file);
}

async function guarded(io: MonitorIo, run: () => Promise<Status>): Promise<Status> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof PolicyError || e instanceof OwnError) return unknown(io, e.message);
    return unknown(io, `internal error: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** check HOST --policy FILE: exit status per the Nagios conventions. */
export function runPolicyCheck(target: string, defaultPort: number, a: PolicyArgs, io: MonitorIo): Promise<Status> {
  return guarded(io, async () => {
    const cli = thresholds(a);
    const policy = loadPolicy(String(a.policy));
    const entry = findEntry(policy, target, defaultPort);
    if (!entry) return unknown(io, `${policy.file} has no entry for ${target} (entries: ${policy.entries.slice(0, 5).map((e) => e.name).join(', ')}${policy.entries.length > 5 ? ', …' : ''})`);
    const [result] = await runEntries([entry], { env: io.env, concurrency: 1, thresholds: cli });
    return outputs([result!], formatNagiosHost(result!), result!.status, policy, a, io);
  });
}

/** monitor FILE: every entry; the exit status is the worst host's. */
export function runMonitor(file: string, a: PolicyArgs & { concurrency?: number | undefined }, io: MonitorIo): Promise<Status> {
  return guarded(io, async () => {
    const cli = thresholds(a);
    if (a.concurrency !== undefined && (!Number.isInteger(a.concurrency) || a.concurrency < 1 || a.concurrency > 256)) throw new OwnError('--concurrency must be a whole number from 1 to 256');
    const policy = loadPolicy(file);
    const results = await runEntries(policy.entries, { env: io.env, concurrency: a.concurrency ?? policy.concurrency, thresholds: cli });
    const { text, status } = formatNagiosMany(results);
    return outputs(results, text, status, policy, a, io);
  });
}

/** check HOST --make-policy: the YAML, or why none can be made (exit 1). */
export function makePolicyText(report: ProbeReport, a: { target: string; user?: string | undefined; 'password-env'?: string | undefined; 'password-file'?: string | undefined }, now: Date): { text: string } | { error: string } {
  const auth = a.user !== undefined && (a['password-env'] !== undefined || a['password-file'] !== undefined)
    ? { user: a.user, ...(a['password-env'] !== undefined ? { passwordEnv: a['password-env'] } : { passwordFile: a['password-file']! }) }
    : undefined;
  try {
    return { text: makePolicy(report, { target: a.target, now, ...(auth ? { auth } : {}) }) };
  } catch (e) {
    if (e instanceof MakePolicyError) return { error: e.message };
    throw e;
  }
}
