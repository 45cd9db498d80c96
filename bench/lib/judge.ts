/**
 * "Where do they disagree, and who is right": rules over the observed outputs, checked against the ground
 * truth of truth.ts (independent X.224 exchanges and TLS handshakes) and the server's own log. No row has a
 * fixed text: every sentence is built from what this run observed.
 */
import {
  failureName,
  hex,
  isFailure,
  nlaRequired,
  nlaSupported,
  tlsCheckLine,
  type Truth,
} from './truth.js';
import { NMAP_LAYERS, xfStage, type NmapView, type ProbeView, type XfView } from './tools.js';

export interface Observation {
  truth: Truth;
  probe: ProbeView;
  nmap: NmapView;
  nmapDebugError?: string;
  xf: XfView;
  /** xfreerdp again with a wrong password (run when the first exited 0) */
  xfWrongPassword?: XfView;
  /** server ERROR lines logged while each tool ran */
  serverLog: { probe: string[]; nmap: string[]; xf: string[] };
}

export type NoteKind = 'agree' | 'wrong' | 'no-answer' | 'both-right' | 'caveat' | 'disagree';

export interface Note {
  kind: NoteKind;
  /** the tool the note is about ('all' for agreement) */
  tool: 'rdp-probe' | 'nmap' | 'xfreerdp' | 'all';
  text: string;
}

const q = (s: string): string => `'${s}'`;

/** "selected SSL" / "RDP_NEG_FAILURE SSL_REQUIRED_BY_SERVER" / "no answer (timeout)" for one X.224 answer. */
export function describeTruthAnswer(a: string | undefined): string {
  if (a === undefined) return 'not asked';
  if (isFailure(a)) return `RDP_NEG_FAILURE ${failureName(a)}`;
  if (['RDP', 'SSL', 'HYBRID', 'HYBRID_EX', 'RDSTLS'].includes(a)) return `selected ${a}`;
  if (a === 'noneg') return 'a Connection Confirm without negotiation data';
  return a;
}

const PROBE_PROTOCOL_REQUEST: Record<string, number> = { RDP: 0x0, SSL: 0x1, HYBRID: 0x2, RDSTLS: 0x4, HYBRID_EX: 0x8 };

interface Expected {
  verdicts: string[];
  why: string;
  check?: (p: ProbeView) => string | null;
}

/** The verdict the evidence supports for rdp-probe's default request (SSL|HYBRID|HYBRID_EX = 0xb). */
export function expectedProbeVerdict(t: Truth): Expected {
  if (t.tcp === 'ECONNREFUSED') return { verdicts: ['port_closed'], why: 'TCP connect refused' };
  if (t.tcp === 'timeout') return { verdicts: ['filtered'], why: 'SYN never answered' };
  if (t.tcp !== 'connected') return { verdicts: ['unreachable', 'port_closed'], why: `TCP connect failed with ${t.tcp}` };
  const a = t.x224['0xb'];
  if (isFailure(a)) {
    const name = failureName(a)!;
    return {
      verdicts: ['negotiation_failure'],
      why: `X.224 answer to 0xb is RDP_NEG_FAILURE ${name}`,
      check: (p) => (p.failureName === name ? null : `names ${p.failureName ?? 'no code'} instead of ${name}`),
    };
  }
  if (a === 'noneg') return { verdicts: ['legacy_server'], why: 'Connection Confirm without negotiation data' };
  if (a === 'RDP') return { verdicts: ['ok'], why: 'the server selects standard RDP security for 0xb (no TLS stage to run)' };
  if (a === 'SSL' || a === 'HYBRID' || a === 'HYBRID_EX') {
    const m = t.tlsModern;
    const l = t.tlsLegacy;
    if (m?.ok) {
      return {
        verdicts: ['ok'],
        why: `X.224 selects ${a} and a default node:tls handshake gets ${m.version}`,
        check: (p) => (p.tlsVersion === m.version ? null : `reports TLS ${p.tlsVersion ?? 'none'} where the check got ${m.version}`),
      };
    }
    if (l?.ok) {
      return {
        verdicts: ['tls_version_mismatch'],
        why: `a TLS ≥1.2 handshake fails (${tlsCheckLine(m)}), one allowing TLS 1.0 at security level 0 gets ${l.version}`,
        check: (p) => (p.legacyVersion === l.version ? null : `does not name ${l.version} as the server's only version`),
      };
    }
    if (m && !m.ok && m.plaintextReply) {
      return { verdicts: ['tls_server_setup_failure'], why: 'the server answers the ClientHello in plaintext (wrong version number) to both TLS checks' };
    }
    return {
      verdicts: ['tls_failure', 'tls_version_mismatch'],
      why: `both TLS checks fail (modern: ${tlsCheckLine(m)}; legacy: ${tlsCheckLine(l)})`,
    };
  }
  if (a === 'timeout') return { verdicts: ['no_answer', 'timeout'], why: 'no X.224 answer' };
  if (a === 'closed') return { verdicts: ['connection_dropped'], why: 'the server closed after the Connection Request' };
  return { verdicts: ['?'], why: `X.224 answer ${a ?? '?'}` };
}

