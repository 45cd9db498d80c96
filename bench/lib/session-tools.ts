/**
 * Helpers for bench/session (issue #12's closing note): rdp-probe at `--depth session`, nmap's
 * rdp-enum-encryption and `xfreerdp +auth-only /log-level:DEBUG`, each reduced to the MCS/GCC facts it shows.
 * Invocations go through the network guard of tools.ts; parsers never throw.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTimed, type TimedResult } from './proc.js';
import { assertAllowedTarget, KILL_MS, parseNmap, type NmapView } from './tools.js';

/**
 * Compiles src/ into a private temp directory (node_modules linked beside it), so this runner never writes
 * dist/, which other runners use. Type errors elsewhere still emit JavaScript; a missing main.js throws.
 */
export function buildPrivateCli(repoRoot: string): { cli: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rdp-probe-bench-session-'));
  try {
    execFileSync(join(repoRoot, 'node_modules/.bin/tsc'), ['-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', dir], { cwd: repoRoot, stdio: 'pipe', timeout: 180_000 });
  } catch {
    // emitted anyway (noEmitOnError is off); checked below
  }
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  const cli = join(dir, 'cli/main.js');
  readFileSync(cli); // throws when the build emitted nothing
  return { cli, dir };
}

/** `sha256:HEX` of a PEM certificate, for rdp-probe's --pin (so the NLA run needs no --insecure). */
export function certPin(pemFile: string): string {
  return `sha256:${new X509Certificate(readFileSync(pemFile)).fingerprint256.replace(/:/g, '').toLowerCase()}`;
}

/** Name of the environment variable that carries the password to rdp-probe (--password-env) and xfreerdp (stdin). */
export const PASSWORD_ENV = 'BENCH_SESSION_PW';

export interface SessionProbeOptions {
  cli: string;
  extra?: string[];
  /** set: --password-env PASSWORD_ENV with this value in the child's environment only */
  password?: string;
}

export function runSessionProbe(host: string, port: number, o: SessionProbeOptions): Promise<TimedResult> {
  assertAllowedTarget(host);
  const args = [o.cli, 'check', `${host}:${port}`, '--depth', 'session', '--json', ...(o.extra ?? [])];
  const env = { ...process.env };
  delete env[PASSWORD_ENV];
  if (o.password !== undefined) {
    args.push('--password-env', PASSWORD_ENV);
    env[PASSWORD_ENV] = o.password;
  }
  return runTimed(process.execPath, args, { timeoutMs: KILL_MS.probe, env });
}

export type XfSec = 'rdp' | 'tls' | 'nla';

/**
 * `xfreerdp +auth-only /log-level:LEVEL /cert:ignore /sec:SEC`. +auth-only insists on a user and a password: with
 * `password` undefined it gets `/p:` (empty: xrdp checks nothing at connection time); otherwise `/from-stdin:force`
 * and the password on its standard input, written by a shell builtin from the environment (never on any argv).
 */
export function runXfDebug(
  env: NodeJS.ProcessEnv,
  host: string,
  port: number,
  o: { sec: XfSec; user: string; password?: string; level?: 'DEBUG' | 'TRACE'; extra?: string[] },
): Promise<TimedResult> {
  assertAllowedTarget(host);
  const base = ['+auth-only', `/v:${host}:${port}`, `/u:${o.user}`, '/cert:ignore', `/sec:${o.sec}`, `/log-level:${o.level ?? 'DEBUG'}`, ...(o.extra ?? [])];
  if (o.password === undefined) {
    const e = { ...env };
    delete e[PASSWORD_ENV];
    return runTimed('xfreerdp', [...base, '/p:'], { timeoutMs: KILL_MS.xfreerdp, env: e });
  }
  // dash: printf is a builtin, so the password is in no process's argv; xfreerdp itself does not inherit the variable
  const script = `printf '%s\\n' "$${PASSWORD_ENV}" | { unset ${PASSWORD_ENV}; exec xfreerdp "$@"; }`;
  return runTimed('/bin/sh', ['-c', script, 'sh', ...base, '/from-stdin:force'], { timeoutMs: KILL_MS.xfreerdp, env: { ...env, [PASSWORD_ENV]: o.password } });
}

// ---------------------------------------------------------------------------------------------------------------
// rdp-probe --depth session

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export interface MethodAnswer {
  method: string;
  accepted: boolean;
  answer: string;
}

