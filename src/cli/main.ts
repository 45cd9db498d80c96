#!/usr/bin/env node
/**
 * The command line. The only place that reads argv, the environment and stdin. Usage errors print one line and
 * exit 2; a produced report exits 0 (every stage run passed) or 1 (the connection died at some stage, or a
 * finding reached --fail-on).
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Readable, Writable } from 'node:stream';
import yargs from 'yargs';
import type { ProbeReport, Severity } from '../probe/types.js';
import { formatJson } from '../report/json.js';
import { formatAnalysis, formatText } from '../report/text.js';
import type { CaptureAnalysis } from '../pcap/analyze.js';
import { DecodeError } from '../protocol/codec/errors.js';
import type { ProbeOptions } from '../transport/drive.js';
import type { Logger } from 'pino';
import { helpWidth } from './help-width.js';
import { VERSION } from '../version.js';
import { parseDuration, parseTarget, UsageError } from './target.js';
import { readPassword, splitUser } from './credentials.js';
import { openKnownHosts } from './known-hosts.js';
import { useColor } from './color.js';
import { checkWarnDays, parseDnsServers } from './options.js';
import { LAB_ACCOUNT } from './lab-account.js';
import { POLICY_CHECK_OPTIONS } from './policy-check-options.js';

export interface Io {
  stdout: NodeJS.WritableStream & Writable & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & Writable & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  stdin?: Readable;
  /** Where SIGINT/SIGTERM arrive (the process, in the real CLI). */
  signals?: NodeJS.EventEmitter;
  /** stdout was closed when the process started (`>&-`): a report written there would be lost. */
  stdoutClosed?: boolean;
  /** This is the whole process (the bin): a scan may tune V8's heap growth for itself (see heap-tuning.ts). */
  ownsProcess?: boolean;
}

