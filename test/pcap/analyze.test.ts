/**
 * Offline verdicts for every capture in ../shared/captures: the stage and verdict each MANIFEST/README entry
 * states, reached through the same decoders and X.224 connector as the live probe.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../../src/pcap/analyze.js';
import type { ProbeReport, VerdictId } from '../../src/probe/types.js';

const SHARED = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../shared/captures');
const load = (p: string) => analyzeCapture(new Uint8Array(readFileSync(resolve(SHARED, p))));

interface Expect {
  verdict: VerdictId;
  stage?: string;
  kind?: string;
  codeName?: string;
  selected?: string;
  tlsVersion?: string;
  certCN?: string;
  findings?: string[];
  mcs?: 'ok' | 'failed';
  anomaly?: RegExp;
}

function check(r: ProbeReport, e: Expect): void {
  expect(r.verdict.id).toBe(e.verdict);
  if (e.stage) expect(r.verdict.stage).toBe(e.stage);
  const failed = r.stages.find((s) => s.status === 'failed');
  if (e.kind) expect(failed?.error?.kind).toBe(e.kind);
  if (e.codeName) expect(failed?.error?.codeName).toBe(e.codeName);
  const x = r.stages.find((s) => s.stage === 'x224')!;
  if (e.selected) expect(x.facts?.['selected']).toBe(e.selected);
  const t = r.stages.find((s) => s.stage === 'tls')!;
  if (e.tlsVersion) expect(t.facts?.['version']).toBe(e.tlsVersion);
  if (e.certCN) expect((t.facts?.['certificate'] as Record<string, unknown>)['subjectCN']).toBe(e.certCN);
  for (const f of e.findings ?? []) expect(r.findings.map((x) => x.id)).toContain(f);
  if (e.mcs) expect(r.stages.find((s) => s.stage === 'mcs')?.status).toBe(e.mcs);
  if (e.anomaly) expect(r.anomalies.join('\n')).toMatch(e.anomaly);
  // Every stage is always present, in order.
  expect(r.stages).toHaveLength(11);
}

const PUBLIC: [string, Expect[]][] = [
  ['public/zeek/rdp-proprietary-encryption.pcap', [
    { verdict: 'negotiation_failure', stage: 'x224', codeName: 'SSL_NOT_ALLOWED_BY_SERVER' },
    { verdict: 'ok', selected: 'RDP', mcs: 'ok' },
  ]],
  ['public/zeek/rdp-to-ssl.pcap', [
    { verdict: 'ok', selected: 'HYBRID', tlsVersion: 'TLS 1.0', certCN: 'WIN2K8R2.awakecoding.ath.cx', findings: ['tls-legacy-version', 'cert-self-signed', 'cert-sha1-signature'] },
    { verdict: 'ok', selected: 'HYBRID', tlsVersion: 'TLS 1.0' },
  ]],
  ['public/zeek/rdp-x509.pcap', [{ verdict: 'ok', selected: 'RDP', mcs: 'ok' }]],
  ['public/zeek/rdp-unknown-keyboard.pcap', [{ verdict: 'ok', selected: 'RDP', anomaly: /ends before the MCS Connect Response/ }]],
  ['public/zeek/rdp-invalid-length.pcap', [{ verdict: 'protocol_error', stage: 'x224', kind: 'malformed_answer' }]],
  ['public/zeek/modbus-and-non-modbus-p502.pcap', [{ verdict: 'not_rdp', stage: 'x224', kind: 'not_rdp' }]],
  ['public/nDPI/rdp.pcap', [{ verdict: 'ok', selected: 'HYBRID_EX', tlsVersion: 'TLS 1.2', certCN: 'OFFICE-WIN10-VM', findings: ['cert-self-signed'] }]],
  ['public/nDPI/rdp3.pcap', [{ verdict: 'ok', selected: 'RDP', mcs: 'ok' }]],
  ['public/nDPI/synscan.pcap', [
    { verdict: 'filtered', stage: 'tcp', kind: 'connect_timeout' },
    { verdict: 'filtered', stage: 'tcp', kind: 'connect_timeout' },
  ]],
  ['public/arkime/socks5-rdp.pcap', [{ verdict: 'ok', selected: 'RDP', anomaly: /SOCKS5 proxy to 10\.0\.0\.1:3389/ }]],
];

const LOOPBACK: [string, Expect[]][] = [
  ['loopback/xrdp-negotiate_xfreerdp-default_tls-ok.pcap', [{ verdict: 'ok', selected: 'SSL', tlsVersion: 'TLS 1.3' }]],
  ['loopback/xrdp-tls_xfreerdp-sec-tls_ok.pcap', [{ verdict: 'ok', selected: 'SSL', tlsVersion: 'TLS 1.3' }]],
  ['loopback/shadow-nla_xfreerdp-nla_ok.pcap', [{ verdict: 'ok', selected: 'HYBRID', tlsVersion: 'TLS 1.3' }]],
  // CredSSP is encrypted, but its shape shows the refusal: the client's AUTHENTICATE-sized record, then the server
  // closes with no application data (compare nla_ok, where the server answers with its pubKeyAuth).
  ['loopback/shadow-nla_xfreerdp-nla_badpw.pcap', [{ verdict: 'nla_rejected', stage: 'nla_auth', kind: 'closed_after_authenticate', selected: 'HYBRID', tlsVersion: 'TLS 1.3' }]],
  ['loopback/shadow-nla_xfreerdp-sec-tls_HYBRID_REQUIRED.pcap', [{ verdict: 'negotiation_failure', codeName: 'HYBRID_REQUIRED_BY_SERVER' }]],
  ['loopback/shadow-tls_xfreerdp-sec-rdp_SSL_REQUIRED.pcap', [{ verdict: 'negotiation_failure', codeName: 'SSL_REQUIRED_BY_SERVER' }]],
  ['loopback/shadow-rdp_xfreerdp-sec-tls_SSL_NOT_ALLOWED.pcap', [{ verdict: 'negotiation_failure', codeName: 'SSL_NOT_ALLOWED_BY_SERVER' }]],
  ['loopback/xrdp-tls_probe-req-rdp_SSL_REQUIRED.pcap', [{ verdict: 'negotiation_failure', codeName: 'SSL_REQUIRED_BY_SERVER' }]],
  ['loopback/xrdp-tls_xfreerdp-sec-rdp_cc-without-neg.pcap', [{ verdict: 'connection_dropped', stage: 'mcs', kind: 'disconnect_provider_ultimatum', selected: 'RDP' }]],
  // The server's answer is the diagnosis (it chose standard RDP security, unoffered); the client's own abort is
  // an anomaly, as a probe that stops there by design looks the same on the wire.
  ['loopback/xrdp-rdp_xfreerdp-sec-tls_selects-rdp.pcap', [{ verdict: 'ok', selected: 'RDP', findings: ['standard-rdp-security-selected'], anomaly: /client closed the connection right after the server chose standard RDP security/ }]],
  ['loopback/xrdp-rdp_xfreerdp-sec-rdp_std-security.pcap', [{ verdict: 'ok', selected: 'RDP', mcs: 'ok' }]],
  ['loopback/shadow-rdp_xfreerdp-sec-rdp_std-security.pcap', [{ verdict: 'ok', selected: 'RDP', mcs: 'ok' }]],
  ['loopback/xrdp-tls-expired_xfreerdp-certdeny.pcap', [{ verdict: 'tls_failure', stage: 'tls', kind: 'client_closed_after_handshake', tlsVersion: 'TLS 1.3' }]],
  ['loopback/xrdp-tls_nmap-rdp-enum-encryption.pcap', [
    { verdict: 'ok', anomaly: /SYN scan/ },
    { verdict: 'negotiation_failure', codeName: 'SSL_REQUIRED_BY_SERVER' },
    { verdict: 'ok', selected: 'SSL', tlsVersion: 'TLS 1.3' },
    { verdict: 'negotiation_failure', codeName: 'SSL_REQUIRED_BY_SERVER' },
    { verdict: 'negotiation_failure', codeName: 'SSL_REQUIRED_BY_SERVER' },
    { verdict: 'tls_failure', stage: 'tls', codeName: 'decode_error' },
    { verdict: 'connection_dropped', stage: 'mcs', kind: 'disconnect_provider_ultimatum' },
  ]],
  ['loopback/closed_xfreerdp_rst.pcap', [{ verdict: 'port_closed', stage: 'tcp', kind: 'refused' }]],
  ['loopback/fake-hang_xfreerdp_no-cc.pcap', [{ verdict: 'no_answer', stage: 'x224', kind: 'timeout' }]],
  ['loopback/filtered_xfreerdp_syn-timeout.pcap', [{ verdict: 'filtered', stage: 'tcp', kind: 'connect_timeout' }]],
];

describe.each([...PUBLIC, ...LOOPBACK])('%s', (file, expected) => {
  it(`gives ${expected.map((e) => e.verdict).join(', ')}`, () => {
    const a = load(file);
    expect(a.connections.map((c) => c.report.verdict.id)).toEqual(expected.map((e) => e.verdict));
    a.connections.forEach((c, i) => check(c.report, expected[i]!));
  });
});

describe('captures without a TCP RDP connection', () => {
  it.each(['public/zeek/rdpeudp-handshake-fail.pcap', 'public/zeek/rdpeudp-handshake-success.pcap', 'public/nDPI/rdp2.pcap'])('%s: UDP only', (f) => {
    const a = load(f);
    expect(a.connections).toHaveLength(0);
    expect(a.udpPackets).toBeGreaterThan(0);
  });
});

describe('evidence points into the capture', () => {
  it('names the server frame of a negotiation failure', () => {
    const r = load('public/zeek/rdp-proprietary-encryption.pcap').connections[0]!.report;
    const x = r.stages.find((s) => s.stage === 'x224')!;
    expect(x.error?.message).toMatch(/server frame #\d+, offset 0/);
    expect(x.evidence?.[0]?.hex).toBe('030000130ed000001234000300080002000000');
  });
  it('certificate findings are judged at capture time', () => {
    // The 2019 Windows 10 certificate was valid when captured, though it has long expired.
    const r = load('public/nDPI/rdp.pcap').connections[0]!.report;
    expect(r.findings.map((f) => f.id)).not.toContain('cert-expired');
  });
});

describe('NLA from the shape of encrypted CredSSP', () => {
  it('badpw: the server closes right after the AUTHENTICATE-sized record: nla_rejected at nla_auth, said to be inferred', () => {
    const r = load('loopback/shadow-nla_xfreerdp-nla_badpw.pcap').connections[0]!.report;
    expect(r.verdict).toMatchObject({ id: 'nla_rejected', stage: 'nla_auth' });
    expect(r.stages.find((s) => s.stage === 'credssp')?.status).toBe('ok');
    const na = r.stages.find((s) => s.stage === 'nla_auth')!;
    expect(na.status).toBe('failed');
    expect(na.error?.message).toMatch(/^inferred from record sizes/);
    expect(na.error?.message).toMatch(/frame #16/);
    expect(na.facts?.['authenticateRecordBytes']).toBeGreaterThan(200);
  });
  it('nla_ok: the server answers the AUTHENTICATE with application data: still ok, CredSSP not guessed', () => {
    const r = load('loopback/shadow-nla_xfreerdp-nla_ok.pcap').connections[0]!.report;
    expect(r.verdict.id).toBe('ok');
    expect(r.stages.find((s) => s.stage === 'credssp')?.status).toBe('skipped');
    expect(r.stages.find((s) => s.stage === 'nla_auth')?.status).not.toBe('failed');
  });
});