export interface SessionProbeView {
  parsed: boolean;
  rc: number | null;
  verdict: string;
  stage?: string;
  durationMs?: number;
  selected?: string;
  /** stage id → status */
  statuses: Record<string, string>;
  mcs: Json;
  security: Json;
  licensing: Json;
  activation: Json;
  methods: MethodAnswer[];
  /** enumeration.protocols: protocol → the server's answer when asked for it alone */
  protocols: { protocol: string; accepted: boolean; answer: string }[];
  encryptionLevel?: string;
  findings: string[];
  error?: string;
}

export function parseSessionProbe(r: TimedResult): SessionProbeView {
  const empty: SessionProbeView = { parsed: false, rc: r.rc, verdict: r.timedOut ? 'killed (timeout)' : 'no JSON', statuses: {}, mcs: {}, security: {}, licensing: {}, activation: {}, methods: [], protocols: [], findings: [] };
  let rep: Json | undefined;
  try {
    rep = obj(JSON.parse(r.stdout));
  } catch {
    return { ...empty, error: (r.stderr.trim().split('\n').pop() ?? '').slice(0, 200) };
  }
  if (!rep) return empty;
  const stages = arr(rep['stages']).map(obj).filter((s): s is Json => !!s);
  const facts = (id: string): Json => obj(stages.find((s) => s['stage'] === id)?.['facts']) ?? {};
  const statuses: Record<string, string> = {};
  for (const s of stages) if (str(s['stage'])) statuses[s['stage'] as string] = str(s['status']) ?? '?';
  const en = obj(rep['enumeration']);
  const methods = arr(en?.['encryptionMethods'])
    .map(obj)
    .filter((m): m is Json => !!m && typeof m['method'] === 'string')
    .map((m) => ({ method: m['method'] as string, accepted: m['accepted'] === true, answer: str(m['answer']) ?? '' }));
  const verdict = obj(rep['verdict']);
  const v: SessionProbeView = {
    parsed: true,
    rc: r.rc,
    verdict: str(verdict?.['id']) ?? '?',
    statuses,
    mcs: facts('mcs'),
    security: facts('security'),
    licensing: facts('licensing'),
    activation: facts('activation'),
    methods,
    protocols: arr(en?.['protocols'])
      .map(obj)
      .filter((m): m is Json => !!m && typeof m['protocol'] === 'string')
      .map((m) => ({ protocol: m['protocol'] as string, accepted: m['accepted'] === true, answer: str(m['answer']) ?? '' })),
    findings: arr(rep['findings']).map((f) => str(obj(f)?.['id'])).filter((s): s is string => !!s),
  };
  const st = str(verdict?.['stage']);
  if (st) v.stage = st;
  if (typeof rep['durationMs'] === 'number') v.durationMs = rep['durationMs'];
  const sel = str(facts('x224')['selected']);
  if (sel) v.selected = sel;
  const lvl = str(en?.['encryptionLevel']);
  if (lvl) v.encryptionLevel = lvl;
  return v;
}

// ---------------------------------------------------------------------------------------------------------------
// nmap rdp-enum-encryption, with what tools.ts's parser leaves out

export interface NmapSessionView extends NmapView {
  /** "RDP 5.x, 6.x, 7.x, or 8.x server" */
  protocolVersion?: string;
  /** with -d: "40-bit RC4: FAILURE" lines (the cipher pass's exchange failed) */
  cipherFailures: string[];
}

export function parseNmapSession(r: TimedResult): NmapSessionView {
  const v: NmapSessionView = { ...parseNmap(r), cipherFailures: [] };
  const pv = /RDP Protocol Version:\s+(.+)$/m.exec(r.stdout)?.[1]?.trim();
  if (pv) v.protocolVersion = pv;
  v.cipherFailures = [...r.stdout.matchAll(/^\|_?\s+((?:40|56|128)-bit RC4|FIPS 140-1): FAILURE/gm)].map((m) => m[1]!);
  return v;
}