/** INTERNAL: our own failure, or this machine's (EMFILE …): never a verdict about the server. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, INTERNAL: 2 } as const;

const MAX_CAPTURE_BYTES = 512 * 1024 * 1024;

const SEVERITIES: Severity[] = ['info', 'low', 'medium', 'high', 'critical'];

export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env, stdin: process.stdin, signals: process }): Promise<number> {
  let exitCode: number = EXIT.OK;
  // Handlers only validate and return the work: it runs after yargs has finished its own synchronous
  // processing, so none of that lands inside a stage's timing.
  let job: (() => Promise<void>) | undefined;
  // Set by a handler whose output goes to stdout: refused up front when stdout is closed.
  let writesStdout = false;
  const mods = await commandModules(argv);
  const parser = yargs(joinDashValues(argv))
    .scriptName('rdp-probe')
    // nmap-style -iL: no grouping of single-letter flags (there are none worth grouping).
    .parserConfiguration({ 'short-option-groups': false })
    .version(VERSION)
    .strict()
    .exitProcess(false)
    .wrap(helpWidth(process.stdout.columns))
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    })
    .command(
      'check [target]',
      'Probe one host, stage by stage: dns, tcp, x224 (with protocol enumeration), tls, credssp (and nla_auth/authz with credentials)',
      (y) =>
        y
          .positional('target', { type: 'string', describe: 'HOST, HOST:PORT, [IPv6]:PORT' })
          .option('lab', {
            type: 'string',
            ...(mods.labScenarios ? { choices: mods.labScenarios.SCENARIO_NAMES } : {}),
            describe: `probe a scenario of the embedded lab server on loopback instead of a host (rdp-probe lab --list names them); without --depth it runs with the depth, options and lab account the scenario needs (to type the account yourself: --user '${LAB_ACCOUNT.typed}' --password-stdin, password ${LAB_ACCOUNT.password} on stdin)`,
          })
          .option('port', { alias: 'p', type: 'number', describe: 'port when the target has none', default: 3389 })
          .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' })
          .option('depth', { choices: ['tcp', 'x224', 'tls', 'credssp', 'auth', 'session'] as const, defaultDescription: 'credssp (session for --lab access-denied)', describe: 'how far to go: auth needs credentials; session also needs --delegate on NLA servers' })
          .option('user', { alias: 'u', type: 'string', describe: 'user name for --depth auth/session (DOMAIN\\user accepted)' })
          .option('domain', { type: 'string', describe: 'domain of --user' })
          .option('password-stdin', { type: 'boolean', default: false, describe: 'read the password from standard input' })
          .option('password-file', { type: 'string', describe: 'read the password from FILE' })
          .option('password-env', { type: 'string', describe: 'read the password from the environment variable NAME' })
          .option('delegate', { type: 'boolean', default: false, describe: 'with --depth session: send the password to the server (TSCredentials) to learn the authorization result' })
          .option('pin', { type: 'string', array: true, describe: 'trust the server certificate with this sha256:HEX fingerprint (of the certificate or its public key)' })
          .option('known-hosts', { type: 'string', describe: 'trust on first use: remember server certificates in FILE and refuse a changed one' })
          .option('insecure', { type: 'boolean', default: false, describe: 'send credentials even to an unverified certificate' })
          .option('admin', { type: 'boolean', default: false, describe: 'ask for the console session, as mstsc /admin does (at --depth session)' })
          .option('restricted-admin', { type: 'boolean', default: false, describe: 'ask for Restricted Admin mode, as mstsc /restrictedAdmin does (RESTRICTED_ADMIN_MODE_REQUIRED in the X.224 request)' })
          .option('credssp-version', { type: 'number', default: 6, describe: 'CredSSP version to offer (2-6): lower it to see what an unpatched client meets' })
          .option('enumerate', { type: 'boolean', default: true, describe: 'ask which security protocols the server accepts (--no-enumerate to skip)' })
          .option('legacy-tls', { type: 'boolean', default: false, describe: 'allow TLS 1.0/1.1 in the handshake' })
          .option('protocols', { type: 'string', default: 'ssl,hybrid,hybrid_ex', describe: 'requestedProtocols of the main connection, as a client would send them: rdp (alone) or any of ssl,hybrid,hybrid_ex,rdstls,rdsaad' })
          .option('ca', { type: 'string', describe: 'PEM file of CA certificates to verify the server certificate against' })
          .option('warn-days', { type: 'number', default: 30, describe: 'warn when the certificate expires within this many days' })
          .option('timeout', { type: 'string', default: '5s', describe: 'deadline for each stage (e.g. 5, 2.5s, 500ms)' })
          .option('target-timeout', { type: 'string', default: '30s', describe: 'deadline for the whole target, all connections included' })
          .option('dns-server', { type: 'string', array: true, describe: 'ask these DNS servers instead of the system resolver' })
          .option('fail-on', { choices: SEVERITIES, describe: 'also exit 1 when a finding has at least this severity' })
          .option('log-level', { choices: ['silent', 'error', 'warn', 'info', 'debug', 'trace'] as const, default: 'warn' as const })
          .option('color', { type: 'boolean', describe: 'colour the text report (default: when stdout is a TTY; NO_COLOR and FORCE_COLOR are honoured)' })
          .option('record', { type: 'string', describe: 'write every connection of the probe to FILE.pcapng with the TLS key log inside (Wireshark and rdp-probe analyze open it decrypted); never the password' })
          .options(POLICY_CHECK_OPTIONS),
      async (a) => {
        if (a.target === undefined && a.lab === undefined) throw new UsageError('name a target (HOST[:PORT]) or --lab');
        if (a.policy !== undefined && a['make-policy']) throw new UsageError('give --policy or --make-policy, not both');
        if (a.record !== undefined && (a.policy !== undefined || a['make-policy'])) throw new UsageError('--record goes with a plain check, not with --policy or --make-policy');
        if (a.record !== undefined && a.record.trim() === '') throw new UsageError('--record needs a file name');
        if (a.policy !== undefined) {
          // The policy decides depth, trust and credentials: src/cli/monitor-command.ts.
          if (a.target === undefined) throw new UsageError('--policy needs a target (HOST[:PORT]), not --lab');
          checkPortOption(a.port);
          writesStdout = true;
          job = async () => {
            const { runPolicyCheck } = await import('./monitor-command.js');
            exitCode = await runPolicyCheck(String(a.target), a.port, a, io);
          };
          return;
        }
        if (a.target !== undefined && a.lab !== undefined) throw new UsageError('give a target or --lab, not both');
        checkPortOption(a.port);
        const target = a.lab !== undefined ? { host: '127.0.0.1', port: 0 } : parseTarget(String(a.target), a.port);
        const dnsServers = a['dns-server'] === undefined ? undefined : parseDnsServers(a['dns-server']);
        // (credentials are read below, after every other check, so a usage error never consumes stdin)
        checkWarnDays(a['warn-days']);
        let caPem: string | undefined;
        if (a.ca) {
          try {
            caPem = fs.readFileSync(a.ca, 'utf8');
          } catch (e) {
            throw new UsageError(`cannot read --ca file ${a.ca}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
          }
          if (!caPem.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`--ca file ${a.ca} holds no PEM certificate`);
        }
        // --lab access-denied shows its failure on its own: our own lab server, so the tool may use the lab's account.
        const labCommand = a.lab !== undefined ? await import('./lab-command.js') : undefined;
        const labPlan = a.lab !== undefined && a.depth === undefined ? labCommand!.labCheck(a.lab) : undefined;
        const labAccount = labPlan?.account === true && a.user === undefined;
        const depth = a.depth ?? labPlan?.depth ?? 'credssp';
        const delegate = a.delegate || (labAccount && labPlan?.delegate === true);
        const wantsCreds = depth === 'auth' || depth === 'session';
        if (!wantsCreds && (a.user !== undefined || a.delegate)) throw new UsageError('--user and --delegate need --depth auth or --depth session');
        if (labAccount && (a['password-stdin'] || a['password-file'] !== undefined || a['password-env'] !== undefined)) throw new UsageError(`a password needs --user (the lab account is --user '${LAB_ACCOUNT.typed}')`);
        // A session needs no account where the server shows its own logon screen (xrdp, or any server without NLA);
        // the credential check itself does.
        if (depth === 'auth' && a.user === undefined && !labAccount) throw new UsageError('--depth auth needs --user and a password (--password-stdin, --password-file or --password-env)');
        if (a.delegate && a.user === undefined && !labAccount) throw new UsageError('--delegate needs --user and a password (--password-stdin, --password-file or --password-env)');
        if (a.delegate && depth !== 'session') throw new UsageError('--delegate needs --depth session');
        if (!Number.isInteger(a['credssp-version']) || a['credssp-version'] < 2 || a['credssp-version'] > 6) throw new UsageError('--credssp-version must be 2 to 6');
        for (const p of a.pin ?? []) if (!/^sha256:[0-9a-fA-F:]{64,95}$/.test(String(p))) throw new UsageError(`--pin ${String(p)}: expected sha256:HEX (64 hex digits)`);
        let credentials: ProbeOptions['credentials'];
        if (labAccount) credentials = { user: LAB_ACCOUNT.user, domain: LAB_ACCOUNT.domain, password: labPlan?.password ?? LAB_ACCOUNT.password };
        else if (wantsCreds && a.user !== undefined) {
          const password = await readPassword({ ...(a['password-stdin'] ? { stdin: true } : {}), ...(a['password-file'] !== undefined ? { file: a['password-file'] } : {}), ...(a['password-env'] !== undefined ? { env: a['password-env'] } : {}) }, io.env, io.stdin);
          credentials = { ...splitUser(String(a.user), a.domain), password };
        }
        const knownHosts = a['known-hosts'] ? openKnownHosts(a['known-hosts']) : undefined;
        const { logger, flush: flushLog } = lazyLogger(a['log-level'], io.stderr);
        const probeOptions: Partial<ProbeOptions> = {
          ...(credentials ? { credentials } : {}),
          delegate,
          ...(a.admin ? { console: true } : {}),
          ...(a['restricted-admin'] ? { negFlags: 0x01 } : {}),
          credsspVersion: a['credssp-version'],
          trust: { ...(a.pin ? { pins: a.pin.map(String) } : {}), insecure: a.insecure, ...(knownHosts ? { knownHosts } : {}) },
          depth,
          stageTimeoutMs: labPlan?.stageTimeoutMs ?? parseDuration(a.timeout, '--timeout'),
          targetTimeoutMs: parseDuration(a['target-timeout'], '--target-timeout'),
          enumerate: a.enumerate && a.depth !== 'tcp',
          requestedProtocols: labPlan?.requestedProtocols ?? parseProtocols(a.protocols),
          legacyTls: a['legacy-tls'],
          warnDays: a['warn-days'],
          logger,
          ...(caPem ? { caPem } : {}),
          ...(dnsServers ? { dnsServers } : {}),
        };
        writesStdout = true;
        job = async () => {
          // The probe code (and what it loads once a stage needs it) only when a probe runs.
          const { runProbe } = await import('../transport/drive.js');
          const lab = a.lab !== undefined ? await labCommand!.labCheck(a.lab).start() : undefined;
          if (lab) target.port = lab.port;
          // The lab's own certificate, known to us: the password the tool supplies goes to nothing else.
          if (lab && labAccount) probeOptions.trust = { ...probeOptions.trust, pins: [lab.fingerprint] };
          const recording = a.record !== undefined ? await startRecording(`${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`, a.lab) : undefined;
          if (recording) probeOptions.capture = recording.recorder;
          let report: ProbeReport;
          try {
            report = await runProbe(target, probeOptions);
          } finally {
            await lab?.close();
            await flushLog();
          }
          const recorded = recording && a.record !== undefined ? writeRecording(recording, report, probeOptions, a.record, io) : true;
          if (a['make-policy']) {
            const { makePolicyText } = await import('./monitor-command.js');
            const made = makePolicyText(report, { target: String(a.target ?? `${target.host}:${target.port}`), user: a.user, 'password-env': a['password-env'], 'password-file': a['password-file'] }, new Date());
            if ('error' in made) io.stderr.write(`rdp-probe: ${made.error}\n`);
            else await writeOut(io.stdout, made.text);
            exitCode = 'error' in made ? EXIT.FAILED : EXIT.OK;
            return;
          }
          await writeOut(io.stdout, a.json ? formatJson(report) : formatText(report, { color: useColor(a.color, io.env, io.stdout.isTTY) }));
          exitCode = exitFor(report, a['fail-on']);
          // A recording asked for and not written is not a clean run.
          if (!recorded && exitCode === EXIT.OK) exitCode = EXIT.FAILED;
          if (exitCode === EXIT.INTERNAL) io.stderr.write(`rdp-probe: ${internalLine(report)}\n`);
        };
      },
    )
    .command(
      'lab',
      'Serve the embedded lab: RDP servers on loopback that fail on purpose (--list names them, --tour probes them all)',
      (y) => mods.lab!.labOptions(y),
      (a) => {
        writesStdout = true;
        const work = mods.lab!.labJob(a, io);
        job = async () => {
          exitCode = await work();
        };
      },
    )
    .command(
      'scan [targets..]',
      'Probe many targets: addresses, CIDRs, ranges, names, lists (-iL); results stream as they are known',
      (y) => mods.scan!.scanOptions(y),
      (a) => {
        writesStdout = a.output === undefined;
        job = async () => {
          const { runScanCommand } = await import('./scan-command.js');
          const restoreHeap = io.ownsProcess ? (await import('./heap-tuning.js')).tuneHeapForBatch() : undefined;
          try {
            exitCode = await runScanCommand(a, { stdout: io.stdout, stderr: io.stderr, env: io.env, ...(io.stdin ? { stdin: io.stdin } : {}), ...(io.signals ? { signals: io.signals } : {}) });
          } finally {
            restoreHeap?.();
          }
        };
      },
    )
    .command(
      'serve',
      'Prometheus exporter (blackbox_exporter style): GET /probe?target=HOST:PORT&module=NAME probes while the scrape waits; /metrics for the exporter itself',
      (y) => mods.serve!.serveOptions(y),
      (a) => {
        job = async () => {
          const { runServeCommand } = await import('./serve-command.js');
          exitCode = await runServeCommand(a, { stderr: io.stderr, env: io.env, ...(io.signals ? { signals: io.signals } : {}) });
        };
      },
    )
    .command(
      'analyze <files..>',
      'Diagnose the RDP connections in pcap or pcapng captures with the same decoders (offline); --keylog opens TLS',
      (y) =>
        y
          .positional('files', { type: 'string', array: true, demandOption: true, describe: 'capture files (pcap or pcapng)' })
          .option('keylog', { type: 'string', describe: 'TLS key log (SSLKEYLOGFILE format) to decrypt TLS; pcapng Decryption Secrets Blocks are used too' })
          .option('port', { alias: 'p', type: 'number', default: 3389, describe: 'RDP port for connections that never sent data' })
          .option('json', { type: 'boolean', default: false, describe: 'print the analysis as JSON (several files: an array with each file named)' })
          .option('warn-days', { type: 'number', default: 30 })
          .option('color', { type: 'boolean', describe: 'colour the text (default: when stdout is a TTY; NO_COLOR and FORCE_COLOR are honoured)' }),
      async (a) => {
        checkWarnDays(a['warn-days']);
        const { analyzeSource } = await import('../pcap/analyze.js');
        const { FileSource } = await import('../pcap/source.js');
        const { KeyLog } = await import('../pcap/keylog.js');
        const files = (a.files ?? []).map(String);
        const readFile = (file: string, what: string): Buffer => {
          try {
            const st = fs.statSync(file);
            if (!st.isFile()) throw new UsageError(`${what} ${file} is not a file`);
            // Only the key log is read whole now (captures stream), so only it keeps this cap.
            if (st.size > MAX_CAPTURE_BYTES) throw new UsageError(`${what} ${file} is ${st.size} bytes; files over ${MAX_CAPTURE_BYTES} bytes are not read whole`);
            return fs.readFileSync(file);
          } catch (e) {
            if (e instanceof UsageError) throw e;
            throw new UsageError(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
          }
        };
        let keylog: InstanceType<typeof KeyLog> | undefined;
        if (a.keylog !== undefined) {
          keylog = new KeyLog().add(readFile(String(a.keylog), 'the key log').toString('latin1'));
          if (keylog.size === 0) throw new UsageError(`the key log ${String(a.keylog)} has no TLS secrets (SSLKEYLOGFILE lines: CLIENT_RANDOM …, CLIENT_TRAFFIC_SECRET_0 …)`);
        }
        const analyses: { file: string; analysis: CaptureAnalysis }[] = [];
        // Captures are read as a stream through one buffer (memory follows the flows open at once, not the file), so
        // they have no size cap; the key log is still read whole and capped.
        for (const file of files) {
          let fd: number;
          try {
            if (!fs.statSync(file).isFile()) throw new UsageError(`capture ${file} is not a file`);
            fd = fs.openSync(file, 'r');
          } catch (e) {
            if (e instanceof UsageError) throw e;
            throw new UsageError(`cannot read capture ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
          }
          try {
            analyses.push({ file, analysis: analyzeSource(new FileSource(fd), { port: a.port, warnDays: a['warn-days'], ...(keylog ? { keylog } : {}) }) });
          } catch (e) {
            if (e instanceof DecodeError) throw new UsageError(`${file} is not a readable capture: ${e.message}`);
            if ((e as NodeJS.ErrnoException).code !== undefined) throw new UsageError(`cannot read capture ${file}: ${(e as NodeJS.ErrnoException).code}`);
            throw e;
          } finally {
            fs.closeSync(fd);
          }
        }
        writesStdout = true;
        job = async () => {
          const color = useColor(a.color, io.env, io.stdout.isTTY);
          if (a.json) {
            // The same text as JSON.stringify(value, null, 2), written a connection at a time: the whole text of a
            // big capture's reports is never one string.
            const value = analyses.length === 1 ? analyses[0]!.analysis : analyses.map((x) => ({ file: x.file, ...x.analysis }));
            let buf = '';
            const flush = async (force: boolean): Promise<void> => {
              if (buf.length >= 1 << 16 || (force && buf.length > 0)) {
                const t = buf;
                buf = '';
                await writeOut(io.stdout, t);
              }
            };
            const reindent = (text: string, pad: string): string => text.replaceAll('\n', `\n${pad}`);
            /** JSON.stringify(x, null, 2) as it reads `depth` arrays deep: cut out of a wrapper stringified at that depth (no re-indenting pass). */
            const cuts = new Map<number, [number, number]>();
            const nestedText = (x: unknown, depth: number): string => {
              const wrap = (v: unknown): unknown => {
                let w = v;
                for (let d = 0; d < depth; d++) w = [w];
                return w;
              };
              let cut = cuts.get(depth);
              if (!cut) {
                const t = JSON.stringify(wrap(null), null, 2);
                cut = [t.indexOf('null'), t.length - t.indexOf('null') - 4];
                cuts.set(depth, cut);
              }
              const text = JSON.stringify(wrap(x), null, 2);
              return text.slice(cut[0], text.length - cut[1]);
            };
            /** One analysis object; its connections one by one. */
            const emitAnalysis = async (o: object, pad: string): Promise<void> => {
              const inner = `${pad}  `;
              const entries = Object.entries(o).filter(([, x]) => x !== undefined);
              buf += '{';
              for (let i = 0; i < entries.length; i++) {
                const [k, x] = entries[i]!;
                buf += `${i > 0 ? ',' : ''}\n${inner}${JSON.stringify(k)}: `;
                if (k === 'connections' && Array.isArray(x) && x.length > 0) {
                  buf += '[';
                  for (let j = 0; j < x.length; j++) {
                    buf += `${j > 0 ? ',' : ''}\n${inner}  ${nestedText(x[j], inner.length / 2 + 1)}`;
                    await flush(false);
                  }
                  buf += `\n${inner}]`;
                } else buf += reindent(JSON.stringify(x, null, 2), inner);
              }
              buf += `\n${pad}}`;
            };
            const emit = async (v: object): Promise<void> => {
              if (!Array.isArray(v)) return emitAnalysis(v, '');
              buf += '[';
              for (let i = 0; i < v.length; i++) {
                buf += `${i > 0 ? ',' : ''}\n  `;
                await emitAnalysis(v[i] as object, '  ');
              }
              buf += v.length > 0 ? '\n]' : ']';
            };
            await emit(value);
            buf += '\n';
            await flush(true);
          }
          else
            for (const x of analyses) {
              const so = x.analysis.synOnly;
              let tail = so ? `\n${so.flows} more SYN-only flow(s) to ${so.targets} target(s) got no answer (${so.syns} SYNs, frames ${so.firstFrame}-${so.lastFrame}); most tried: ${so.top.slice(0, 5).map((t) => `${t.server} (${t.flows})`).join(', ')}\n` : '';
              for (const u of x.analysis.rdpUdp ?? []) tail += `\nUDP ${u.client} -> ${u.server} (from frame ${u.firstFrame}): ${u.summary}\n`;
              for (const g of x.analysis.rdGateway ?? []) {
                tail += `\n#${g.flow} ${g.client} -> ${g.server} (from frame ${g.firstFrame}): ${g.summary}\n`;
                if (g.tunnel) tail += `  ${g.tunnel.summary}\n`;
                else if (g.sameTunnelAs !== undefined) tail += `  the same tunnel as #${g.sameTunnelAs}\n`;
                if (g.tunnel?.tunnelled) tail += `${formatText(g.tunnel.tunnelled, { color: false }).split('\n').slice(1).join('\n')}`;
              }
              await writeOut(io.stdout, formatAnalysis(x.analysis, x.file, { color }) + tail);
            }
          const codes = analyses.flatMap((x) => x.analysis.connections.map((c) => exitFor(c.report)));
          exitCode = codes.includes(EXIT.INTERNAL) ? EXIT.INTERNAL : codes.some((c) => c !== EXIT.OK) ? EXIT.FAILED : EXIT.OK;
        };
      },
    )
    .command(
      'explain <codes..>',
      'Explain RDP error codes both ways: mstsc pairs (explain 0x3 0x7), ERRINFO, RDP_NEG_FAILURE, NTSTATUS/SSPI, license errors, FreeRDP ERRCONNECT and xfreerdp exit codes',
      (y) => y.positional('codes', { type: 'string', array: true, demandOption: true, describe: 'codes or names, e.g. 0x3 0x7 | errinfo 0x19 | HYBRID_REQUIRED_BY_SERVER | 0xC000006E' }).option('json', { type: 'boolean', default: false }),
      (a) => {
        job = async () => {
          const { explain, formatExplain } = await import('../probe/codes/explain.js');
          const results = explain((a.codes ?? []).map(String));
          io.stdout.write(a.json ? `${JSON.stringify(results, null, 2)}\n` : formatExplain(results));
          exitCode = results.every((r) => r.known) ? EXIT.OK : EXIT.FAILED;
        };
      },
    )
    .command(
      'monitor <file>',
      'Judge every host of a policy file (YAML) as a Nagios plugin: first line RDP OK|WARNING|CRITICAL|UNKNOWN, exit 0-3; --junit, --github',
      (y) => mods.monitor!.monitorOptions(y),
      (a) => {
        writesStdout = true;
        job = async () => {
          exitCode = await mods.monitor!.runMonitor(String(a.file), a, io);
        };
      },
    )
    .demandCommand(1, 'name a command: rdp-probe check HOST[:PORT] | rdp-probe analyze FILE')
    .help();
  skipHelpCache(parser);
  try {
    await parser.parseAsync();
    if (job && writesStdout && io.stdoutClosed) throw new UsageError('standard output is closed: the results would be lost (redirect it to a file, or to /dev/null to keep only the exit code)');
    if (job) await job();
  } catch (e) {
    if (e instanceof UsageError || (e instanceof Error && e.name === 'YError')) {
      // A Nagios plugin's bad arguments are UNKNOWN (3), never a CRITICAL about the host.
      if (argv.includes('monitor') || argv.includes('check')) {
        const { formatNagiosUnknown, NAGIOS_UNKNOWN, wantsNagios } = await import('./monitor-command.js');
        if (wantsNagios(argv)) {
          io.stdout.write(formatNagiosUnknown(e.message));
          return NAGIOS_UNKNOWN;
        }
      }
      io.stderr.write(`rdp-probe: ${oneLine(e.message)}\n`);
      return EXIT.USAGE;
    }
    if (e instanceof StdoutError) {
      io.stderr.write(`rdp-probe: ${e.message}\n`);
      return EXIT.INTERNAL;
    }
    io.stderr.write(`rdp-probe: internal error: ${oneLine(e instanceof Error ? e.message : String(e))}\n`);
    return EXIT.INTERNAL;
  }
  return exitCode;
}

