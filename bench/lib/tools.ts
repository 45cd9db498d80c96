/**
 * The three tools under comparison: how each is invoked (one place, with the network guard) and how its
 * output is condensed. Parsers never throw; anything unexpected comes back as text.
 */
import { isLoopback } from '../../test/servers/launcher.js';
import { runTimed, type TimedResult } from './proc.js';

export const CREDENTIALS = { user: 'rdpuser', password: 'Passw0rd!' } as const;
export const WRONG_PASSWORD = 'wrong-Passw0rd';

/** Kill timers (the run never waits longer than this for one tool). */
export const KILL_MS = { probe: 45_000, nmap: 60_000, xfreerdp: 20_000 } as const;

// ---------------------------------------------------------------------------------------------------------------
// Network guard: loopback, or an address inside the namespace subnet this run created.

let allowedSubnetPrefix: string | undefined;

/** Allows 10.200.N.0/29 (the launcher's filteredNetns subnet of this run). */
export function allowNetnsSubnet(subnet: string): void {
  const m = /^(10\.200\.\d{1,3})\.0\/29$/.exec(subnet);
  if (!m) throw new Error(`unexpected netns subnet ${subnet}`);
  allowedSubnetPrefix = m[1];
}

export function assertAllowedTarget(host: string): void {
  if (isLoopback(host)) return;
  if (allowedSubnetPrefix && host.startsWith(`${allowedSubnetPrefix}.`)) {
    const last = Number(host.slice(allowedSubnetPrefix.length + 1));
    if (Number.isInteger(last) && last >= 1 && last <= 6) return;
  }
  throw new Error(`refusing target ${host}: the benchmark talks to loopback and its own network namespace only`);
}

// ---------------------------------------------------------------------------------------------------------------
// Invocations

export interface ToolEnv {
  repoRoot: string;
  /** DISPLAY + XDG_CONFIG_HOME (+ HOME) for xfreerdp. */
  xfEnv: NodeJS.ProcessEnv;
}

export function runProbe(env: ToolEnv, host: string, port: number, extra: string[] = []): Promise<TimedResult> {
  assertAllowedTarget(host);
  return runTimed(process.execPath, ['dist/cli/main.js', 'check', `${host}:${port}`, '--json', ...extra], { timeoutMs: KILL_MS.probe, cwd: env.repoRoot });
}

/** Always `-n -Pn`: no reverse DNS to the system resolver, no host discovery. */
export function nmapArgs(host: string, port: number, debug = false): string[] {
  assertAllowedTarget(host);
  return [...(debug ? ['-d'] : []), '-n', '-Pn', '-p', String(port), '--script', 'rdp-enum-encryption', host];
}

export function runNmap(host: string, port: number, debug = false): Promise<TimedResult> {
  const args = nmapArgs(host, port, debug);
  if (!args.includes('-n') || !args.includes('-Pn')) throw new Error('nmap without -n -Pn');
  return runTimed('nmap', args, { timeoutMs: KILL_MS.nmap });
}

export function runXfreerdp(env: ToolEnv, host: string, port: number, password: string = CREDENTIALS.password): Promise<TimedResult> {
  assertAllowedTarget(host);
  const v = host.includes(':') ? [`/v:[${host}]`, `/port:${port}`] : [`/v:${host}:${port}`];
  return runTimed('xfreerdp', ['+auth-only', ...v, `/u:${CREDENTIALS.user}`, `/p:${password}`, '/cert:ignore'], { timeoutMs: KILL_MS.xfreerdp, env: env.xfEnv });
}

// ---------------------------------------------------------------------------------------------------------------
// rdp-probe

