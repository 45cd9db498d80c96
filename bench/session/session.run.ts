/**
 * Issue #12's closing note, repeatable (`npm run bench:session`; BENCH_RUNS rounds, default 5):
 *
 * 1. starts xrdp (tls, negotiate, rdp, rdp-low/medium/high/fips/none) and FreeRDP's shadow server (rdp, nla) on
 *    127.0.8.N:3389 (this runner's own /24: port 3389 because nmap's rdp scripts run only there);
 * 2. per round and server, one process at a time: rdp-probe `check --depth session --json` (a private build, never
 *    dist/), the same with --no-enumerate, `nmap -n -Pn -p 3389 --script rdp-enum-encryption`, and
 *    `xfreerdp +auth-only /log-level:DEBUG /cert:ignore /sec:…`;
 * 3. follow-ups: `nmap -d` where the script failed or printed no cipher answers, xfreerdp at TRACE once per server
 *    (to show whether TRACE adds any GCC fact), and on shadow:rdp rdp-probe with its default protocols once;
 * 4. writes bench/session/results.md (and prints it): the facts side by side per server, disagreements marked and
 *    explained from rdp-probe's per-method enumeration (what the server chose in each Connect-Response) and the
 *    servers' own logs, and the time to `connects`.
 *
 * The NLA password goes to rdp-probe through --password-env and to xfreerdp on its stdin, never on an argv; the
 * run asserts that it appears in no tool output and not in the results.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import {
  certZoo,
  ensureXvfb,
  liveProcesses,
  startShadow,
  startXrdp,
  stopAllServers,
  TEST_PASSWORD,
  TEST_USER,
  type RunningServer,
  type XrdpScenario,
} from '../../test/servers/launcher.js';
import { REPO_ROOT } from '../../test/servers/env.js';
import type { TimedResult } from '../lib/proc.js';
import { logSize, serverErrorsSince } from '../lib/serverlog.js';
import {
  buildPrivateCli,
  certPin,
  NMAP_CIPHER,
  NMAP_LEVEL,
  NMAP_VERSION,
  parseNmapSession,
  parseSessionProbe,
  parseXfDebug,
  runSessionProbe,
  runXfDebug,
  type NmapSessionView,
  type SessionProbeView,
  type XfDebugView,
  type XfSec,
} from '../lib/session-tools.js';
import { fmtSeconds, summarize, type Summary } from '../lib/stats.js';
import { nmapDebugError, nmapLine, runNmap } from '../lib/tools.js';

const NET = '127.0.8';
const PORT = 3389;
const RUNS = (() => {
  const n = Number(process.env['BENCH_RUNS'] ?? 5);
  if (!Number.isInteger(n) || n < 1 || n > 50) throw new Error(`BENCH_RUNS must be a whole number from 1 to 50 (got ${process.env['BENCH_RUNS']})`);
  return n;
})();
const RESULTS = join(REPO_ROOT, 'bench', 'session', 'results.md');
const log = (m: string): void => void process.stderr.write(`[bench:session] ${m}\n`);

interface Plan {
  id: string;
  /** how the server is configured, for the heading */
  config: string;
  start: () => Promise<RunningServer>;
  xfSec: XfSec;
  probeExtra: string[];
  /** NLA: the password for rdp-probe (--password-env) and xfreerdp (stdin) */
  password?: string;
}

const XRDP: [XrdpScenario, number, XfSec, string][] = [
  ['tls', 12, 'tls', 'security_layer=tls, crypt_level=high'],
  ['negotiate', 11, 'tls', 'security_layer=negotiate, crypt_level=high'],
  ['rdp', 13, 'rdp', 'security_layer=rdp, crypt_level=high'],
  ['rdp-low', 27, 'rdp', 'security_layer=rdp, crypt_level=low'],
  ['rdp-medium', 31, 'rdp', 'security_layer=rdp, crypt_level=medium'],
  ['rdp-high', 28, 'rdp', 'security_layer=rdp, crypt_level=high'],
  ['rdp-fips', 29, 'rdp', 'security_layer=rdp, crypt_level=fips'],
  ['rdp-none', 30, 'rdp', 'security_layer=rdp, crypt_level=none'],
];

interface Round {
  probe: TimedResult;
  probeNoEnum: TimedResult;
  nmap: TimedResult;
  xf: TimedResult;
}

interface Done {
  plan: Plan;
  server: RunningServer;
  rounds: Round[];
  /** server log ERROR lines while each tool ran in round 1 */
  serverErrors: { probe: string[]; nmap: string[]; xf: string[] };
  nmapDebug?: TimedResult;
  xfTrace?: TimedResult;
  probeDefaultProtocols?: TimedResult;
}