/** The report could not be written to stdout (EPIPE, EBADF …): the result is lost, so this is no success. */
class StdoutError extends Error {}

/** Writes and waits until the text is handed to the OS, so a write error is seen before the exit code is chosen. */
function writeOut(out: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (e: unknown): void => reject(new StdoutError(`cannot write the report to standard output: ${(e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e))}`));
    if (out.destroyed || out.writableEnded) {
      fail(new Error('the stream is closed'));
      return;
    }
    out.once('error', fail);
    out.write(text, (e) => {
      out.off('error', fail);
      if (e) fail(e);
      else resolve();
    });
  });
}

function checkPortOption(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--port ${String(port)}: give a port from 1 to 65535`);
}

/** Our own failure, or this machine's: told on stderr in one line, exit 2. */
function internalLine(r: ProbeReport): string {
  const anomaly = r.anomalies.find((x) => /^internal error/i.test(x));
  if ((r.verdict.id as string) === 'local_failure') return `this machine failed, not the server: ${oneLine(r.verdict.summary)}`;
  return `internal error: ${oneLine(anomaly ?? r.verdict.summary)}`;
}

/** yargs reads a lone '-' as a positional; `-iL -` (stdin) must stay the option's value. */
function joinDashValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if ((a === '-iL' || a === '--input-list' || a === '--iL') && argv[i + 1] === '-') {
      out.push(`${a}=-`);
      i++;
    } else out.push(a);
  }
  return out;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/** check --record: the recorder (loaded only when asked) and what the file's comment says. */
async function startRecording(target: string, lab: string | undefined) {
  const m = await import('../probe/recorder.js');
  const recorder = new m.PcapngRecorder({ tool: 'rdp-probe', version: VERSION, target, command: `check ${lab !== undefined ? `--lab ${lab} (${target})` : target}`, os: `${process.platform} ${process.arch}, Node ${process.version}` });
  return { recorder, m };
}

/**
 * Writes the recording, unless it could expose the password: a Client Info password (--delegate without NLA), or
 * the password found in the file's bytes in any encoding (recorder.ts says why neither can happen under NLA).
 */
function writeRecording(rec: Awaited<ReturnType<typeof startRecording>>, report: ProbeReport, o: Partial<ProbeOptions>, file: string, io: Io): boolean {
  const refusal = rec.m.recordingRefusal(report, o);
  const bytes = refusal ? undefined : rec.recorder.toPcapng();
  const found = bytes && o.credentials ? rec.m.findSecret(bytes, o.credentials.password) : undefined;
  if (refusal || found || !bytes) {
    io.stderr.write(`rdp-probe: --record: ${file} not written: ${refusal ?? `the password appears in it (${String(found)})`}\n`);
    return false;
  }
  try {
    // The key log and the NTLM exchange are in it: readable by the owner only.
    fs.writeFileSync(file, bytes, { mode: 0o600 });
  } catch (e) {
    io.stderr.write(`rdp-probe: --record: cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
    return false;
  }
  const auth = o.credentials ? '; it holds the NTLM exchange (user name and NTLMv2 response, not the password): keep it as you would a password hash' : '';
  io.stderr.write(`rdp-probe: recorded ${rec.recorder.connections} connection(s), ${bytes.length} bytes, to ${file}${rec.recorder.keylogLineCount > 0 ? ' with the TLS key log' : ''}${auth}\n`);
  return true;
}

