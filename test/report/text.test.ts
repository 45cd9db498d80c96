/**
 * The text report (src/report/text.ts) as a person reads it, over reports from the real paths: runProbe against
 * the lab NLA peer and scripted peers on loopback, and analyzeCapture over every recorded capture. Plus synthetic
 * reports with every stage status and missing facts, for what no real server produces.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { generateCert, LOCAL_SANS } from '../../src/lab/certs.js';
import { startNlaPeer, type NlaPeer, type NlaPeerOptions } from '../../src/lab/rdp-nla-peer.js';
import { analyzeCapture } from '../../src/pcap/analyze.js';
import { ReportBuilder } from '../../src/probe/report-builder.js';
import { STAGES, type Finding, type ProbeReport, type Severity, type StageResult, type StageStatus } from '../../src/probe/types.js';
import { encodeNegResponse } from '../../src/protocol/nego.js';
import { NtStatus } from '../../src/protocol/ntstatus.js';
import { encodeConnectionConfirm } from '../../src/protocol/x224.js';
import { formatAnalysis, formatText, LISTENER_CERT_SETTING } from '../../src/report/text.js';
import { runProbe, type ProbeOptions } from '../../src/transport/drive.js';
import { startScripted, type ScriptedServer } from '../helpers/scripted-server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CAPTURE_DIRS = [path.resolve(here, '../../../shared/captures'), path.resolve(here, '../../captures')];
const ALICE = { user: 'alice', domain: 'LAB', password: 'Corr3ct-Horse!' };
const CERT = generateCert({ commonName: 'localhost', sans: LOCAL_SANS, keyName: 'report-text' });
const fast = { stageTimeoutMs: 2000, targetTimeoutMs: 10_000, enumerate: false } as const;
const plain = { color: false };

const closers: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(closers.map((c) => c.close()));
});

async function peer(o: Partial<NlaPeerOptions> = {}): Promise<NlaPeer> {
  const p = await startNlaPeer({ credsspVersion: 6, users: [ALICE], cert: CERT, ...o });
  closers.push(p);
  return p;
}

async function probe(p: NlaPeer, o: Partial<ProbeOptions> = {}): Promise<ProbeReport> {
  const r = await runProbe({ host: p.host, port: p.port }, { ...fast, trust: { pins: [p.fingerprint] }, ...o });
  await p.settled();
  return r;
}

async function scripted(...args: Parameters<typeof startScripted>): Promise<ScriptedServer> {
  const s = await startScripted(...args);
  closers.push(s);
  return s;
}

function captureFiles(): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = path.join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(pcap|pcapng|cap)$/i.test(n)) out.push(p);
    }
  };
  for (const d of CAPTURE_DIRS) walk(d);
  return out.sort();
}

function analyzeText(file: string): string {
  return formatAnalysis(analyzeCapture(new Uint8Array(readFileSync(file))), file, plain);
}

/** Lines a person would call broken: a value that did not exist, or a label with nothing after it. */
function brokenLines(text: string): string[] {
  return text.split('\n').filter((l) => /undefined|\bnull\b|\bNaN\b|\[object/.test(l) || /(with|:)\s*$/.test(l));
}

/**
 * Sentences (fragments between ": ", "; " and ". ", 25+ characters) that a report says more than once. Ladder lines
 * of skipped stages are left out: one skip reason naturally covers several stages.
 */
function repeatedSentences(text: string): string[] {
  const seen = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (/^\s+- \S+\s+skipped/.test(line)) continue;
    for (const frag of line.split(/: |; |\. /)) {
      const f = frag.trim().replace(/^- /, '');
      if (f.length >= 25) seen.set(f, (seen.get(f) ?? 0) + 1);
    }
  }
  return [...seen].filter(([, n]) => n > 1).map(([f, n]) => `${n}x ${f}`);
}

