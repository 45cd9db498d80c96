/** The human report: a stage ladder, the verdict, the evidence and the likely fixes. Pure: report in, text out. */
import type { Finding, ProbeReport, Severity, StageResult, Verdict } from '../probe/types.js';
import type { CaptureAnalysis } from '../pcap/analyze.js';

export interface TextOptions {
  color: boolean;
}

const MARK: Record<StageResult['status'], string> = { ok: '✓', failed: '✗', skipped: '-', not_reached: '·' };

/** Where the text of a stage line starts: continuation lines (certificate, CredSSP table) line up with it. */
const INDENT = ' '.repeat(28);

const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };

/** Where Windows keeps the RDP listener's certificate, by its SHA-1 thumbprint. */
export const LISTENER_CERT_SETTING = 'HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp\\SSLCertificateSHA1Hash';

export function formatText(r: ProbeReport, o: TextOptions): string {
  const c = colors(o.color);
  const lines: string[] = [];
  const where = r.target.address && r.target.address !== r.target.host ? `${r.target.host} (${r.target.address})` : r.target.host;
  lines.push(c.bold(`rdp-probe ${r.tool.version}  ${fmtHostPort(where, r.target.port)}`));
  const v = r.verdict;
  const failed = r.stages.find((s) => s.status === 'failed' && s.stage === v.stage);
  const summary = shortSummary(v.summary, failed?.error?.message);
  for (const s of r.stages) {
    const mark = s.status === 'ok' ? c.green(MARK.ok) : s.status === 'failed' ? c.red(MARK.failed) : c.dim(MARK[s.status]);
    const time = typeof s.durationMs === 'number' && Number.isFinite(s.durationMs) ? `${s.durationMs.toFixed(1).padStart(8)} ms` : ''.padStart(11);
    // A message that is the whole verdict summary is said once, in the verdict line.
    const text = s === failed && summary === v.summary && failed.error?.message && v.summary.trim() === failed.error.message.trim() ? `failed (${failed.error.codeName ?? failed.error.kind}): see the verdict` : stageLine(s);
    lines.push(`  ${mark} ${s.stage.padEnd(11)}${time}  ${text}`.trimEnd());
    for (const extra of stageDetails(s)) lines.push(`${INDENT}${extra}`);
  }
  lines.push('');
  const vtext = `${v.id}${v.stage ? ` at ${v.stage}` : ''}${summary ? `: ${summary}` : ''}`;
  lines.push(`${c.bold('Verdict')}  ${v.id === 'ok' || v.id === 'connects' ? c.green(vtext) : c.red(vtext)}`);
  if (v.mstsc) lines.push(`${c.bold('mstsc')}    would show ${v.mstsc.text.replace(/^mstsc: /, '')}`);
  const ev = r.stages.filter((s) => s.status === 'failed' || (s.evidence && s.stage === v.stage));
  for (const s of ev) {
    if (s.error) {
      const code = typeof s.error.code === 'number' ? ` code ${fmtCode(s.error.code)}` : '';
      const name = s.error.codeName ? ` ${s.error.codeName}` : '';
      const spec = s.error.spec ? ` (${s.error.spec})` : '';
      lines.push(`${c.bold('Evidence')} ${s.stage}: ${s.error.kind}${code}${name}${spec}${s.error.path ? ` at ${s.error.path}` : ''}`);
    }
    for (const e of s.evidence ?? []) lines.push(`         ${evidenceLabel(e.direction, e.pdu, e.length)}: ${e.hex.slice(0, 160)}${e.hex.length > 160 ? '…' : ''}`);
  }
  if (r.enumeration) {
    const en = r.enumeration;
    const p = en.protocols.map((a) => `${a.protocol} ${a.accepted === true ? c.green('yes') : a.accepted === false ? 'no' : '?'}${a.how === 'inferred' ? '*' : ''}`).join('  ');
    lines.push(`${c.bold('Protocols')} ${p}   (${en.connections} connection${en.connections === 1 ? '' : 's'}; * = inferred)`);
    const extras = [
      `NLA ${en.nla.replace('_', ' ')}`,
      `standard RDP security ${en.standardRdpSecurity}`,
      ...(en.restrictedAdmin !== null ? [`restricted admin ${en.restrictedAdmin ? 'supported' : 'not advertised'}`] : []),
      ...(en.redirectedAuthentication !== null ? [`redirected authentication ${en.redirectedAuthentication ? 'supported' : 'not advertised'}`] : []),
    ];
    lines.push(`          ${extras.join('; ')}`);
    if (en.encryptionMethods) {
      const m = en.encryptionMethods.map((a) => `${a.method} ${a.accepted === true ? c.green('yes') : a.accepted === false ? 'no' : '?'}`).join('  ');
      lines.push(`${c.bold('Encryption')} ${m}${en.encryptionLevel ? `   (level ${en.encryptionLevel}; one connection per method, offering only it)` : ''}`);
    }
  }
  const compat = credsspCompatibility(r.stages.find((s) => s.stage === 'credssp'));
  if (compat) lines.push(`${c.bold('CredSSP clients')}${compat.head ? `  ${compat.head}` : ''}`, ...compat.rows);
  if (r.findings.length > 0) {
    lines.push(c.bold('Findings'));
    for (const f of sortFindings(r.findings)) lines.push(`  [${sev(f.severity, c)}] ${f.id}: ${f.message}`);
  }
  const said = `${failed?.error?.message ?? ''}\n${summary}`;
  const fixes = [...v.fixes, ...listenerCertHint(v, failed)].map((f) => unsaid(f, said)).filter((f) => f !== '');
  if (fixes.length > 0) {
    lines.push(c.bold('Likely fixes'));
    for (const f of fixes) lines.push(`  - ${f}`);
  }
  for (const a of r.anomalies) lines.push(`${c.yellow('Anomaly')} ${a}`);
  return `${lines.join('\n')}\n`;
}