/**
 * The modules whose options a command declares, loaded only for a command named in argv (a name that is really
 * an option's value only loads one module too many): `--help`, `--version` and `explain` load none of them, and
 * `check` loads neither the lab (node-forge) nor the policy code (yaml) unless --lab or --policy asks.
 */
async function commandModules(argv: readonly string[]) {
  const named = (c: string): boolean => argv.includes(c);
  const [labScenarios, lab, scan, serve, monitor] = await Promise.all([
    // The scenario names are --lab's choices: needed to check a --lab value or to show them in the help, not otherwise.
    named('check') && argv.some((a) => a === '--lab' || a.startsWith('--lab=') || a === '--help') ? import('../lab/scenarios.js') : undefined,
    named('lab') ? import('./lab-command.js') : undefined,
    named('scan') ? import('./scan-command.js') : undefined,
    named('serve') ? import('./serve-command.js') : undefined,
    named('monitor') ? import('./monitor-command.js') : undefined,
  ]);
  return { labScenarios, lab, scan, serve, monitor };
}

const LOG_LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;

/**
 * The check's logger, without pino (a fifth of a closed port's start-up) until a line at the chosen level is
 * logged: pino is imported then, the lines go to it in the order they were logged, and flush() waits for them.
 * At the default level a probe that goes well logs nothing, so it never loads.
 */