function cc(selectedProtocol: number): Buffer {
  return Buffer.from(encodeConnectionConfirm({ dstRef: 0, srcRef: 0x1234, classOption: 0, neg: encodeNegResponse({ flags: 0, selectedProtocol }) }));
}

describe('item 1: the certificate thumbprint and the listener certificate setting', () => {
  it('shows the SHA-1 thumbprint (upper-case, as Windows stores it) next to the SHA-256 fingerprint', async () => {
    const p = await peer();
    const r = await probe(p, { depth: 'tls' });
    const text = formatText(r, plain);
    const sha1 = createHash('sha1').update(p.certDer).digest('hex').toUpperCase();
    const sha256 = createHash('sha256').update(p.certDer).digest('hex');
    expect(sha1).toMatch(/^[0-9A-F]{40}$/);
    const line = text.split('\n').find((l) => l.includes(sha1));
    expect(line, text).toBeDefined();
    expect(line).toContain(`thumbprint (SHA-1) ${sha1}`);
    expect(line).toContain(`sha256:${sha256}`);
    // Right under the tls line of the ladder.
    const lines = text.split('\n');
    expect(lines[lines.indexOf(line!) - 1]).toMatch(/^ {2}✓ tls /);
    expect(`sha256:${sha256}`).toBe(p.fingerprint);
  });

  it('a reset on the ClientHello names SSLCertificateSHA1Hash and how to set it', async () => {
    const srv = await scripted((s) => {
      s.write(cc(1));
      s.once('data', () => s.resetAndDestroy());
      s.resume();
    });
    const r = await runProbe({ host: srv.host, port: srv.port }, { ...fast, depth: 'tls' });
    expect(r.stages.find((s) => s.stage === 'tls')?.error?.kind).toBe('tls_reset');
    const text = formatText(r, plain);
    const fixes = text.slice(text.indexOf('Likely fixes'));
    expect(fixes).toContain(LISTENER_CERT_SETTING);
    expect(LISTENER_CERT_SETTING).toBe('HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp\\SSLCertificateSHA1Hash');
    expect(fixes).toContain('wmic /namespace:\\\\root\\cimv2\\TerminalServices PATH Win32_TSGeneralSetting Set SSLCertificateSHA1Hash="THUMBPRINT"');
    expect(text.split(LISTENER_CERT_SETTING)).toHaveLength(2);
  });

  it('a server that cannot set up TLS (xrdp with a 1024-bit key, recorded) names the setting too; a TLS alert does not', () => {
    const setup = analyzeText(path.join(CAPTURE_DIRS[1]!, 'xrdp-rsa1024_probe_tls-server-setup-failure.pcap'));
    expect(setup).toMatch(/tls_server_setup_failure at tls/);
    expect(setup).toContain(LISTENER_CERT_SETTING);
    const alert = analyzeText(path.join(CAPTURE_DIRS[0]!, 'loopback/xrdp-tls_nmap-rdp-enum-encryption.pcap'));
    expect(alert).toMatch(/tls_alert code 50 decode_error/);
    expect(alert).not.toContain('SSLCertificateSHA1Hash');
  });
});