/** Most severe first; findings of one severity keep the order they were found in. */
export function sortFindings(fs: readonly Finding[]): Finding[] {
  return fs
    .map((f, i) => ({ f, i }))
    .sort((a, b) => (SEVERITY_ORDER[a.f.severity] ?? 5) - (SEVERITY_ORDER[b.f.severity] ?? 5) || a.i - b.i)
    .map((x) => x.f);
}

/**
 * The verdict summary without the failed stage's own message, which the ladder line above already shows:
 * "the server rejected the credentials: <message>" becomes "the server rejected the credentials". A summary that
 * is nothing but the message stays whole (the ladder line then points to it).
 */
function shortSummary(summary: string, message: string | undefined): string {
  const i = message && message.length >= 8 && summary.trim() !== message.trim() ? summary.indexOf(message) : -1;
  const s = i < 0 ? summary : summary.slice(0, i) + summary.slice(i + message!.length);
  return s
    .replace(/\s*\(\s*\)/g, '')
    .replace(/:\s*:/g, ':')
    .replace(/^[\s:;,]+|[\s:;,]+$/g, '');
}

/** A fix without the clauses ("; "-separated) the report has already said word for word; '' when nothing is left. */
function unsaid(fix: string, said: string): string {
  return fix
    .split('; ')
    .filter((clause) => clause.length < 16 || !said.includes(clause))
    .join('; ');
}

/** NTSTATUS / SEC_E codes in hex as Windows prints them (0xC000006D); small spec codes (alerts, RDP_NEG_FAILURE) in decimal. */
function fmtCode(code: number): string {
  return code > 0xffff || code < 0 ? `0x${(code >>> 0).toString(16).toUpperCase().padStart(8, '0')}` : String(code);
}