const done: Done[] = [];
let cliDir: string | undefined;
let xdg: string | undefined;
const machine: string[] = [];

afterAll(async () => {
  await stopAllServers();
  const left = liveProcesses();
  if (cliDir) rmSync(cliDir, { recursive: true, force: true });
  if (xdg) rmSync(xdg, { recursive: true, force: true });
  machine.push(`- load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  machine.push(`- cleanup: ${left.length === 0 ? 'every server and Xvfb stopped' : `still running: ${left.map((p) => p.name).join(', ')}`}`);
  if (done.length === 0) return;
  const md = render();
  expect(md).not.toContain(TEST_PASSWORD);
  writeFileSync(RESULTS, md);
  process.stdout.write(`\n${md}`);
}, 120_000);

it('rdp-probe --depth session vs nmap rdp-enum-encryption vs xfreerdp debug log', async () => {
  const t0 = Date.now();
  log('building the CLI into a private directory');
  const built = buildPrivateCli(REPO_ROOT);
  cliDir = built.dir;
  const zoo = await certZoo();
  const pin = certPin(zoo.good.cert);
  const x = await ensureXvfb();
  xdg = mkdtempSync(join(tmpdir(), 'rdp-probe-bench-session-xf-'));
  const xfEnv = { ...process.env, DISPLAY: x.display, XDG_CONFIG_HOME: xdg, HOME: xdg };
  machine.push(
    `- node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    `- Debian packages: ${packageVersions(['xrdp', 'freerdp2-shadow-x11', 'freerdp2-x11', 'nmap'])}`,
  );

  const plans: Plan[] = [
    ...XRDP.map(([s, n, sec, config]): Plan => ({ id: `xrdp:${s}`, config, start: () => startXrdp(s, { host: `${NET}.${n}` }), xfSec: sec, probeExtra: [] })),
    // /sec:rdp alone refuses requestedProtocols 0xb with an RDP_NEG_FAILURE: ask as an RDP-only client does
    { id: 'shadow:rdp', config: 'freerdp-shadow-cli /sec:rdp', start: () => startShadow('rdp', { host: `${NET}.42` }), xfSec: 'rdp', probeExtra: ['--protocols', 'rdp'] },
    { id: 'shadow:nla', config: 'freerdp-shadow-cli /sec:nla with a SAM file', start: () => startShadow('nla', { host: `${NET}.40` }), xfSec: 'nla', probeExtra: ['--user', TEST_USER, '--delegate', '--pin', pin], password: TEST_PASSWORD },
  ];
  const running: { plan: Plan; server: RunningServer }[] = [];
  for (const plan of plans) running.push({ plan, server: await plan.start() });
  log(`started ${running.map((r) => `${r.plan.id}@${r.server.host}`).join(', ')}`);

  const probe = (r: (typeof running)[number], extra: string[] = []): Promise<TimedResult> =>
    runSessionProbe(r.server.host, PORT, { cli: built.cli, extra: [...r.plan.probeExtra, ...extra], ...(r.plan.password !== undefined ? { password: r.plan.password } : {}) });
  const xf = (r: (typeof running)[number], level: 'DEBUG' | 'TRACE' = 'DEBUG', extra: string[] = []): Promise<TimedResult> =>
    runXfDebug(xfEnv, r.server.host, PORT, { sec: r.plan.xfSec, user: TEST_USER, level, extra, ...(r.plan.password !== undefined ? { password: r.plan.password } : {}) });

  // warm-up, discarded: page cache, xfreerdp's config directories
  const w = running[0]!;
  await probe(w);
  await runNmap(w.server.host, PORT);
  await xf(w);

  const results = running.map((r): Done => ({ ...r, rounds: [], serverErrors: { probe: [], nmap: [], xf: [] } }));
  for (let round = 1; round <= RUNS; round++) {
    log(`round ${round}/${RUNS}`);
    for (const d of results) {
      const lf = d.server.logFile;
      let at = logSize(lf);
      const p = await probe(d);
      if (round === 1) d.serverErrors.probe = serverErrorsSince(lf, at);
      const pn = await probe(d, ['--no-enumerate']);
      at = logSize(lf);
      const n = await runNmap(d.server.host, PORT);
      if (round === 1) d.serverErrors.nmap = serverErrorsSince(lf, at);
      at = logSize(lf);
      const f = await xf(d);
      if (round === 1) d.serverErrors.xf = serverErrorsSince(lf, at);
      d.rounds.push({ probe: p, probeNoEnum: pn, nmap: n, xf: f });
    }
  }
  log('follow-ups');
  for (const d of results) {
    const n = parseNmapSession(d.rounds[0]!.nmap);
    if (n.scriptFailed || !n.encryptionLevel) d.nmapDebug = await runNmap(d.server.host, PORT, true);
    d.xfTrace = await xf(d, 'TRACE');
    if (d.plan.id === 'shadow:rdp') d.probeDefaultProtocols = await runSessionProbe(d.server.host, PORT, { cli: built.cli });
  }
  done.push(...results);

  for (const d of done) {
    for (const r of [...d.rounds.flatMap((x) => [x.probe, x.probeNoEnum, x.nmap, x.xf]), d.xfTrace, d.nmapDebug, d.probeDefaultProtocols]) {
      if (r) expect(`${r.stdout}\n${r.stderr}`, `${d.plan.id}: a tool printed the password`).not.toContain(TEST_PASSWORD);
    }
    expect(parseSessionProbe(d.rounds[0]!.probe).parsed, `${d.plan.id}: rdp-probe printed no JSON report`).toBe(true);
  }
  machine.push(`- wall time of the whole run: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});

/** `xrdp 0.9.21.1-1+deb12u3, …` (xfreerdp prints its version only with a display; dpkg knows them all). */
function packageVersions(pkgs: string[]): string {
  try {
    return execFileSync('dpkg-query', ['-W', '-f', '${Package} ${Version}, ', ...pkgs], { encoding: 'utf8', timeout: 10_000 }).replace(/, $/, '');
  } catch {
    return '? (dpkg-query failed)';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering

const esc = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (s: string): string => `\`${s}\``;
const WARN = '⚠';

interface Row {
  fact: string;
  probe: string;
  nmap: string;
  xf: string;
  /** '' = nothing to compare; 'agree'; or '⚠ …' */
  note: string;
}

const j = (v: unknown): string => (v === undefined ? '–' : Array.isArray(v) ? (v.length ? v.join(', ') : '(none)') : typeof v === 'object' && v ? JSON.stringify(v) : String(v));
const NOT_TESTED = 'not tested';
const NOT_LOGGED = 'not logged';

function rowsFor(d: Done): Row[] {
  const p = parseSessionProbe(d.rounds[0]!.probe);
  const n = parseNmapSession(d.rounds[0]!.nmap);
  const x = parseXfDebug(d.rounds[0]!.xf);
  const nd = d.nmapDebug ? parseNmapSession(d.nmapDebug) : undefined;
  const mcs = p.mcs;
  const rows: Row[] = [];
  const nmapNoScript = n.scriptFailed ? 'script execution failed' : n.noScriptOutput ? 'no script output' : undefined;

  // security layers
  const accepted = p.protocols.filter((q) => q.accepted).map((q) => q.protocol);
  const nmapOk = Object.entries(n.layers).filter(([, v]) => v === 'SUCCESS').map(([k]) => k);
  const NMAP_PROTO: Record<string, string> = { 'Native RDP': 'RDP', SSL: 'SSL', 'CredSSP (NLA)': 'HYBRID', RDSTLS: 'RDSTLS', 'CredSSP with Early User Auth': 'HYBRID_EX' };
  const wrong = nmapOk.filter((k) => NMAP_PROTO[k] && !accepted.includes(NMAP_PROTO[k]!));
  const missed = accepted.filter((q) => Object.values(NMAP_PROTO).includes(q) && !nmapOk.some((k) => NMAP_PROTO[k] === q) && !nmapNoScript);
  const layerNote =
    nmapNoScript && !nmapOk.length
      ? `${WARN} nmap: no result (${nmapNoScript}${nd ? `; -d: ${nmapDebugError(d.nmapDebug!) ?? 'no error line'}` : ''})`
      : wrong.length || missed.length
        ? `${WARN} nmap prints SUCCESS for any RDP_NEG_RSP, whatever it selects: ${wrong.map((k) => `${k} → server ${p.protocols.find((q) => q.protocol === NMAP_PROTO[k])?.answer ?? '?'}`).join('; ')}${missed.length ? `; not listed by nmap: ${missed.join(', ')}` : ''}`
        : 'agree';
  rows.push({
    fact: 'security layers accepted (one request each)',
    probe: p.protocols.length ? p.protocols.map((q) => `${q.protocol} ${q.accepted ? '✓' : '✗'}${q.accepted ? '' : ` (${q.answer})`}`).join('; ') : '–',
    nmap: nmapOk.length ? `SUCCESS: ${nmapOk.join(', ')}` : (nmapNoScript ?? 'none listed'),
    xf: NOT_TESTED,
    note: layerNote,
  });
  rows.push({
    fact: 'selected protocol (main connection)',
    probe: `${p.selected ?? '–'}${p.mcs['echoedRequestedProtocols'] !== undefined ? ` (requested ${code(`0x${Number(mcs['echoedRequestedProtocols']).toString(16)}`)})` : ''}`,
    nmap: '–',
    xf: `${x.selected === undefined ? '–' : x.selected === 'no rdpNegData' ? 'no RDP_NEG_RSP (legacy reply)' : `selected_protocol ${x.selected}`} for RequestedProtocols ${x.requested ?? '?'}${x.negFlags ? `; flags ${x.negFlags}` : ''}`,
    note: 'different requests (rdp-probe asks as configured; xfreerdp as /sec: says)',
  });

  // server core data
  const ver = mcs['serverVersion'] !== undefined ? `${j(mcs['serverVersion'])} (${j(mcs['serverVersionCode'])})` : '–';
  const nver = n.protocolVersion ?? (nmapNoScript ? nmapNoScript : 'not printed');
  const nverCode = n.protocolVersion ? NMAP_VERSION[n.protocolVersion] : undefined;
  rows.push({
    fact: 'server version (server core data)',
    probe: ver,
    nmap: nver,
    xf: NOT_LOGGED,
    note: nverCode === undefined ? (mcs['serverVersionCode'] !== undefined ? `${WARN} nmap printed no version` : '') : nverCode === mcs['serverVersionCode'] ? 'agree' : `${WARN} differ`,
  });
  rows.push({ fact: 'echoed requestedProtocols (server core data)', probe: mcs['echoedRequestedProtocols'] !== undefined ? code(`0x${Number(mcs['echoedRequestedProtocols']).toString(16)}`) : '–', nmap: NOT_LOGGED, xf: NOT_LOGGED, note: '' });
  rows.push({ fact: 'early capability flags (server core data)', probe: mcs['earlyCapabilityFlags'] === undefined ? 'field absent' : j(mcs['earlyCapabilityFlags']), nmap: NOT_LOGGED, xf: NOT_LOGGED, note: '' });

  // server security data
  const xm = x.encryptionMethod ? `${x.encryptionMethod}${x.nonAdvertised ? ` (WARN "non-advertised encryption method ${x.nonAdvertised}")` : ''}` : NOT_LOGGED;
  rows.push({
    fact: 'encryption method (main connection)',
    probe: j(mcs['encryptionMethod']),
    nmap: 'one method offered per connection (rows below)',
    xf: xm,
    note: x.encryptionMethod === undefined || mcs['encryptionMethod'] === undefined ? '' : x.encryptionMethod === mcs['encryptionMethod'] ? 'agree' : `${WARN} differ (each tool offers its own set of methods)`,
  });
  const nl = n.encryptionLevel ? NMAP_LEVEL[n.encryptionLevel] ?? n.encryptionLevel : undefined;
  rows.push({
    fact: 'encryption level',
    probe: `${j(mcs['encryptionLevel'])}${p.encryptionLevel && p.encryptionLevel !== mcs['encryptionLevel'] ? ` (enumeration: ${p.encryptionLevel})` : ''}`,
    nmap: n.encryptionLevel ? `${n.encryptionLevel}` : (nmapNoScript ?? 'not printed'),
    xf: NOT_LOGGED,
    note: levelNote(),
  });
  function levelNote(): string {
    // nmap's cipher pass is standard RDP security (no RDP_NEG_REQ): compare with rdp-probe's enumeration, which is too
    const probeLevel = p.encryptionLevel ?? (p.selected === 'RDP' ? str(mcs['encryptionLevel']) : undefined);
    if (nl !== undefined) {
      if (nl === probeLevel) return `agree${p.encryptionLevel && p.encryptionLevel !== mcs['encryptionLevel'] ? ` (under ${p.selected ?? '?'} the main connection gets ${j(mcs['encryptionLevel'])}: no standard-security encryption inside TLS)` : ''}`;
      return `${WARN} differ: nmap ${nl}, rdp-probe's standard-security connections ${probeLevel ?? '?'}`;
    }
    if (probeLevel === undefined) return '';
    if (!nd) return `${WARN} nmap printed no level`;
    const lua = nmapDebugError(d.nmapDebug!);
    if (lua) return `${WARN} nmap printed no level (-d: ${lua})`;
    if (nd.cipherFailures.length) return `${WARN} nmap printed no level (-d: ${nd.cipherFailures.map((c) => `${c}: FAILURE`).join(', ')})`;
    const chose = [...new Set(p.methods.filter((q) => q.method !== 'NONE').map((q) => q.answer))];
    return `${WARN} nmap printed no level: with -d no cipher exchange failed, yet no SUCCESS line: the server answered each offer with another method (${chose.join(', ')}), so nmap's cipher list stayed empty and was left out with the level line that heads it`;
  }
  for (const m of ['NONE', '40BIT', '56BIT', '128BIT', 'FIPS']) {
    const pm = p.methods.find((q) => q.method === m);
    const nmapName = Object.entries(NMAP_CIPHER).find(([, v]) => v === m)?.[0];
    const nmapSays = !nmapName ? NOT_TESTED : n.ciphers.includes(nmapName) ? 'SUCCESS' : nd?.cipherFailures.includes(nmapName) ? 'FAILURE (-d)' : n.encryptionLevel ? 'not listed' : (nmapNoScript ?? 'no answer printed');
    let note = '';
    if (pm && nmapName) {
      const nOk = nmapSays === 'SUCCESS';
      if (nOk === pm.accepted) note = 'agree';
      else if (!n.encryptionLevel) note = `${WARN} nmap has no answer: its cipher pass ${nmapNoScript ? 'never ran' : 'failed'}; the server ${pm.answer} when offered ${m} alone`;
      else note = `${WARN} nmap ${nOk ? 'SUCCESS' : 'not listed'}, but the server ${pm.answer} when offered ${m} alone`;
    }
    rows.push({ fact: `method ${m} offered alone`, probe: pm ? `${pm.accepted ? 'accepted' : 'not accepted'} (${pm.answer})` : '–', nmap: nmapSays, xf: NOT_TESTED, note });
  }
  const cert = obj(p.security['certificate']);
  rows.push({
    fact: 'server certificate (server security data)',
    probe: mcs['serverCertificate'] === undefined ? 'none (no server random/certificate)' : `${j(mcs['serverCertificate'])}${cert ? `, ${j(cert['bitLength'])}-bit, signature ${j(cert['signature'])}` : ''}`,
    nmap: NOT_LOGGED,
    xf: NOT_LOGGED,
    note: '',
  });

  // network data and the MCS sub-steps
  rows.push({
    fact: 'I/O channel, message channel, static channels',
    probe: `io ${j(mcs['ioChannel'])}; message ${j(mcs['messageChannel'])}; channels ${j(mcs['channels'])}`,
    nmap: NOT_LOGGED,
    xf: `${NOT_LOGGED} (it requested ${x.clientChannels.length ? x.clientChannels.join(', ') : 'none'})`,
    note: '',
  });
  rows.push({
    fact: 'MCS user id (Attach User Confirm), joined channels',
    probe: `user ${j(mcs['userId'])}; joined ${j(mcs['joinedChannels'])}`,
    nmap: '–',
    xf: x.dataPduChannel !== undefined ? `channelId=${x.dataPduChannel} in its Data PDUs (its user id)` : NOT_LOGGED,
    note:
      x.dataPduChannel !== undefined && mcs['userId'] !== undefined && x.dataPduChannel !== mcs['userId']
        ? `differ as expected: servers hand out channel ids to the static channels a client asks for before the user id (rdp-probe asked for ${Array.isArray(mcs['channels']) ? (mcs['channels'] as unknown[]).length : '?'}, xfreerdp loaded ${x.clientChannels.length})`
        : x.dataPduChannel !== undefined && x.dataPduChannel === mcs['userId']
          ? 'agree'
          : '',
  });
  rows.push({
    fact: 'licensing',
    probe: p.licensing['messages'] ? `${j(p.licensing['messages'])} → ${j(p.licensing['errorCode'])}` : p.statuses['licensing'] ?? '–',
    nmap: '–',
    xf: x.states.includes('LICENSING') ? `reached${x.errInfo && !x.finalized ? `, then ${x.errInfo}${x.dpumReason !== undefined ? ` + DPUm reason ${x.dpumReason}` : ''}` : ''}` : x.states.length ? `not reached (last state ${x.states[x.states.length - 1]})` : 'states not logged',
    note: '',
  });
  const act = p.activation;
  const desk = obj(act['desktop']);
  rows.push({
    fact: 'activation (Demand Active)',
    probe: act['capabilitySets'] ? `${(act['capabilitySets'] as unknown[]).length} capability sets; desktop ${desk ? `${j(desk['width'])}x${j(desk['height'])}x${j(desk['bpp'])}` : '?'}; os ${j(obj(act['general'])?.['os'])}` : p.statuses['activation'] ?? '–',
    nmap: '–',
    xf: x.finalized ? 'past it: received Synchronize, Control, Font Map' : 'not reached',
    note: '',
  });
  const xfEnd = `rc ${x.rc ?? '?'}${x.timedOut ? ' (killed)' : ''}${x.errInfo ? ` ${x.errInfo}` : ''}${x.errConnect ? ` ${x.errConnect}` : ''}`;
  const xfServer = d.serverErrors.xf.length ? `; server log: ${d.serverErrors.xf.map((l) => code(l)).join(', ')}` : '';
  const probeOk = p.verdict === 'connects';
  rows.push({
    fact: 'end',
    probe: `${code(p.verdict)}${p.stage ? ` at ${p.stage}` : ''} (rc ${p.rc ?? '?'})`,
    nmap: nmapNoScript ?? `rc ${n.rc ?? '?'}`,
    xf: `${xfEnd}${xfServer}`,
    note: probeOk === (x.rc === 0) ? 'agree' : `${WARN} ${probeOk ? 'rdp-probe reaches the Demand Active, xfreerdp fails' : 'xfreerdp connects, rdp-probe does not'}${xfServer ? ' (server log above)' : ''}`,
  });
  return rows;
}

const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function cell(s: Summary | null, killed: number): string {
  if (!s) return `${WARN} no runs`;
  return `${fmtSeconds(s.median)} s (${fmtSeconds(s.min)}–${fmtSeconds(s.max)})${killed ? ` ${WARN} ${killed}× killed` : ''}`;
}

function timing(d: Done): string {
  const ok = (rs: TimedResult[]): TimedResult[] => rs.filter((r) => !r.timedOut);
  const probeRuns = d.rounds.map((r) => r.probe);
  const pnRuns = d.rounds.map((r) => r.probeNoEnum);
  const nRuns = d.rounds.map((r) => r.nmap);
  const xRuns = d.rounds.map((r) => r.xf);
  const sp = summarize(ok(probeRuns).map((r) => r.wallMs));
  const spn = summarize(ok(pnRuns).map((r) => r.wallMs));
  const sn = summarize(ok(nRuns).map((r) => r.wallMs));
  const sx = summarize(ok(xRuns).map((r) => r.wallMs));
  const work = summarize(pnRuns.map((r) => parseSessionProbe(r).durationMs).filter((v): v is number => v !== undefined));
  const verdicts = (rs: TimedResult[]): string => {
    const c = new Map<string, number>();
    for (const r of rs) {
      const v = parseSessionProbe(r).verdict;
      c.set(v, (c.get(v) ?? 0) + 1);
    }
    return [...c].map(([v, k]) => `${v} ${k}/${rs.length}`).join(', ');
  };
  const xfOk = xRuns.filter((r) => r.rc === 0).length;
  const ratio = (a: Summary | null, b: Summary | null): string => (a && b && b.median > 0 ? `${(a.median / b.median).toFixed(2)}×` : '–');
  // xfreerdp that never exits 0 gives a time to its failure, not to a connection
  const xfMark = xfOk === 0 ? ' †' : '';
  return `| ${d.plan.id} | ${cell(sp, probeRuns.length - ok(probeRuns).length)} | ${cell(spn, pnRuns.length - ok(pnRuns).length)} | ${work ? `${work.median.toFixed(0)} ms` : '–'} | ${cell(sn, nRuns.length - ok(nRuns).length)} | ${cell(sx, xRuns.length - ok(xRuns).length)}${xfMark} | ${ratio(sn, sp)} | ${ratio(sx, sp)}${xfMark} | ${ratio(sx, spn)}${xfMark} | ${verdicts(probeRuns)}; --no-enumerate ${verdicts(pnRuns)} | rc 0 ${xfOk}/${xRuns.length} |`;
}

/**
 * Why xfreerdp fails where rdp-probe connects, from this run's own evidence. FreeRDP 2.11 has no command-line switch
 * for its salted MAC, so the cause is inferred, and said to be.
 */
function macNote(): string {
  const level = (d: Done): string => d.plan.config.replace(/^.*crypt_level=/, '');
  const failed = done.filter((d) => d.plan.xfSec === 'rdp' && d.serverErrors.xf.some((l) => /MAC checksum error/.test(l))).map(level);
  const passed = done.filter((d) => d.plan.id.startsWith('xrdp:rdp') && d.rounds.every((r) => r.xf.rc === 0)).map(level);
  return (
    `Why xfreerdp fails here (inferred, not observed: the PDU is encrypted): xrdp rejects the MAC of xfreerdp's first encrypted PDU at crypt_level ${[...new Set(failed)].join(', ')} (the RC4 levels), while xfreerdp connects at ${[...new Set(passed)].join(', ') || 'no level'} (FIPS uses HMAC-SHA1, NONE has no MAC) and rdp-probe, which sends the plain MAC of MS-RDPBCGR 5.3.6.1 (it never sets SEC_SECURE_CHECKSUM), connects at every level. ` +
    'FreeRDP signs with the salted MAC (5.3.6.1.1) by default, and this xrdp build (Debian 0.9.21.1-1+deb12u3, with the CVE-2026-32105 MAC check) verifies the plain one only.'
  );
}

/** Tools whose condensed outcome was not the same in every round. */
function variation(d: Done): string {
  const kinds: [string, (r: Round) => string][] = [
    ['rdp-probe', (r) => { const p = parseSessionProbe(r.probe); return `${p.verdict} ${JSON.stringify(p.mcs)} ${JSON.stringify(p.methods)}`; }],
    ['nmap', (r) => nmapLine(parseNmapSession(r.nmap))],
    ['xfreerdp', (r) => { const x = parseXfDebug(r.xf); return `rc ${x.rc} ${x.errInfo ?? ''} ${x.encryptionMethod ?? ''}`.trim(); }],
  ];
  const out: string[] = [];
  for (const [tool, key] of kinds) {
    const c = new Map<string, number>();
    for (const r of d.rounds) c.set(key(r), (c.get(key(r)) ?? 0) + 1);
    if (c.size > 1) out.push(`${tool}: ${[...c].map(([k, n]) => `${code(k.length > 160 ? `${k.slice(0, 160)}…` : k)} ×${n}`).join(', ')}`);
  }
  return out.join('; ');
}

function traceNote(d: Done): string {
  if (!d.xfTrace) return '';
  const a = `${d.rounds[0]!.xf.stdout}\n${d.rounds[0]!.xf.stderr}`;
  const b = `${d.xfTrace.stdout}\n${d.xfTrace.stderr}`;
  const gcc = (s: string): string[] => s.split('\n').filter((l) => /com\.freerdp\.core\.(gcc|mcs)\]/.test(l)).map((l) => l.replace(/^\[[^\]]*\] \[[^\]]*\] /, ''));
  const extra = gcc(b).filter((l) => !gcc(a).includes(l));
  return extra.length ? `TRACE adds: ${extra.map(code).join(', ')}` : `TRACE adds no GCC/MCS line (${gcc(b).length} at TRACE, ${gcc(a).length} at DEBUG)`;
}