describe('item 2: the CredSSP client-compatibility table', () => {
  const section = (text: string): string[] => {
    const lines = text.split('\n');
    const i = lines.findIndex((l) => l.startsWith('CredSSP clients'));
    expect(i, text).toBeGreaterThan(0);
    const end = lines.findIndex((l, j) => j > i && !l.startsWith('  '));
    return lines.slice(i + 1, end);
  };

  it('a server without the CVE-2018-0886 fix (CredSSP 3): which client settings fail, and the fix with its stopgap', async () => {
    const p = await peer({ credsspVersion: 3 });
    const r = await probe(p, { depth: 'credssp' });
    const rows = section(formatText(r, plain));
    const row = (label: string) => rows.find((l) => l.trimStart().startsWith(label)) ?? '';
    expect(row('client policy Force Updated Clients or Mitigated')).toMatch(/\s{2}fails: "CredSSP encryption oracle remediation" error/);
    expect(row('client policy Vulnerable, client without the 2018 CredSSP update')).toMatch(/\s{2}works$/);
    expect(rows).toHaveLength(3);
    const fix = row('fix');
    expect(fix).toContain('CVE-2018-0886');
    expect(fix).toContain('KB4103723');
    expect(fix).toMatch(/on the server/);
    expect(fix).toMatch(/stopgap.*Encryption Oracle Remediation.*Vulnerable/);
  });

  it('an updated server (CredSSP 6): every policy works; the fix is for clients without the update', async () => {
    const p = await peer({ credsspVersion: 6 });
    const r = await probe(p, { depth: 'credssp' });
    const rows = section(formatText(r, plain));
    // The three policies share one row.
    expect(rows.find((l) => l.trimStart().startsWith('client policy Force Updated Clients, Mitigated or Vulnerable'))).toMatch(/\s{2}works$/);
    expect(rows.find((l) => l.trimStart().startsWith('client without the 2018 CredSSP update'))).toMatch(/\s{2}fails if the server requires updated clients/);
    expect(rows).toHaveLength(3);
    expect(rows.find((l) => l.trimStart().startsWith('fix'))).toMatch(/clients without the update.*on the client/);
  });

  it('no table when CredSSP did not run', async () => {
    const p = await peer();
    const r = await probe(p, { depth: 'tls' });
    expect(formatText(r, plain)).not.toContain('CredSSP clients');
  });
});

describe('item 3: no undefined, no dangling labels', () => {
  const files = captureFiles();
  it('there are captures', () => expect(files.length).toBeGreaterThanOrEqual(30));

  it('analyze text of every capture has no undefined/null/NaN/[object and no line ending in "with:" or ":"', () => {
    const bad: string[] = [];
    for (const f of files) {
      let text: string;
      try {
        text = analyzeText(f);
      } catch {
        continue; // not a capture this reader accepts: the CLI reports that itself
      }
      for (const l of brokenLines(text)) bad.push(`${path.basename(f)}: ${l}`);
      // The stage ladder, evidence and details never leave "with:" hanging (the verdict sentence is verdict.ts's).
      for (const l of text.split('\n').filter((x) => !x.startsWith('Verdict') && / with:/.test(x))) bad.push(`${path.basename(f)}: ${l}`);
    }
    expect(bad).toEqual([]);
  });

  it('TLS 1.3 hides the certificate: the analyze text says so, with the cipher suite named', () => {
    const text = analyzeText(path.join(CAPTURE_DIRS[0]!, 'loopback/shadow-nla_xfreerdp-nla_ok.pcap'));
    const tls = text.split('\n').find((l) => /^ {2}✓ tls /.test(l));
    expect(tls).toMatch(/TLS 1\.3 TLS_AES_\d+_GCM_SHA\d+; certificate: encrypted \(TLS 1\.3 hides it\)$/);
  });

  it('a TLS 1.0 capture of Windows Server 2008 R2: "TLS 1.0", the cipher suite named, the certificate and its thumbprint', () => {
    const text = analyzeText(path.join(CAPTURE_DIRS[0]!, 'public/zeek/rdp-to-ssl.pcap'));
    const lines = text.split('\n');
    const i = lines.findIndex((l) => /^ {2}✓ tls /.test(l));
    expect(lines[i]).toMatch(/ {2}TLS 1\.0 TLS_\w+; CN=WIN2K8R2\.awakecoding\.ath\.cx; valid to 2021-02-12; RSA-2048$/);
    // (The verdict sentence is verdict.ts's own.)
    expect(lines.filter((l) => !l.startsWith('Verdict')).join('\n')).not.toMatch(/TLSv1\b/);
    // The same certificate is a fixture: its thumbprint, computed here from the DER, is on the next line.
    const der = readFileSync(path.resolve(here, '../fixtures/x509/win2k8r2-awakecoding.der'));
    expect(lines[i + 1]).toBe(`${' '.repeat(28)}thumbprint (SHA-1) ${createHash('sha1').update(der).digest('hex').toUpperCase()}; fingerprint sha256:${createHash('sha256').update(der).digest('hex')}`);
  });

  it('synthetic reports: every stage in every status, with and without facts, render cleanly', () => {
    const statuses: StageStatus[] = ['ok', 'failed', 'skipped', 'not_reached'];
    const factSets: (Record<string, unknown> | undefined)[] = [
      undefined,
      {},
      { address: null, selected: null, requested: undefined, version: null, cipher: null, serverVersion: NaN, ntlm: null, certificate: null, result: null },
      { version: 'TLSv1.3', certificate: 'encrypted (TLS 1.3)', clientCompatibility: {} },
      { version: 'TLSv1.2', cipherSuite: '0xc030', certificate: { subject: null, keyBits: NaN, sha1: null } },
      { ntlm: { osVersion: '10.0.1', clockSkewSeconds: NaN }, clientCompatibility: { vulnerable: 'works', mitigated: null } },
    ];
    const bad: string[] = [];
    let n = 0;
    for (const stage of STAGES) {
      for (const status of statuses) {
        for (const facts of factSets) {
          for (const withError of [false, true]) {
            const b = new ReportBuilder({ host: 'h', port: 3389 }, 'session', () => 0, new Date(0), '0.0.0');
            const res: StageResult = {
              stage,
              status,
              ...(facts ? { facts } : {}),
              ...(withError ? { error: { layer: 'peer', kind: 'x', message: '' } } : {}),
              ...(status === 'ok' || status === 'failed' ? { durationMs: NaN } : {}),
            };
            b.set(res);
            const text = formatText(b.build(), plain);
            n++;
            for (const l of brokenLines(text)) bad.push(`${stage}/${status}/${JSON.stringify(facts)}/${withError}: ${l}`);
          }
        }
      }
    }
    expect(n).toBe(STAGES.length * 4 * factSets.length * 2);
    expect(bad).toEqual([]);
  });
});