/** "server TLS alert decode_error (7 bytes)"; a PDU name that repeats the direction ("server bytes") is not said twice. */
function evidenceLabel(direction: string, pdu: string | undefined, length: number): string {
  let name = (pdu ?? '').trim();
  if (name.toLowerCase().startsWith(`${direction.toLowerCase()} `)) name = name.slice(direction.length + 1).trim();
  if (name === '' || /^(bytes|frame|data)$/i.test(name)) return `${direction} sent ${length} bytes`;
  return dedupeWords(`${direction} ${name} (${length} bytes)`);
}

function dedupeWords(s: string): string {
  return s.replace(/\b(\w+)(\s+\1\b)+/gi, '$1');
}

function stageLine(s: StageResult): string {
  if (s.status === 'skipped') return s.reason ? `skipped: ${s.reason}` : 'skipped';
  if (s.status === 'not_reached') return '';
  const f = s.facts ?? {};
  if (s.status === 'failed') return s.error?.message || (s.error?.kind ? `failed (${s.error.kind})` : 'failed');
  switch (s.stage) {
    case 'dns':
      return str(f['address']) ? `${str(f['address'])}${f['literal'] ? ' (address given)' : ''}` : 'resolved';
    case 'tcp':
      return 'connected';
    case 'x224': {
      if (f['legacy']) return 'Connection Confirm without negotiation data (legacy server)';
      const names = Array.isArray(f['responseFlagNames']) ? (f['responseFlagNames'] as unknown[]).filter((x): x is string => typeof x === 'string') : [];
      const flags = names.length > 0 ? `, flags ${names.join(',')}` : '';
      const sel = str(f['selected']);
      const req = str(f['requested']);
      return `${sel ? `selected ${sel}` : 'answered'}${req ? ` (requested ${req})` : ''}${flags}`;
    }
    case 'tls':
      return tlsLine(f);
    case 'credssp': {
      const n = (isObject(f['ntlm']) ? f['ntlm'] : {}) as Record<string, unknown>;
      const host = str(n['dnsComputer']) ?? str(n['netbiosComputer']);
      const dom = str(n['dnsDomain']) ?? str(n['netbiosDomain']);
      const os = str(n['osVersion']) ? `; ${str(n['os']) ?? 'Windows'} ${str(n['osVersion'])}` : '';
      const skew = typeof n['clockSkewSeconds'] === 'number' && Number.isFinite(n['clockSkewSeconds']) ? `; clock skew ${n['clockSkewSeconds']} s` : '';
      const ver = str(f['serverVersion']);
      return `${ver ? `CredSSP v${ver}` : 'CredSSP'}${host ? `; ${host}` : ''}${dom ? ` (${dom})` : ''}${os}${skew}`;
    }
    case 'nla_auth': {
      const user = str(f['user']);
      const pk = str(f['pubKeyAuth']);
      return `credentials accepted${user ? ` for ${user}` : ''}${pk ? `; server pubKeyAuth ${pk}` : ''}; password ${f['credentialsDelegated'] === true ? 'delegated next, as asked (--delegate)' : 'not delegated'}`;
    }
    case 'authz':
      return str(f['result']) ?? 'ok';
    case 'mcs': {
      const ver = str(f['serverVersion']);
      const enc = str(f['encryptionMethod']);
      const lvl = str(f['encryptionLevel']);
      const ch = Array.isArray(f['joinedChannels']) ? `; joined ${(f['joinedChannels'] as unknown[]).length} channels` : '';
      const early = Array.isArray(f['earlyCapabilityFlags']) && f['earlyCapabilityFlags'].length > 0 ? `; ${(f['earlyCapabilityFlags'] as unknown[]).join(',')}` : '';
      return `${ver ? `server ${ver}` : 'Connect-Response'}${enc ? `; encryption ${enc}${lvl ? ` level ${lvl}` : ''}` : ''}${ch}${early}`;
    }
    case 'security': {
      const enc = str(f['encryptionMethod']);
      const lvl = str(f['encryptionLevel']);
      const cert = isObject(f['certificate']) ? f['certificate'] : undefined;
      const certText = cert ? `; ${str(cert['type']) ?? ''} certificate${typeof cert['bitLength'] === 'number' ? ` RSA-${cert['bitLength']}` : ''}${str(cert['signature']) ? ` (signature ${str(cert['signature'])})` : ''}` : '';
      return `${enc ?? 'standard RDP security'}${lvl ? ` level ${lvl}` : ''}${certText}`;
    }
    case 'licensing': {
      const code = str(f['errorCode']);
      const out = str(f['outcome']);
      const msgs = Array.isArray(f['messages']) ? (f['messages'] as unknown[]).join(' → ') : undefined;
      return `${msgs ? `${msgs}: ` : ''}${code ?? out ?? 'ok'}`;
    }
    case 'activation': {
      const d = isObject(f['desktop']) ? f['desktop'] : undefined;
      const g = isObject(f['general']) ? f['general'] : undefined;
      const sets = Array.isArray(f['capabilitySets']) ? (f['capabilitySets'] as unknown[]).length : undefined;
      return `Demand Active${d ? `: desktop ${String(d['width'])}x${String(d['height'])} ${String(d['bpp'])} bpp` : ''}${sets !== undefined ? `; ${sets} capability sets` : ''}${g && str(g['os']) ? `; ${str(g['os'])}` : ''}`;
    }
    default:
      return 'ok';
  }
}

