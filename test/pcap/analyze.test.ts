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
  ['public/zeek/rdp-unknown-keyboard.pcap', [{ verdict: 'ok', selected: 'RDP', anomaly: /capture ends after the MCS Connect-Initial \(waiting for the Connect-Response\), with no FIN or RST/ }]],
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
  ['loopback/xrdp-rdp_xfreerdp-sec-rdp_std-security.pcap', [{ verdict: 'connection_dropped', stage: 'licensing', kind: 'disconnect_provider_ultimatum', selected: 'RDP', mcs: 'ok' }]],
  ['loopback/shadow-rdp_xfreerdp-sec-rdp_std-security.pcap', [{ verdict: 'connects', selected: 'RDP', mcs: 'ok' }]],
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
    expect(na.error?.message).toMatch(/^NLA rejected by alert, inferred from record sizes/);
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

// ---- the session sequence offline (issue #12 item 7, issue #9): MCS, security, licensing, activation ----

const stageOf = (r: ProbeReport, s: string) => r.stages.find((x) => x.stage === s)!;
const factsOf = (r: ProbeReport, s: string) => (stageOf(r, s).facts ?? {}) as Record<string, unknown>;

describe('session stages read from standard-RDP-security captures', () => {
  it('zeek rdp-proprietary-encryption conn 2: FROG-POND build 6000, RC4 128-bit HIGH, 184-byte 512-bit proprietary certificate verified, then encrypted', () => {
    const r = load('public/zeek/rdp-proprietary-encryption.pcap').connections[1]!.report;
    const mcs = factsOf(r, 'mcs');
    expect(stageOf(r, 'mcs').status).toBe('ok');
    expect(mcs['client']).toMatchObject({ clientName: 'FROG-POND', clientBuild: 6000, version: '0x00080004', channels: ['rdpdr', 'rdpsnd', 'drdynvc', 'cliprdr'] });
    expect((mcs['client'] as { encryptionMethods: string[] }).encryptionMethods).toEqual(['ENCRYPTION_METHOD_40BIT', 'ENCRYPTION_METHOD_128BIT', 'ENCRYPTION_METHOD_56BIT', 'ENCRYPTION_METHOD_FIPS']);
    expect(mcs).toMatchObject({ result: 'rt-successful', encryptionMethod: '128BIT', encryptionLevel: 'HIGH', serverCertificate: 'proprietary', ioChannel: 1003 });
    // Joins as the client asked them: its user channel, the I/O channel, then the four static channels.
    expect(mcs['joinedChannels']).toEqual([1008, 1003, 1004, 1005, 1006, 1007]);
    const sec = stageOf(r, 'security');
    expect(sec.status).toBe('ok');
    expect(sec.facts).toMatchObject({ encryptionMethod: '128BIT', encryptionLevel: 'HIGH', certificate: { type: 'proprietary', bytes: 184, bitLength: 512, signature: 'verified with the Terminal Services key' } });
    expect(String(sec.facts?.['exchange'])).toMatch(/client random encrypted to the server key \(72 bytes, frame #32\)/);
    for (const s of ['licensing', 'activation']) {
      expect(stageOf(r, s).status).toBe('skipped');
      expect(stageOf(r, s).reason).toMatch(/^encrypted with standard RDP security: licensing and activation are not visible without the client random; the client sent FIN at frame #540 \(22\.1\d\d s\), then the server sent RST at frame #542/);
    }
    expect(factsOf(r, 'licensing')['clientInfo']).toMatchObject({ securityFlags: expect.arrayContaining(['SEC_INFO_PKT', 'SEC_ENCRYPT']) });
    expect(r.verdict.id).toBe('ok');
    expect(r.findings.map((f) => f.id)).not.toContain('rdp-encryption-weak');
  });

  it('zeek rdp-x509: an X.509 chain of 2 in the Server Security Data, CLIENT_COMPATIBLE; the capture is cut after the Connect-Response', () => {
    const r = load('public/zeek/rdp-x509.pcap').connections[0]!.report;
    expect(factsOf(r, 'mcs')['client']).toMatchObject({ clientName: 'JOHN-PC-LAPTOP', clientBuild: 9600, desktop: '1920x1080', channels: ['rdpdr', 'rdpsnd', 'cliprdr', 'drdynvc'] });
    expect(factsOf(r, 'mcs')).toMatchObject({ encryptionMethod: '128BIT', encryptionLevel: 'CLIENT_COMPATIBLE', serverCertificate: 'x509' });
    expect(String(factsOf(r, 'mcs')['incomplete'])).toMatch(/capture ends after the MCS Connect-Response.*cut/);
    const sec = stageOf(r, 'security');
    expect(sec.status).toBe('skipped');
    expect(sec.reason).toBe("the capture ends before the client's Security Exchange PDU");
    expect(sec.facts).toMatchObject({ certificate: { type: 'x509', bytes: 1252, chainLength: 2, temporary: true } });
    expect(r.verdict.id).toBe('ok');
  });

  it('nDPI rdp3 (legacy, no negotiation data): SEPTU build 2600, RC4 128-bit, proprietary certificate, then encrypted and cut', () => {
    const r = load('public/nDPI/rdp3.pcap').connections[0]!.report;
    expect(factsOf(r, 'x224')['requested']).toBe('none (no RDP_NEG_REQ)');
    expect(factsOf(r, 'mcs')['client']).toMatchObject({ clientName: 'SEPTU', clientBuild: 2600, channels: ['rdpdr', 'cliprdr', 'rdpsnd'] });
    expect((factsOf(r, 'mcs')['client'] as { encryptionMethods: string[] }).encryptionMethods).toEqual(['ENCRYPTION_METHOD_40BIT', 'ENCRYPTION_METHOD_128BIT', 'ENCRYPTION_METHOD_56BIT']);
    expect(stageOf(r, 'security').facts).toMatchObject({ encryptionMethod: '128BIT', encryptionLevel: 'CLIENT_COMPATIBLE', certificate: { type: 'proprietary', bytes: 184, bitLength: 512, signature: 'verified with the Terminal Services key' } });
    expect(stageOf(r, 'licensing').reason).toMatch(/not visible without the client random; the capture ends without a FIN or RST/);
  });

  it('arkime socks5-rdp: standard security through SOCKS5, cut before the Connect-Initial', () => {
    const r = load('public/arkime/socks5-rdp.pcap').connections[0]!.report;
    expect(stageOf(r, 'mcs')).toMatchObject({ status: 'skipped', reason: 'the capture ends before the MCS Connect-Initial' });
    expect(stageOf(r, 'credssp').reason).toBe('standard RDP security: no CredSSP (NLA)');
    expect(r.verdict.id).toBe('ok');
  });

  it('shadow /sec:rdp (method NONE): the whole sequence is readable: valid client, Demand Active, connects', () => {
    const r = load('loopback/shadow-rdp_xfreerdp-sec-rdp_std-security.pcap').connections[0]!.report;
    expect(r.verdict.id).toBe('connects');
    expect(r.verdict.summary).toMatch(/Demand Active received over RDP; server RDP 10\.7; desktop 1024x768; licensing STATUS_VALID_CLIENT/);
    expect(stageOf(r, 'security').facts).toMatchObject({ encryptionMethod: 'NONE', exchange: 'none: the server chose no encryption' });
    const lic = factsOf(r, 'licensing');
    expect(lic).toMatchObject({ messages: ['ERROR_ALERT'], errorCode: 'STATUS_VALID_CLIENT', stateTransition: 'ST_NO_TRANSITION' });
    // The Client Info is in the clear: the account is a fact, the password only that it came (and a finding).
    expect(lic['clientInfo']).toMatchObject({ user: 'rdpuser', password: 'delegated' });
    expect(JSON.stringify(r)).not.toMatch(/Passw0rd/);
    expect(r.findings.map((f) => f.id)).toEqual(expect.arrayContaining(['rdp-encryption-none', 'client-info-password-cleartext']));
    const act = factsOf(r, 'activation');
    expect(act).toMatchObject({ desktop: { width: 1024, height: 768, bpp: 32 }, channel: 1003 });
    expect(act['capabilitySets']).toEqual(expect.arrayContaining(['General', 'Bitmap', 'VirtualChannel']));
    expect(stageOf(r, 'activation').evidence?.[0]?.pdu).toBe('Demand Active PDU');
  });

  it('xrdp /sec:rdp crypt high: the encrypted Client Info with a salted MAC, then a DPUm: connection_dropped at licensing', () => {
    const r = load('loopback/xrdp-rdp_xfreerdp-sec-rdp_std-security.pcap').connections[0]!.report;
    expect(stageOf(r, 'security').facts).toMatchObject({ encryptionMethod: '128BIT', encryptionLevel: 'HIGH', certificate: { type: 'proprietary', bitLength: 2048 } });
    const lic = stageOf(r, 'licensing');
    expect(lic.status).toBe('failed');
    expect(lic.error).toMatchObject({ kind: 'disconnect_provider_ultimatum', codeName: 'rn-user-requested' });
    expect(lic.error?.message).toMatch(/frame #37 \(0\.81\d s\) after the Client Info PDU/);
    expect(lic.facts?.['clientInfo']).toMatchObject({ securityFlags: expect.arrayContaining(['SEC_SECURE_CHECKSUM']) });
    expect(r.anomalies.join('\n')).toMatch(/salted MAC \(SEC_SECURE_CHECKSUM\).*inferred/);
    expect(r.verdict).toMatchObject({ id: 'connection_dropped', stage: 'licensing' });
  });

  it('xrdp security_layer=tls, CR without negotiation: DPUm after the Connect-Initial, with the client facts kept', () => {
    const r = load('loopback/xrdp-tls_xfreerdp-sec-rdp_cc-without-neg.pcap').connections[0]!.report;
    const m = stageOf(r, 'mcs');
    expect(m.status).toBe('failed');
    expect(m.error?.message).toMatch(/Disconnect Provider Ultimatum \(rn-user-requested\) at frame #9 .* after the MCS Connect-Initial/);
    expect(m.facts?.['client']).toMatchObject({ clientName: 'vm', clientBuild: 18363, channels: ['rdpdr', 'rdpsnd', 'cliprdr', 'drdynvc'] });
    expect(r.verdict).toMatchObject({ id: 'connection_dropped', stage: 'mcs' });
  });
});

describe('RDP_NEG_REQ flags', () => {
  it('names RESTRICTED_ADMIN_MODE_REQUIRED and REDIRECTED_AUTHENTICATION_MODE_REQUIRED from the client request', () => {
    const bytes = new Uint8Array(readFileSync(resolve(SHARED, 'public/zeek/rdp-proprietary-encryption.pcap')));
    // The real capture with one byte changed in each CR: RDP_NEG_REQ flags 0x00 -> 0x03.
    const cookie = Buffer.from('Cookie: mstshash=FTBCO\\A70\r\n\x01\x00\x08\x00', 'latin1');
    let patched = 0;
    for (let i = Buffer.from(bytes).indexOf(cookie); i >= 0; i = Buffer.from(bytes).indexOf(cookie, i + 1)) {
      bytes[i + cookie.length - 3] = 0x03;
      patched++;
    }
    expect(patched).toBe(2);
    const r = analyzeCapture(bytes).connections[1]!.report;
    expect(factsOf(r, 'x224')['requestFlags']).toEqual(['RESTRICTED_ADMIN_MODE_REQUIRED', 'REDIRECTED_AUTHENTICATION_MODE_REQUIRED']);
    const plain = load('public/zeek/rdp-proprietary-encryption.pcap').connections[1]!.report;
    expect(factsOf(plain, 'x224')['requestFlags']).toBeUndefined();
  });
});