describe('item 4: no repeated words in evidence labels, no sentence said twice', () => {
  it('evidence of bytes the CredSSP connector could not read is not labelled "server server bytes"', async () => {
    const p = await peer({ garbageInsteadOfChallenge: true });
    const r = await probe(p, { depth: 'credssp' });
    const cr = r.stages.find((s) => s.stage === 'credssp')!;
    expect(cr.status).toBe('failed');
    const labels = (rep: ProbeReport): string[] =>
      formatText(rep, plain)
        .split('\n')
        .filter((l) => /^ {9}(server|client) /.test(l))
        .map((l) => l.slice(0, l.indexOf(':')));
    const real = labels(r);
    expect(real.length).toBeGreaterThan(0);
    for (const l of real) expect(l).not.toMatch(/\b(\w+) \1\b/i);
    // The connector used to name such bytes 'server bytes'; with direction 'server' that read "server server bytes".
    const ev = cr.evidence![0]!;
    const older = { ...r, stages: r.stages.map((s) => (s === cr ? { ...cr, evidence: [{ ...ev, pdu: 'server bytes' }] } : s)) };
    expect(labels(older)).toEqual([`         server sent ${ev.length} bytes`]);
    const unnamed = { ...r, stages: r.stages.map((s) => (s === cr ? { ...cr, evidence: [{ direction: 'server' as const, hex: ev.hex, length: ev.length }] } : s)) };
    expect(labels(unnamed)).toEqual([`         server sent ${ev.length} bytes`]);
  });

  it('a rejected password (TSRequest errorCode STATUS_LOGON_FAILURE): each sentence once, the code in hex with its name', async () => {
    const p = await peer({ errorCodeAfterAuthenticate: NtStatus.STATUS_LOGON_FAILURE });
    const r = await probe(p, { depth: 'auth', credentials: ALICE });
    expect(r.verdict).toMatchObject({ id: 'nla_rejected', stage: 'nla_auth' });
    const text = formatText(r, plain);
    expect(repeatedSentences(text), text).toEqual([]);
    const msg = r.stages.find((s) => s.stage === 'nla_auth')!.error!.message;
    expect(text.split(msg)).toHaveLength(2);
    expect(text).toMatch(/^Verdict {2}nla_rejected at nla_auth: \S/m);
    expect(text).toMatch(/Evidence nla_auth: error_code code 0xC000006D STATUS_LOGON_FAILURE/);
    expect(text).not.toContain('3221225581');
  });

  it('a server that closes after the AUTHENTICATE (as FreeRDP does for a wrong password): each sentence once', async () => {
    const p = await peer({ closeAfterAuthenticate: true });
    const r = await probe(p, { depth: 'auth', credentials: ALICE });
    expect(r.verdict.id).toBe('nla_rejected');
    const text = formatText(r, plain);
    expect(repeatedSentences(text), text).toEqual([]);
    const msg = r.stages.find((s) => s.stage === 'nla_auth')!.error!.message;
    expect(text.split(msg)).toHaveLength(2);
  });

  it('a verdict that is nothing but the stage message (authz access denied): said in the verdict line, the ladder points to it', async () => {
    const p = await peer({ protocol: 'hybrid_ex', earlyUserAuthResult: 5 });
    const r = await probe(p, { depth: 'session', credentials: ALICE, delegate: true });
    expect(r.verdict).toMatchObject({ id: 'not_authorized', stage: 'authz' });
    const text = formatText(r, plain);
    expect(repeatedSentences(text), text).toEqual([]);
    expect(text).toMatch(/^Verdict {2}not_authorized at authz: authenticated, but not allowed to log on over RDP/m);
    expect(text).toMatch(/^ {2}✗ authz .* failed \(AUTHZ_ACCESS_DENIED\): see the verdict$/m);
  });

  it('every connection of every capture: each sentence once', () => {
    const bad: string[] = [];
    for (const f of captureFiles()) {
      let a;
      try {
        a = analyzeCapture(new Uint8Array(readFileSync(f)));
      } catch {
        continue;
      }
      for (const c of a.connections) for (const s of repeatedSentences(formatText(c.report, plain))) bad.push(`${path.basename(f)} #${c.flow}: ${s}`);
    }
    expect(bad).toEqual([]);
  });
});