function expectedNla(t: Truth): 'required' | 'offered' | 'not_supported' {
  if (nlaRequired(t)) return 'required';
  return nlaSupported(t) ? 'offered' : 'not_supported';
}

// ---------------------------------------------------------------------------------------------------------------

function reachability(o: Observation): Note[] {
  const t = o.truth;
  const exp = expectedProbeVerdict(t);
  const nmapExp = t.tcp === 'timeout' ? 'filtered' : 'closed';
  const notes: Note[] = [];
  const probeOk = exp.verdicts.includes(o.probe.verdict);
  const nmapOk = o.nmap.state === nmapExp;
  const xs = xfStage(o.xf);
  const xfOk = xs === 'tcp' || xs === 'transport';
  if (!probeOk) notes.push({ kind: 'wrong', tool: 'rdp-probe', text: `says ${o.probe.verdict}; evidence: ${exp.why}` });
  if (!nmapOk) notes.push({ kind: 'wrong', tool: 'nmap', text: `says ${o.nmap.state}; evidence: ${exp.why}` });
  if (!xfOk) notes.push({ kind: 'wrong', tool: 'xfreerdp', text: `${o.xf.error ?? `rc ${o.xf.rc}`}; evidence: ${exp.why}` });
  if (probeOk && nmapOk && xfOk) {
    notes.push({
      kind: 'agree',
      tool: 'all',
      text: `${exp.why}: rdp-probe ${o.probe.verdict}, nmap ${o.nmap.state}, xfreerdp ${o.xf.error ?? `rc ${o.xf.rc}`}`,
    });
  }
  return notes;
}

function nmapNotes(o: Observation): Note[] {
  const t = o.truth;
  const n = o.nmap;
  const notes: Note[] = [];
  if (n.timedOut) return [{ kind: 'no-answer', tool: 'nmap', text: 'hung until killed' }];
  if (n.scriptFailed) {
    const parts = [`${q('Script execution failed')} instead of a security-layer list`];
    if (o.nmapDebugError) parts.push(`with -d: ${o.nmapDebugError}`);
    if (o.nmapDebugError?.includes('enum_ciphers')) {
      parts.push(
        `the cipher pass sends a Connection Request without RDP_NEG_REQ (this server answers it with ${describeTruthAnswer(t.x224NoNegReq)}${
          t.noNegReqServerLog?.length ? `, logging ${t.noNegReqServerLog.map(q).join(', ')}` : ''
        }) and then an MCS Connect-Initial whose answer the script cannot parse`,
      );
    }
    parts.push('the error discards the security-layer results the first pass had');
    notes.push({ kind: 'no-answer', tool: 'nmap', text: parts.join('; ') });
    return notes;
  }
  if (n.noScriptOutput) notes.push({ kind: 'no-answer', tool: 'nmap', text: 'the script printed nothing for an open port' });
  if (Object.keys(n.layers).length === 0) return notes;

  const wrongSelected: string[] = [];
  const wrongFailure: string[] = [];
  const missed: string[] = [];
  for (const [name, spec] of Object.entries(NMAP_LAYERS)) {
    const claimed = n.layers[name] === 'SUCCESS';
    const ans = t.x224[hex(spec.request)];
    const actual = ans === spec.protocol;
    if (claimed && !actual) {
      const item = `${q(`${name}: SUCCESS`)} (asked ${hex(spec.request)}, server ${describeTruthAnswer(ans)})`;
      (isFailure(ans) ? wrongFailure : wrongSelected).push(item);
    } else if (!claimed && actual) {
      missed.push(`${name} (server ${describeTruthAnswer(ans)} for ${hex(spec.request)})`);
    }
  }
  if (wrongSelected.length) {
    const nlaNote = wrongSelected.some((w) => w.startsWith("'CredSSP (NLA)")) ? `; rdp-probe's ${q(`NLA ${o.probe.nla ?? '?'}`)} ${o.probe.nla === expectedNla(t) ? 'matches' : 'does not match'} the X.224 answers` : '';
    notes.push({
      kind: 'wrong',
      tool: 'nmap',
      text: `${wrongSelected.join(', ')}: the script counts any RDP_NEG_RSP as SUCCESS without reading selectedProtocol${nlaNote}`,
    });
  }
  if (wrongFailure.length) notes.push({ kind: 'wrong', tool: 'nmap', text: `${wrongFailure.join(', ')}: SUCCESS although the server refused` });
  if (missed.length) notes.push({ kind: 'wrong', tool: 'nmap', text: `does not list ${missed.join(', ')}` });
  return notes;
}