export function lazyLogger(level: keyof typeof LOG_LEVELS, stream: NodeJS.WritableStream): { logger: Logger; flush: () => Promise<void> } {
  const min = LOG_LEVELS[level];
  let root: Promise<Logger> | undefined;
  let queue: Promise<void> = Promise.resolve();
  const make = (parent: (() => Promise<Logger>) | undefined, bindings: Record<string, unknown> | undefined): Logger => {
    let mine: Promise<Logger> | undefined;
    const real = (): Promise<Logger> => {
      root ??= import('../log.js').then((m) => m.createLogger(level, stream));
      mine ??= parent ? parent().then((p) => p.child(bindings ?? {})) : root;
      return mine;
    };
    const at =
      (name: Exclude<keyof typeof LOG_LEVELS, 'silent'>) =>
      (...args: unknown[]): void => {
        if (LOG_LEVELS[name] < min) return;
        queue = queue.then(() => real()).then((l) => (l[name] as (...a: unknown[]) => void)(...args));
      };
    const facade = {
      level,
      child: (b: Record<string, unknown>) => make(real, b),
      isLevelEnabled: (l: string) => (LOG_LEVELS[l as keyof typeof LOG_LEVELS] ?? Infinity) >= min,
      trace: at('trace'),
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      fatal: at('fatal'),
      silent: () => undefined,
    };
    return facade as unknown as Logger;
  };
  return { logger: make(undefined, undefined), flush: () => queue };
}