/** nmap's "RDP Encryption level" names (rdp-enum-encryption.nse ENC_LEVELS) → the MS-RDPBCGR level names. */
export const NMAP_LEVEL: Record<string, string> = { None: 'NONE', Low: 'LOW', 'Client Compatible': 'CLIENT_COMPATIBLE', High: 'HIGH', 'FIPS Compliant': 'FIPS' };
/** nmap's cipher names → MS-RDPBCGR encryption method names. */
export const NMAP_CIPHER: Record<string, string> = { '40-bit RC4': '40BIT', '56-bit RC4': '56BIT', '128-bit RC4': '128BIT', 'FIPS 140-1': 'FIPS' };
/** nmap's version strings (nselib/rdp.lua PROTO_VERSION) → the server core data version code. */
export const NMAP_VERSION: Record<string, string> = {
  'RDP 4.0 server': '0x00080001',
  'RDP 5.x, 6.x, 7.x, or 8.x server': '0x00080004',
  'RDP 10.0 server': '0x00080005',
};

// ---------------------------------------------------------------------------------------------------------------
// xfreerdp debug log

export interface XfDebugView {
  rc: number | null;
  timedOut: boolean;
  /** requestedProtocols it sent ("RequestedProtocols: N") */
  requested?: number;
  /** "selected_protocol: N", or 'no rdpNegData' */
  selected?: string;
  negFlags?: string;
  /** "Server rdp encryption method: X" (com.freerdp.core.gcc, the only GCC fact FreeRDP 2 logs) */
  encryptionMethod?: string;
  /** "Server uses non-advertised encryption method 0x…" */
  nonAdvertised?: string;
  /** channelId of its "rdp_send_data_pdu" lines (the pduSource, its MCS user id) */
  dataPduChannel?: number;
  /** client channels it loaded (rdpdr, rdpsnd, …) */
  clientChannels: string[];
  /** connection states it went through, in order */
  states: string[];
  /** it received the server's Synchronize / Control / Font Map (finalization, after the Demand Active) */
  finalized: boolean;
  errInfo?: string;
  dpumReason?: number;
  /** first ERRCONNECT_* other than ERRCONNECT_CONNECT_CANCELLED */
  errConnect?: string;
}

export function parseXfDebug(r: TimedResult): XfDebugView {
  const all = `${r.stdout}\n${r.stderr}`;
  const v: XfDebugView = { rc: r.rc, timedOut: r.timedOut, clientChannels: [], states: [], finalized: false };
  const req = /RequestedProtocols: (\d+)/.exec(all)?.[1];
  if (req !== undefined) v.requested = Number(req);
  const sel = /selected_protocol: (\d+)/.exec(all)?.[1];
  if (sel !== undefined) v.selected = sel;
  else if (/no rdpNegData/.test(all)) v.selected = 'no rdpNegData';
  const fl = /RDP_NEG_RSP::flags = \{ \[(0x[0-9a-f]+)\] ([^}]*)\}/i.exec(all);
  if (fl) v.negFlags = `${fl[1]} ${fl[2]!.split('|').map((f) => f.trim()).filter(Boolean).join('|')}`;
  const em = /Server rdp encryption method: (\S+)/.exec(all)?.[1];
  if (em) v.encryptionMethod = em;
  const na = /Server uses non-advertised encryption method (0x[0-9a-f]+)/i.exec(all)?.[1];
  if (na) v.nonAdvertised = na;
  const ch = /rdp_send_data_pdu: sending data \(type=0x[0-9a-f]+ size=\d+ channelId=(\d+)\)/.exec(all)?.[1];
  if (ch) v.dataPduChannel = Number(ch);
  v.clientChannels = [...new Set([...all.matchAll(/loading channelEx (\w+)/g)].map((m) => m[1]!))];
  v.states = [...all.matchAll(/transition_to_state \S+ --> CONNECTION_STATE_(\w+)/g)].map((m) => m[1]!);
  v.finalized = /recv Font Map Data PDU/.test(all);
  const ei = /\b(ERRINFO_[A-Z_]+) \(0x/.exec(all)?.[1] ?? /\b(ERRINFO_[A-Z_]+)\b/.exec(all)?.[1];
  if (ei) v.errInfo = ei;
  const dp = /DisconnectProviderUltimatum: reason: (\d+)/.exec(all)?.[1];
  if (dp !== undefined) v.dpumReason = Number(dp);
  const ec = [...all.matchAll(/\b(ERRCONNECT_[A-Z_]+)\b/g)].map((m) => m[1]!).find((e) => e !== 'ERRCONNECT_CONNECT_CANCELLED');
  if (ec) v.errConnect = ec;
  return v;
}