export interface ProbeView {
  parsed: boolean;
  rc: number | null;
  verdict: string;
  stage?: string;
  /** report.durationMs: the probe's own time, without Node start-up. */
  durationMs?: number;
  selected?: string;
  failureName?: string;
  tlsVersion?: string;
  /** TLS version a legacy second handshake found, when the first failed. */
  legacyVersion?: string;
  tlsErrorKind?: string;
  /** why the legacy second handshake failed, when it ran and failed */
  legacyRetryFailure?: string;
  nla?: string;
  /** protocol → accepted (true/false), only where the enumeration knew. */
  accepted: Record<string, boolean>;
  findings: string[];
  error?: string;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function parseProbe(r: TimedResult): ProbeView {
  const base: ProbeView = { parsed: false, rc: r.rc, verdict: r.timedOut ? 'killed (timeout)' : 'no JSON', accepted: {}, findings: [] };
  let rep: Json | undefined;
  try {
    rep = obj(JSON.parse(r.stdout));
  } catch {
    return { ...base, error: (r.stderr.trim().split('\n').pop() ?? '').slice(0, 200) };
  }
  if (!rep) return base;
  const verdict = obj(rep['verdict']);
  const stages = Array.isArray(rep['stages']) ? (rep['stages'] as unknown[]).map(obj).filter((s): s is Json => !!s) : [];
  const stage = (id: string): Json | undefined => stages.find((s) => s['stage'] === id);
  const x224 = stage('x224');
  const tls = stage('tls');
  const xf = obj(x224?.['facts']);
  const tf = obj(tls?.['facts']);
  const legacy = obj(tf?.['legacyRetry']);
  const en = obj(rep['enumeration']);
  const accepted: Record<string, boolean> = {};
  if (en && Array.isArray(en['protocols'])) {
    for (const p of en['protocols'] as unknown[]) {
      const po = obj(p);
      const name = str(po?.['protocol']);
      if (name && typeof po?.['accepted'] === 'boolean') accepted[name] = po['accepted'] as boolean;
    }
  }
  const findings = Array.isArray(rep['findings']) ? (rep['findings'] as unknown[]).map((f) => str(obj(f)?.['id'])).filter((s): s is string => !!s) : [];
  const view: ProbeView = {
    parsed: true,
    rc: r.rc,
    verdict: str(verdict?.['id']) ?? '?',
    accepted,
    findings,
  };
  const st = str(verdict?.['stage']);
  if (st) view.stage = st;
  if (typeof rep['durationMs'] === 'number') view.durationMs = rep['durationMs'];
  const sel = str(xf?.['selected']);
  if (sel) view.selected = sel;
  const fn = str(xf?.['failureName']) ?? str(obj(x224?.['error'])?.['codeName']);
  if (fn) view.failureName = fn;
  if (tls?.['status'] === 'ok' && str(tf?.['version'])) view.tlsVersion = str(tf?.['version']);
  if (legacy?.['ok'] === true && str(legacy['version'])) view.legacyVersion = str(legacy['version']);
  if (legacy && legacy['ok'] === false) view.legacyRetryFailure = [str(legacy['reason']), legacy['code'] !== undefined ? String(legacy['code']) : undefined].filter(Boolean).join(' ') || 'failed';
  const tek = str(obj(tls?.['error'])?.['kind']);
  if (tek) view.tlsErrorKind = tek;
  const nla = str(en?.['nla']);
  if (nla) view.nla = nla;
  return view;
}

export function probeLine(p: ProbeView): string {
  if (!p.parsed) return `${p.verdict}${p.error ? ` (${p.error})` : ''}`;
  const parts = [`**${p.verdict}**${p.stage ? ` at ${p.stage}` : ''}`];
  if (p.failureName) parts.push(p.failureName);
  if (p.selected) parts.push(`selected ${p.selected}`);
  if (p.tlsVersion) parts.push(p.tlsVersion);
  if (p.legacyVersion) parts.push(`server speaks only ${p.legacyVersion}`);
  if (p.legacyRetryFailure) parts.push(`TLS 1.0/1.1 retry failed too (${p.legacyRetryFailure})`);
  if (p.tlsErrorKind && !p.verdict.startsWith('tls_')) parts.push(p.tlsErrorKind);
  if (p.nla) parts.push(`NLA ${p.nla.replace('_', ' ')}`);
  return parts.join('; ');
}

// ---------------------------------------------------------------------------------------------------------------
// nmap rdp-enum-encryption

/** The script's Security layer names and the requestedProtocols it sends for each (rdp-enum-encryption.nse). */
export const NMAP_LAYERS: Record<string, { request: number; protocol: string }> = {
  'Native RDP': { request: 0x0, protocol: 'RDP' },
  SSL: { request: 0x1, protocol: 'SSL' },
  'CredSSP (NLA)': { request: 0x3, protocol: 'HYBRID' },
  RDSTLS: { request: 0x4, protocol: 'RDSTLS' },
  'CredSSP with Early User Auth': { request: 0x8, protocol: 'HYBRID_EX' },
};

export interface NmapView {
  rc: number | null;
  timedOut: boolean;
  /** open | closed | filtered | host down | ? */
  state: string;
  /** layer name → SUCCESS / FAILED … as printed */
  layers: Record<string, string>;
  encryptionLevel?: string;
  ciphers: string[];
  scriptFailed: boolean;
  /** the script printed nothing although the port is open */
  noScriptOutput: boolean;
  /** from a `-d` re-run when the script failed: the Lua error and the script frame it came from */
  debugError?: string;
}

export function parseNmap(r: TimedResult): NmapView {
  const out = r.stdout;
  const state = /^\d+\/tcp\s+(\S+)/m.exec(out)?.[1] ?? (/0 hosts up/.test(out) ? 'host down' : '?');
  const layers: Record<string, string> = {};
  for (const name of Object.keys(NMAP_LAYERS)) {
    const m = new RegExp(`^\\|\\s+${name.replace(/[()]/g, '\\$&')}: (.+)$`, 'm').exec(out);
    if (m?.[1]) layers[name] = m[1].trim();
  }
  const ciphers = [...out.matchAll(/^\|_?\s+((?:40|56|128)-bit RC4|FIPS 140-1): SUCCESS/gm)].map((m) => m[1]!);
  const level = /RDP Encryption level: (.+)$/m.exec(out)?.[1]?.trim();
  const scriptFailed = /rdp-enum-encryption: ERROR: Script execution failed/.test(out);
  const view: NmapView = {
    rc: r.rc,
    timedOut: r.timedOut,
    state,
    layers,
    ciphers,
    scriptFailed,
    noScriptOutput: state === 'open' && !scriptFailed && !/rdp-enum-encryption/.test(out),
  };
  if (level) view.encryptionLevel = level;
  return view;
}

/** "asn1.lua:153: bad argument … (in enum_ciphers, rdp-enum-encryption.nse:174)" from `nmap -d` output. */
export function nmapDebugError(r: TimedResult): string | undefined {
  const lines = r.stdout.split('\n');
  const i = lines.findIndex((l) => /rdp-enum-encryption .* threw an error!/.test(l));
  if (i < 0) return undefined;
  const msg = (lines[i + 1] ?? '').replace(/^.*\/nselib\//, '').trim();
  const frame = lines.slice(i + 2, i + 20).find((l) => /rdp-enum-encryption\.nse:\d+: in /.test(l));
  const fm = frame ? /rdp-enum-encryption\.nse:(\d+): in (?:upvalue |function |field )?'?([\w<>.]+)'?/.exec(frame) : null;
  return fm ? `${msg} (in ${fm[2]}, rdp-enum-encryption.nse:${fm[1]})` : msg;
}

export function nmapLine(n: NmapView): string {
  if (n.timedOut) return `killed after ${KILL_MS.nmap / 1000} s`;
  const parts = [n.state];
  if (n.scriptFailed) parts.push('rdp-enum-encryption: ERROR: Script execution failed');
  else if (n.noScriptOutput) parts.push('no script output');
  const ok = Object.entries(n.layers).filter(([, v]) => v === 'SUCCESS').map(([k]) => k);
  const other = Object.entries(n.layers).filter(([, v]) => v !== 'SUCCESS').map(([k, v]) => `${k}: ${v}`);
  if (ok.length) parts.push(`Security layer SUCCESS: ${ok.join(', ')}`);
  if (other.length) parts.push(other.join(', '));
  if (n.encryptionLevel) parts.push(`RDP Encryption level: ${n.encryptionLevel}${n.ciphers.length ? ` (${n.ciphers.join(', ')})` : ''}`);
  return parts.join('; ');
}

// ---------------------------------------------------------------------------------------------------------------
// xfreerdp +auth-only

export interface XfView {
  rc: number | null;
  timedOut: boolean;
  /** first ERRCONNECT_* / ERRINFO_* it logged (ERRCONNECT_CONNECT_CANCELLED, logged on every exit, is ignored) */
  error?: string;
  /** "Error: SSL_NOT_ALLOWED_BY_SERVER" style lines from the negotiation, in order */
  negoErrors: string[];
}

export function parseXf(r: TimedResult): XfView {
  const all = `${r.stdout}\n${r.stderr}`;
  const errs = [...all.matchAll(/\b(ERRCONNECT_[A-Z_]+|ERRINFO_[A-Z_]+)\b/g)].map((m) => m[1]!).filter((e) => e !== 'ERRCONNECT_CONNECT_CANCELLED');
  const nego = [...all.matchAll(/com\.freerdp\.core\.nego\] - Error: ([A-Z_]+)/g)].map((m) => m[1]!);
  const v: XfView = { rc: r.rc, timedOut: r.timedOut, negoErrors: nego };
  if (errs[0]) v.error = errs[0];
  return v;
}

export function xfLine(x: XfView): string {
  if (x.timedOut) return `timeout (killed at ${KILL_MS.xfreerdp / 1000} s)`;
  const parts = [`rc ${x.rc ?? '?'}`];
  if (x.error) parts.push(x.error);
  if (x.negoErrors.length) parts.push(`nego: ${[...new Set(x.negoErrors)].join(', ')} ×${x.negoErrors.length}`);
  return parts.join(' ');
}

/**
 * Where an xfreerdp error puts the failure: tcp (connect failed), transport (refused, reset or closed at some
 * point), x224, tls, nla, or 'later' (server error info after the security exchange).
 */
export function xfStage(x: XfView): string {
  if (x.timedOut) return 'hung';
  if (x.rc === 0) return 'ok';
  const e = x.error ?? '';
  if (e === 'ERRCONNECT_CONNECT_TRANSPORT_FAILED') return 'transport';
  if (e === 'ERRCONNECT_CONNECT_FAILED' || e === 'ERRCONNECT_DNS_NAME_NOT_FOUND') return 'tcp';
  if (e === 'ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED') return 'x224';
  if (e === 'ERRCONNECT_TLS_CONNECT_FAILED' || e === 'ERRCONNECT_TLS_HANDSHAKE_FAILED') return 'tls';
  if (/AUTHENTICATION_FAILED|LOGON_FAILURE|WRONG_PASSWORD|ACCOUNT/.test(e)) return 'nla';
  if (/^ERRINFO_/.test(e)) return 'later';
  return e ? `? (${e})` : '?';
}