function render(): string {
  const out: string[] = [];
  const xrdp = done.filter((d) => d.plan.id.startsWith('xrdp:'));
  const shadow = done.filter((d) => !d.plan.id.startsWith('xrdp:'));
  out.push(
    '# Session depth side by side: rdp-probe vs nmap rdp-enum-encryption vs xfreerdp debug log',
    '',
    `Generated by \`npm run bench:session\` (bench/session/session.run.ts) on ${new Date().toISOString()}, ${RUNS} round${RUNS === 1 ? '' : 's'} (BENCH_RUNS).`,
    '',
    ...machine,
    '',
    'Commands, per server (each on its own 127.0.8.N:3389), one process at a time, a warm-up run of each tool discarded:',
    '',
    '- rdp-probe: `node <private build>/cli/main.js check ADDR:3389 --depth session --json` (protocol and encryption-method enumeration on); the timing table also runs it with `--no-enumerate`; shadow:rdp adds `--protocols rdp`, shadow:nla `--user rdpuser --delegate --pin sha256:… --password-env VAR`;',
    '- nmap: `nmap -n -Pn -p 3389 --script rdp-enum-encryption ADDR`; `nmap -d` once where the script failed or printed no cipher answers;',
    '- xfreerdp: `xfreerdp +auth-only /v:ADDR:3389 /u:rdpuser /cert:ignore /sec:SEC /log-level:DEBUG` with `/p:` (empty) on xrdp and shadow:rdp, `/from-stdin:force` and the password on stdin on shadow:nla; SEC is `tls` for xrdp tls/negotiate, `rdp` for the standard-security servers, `nla` for shadow:nla; once more at `/log-level:TRACE`.',
    '',
    'Wall time is the whole process, from spawn to exit (start-up included). The facts come from round 1.',
    '',
    '## Time to `connects`',
    '',
    'rdp-probe\'s verdict `connects` is the server\'s Demand Active (the probe then leaves with an MCS Disconnect Provider Ultimatum). xfreerdp +auth-only exits 0 only after the finalization PDUs that follow the Demand Active (Synchronize, Control, Font Map), i.e. it goes a little further; nmap stops at the MCS Connect-Response and never reaches `connects`: its figure is what its answer costs. Ratios are of medians: above 1, rdp-probe was faster.',
    '',
    '| server | rdp-probe | rdp-probe --no-enumerate | probe work (durationMs, --no-enumerate) | nmap | xfreerdp +auth-only | nmap ÷ rdp-probe | xfreerdp ÷ rdp-probe | xfreerdp ÷ rdp-probe --no-enumerate | rdp-probe verdicts | xfreerdp |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...xrdp.map(timing),
    ...shadow.map(timing),
    '',
    '† xfreerdp never exited 0 on this server (see its facts table): the figure is its time to failure, not to a connection.',
    '',
    'rdp-probe with enumeration on makes one connection per security protocol (6) and, where standard RDP security is accepted, one MCS Connect-Initial per encryption method (5), on top of the session itself; `--no-enumerate` is the session alone. nmap sleeps 0.2 s before each of its 9 connections (1.8 s); xfreerdp\'s start-up includes a primitives benchmark and channel loading.',
    '',
    '## Facts per server',
    '',
    'Columns: what each tool shows for the same server. "not logged": the tool gets the fact on the wire but does not print it; "not tested": the tool does not ask. ⚠ marks a disagreement, explained in the last column from rdp-probe\'s enumeration (its own Connect-Initial per method, with the method the server chose in each Connect-Response) and the server\'s own log.',
    '',
  );
  for (const d of done) {
    out.push(`### ${d.plan.id} (${d.server.host}, ${d.plan.config})`, '');
    out.push('| fact | rdp-probe | nmap | xfreerdp | agreement |', '|---|---|---|---|---|');
    for (const r of rowsFor(d)) out.push(`| ${esc(r.fact)} | ${esc(r.probe)} | ${esc(r.nmap)} | ${esc(r.xf)} | ${esc(r.note)} |`);
    const notes: string[] = [];
    notes.push(`xfreerdp: ${traceNote(d)}.`);
    if (d.serverErrors.probe.length) notes.push(`Server log while rdp-probe ran: ${d.serverErrors.probe.map(code).join(', ')}.`);
    if (d.serverErrors.nmap.length) notes.push(`Server log while nmap ran: ${d.serverErrors.nmap.map(code).join(', ')}.`);
    if (d.serverErrors.xf.some((l) => /MAC checksum error/.test(l))) notes.push(macNote());
    const varied = variation(d);
    if (varied) notes.push(`Varied across rounds: ${varied}.`);
    if (d.nmapDebug) notes.push(`\`nmap -d\`: ${nmapDebugError(d.nmapDebug) ?? `no Lua error; ${parseNmapSession(d.nmapDebug).cipherFailures.map((c) => `${c}: FAILURE`).join(', ') || 'no FAILURE line'}`}.`);
    if (d.probeDefaultProtocols) {
      const dp = parseSessionProbe(d.probeDefaultProtocols);
      const x224 = dp.statuses['x224'];
      notes.push(`rdp-probe with its default protocols (ssl,hybrid,hybrid_ex): \`${dp.verdict}\`${dp.stage ? ` at ${dp.stage}` : ''} (x224 ${x224 ?? '?'}): this server refuses any request with SSL/HYBRID in it, so the table uses \`--protocols rdp\`, as an RDP-only client asks.`);
    }
    out.push('', ...notes.map((s) => `- ${s}`), '');
  }
  out.push(
    '## Reading the disagreements',
    '',
    '- **nmap\'s security layers.** rdp-enum-encryption prints "SUCCESS" for a layer whenever the X.224 Connection Confirm carries an RDP_NEG_RSP, without reading selectedProtocol. A server that picks standard RDP security for every request (xrdp `security_layer=rdp`) therefore gets SUCCESS for SSL, CredSSP and RDSTLS too. rdp-probe asks for each protocol alone and reports what the server selected.',
    '- **nmap\'s ciphers.** For each of 40/56/128-bit RC4 and FIPS, nmap sends a Connect-Initial offering that method alone and prints SUCCESS only when the Connect-Response names the same method, which is rdp-probe\'s criterion too; xrdp ignores the offer and picks by crypt_level (rdp-probe\'s "chose X" column). Both therefore agree where nmap gets an answer. It does not test "no encryption" at all.',
    '- **Server log lines while rdp-probe ran** come from its enumeration, not from the session: `requestedProtocol 0x00000010` is its RDSAAD request, and xrdp\'s "DomainMCSPDU choice index expected 1, received 8" is each per-method connection leaving after the Connect-Response with a Disconnect Provider Ultimatum (choice 8) where a client would send Erect Domain (1). FreeRDP\'s server logs its own errors when the probe leaves after the Demand Active instead of confirming it.',
    '- **xfreerdp on xrdp\'s RC4 levels** (low, medium/client compatible, high): the server logs "MAC checksum error for non-FIPS PDU" for xfreerdp\'s first encrypted PDU and ends the connection (xfreerdp then reports ERRINFO_LOGOFF_BY_USER and a Disconnect Provider Ultimatum); see the note under those servers for why (salted vs plain MAC, inferred).',
    '- **Timing on this machine** is noisy: 2 cores shared with other work (see the load averages at the top); compare medians, and the min–max spread.',
    '- **xfreerdp\'s log** names one GCC fact (the server\'s encryption method); everything else in the server core, security and network data is decoded but not logged at DEBUG or TRACE (see the TRACE note per server).',
    '',
  );
  return `${out.join('\n')}\n`;
}