function probeNotes(o: Observation): Note[] {
  const t = o.truth;
  const p = o.probe;
  const notes: Note[] = [];
  if (!p.parsed) return [{ kind: 'no-answer', tool: 'rdp-probe', text: `no report (${p.verdict})` }];
  const exp = expectedProbeVerdict(t);
  if (!exp.verdicts.includes(p.verdict)) {
    notes.push({ kind: 'wrong', tool: 'rdp-probe', text: `says ${p.verdict}, evidence points to ${exp.verdicts.join(' or ')}: ${exp.why}` });
  } else {
    const problem = exp.check?.(p);
    if (problem) notes.push({ kind: 'wrong', tool: 'rdp-probe', text: `${problem} (${exp.why})` });
  }
  const nla = expectedNla(t);
  if (p.nla && p.nla !== nla) {
    notes.push({ kind: p.nla === 'unknown' ? 'no-answer' : 'wrong', tool: 'rdp-probe', text: `NLA ${p.nla}, the X.224 answers say ${nla}` });
  }
  const bad: string[] = [];
  for (const [proto, acc] of Object.entries(p.accepted)) {
    const req = PROBE_PROTOCOL_REQUEST[proto];
    if (req === undefined) continue;
    const ans = t.x224[hex(req)];
    if (ans === undefined) continue;
    const actual = ans === proto;
    if (acc !== actual) bad.push(`${proto} ${acc ? 'accepted' : 'refused'} (server ${describeTruthAnswer(ans)} for ${hex(req)})`);
  }
  if (bad.length) notes.push({ kind: 'wrong', tool: 'rdp-probe', text: `enumeration: ${bad.join(', ')}` });
  return notes;
}

function probeCause(p: ProbeView): string {
  if (p.failureName) return p.failureName;
  if (p.verdict === 'tls_version_mismatch' && p.legacyVersion) return `the server speaks only ${p.legacyVersion}`;
  if (p.verdict === 'tls_version_mismatch' && p.legacyRetryFailure) return `no TLS version in common, and a TLS 1.0/1.1 retry failed too: ${p.legacyRetryFailure}`;
  if (p.verdict === 'tls_server_setup_failure') return 'a server-side TLS setup failure: plaintext answer to the ClientHello';
  return p.verdict;
}