/** "TLS 1.3 TLS_AES_256_GCM_SHA384; CN=host; valid to 2027-12-01; RSA-2048", from what is known. */
function tlsLine(f: Record<string, unknown>): string {
  const head = [tlsVersionName(f['version']), str(f['cipher']) ?? cipherSuiteName(f['cipherSuite'])].filter(Boolean).join(' ');
  const cert = f['certificate'];
  const parts = [head || 'handshake done'];
  if (isObject(cert)) parts.push(...certSummary(cert));
  else if (typeof cert === 'string' || (cert === undefined && tlsVersionName(f['version']) === 'TLS 1.3')) parts.push('certificate: encrypted (TLS 1.3 hides it)');
  return parts.join('; ');
}

function certSummary(cert: Record<string, unknown>): string[] {
  const out: string[] = [];
  const subject = str(cert['subject']);
  if (subject) out.push(subject);
  const to = str(cert['notAfter']);
  if (to) out.push(`valid to ${to.slice(0, 10)}`);
  const key = str(cert['keyType']);
  const bits = str(cert['keyBits']);
  const curve = str(cert['curve']);
  if (key) out.push(`${key}${bits ? `-${bits}` : ''}${curve && !bits ? ` ${curve}` : ''}`);
  return out;
}

/** Lines under a stage: the certificate's thumbprints for tls (also when the stage failed after seeing it). */
function stageDetails(s: StageResult): string[] {
  if (s.stage !== 'tls') return [];
  const cert = s.facts?.['certificate'];
  if (!isObject(cert)) return [];
  const out: string[] = [];
  if (s.status === 'failed') {
    const sum = certSummary(cert);
    if (sum.length > 0) out.push(`certificate ${sum.join('; ')}`);
  }
  const sha1 = str(cert['sha1']);
  const sha256 = str(cert['sha256']);
  const prints = [
    ...(sha1 ? [`thumbprint (SHA-1) ${sha1.toUpperCase()}`] : []),
    ...(sha256 ? [`fingerprint sha256:${sha256.toLowerCase()}`] : []),
  ];
  if (prints.length > 0) out.push(prints.join('; '));
  return out;
}

const COMPAT_LABELS: Record<string, string> = {
  forceUpdatedClients: 'client policy Force Updated Clients',
  mitigated: 'client policy Mitigated',
  vulnerable: 'client policy Vulnerable',
  unpatchedClient: 'client without the 2018 CredSSP update',
};