/**
 * yargs renders a command's whole help text after running its handler, in case the handler shows it later (ours
 * never do: a usage error prints one line): some 60 ms of every `check`, most of it in string-width. `--help`
 * still renders it, on demand. Internal to yargs, so only where it is found as expected.
 */
function skipHelpCache(parser: unknown): void {
  const usage = (parser as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: unknown } } }).getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => undefined;
}

const PROTOCOL_BITS: Record<string, number> = { rdp: 0, ssl: 1, hybrid: 2, rdstls: 4, hybrid_ex: 8, rdsaad: 0x10 };

/** "ssl,hybrid" → 0x3; "rdp" → 0. */
export function parseProtocols(text: string): number {
  const names = text.toLowerCase().split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError('--protocols needs at least one protocol');
  let bits = 0;
  for (const n of names) {
    const b = PROTOCOL_BITS[n];
    if (b === undefined) throw new UsageError(`--protocols: unknown protocol ${JSON.stringify(n)} (use rdp, ssl, hybrid, hybrid_ex, rdstls, rdsaad)`);
    if (n === 'rdp' && names.length > 1) throw new UsageError('--protocols: rdp means "no TLS" and cannot be combined with others');
    bits |= b;
  }
  return bits;
}

/** True when the report is about us, not the server: a bug of ours or a resource this machine lacked. */
export function isInternal(r: ProbeReport): boolean {
  const id = r.verdict.id as string;
  return id === 'internal_error' || id === 'local_failure' || r.anomalies.some((x) => /^internal error/i.test(x));
}