describe('item 5: findings by severity', () => {
  it('critical, high, medium, low, info, whatever order they come in; equal severities keep their order', () => {
    const sevs: Severity[] = ['info', 'low', 'critical', 'medium', 'info', 'high', 'low', 'critical'];
    const findings: Finding[] = sevs.map((severity, i) => ({ id: `f${i}`, severity, stage: 'tls', message: `finding ${i}` }));
    // The report as a library user may hand it over: findings in any order (the builder's own order is not relied on).
    const r = { ...new ReportBuilder({ host: 'h', port: 3389 }, 'tls', () => 0, new Date(0), '0.0.0').build(), findings };
    const text = formatText(r, plain);
    const printed = [...text.matchAll(/^ {2}\[(\w+)\] (f\d+):/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(printed).toEqual(['critical f2', 'critical f7', 'high f5', 'medium f3', 'low f1', 'low f6', 'info f0', 'info f4']);
  });

  it('the lab server without the CredSSP fix: the high finding comes before the info one', async () => {
    const p = await peer({ credsspVersion: 3 });
    const r = await probe(p, { depth: 'credssp' });
    const ids = r.findings.map((f) => f.severity);
    expect(ids).toContain('high');
    expect(ids).toContain('info');
    const text = formatText(r, plain);
    expect(text.indexOf('[high]')).toBeGreaterThan(0);
    expect(text.indexOf('[high]')).toBeLessThan(text.indexOf('[info]'));
  });
});