/**
 * The credssp stage's clientCompatibility facts as a table (which clients connect, by their Encryption Oracle
 * Remediation policy), with the fix that fits the server's CredSSP version. Policies with the same answer share
 * a row, so an updated server takes two rows.
 */
function credsspCompatibility(s: StageResult | undefined): { head?: string; rows: string[] } | undefined {
  const t = s?.facts?.['clientCompatibility'];
  if (!isObject(t)) return undefined;
  const entries = Object.entries(t).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1].trim() !== '');
  if (entries.length === 0) return undefined;
  const groups = new Map<string, string[]>();
  for (const [k, v] of entries) groups.set(v, [...(groups.get(v) ?? []), k]);
  const label = (keys: string[]): string => {
    const policies = keys.filter((k) => k in COMPAT_LABELS && k !== 'unpatchedClient').map((k) => COMPAT_LABELS[k]!.replace('client policy ', ''));
    const others = keys.filter((k) => !(k in COMPAT_LABELS) || k === 'unpatchedClient').map((k) => COMPAT_LABELS[k] ?? k);
    const pol = policies.length === 0 ? [] : [`client policy ${policies.length === 1 ? policies[0] : `${policies.slice(0, -1).join(', ')} or ${policies.at(-1)}`}`];
    return [...pol, ...others].join(', ');
  };
  const table = [...groups].map(([v, keys]) => [label(keys), v] as const);
  const width = Math.max(...table.map(([l]) => l.length));
  const rows = table.map(([l, v]) => `  ${l.padEnd(width)}  ${v}`);
  const version = typeof s?.facts?.['serverVersion'] === 'number' ? (s.facts['serverVersion'] as number) : undefined;
  const serverFails = entries.some(([k, v]) => k !== 'unpatchedClient' && v.startsWith('fails'));
  if (serverFails || (version !== undefined && version < 5)) {
    rows.push(
      '  fix: install the CredSSP update for CVE-2018-0886 on the server (the May 2018 Windows updates, e.g. KB4103723 on Windows Server 2016); ' +
        'stopgap only, which leaves the client open to CVE-2018-0886: set the client policy Encryption Oracle Remediation ' +
        '(Computer Configuration > Administrative Templates > System > Credentials Delegation) to Vulnerable',
    );
  } else {
    rows.push(
      '  fix for clients without the update: install the CredSSP update for CVE-2018-0886 on the client; ' +
        'stopgap only: the server accepts them when its own Encryption Oracle Remediation policy is Mitigated or Vulnerable instead of Force Updated Clients',
    );
  }
  const head = str(s?.facts?.['oracleRemediation']);
  return { ...(head ? { head } : {}), rows };
}

/**
 * A Windows RDP listener whose certificate binding is broken resets or closes on the ClientHello (or fails its own
 * TLS setup): name the setting that holds the binding and the usual way to set it.
 */
function listenerCertHint(v: Verdict, failed: StageResult | undefined): string[] {
  if (v.stage !== 'tls' || !failed) return [];
  const kind = failed.error?.kind ?? '';
  const broken = v.id === 'tls_server_setup_failure' || kind === 'server_tls_setup_failure' || kind === 'tls_reset' || kind === 'tls_closed';
  if (!broken) return [];
  if (v.fixes.some((f) => f.includes(LISTENER_CERT_SETTING))) return [];
  return [
    `on Windows, the listener's certificate is the one whose SHA-1 thumbprint is in ${LISTENER_CERT_SETTING} (certlm.msc shows thumbprints); ` +
      'point it at a valid certificate in the computer\'s Personal store whose private key NETWORK SERVICE can read, usually with ' +
      'wmic /namespace:\\\\root\\cimv2\\TerminalServices PATH Win32_TSGeneralSetting Set SSLCertificateSHA1Hash="THUMBPRINT", then restart TermService',
  ];
}