export function exitFor(r: ProbeReport, failOn?: Severity): number {
  if (isInternal(r)) return EXIT.INTERNAL;
  if (r.verdict.id !== 'ok' && r.verdict.id !== 'legacy_server' && r.verdict.id !== 'connects') return EXIT.FAILED;
  if (failOn) {
    const min = SEVERITIES.indexOf(failOn);
    if (r.findings.some((f) => SEVERITIES.indexOf(f.severity) >= min)) return EXIT.FAILED;
  }
  return EXIT.OK;
}

/** Runs the CLI as this process: its argv, streams and signals; sets the exit code. (The bin, src/cli/bin.ts, calls it.) */
export function runAsProcess(argv: string[] = process.argv.slice(2)): Promise<void> {
  return main(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env, stdin: process.stdin, signals: process, stdoutClosed: stdoutWasClosed(), ownsProcess: true }).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`rdp-probe: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = EXIT.USAGE;
    },
  );
}

// Run directly (the tsc build, dist/cli/main.js); in the bundle this module is a chunk and the bin calls runAsProcess.
const isMain = process.argv[1] !== undefined && fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url));
if (isMain) void runAsProcess();

/**
 * Node reopens a closed fd 1 on /dev/null (read-write) before any JavaScript runs, so `>&-` looks like a working
 * stdout. A shell's `>/dev/null` opens it write-only: the read-write /dev/null is the trace of a closed stdout.
 */
function stdoutWasClosed(): boolean {
  try {
    const st = fs.fstatSync(1);
    const devNull = fs.statSync('/dev/null');
    if (!st.isCharacterDevice() || st.rdev !== devNull.rdev) return false;
    const flags = /^flags:\s*([0-7]+)/m.exec(fs.readFileSync('/proc/self/fdinfo/1', 'utf8'));
    return flags !== null && (parseInt(flags[1]!, 8) & 3) === 2;
  } catch {
    return false;
  }
}
