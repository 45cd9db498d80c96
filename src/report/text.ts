/** The human report: a stage ladder, the verdict, the evidence and the likely fixes. Pure: report in, text out. */
import type { ProbeReport, StageResult } from '../probe/types.js';
import type { CaptureAnalysis } from '../pcap/analyze.js';

export interface TextOptions {
  color: boolean;
}

const MARK: Record<StageResult['status'], string> = { ok: '✓', failed: '✗', skipped: '-', not_reached: '·' };

export function formatText(r: ProbeReport, o: TextOptions): string {
  const c = colors(o.color);
  const lines: string[] = [];
  const where = r.target.address && r.target.address !== r.target.host ? `${r.target.host} (${r.target.address})` : r.target.host;
  lines.push(c.bold(`rdp-probe ${r.tool.version}  ${fmtHostPort(where, r.target.port)}`));
  for (const s of r.stages) {
    const mark = s.status === 'ok' ? c.green(MARK.ok) : s.status === 'failed' ? c.red(MARK.failed) : c.dim(MARK[s.status]);
    const time = s.durationMs !== undefined ? `${s.durationMs.toFixed(1).padStart(8)} ms` : ''.padStart(11);
    lines.push(`  ${mark} ${s.stage.padEnd(11)}${time}  ${stageLine(s)}`);
  }
  lines.push('');
  const v = r.verdict;
  const vtext = `${v.id}${v.stage ? ` at ${v.stage}` : ''}: ${v.summary}`;
  lines.push(`${c.bold('Verdict')}  ${v.id === 'ok' ? c.green(vtext) : c.red(vtext)}`);
  const ev = r.stages.filter((s) => s.status === 'failed' || (s.evidence && s.stage === v.stage));
  for (const s of ev) {
    if (s.error) {
      const code = s.error.code !== undefined ? ` code ${s.error.code}` : '';
      const name = s.error.codeName ? ` ${s.error.codeName}` : '';
      const spec = s.error.spec ? ` (${s.error.spec})` : '';
      lines.push(`${c.bold('Evidence')} ${s.stage}: ${s.error.kind}${code}${name}${spec}${s.error.path ? ` at ${s.error.path}` : ''}`);
    }
    for (const e of s.evidence ?? []) lines.push(`         ${e.direction} ${e.pdu ?? 'frame'} (${e.length} bytes): ${e.hex.slice(0, 160)}${e.hex.length > 160 ? '…' : ''}`);
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
  }
  if (r.findings.length > 0) {
    lines.push(c.bold('Findings'));
    for (const f of r.findings) lines.push(`  [${sev(f.severity, c)}] ${f.id}: ${f.message}`);
  }
  if (v.fixes.length > 0) {
    lines.push(c.bold('Likely fixes'));
    for (const f of v.fixes) lines.push(`  - ${f}`);
  }
  for (const a of r.anomalies) lines.push(`${c.yellow('Anomaly')} ${a}`);
  return `${lines.join('\n')}\n`;
}

function stageLine(s: StageResult): string {
  if (s.status === 'skipped') return `skipped: ${s.reason ?? ''}`;
  if (s.status === 'not_reached') return '';
  const f = s.facts ?? {};
  if (s.status === 'failed') return s.error?.message ?? 'failed';
  switch (s.stage) {
    case 'dns':
      return `${String(f['address'])}${f['literal'] ? ' (address given)' : ''}`;
    case 'tcp':
      return 'connected';
    case 'x224': {
      if (f['legacy']) return 'Connection Confirm without negotiation data (legacy server)';
      const flags = Array.isArray(f['responseFlagNames']) && f['responseFlagNames'].length > 0 ? `, flags ${(f['responseFlagNames'] as string[]).join(',')}` : '';
      return `selected ${String(f['selected'])} (requested ${String(f['requested'])})${flags}`;
    }
    case 'tls': {
      const cert = f['certificate'] as Record<string, unknown> | undefined;
      const cn = cert ? `; ${String(cert['subject'])}; valid to ${String(cert['notAfter']).slice(0, 10)}; ${String(cert['keyType'])}-${String(cert['keyBits'] ?? '')}` : '';
      return `${String(f['version'])} ${String(f['cipher'])}${cn}`;
    }
    case 'credssp': {
      const n = (f['ntlm'] ?? {}) as Record<string, unknown>;
      const host = n['dnsComputer'] ?? n['netbiosComputer'];
      const dom = n['dnsDomain'] ?? n['netbiosDomain'];
      const os = n['osVersion'] ? `; ${String(n['os'] ?? 'Windows')} ${String(n['osVersion'])}` : '';
      const skew = typeof n['clockSkewSeconds'] === 'number' ? `; clock skew ${n['clockSkewSeconds']} s` : '';
      return `CredSSP v${String(f['serverVersion'])}${host ? `; ${String(host)}` : ''}${dom ? ` (${String(dom)})` : ''}${os}${skew}`;
    }
    case 'nla_auth':
      return `credentials accepted for ${String(f['user'] ?? '?')}; server pubKeyAuth ${String(f['pubKeyAuth'] ?? '?')}; password ${f['credentialsDelegated'] === true ? 'delegated next, as asked (--delegate)' : 'not delegated'}`;
    case 'authz':
      return `${String(f['result'] ?? 'ok')}`;
    default:
      return 'ok';
  }
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
  const head = `${file}: ${a.format}, ${a.packets} packets, ${a.tcpFlows} TCP connection(s), ${a.connections.length} RDP connection(s)${a.udpPackets > 0 ? `, ${a.udpPackets} UDP packets (RDP-UDP is not analysed)` : ''}${a.truncated ? ', file cut short' : ''}\n`;
  const parts = a.connections.map((c) => `\n#${c.flow} ${c.client} -> ${c.server} (from frame ${c.firstFrame})\n${formatText(c.report, o).split('\n').slice(1).join('\n')}`);
  if (a.connections.length === 0) parts.push('no RDP connection found\n');
  return head + parts.join('');
}