function xfNotes(o: Observation): Note[] {
  const t = o.truth;
  const p = o.probe;
  const x = o.xf;
  const xs = xfStage(x);
  const probePassed = p.verdict === 'ok' || p.verdict === 'legacy_server';
  // what the server logged during the xfreerdp run; for failures beyond rdp-probe's stages, only what it did
  // not also log while rdp-probe ran
  const fmtLog = (lines: string[]): string => (lines.length ? `; server logged ${lines.slice(0, 2).map(q).join(', ')}` : '');
  const log = fmtLog(o.serverLog.xf);
  const onlyXf = o.serverLog.xf.filter((l) => !o.serverLog.probe.includes(l));
  const logLater = fmtLog(onlyXf.length ? onlyXf : o.serverLog.xf);
  const notes: Note[] = [];
  if (xs === 'hung') {
    notes.push({ kind: 'no-answer', tool: 'xfreerdp', text: `still connecting when killed at 20 s; rdp-probe: ${p.verdict}` });
    return notes;
  }
  if (xs === 'ok') {
    if (!probePassed) {
      if (x.negoErrors.length && t.x224['0x0'] === 'RDP') {
        notes.push({
          kind: 'both-right',
          tool: 'xfreerdp',
          text: `xfreerdp logged ${[...new Set(x.negoErrors)].join(', ')} ×${x.negoErrors.length}, then retried with standard RDP security (the server selects RDP for 0x0) and exited 0; rdp-probe reports the refusal of its TLS/NLA request (${p.verdict} ${probeCause(p)})${
            p.accepted['RDP'] ? ' and its enumeration lists RDP as accepted' : ''
          }. xfreerdp's 0 hides that the session runs without TLS`,
        });
      } else {
        notes.push({ kind: 'disagree', tool: 'xfreerdp', text: `xfreerdp exits 0 where rdp-probe says ${p.verdict} (${probeCause(p)})` });
      }
    }
    if (!nlaSupported(t)) {
      const w = o.xfWrongPassword;
      const wtxt = w ? `; with a wrong password: ${w.timedOut ? 'timeout' : `rc ${w.rc}`}${w.rc === 0 ? ' too' : ''}` : '';
      notes.push({
        kind: 'caveat',
        tool: 'xfreerdp',
        text: `+auth-only rc 0 means the connection got through, not that the password was checked: the server never selects HYBRID${wtxt}`,
      });
    } else if (o.xfWrongPassword && o.xfWrongPassword.rc !== 0) {
      notes.push({
        kind: 'agree',
        tool: 'xfreerdp',
        text: `NLA checks the password: wrong password → rc ${o.xfWrongPassword.rc} ${o.xfWrongPassword.error ?? ''}`.trim(),
      });
    }
    return notes;
  }
  if (xs === 'later') {
    if (probePassed) {
      notes.push({
        kind: 'both-right',
        tool: 'xfreerdp',
        text: `xfreerdp failed after the stages rdp-probe runs (dns → tls): ${x.error ?? '?'}${logLater}; rdp-probe stops at --depth tls, so its ${p.verdict} is about X.224/TLS only`,
      });
    } else {
      notes.push({ kind: 'disagree', tool: 'xfreerdp', text: `xfreerdp got past X.224/TLS (${x.error ?? '?'}) where rdp-probe says ${p.verdict}` });
    }
    return notes;
  }
  const probeStage = probePassed ? 'passed' : (p.stage ?? '?');
  const same = xs === probeStage || (xs === 'transport' && probeStage === 'tcp');
  if (same) {
    const xnames = [x.error, ...new Set(x.negoErrors)].filter(Boolean).join(', ');
    const cause = probeCause(p);
    const sameName = x.negoErrors.includes(cause);
    notes.push({
      kind: 'agree',
      tool: 'all',
      text: `rdp-probe and xfreerdp fail at ${xs}; ${sameName ? `both name ${cause}` : `rdp-probe names the cause — ${cause} — where xfreerdp logs ${xnames || `rc ${x.rc}`}`}${log}`,
    });
  } else {
    notes.push({
      kind: 'disagree',
      tool: 'xfreerdp',
      text: `xfreerdp fails at ${xs} (${x.error ?? `rc ${x.rc}`}), rdp-probe ${probePassed ? 'passes' : `fails at ${probeStage}`}${log}; evidence: ${expectedProbeVerdict(t).why}`,
    });
  }
  return notes;
}

export function judge(o: Observation): Note[] {
  if (o.truth.tcp !== 'connected') return reachability(o);
  return [...probeNotes(o), ...nmapNotes(o), ...xfNotes(o)];
}

const LABEL: Record<NoteKind, (tool: string) => string> = {
  agree: (tool) => (tool === 'all' ? 'agree' : `${tool}: agrees`),
  wrong: (tool) => `${tool} wrong`,
  'no-answer': (tool) => `${tool}: no result`,
  'both-right': () => 'both right',
  caveat: (tool) => `${tool} caveat`,
  disagree: () => 'disagree',
};

export function renderNotes(notes: Note[]): string {
  const hasProblem = notes.some((n) => n.kind === 'wrong' || n.kind === 'no-answer' || n.kind === 'disagree');
  const resolved = notes.some((n) => n.kind === 'both-right');
  const probeRight = !notes.some((n) => n.tool === 'rdp-probe' && (n.kind === 'wrong' || n.kind === 'no-answer'));
  const head = hasProblem ? (probeRight ? 'rdp-probe matches the evidence. ' : '') : resolved ? '' : 'no disagreement. ';
  return head + notes.map((n) => `**${LABEL[n.kind](n.tool)}**: ${n.text}`).join('<br>');
}