/** "TLSv1.2" (OpenSSL's name) → "TLS 1.2"; "TLSv1" → "TLS 1.0"; names already in that form pass unchanged. */
function tlsVersionName(v: unknown): string | undefined {
  const s = str(v);
  if (!s) return undefined;
  const m = /^TLSv1(?:\.(\d))?$/.exec(s);
  if (m) return `TLS 1.${m[1] ?? '0'}`;
  if (s === 'SSLv3') return 'SSL 3.0';
  return s;
}

/** IANA names of the suites RDP servers pick, for captures (which carry only the number). */
const CIPHER_SUITES: Record<number, string> = {
  0x1301: 'TLS_AES_128_GCM_SHA256',
  0x1302: 'TLS_AES_256_GCM_SHA384',
  0x1303: 'TLS_CHACHA20_POLY1305_SHA256',
  0xc02b: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  0xc02c: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  0xc02f: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  0xc030: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  0xc027: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
  0xc028: 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384',
  0xc013: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
  0xc014: 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA',
  0x009c: 'TLS_RSA_WITH_AES_128_GCM_SHA256',
  0x009d: 'TLS_RSA_WITH_AES_256_GCM_SHA384',
  0x009e: 'TLS_DHE_RSA_WITH_AES_128_GCM_SHA256',
  0x009f: 'TLS_DHE_RSA_WITH_AES_256_GCM_SHA384',
  0x003c: 'TLS_RSA_WITH_AES_128_CBC_SHA256',
  0x003d: 'TLS_RSA_WITH_AES_256_CBC_SHA256',
  0x002f: 'TLS_RSA_WITH_AES_128_CBC_SHA',
  0x0035: 'TLS_RSA_WITH_AES_256_CBC_SHA',
  0x000a: 'TLS_RSA_WITH_3DES_EDE_CBC_SHA',
  0x0005: 'TLS_RSA_WITH_RC4_128_SHA',
  0x0004: 'TLS_RSA_WITH_RC4_128_MD5',
};

function cipherSuiteName(v: unknown): string | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^0x[0-9a-f]{1,4}$/i.test(v) ? Number.parseInt(v.slice(2), 16) : undefined;
  if (n === undefined) return undefined;
  return CIPHER_SUITES[n] ?? `cipher suite 0x${n.toString(16).padStart(4, '0')}`;
}

/** A printable fact, or undefined for absent, null, NaN, empty and non-scalar values. */
function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() === '' ? undefined : v;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : undefined;
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fmtHostPort(host: string, port: number): string {
  return host.includes(':') && !host.includes(' ') ? `[${host}]:${port}` : `${host}:${port}`;
}

function sev(s: string, c: ReturnType<typeof colors>): string {
  if (s === 'high' || s === 'critical') return c.red(s);
  if (s === 'medium') return c.yellow(s);
  return s;
}

function colors(on: boolean) {
  const wrap = (code: string) => (t: string) => (on ? `\x1b[${code}m${t}\x1b[0m` : t);
  return { bold: wrap('1'), red: wrap('31'), green: wrap('32'), yellow: wrap('33'), dim: wrap('2') };
}

/** The offline analysis: one stage ladder per RDP connection in the capture. */
export function formatAnalysis(a: CaptureAnalysis, file: string, o: TextOptions): string {
  const head = `${file}: ${a.format}, ${a.packets} packets, ${a.tcpFlows} TCP connection(s), ${a.connections.length} RDP connection(s)${a.udpPackets > 0 ? `, ${a.udpPackets} UDP packets (${(a.rdpUdp ?? []).length} RDP-UDP flow(s))` : ''}${a.truncated ? ', file cut short' : ''}\n`;
  const parts = a.connections.map((c) => `\n#${c.flow} ${c.client} -> ${c.server} (from frame ${c.firstFrame})\n${formatText(c.report, o).split('\n').slice(1).join('\n')}`);
  if (a.connections.length === 0) parts.push('no RDP connection found\n');
  return head + parts.join('');
}
