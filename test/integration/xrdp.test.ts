/**
 * Verdicts against real xrdp 0.9 servers (Debian package) started on loopback by the suite. Each case names the
 * scenario (test/servers/xrdp.ts) and what the probe must conclude from the server's real bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProbe, type ProbeOptions } from '../../src/transport/drive.js';
import type { ProbeReport } from '../../src/probe/types.js';
import { SecurityProtocol } from '../../src/protocol/nego.js';
import { certZoo, realServerSuite, startXrdp, stopAllServers, type RunningServer, type XrdpScenario } from '../servers/launcher.js';
import { readFileSync } from 'node:fs';
import { peakOpen } from '../helpers/relay.js';
import type { ProbeCapture } from '../../src/transport/capture-tap.js';

const { skip } = realServerSuite(['xrdp'], 'xrdp verdicts');

const SCENARIOS: XrdpScenario[] = [
  'negotiate', 'tls', 'rdp', 'nocert', 'negotiate-nocert', 'expired', 'notyetvalid', 'wrongcn', 'rsa1024', 'rsa1024-sec0',
  'sha1', 'casigned', 'keymismatch', 'tls10', 'tls10-broken', 'tls12',
];

const opts: Partial<ProbeOptions> = { stageTimeoutMs: 4000, targetTimeoutMs: 20000, now: () => new Date() };

describe.skipIf(skip)('real xrdp servers', () => {
  const servers = new Map<string, RunningServer>();
  const probe = (name: XrdpScenario, over: Partial<ProbeOptions> = {}): Promise<ProbeReport> => {
    const s = servers.get(name)!;
    return runProbe({ host: s.host, port: s.port }, { ...opts, ...over });
  };
  const st = (r: ProbeReport, id: string) => r.stages.find((s) => s.stage === id)!;
  const ids = (r: ProbeReport) => r.findings.map((f) => f.id);

  beforeAll(async () => {
    for (const name of SCENARIOS) servers.set(name, await startXrdp(name));
    servers.set('tls-v6', await startXrdp('tls', { host: '::1' }));
  }, 120_000);
  afterAll(stopAllServers, 60_000);

  it('negotiate: TLS selected, TLS 1.3 facts, RDP and SSL accepted, NLA not supported', async () => {
    const r = await probe('negotiate');
    expect(r.verdict.id).toBe('ok');
    expect(st(r, 'x224').facts?.['selected']).toBe('SSL');
    const tls = st(r, 'tls');
    expect(tls.facts?.['version']).toBe('TLS 1.3');
    const cert = tls.facts?.['certificate'] as Record<string, unknown>;
    expect(cert['subjectCN']).toBe('localhost');
    expect(cert['keyBits']).toBe(2048);
    expect(String(cert['sha256'])).toMatch(/^[0-9a-f]{64}$/);
    expect(ids(r)).toContain('cert-self-signed');
    const en = r.enumeration!;
    expect(en.nla).toBe('not_supported');
    expect(en.standardRdpSecurity).toBe('allowed');
    // xrdp answers a HYBRID-only request by selecting RDP: that is a refusal of HYBRID, not acceptance.
    expect(en.protocols.find((p) => p.protocol === 'HYBRID')).toMatchObject({ accepted: false, how: 'observed', answer: 'selected RDP' });
    expect(en.connections).toBeLessThanOrEqual(6);
  });

  it('negotiate: the enumeration runs beside the main connection, two enumeration connections at most at once, same answers', async () => {
    // The probe's own view of its connections (the recording hook): when each was opened and when we closed it.
    const legs: { label: string; opened: number; closed?: number }[] = [];
    const capture: ProbeCapture = {
      connection(label, _a, _p, tUs) {
        const leg: { label: string; opened: number; closed?: number } = { label, opened: tUs };
        legs.push(leg);
        return { connected() {}, sent() {}, received() {}, serverClosed() {}, clientClosed: (t) => void (leg.closed ??= t) };
      },
      keylog() {},
    };
    const via = await probe('negotiate', { capture });
    const direct = await probe('negotiate');
    expect(via.enumeration?.encryptionMethods).toEqual(direct.enumeration?.encryptionMethods);
    expect(via.enumeration?.protocols).toEqual(direct.enumeration?.protocols);
    expect(legs[0]!.label).toBe('main connection');
    // The protocol questions and the five encryption methods, one connection each.
    expect(legs.filter((l) => l.label.startsWith('enumeration')).length).toBe(via.enumeration!.connections - 1);
    expect(legs.filter((l) => l.label.startsWith('encryption methods')).length).toBe(5);
    const enumLegs = legs.slice(1);
    expect(enumLegs.every((l) => l.closed !== undefined)).toBe(true);
    // Two slots (test/transport/slots.test.ts holds that); seen from 'close' events, which come a turn of the
    // event loop after a slot is given back, a third may still look open. Before the lanes, this was 1 (or 2).
    expect(peakOpen(enumLegs)).toBeGreaterThanOrEqual(2);
    expect(peakOpen(enumLegs)).toBeLessThanOrEqual(3);
    // The first enumeration connection opened before the main connection closed.
    expect(enumLegs[0]!.opened).toBeLessThan(legs[0]!.closed!);
  });

  it('tls: standard RDP security refused (SSL_REQUIRED_BY_SERVER to a request for RDP)', async () => {
    const r = await probe('tls');
    expect(r.verdict.id).toBe('ok');
    expect(r.enumeration?.standardRdpSecurity).toBe('refused');
    const rdpOnly = await probe('tls', { requestedProtocols: SecurityProtocol.PROTOCOL_RDP, enumerate: false });
    expect(rdpOnly.verdict.id).toBe('negotiation_failure');
    expect(st(rdpOnly, 'x224').error?.codeName).toBe('SSL_REQUIRED_BY_SERVER');
    expect(st(rdpOnly, 'x224').evidence?.[0]?.hex).toBe('030000130ed000001234000300080001000000');
  });

  it('tls over IPv6 loopback', async () => {
    const s = servers.get('tls-v6')!;
    const r = await runProbe({ host: s.host, port: s.port }, { ...opts, enumerate: false });
    expect(r.target.address).toBe('::1');
    expect(r.verdict.id).toBe('ok');
    expect(st(r, 'tls').facts?.['version']).toBe('TLS 1.3');
  });

  it('rdp: the server selects standard RDP security even when only TLS is offered', async () => {
    const r = await probe('rdp');
    expect(st(r, 'x224').facts?.['selected']).toBe('RDP');
    expect(st(r, 'tls').status).toBe('skipped');
    expect(ids(r)).toContain('standard-rdp-security-selected');
    expect(r.enumeration?.nla).toBe('not_supported');
    expect(r.enumeration?.protocols.find((p) => p.protocol === 'SSL')?.accepted).toBe(false);
  });

  it('nocert: SSL_CERT_NOT_ON_SERVER', async () => {
    const r = await probe('nocert');
    expect(r.verdict.id).toBe('negotiation_failure');
    expect(st(r, 'x224').error?.codeName).toBe('SSL_CERT_NOT_ON_SERVER');
    expect(r.verdict.fixes.join(' ')).toMatch(/certificate/);
  });

  it('negotiate without a certificate silently falls back to standard RDP security', async () => {
    const r = await probe('negotiate-nocert');
    expect(st(r, 'x224').facts?.['selected']).toBe('RDP');
    expect(ids(r)).toContain('standard-rdp-security-selected');
  });

  it('expired, not yet valid and wrong-name certificates are findings, not failures', async () => {
    const e = await probe('expired', { enumerate: false });
    expect(e.verdict.id).toBe('ok');
    expect(ids(e)).toContain('cert-expired');
    const n = await probe('notyetvalid', { enumerate: false });
    expect(ids(n)).toContain('cert-not-yet-valid');
    const w = await probe('wrongcn', { enumerate: false });
    expect(ids(w)).toContain('cert-name-mismatch');
    expect(ids(e)).not.toContain('cert-name-mismatch');
  });

  it('expires within --warn-days', async () => {
    const r = await probe('negotiate', { enumerate: false, warnDays: 400 });
    expect(ids(r)).toContain('cert-expires-soon');
    const r2 = await probe('negotiate', { enumerate: false, warnDays: 30 });
    expect(ids(r2)).not.toContain('cert-expires-soon');
  });

  it('1024-bit key: under the default security level xrdp fails its own TLS setup and writes plaintext', async () => {
    const r = await probe('rsa1024', { enumerate: false });
    expect(r.verdict.id).toBe('tls_server_setup_failure');
    expect(st(r, 'tls').evidence?.[0]?.hex).toBe('0300000902f0802180');
    const sec0 = await probe('rsa1024-sec0', { enumerate: false });
    expect(sec0.verdict.id).toBe('ok');
    expect(ids(sec0)).toContain('cert-weak-key');
  });

  it('SHA-1 signature', async () => {
    const r = await probe('sha1', { enumerate: false });
    expect(ids(r)).toContain('cert-sha1-signature');
  });

  it('a CA-signed certificate is trusted with --ca; a self-signed one is not', async () => {
    const zoo = await certZoo();
    const caPem = readFileSync(zoo.ca.cert, 'utf8');
    const ok = await probe('casigned', { enumerate: false, caPem });
    expect(st(ok, 'tls').facts?.['chainTrusted']).toBe(true);
    expect(ids(ok)).not.toContain('cert-untrusted');
    expect(ids(ok)).not.toContain('cert-self-signed');
    const bad = await probe('negotiate', { enumerate: false, caPem });
    expect(st(bad, 'tls').facts?.['chainTrusted']).toBe(false);
    expect(ids(bad)).toContain('cert-untrusted');
  });

  it('--ca with an IP target: the IP SAN is what counts (not Node\'s default "localhost"), and a pin holds at --depth tls', async () => {
    const zoo = await certZoo();
    const caPem = readFileSync(zoo.ca.cert, 'utf8');
    const s = servers.get('casigned')!;
    expect(s.host).toMatch(/^127\./);
    const ok = await probe('casigned', { enumerate: false, caPem, depth: 'tls' });
    expect(st(ok, 'tls').facts?.['chainTrusted']).toBe(true);
    expect(ids(ok)).not.toContain('cert-name-mismatch');
    // The wrong-CN certificate is self-signed: neither chain nor name; still only findings below --depth auth.
    const wrong = await probe('wrongcn', { enumerate: false, caPem, depth: 'tls' });
    expect(ids(wrong)).toEqual(expect.arrayContaining(['cert-name-mismatch', 'cert-untrusted']));
    expect(wrong.verdict.id).toBe('ok');
    const pinned = await probe('casigned', { enumerate: false, depth: 'tls', trust: { pins: [`sha256:${'00'.repeat(32)}`] } });
    expect(pinned.verdict).toMatchObject({ id: 'untrusted_certificate', stage: 'tls' });
    expect(pinned.findings[0]).toMatchObject({ id: 'cert-pin-mismatch', severity: 'critical' });
  });

  it('certificate/key mismatch: the server cannot complete its side of TLS', async () => {
    const r = await probe('keymismatch', { enumerate: false });
    expect(r.verdict.id).toBe('tls_server_setup_failure');
  });

  it('TLS 1.0-only server is named as such; --legacy-tls connects', async () => {
    const r = await probe('tls10', { enumerate: false });
    expect(r.verdict.id).toBe('tls_version_mismatch');
    expect(r.verdict.summary).toContain('TLS 1.0');
    expect(ids(r)).toContain('tls-legacy-only');
    const legacy = await probe('tls10', { enumerate: false, legacyTls: true });
    expect(legacy.verdict.id).toBe('ok');
    expect(st(legacy, 'tls').facts?.['version']).toBe('TLS 1.0');
    expect(ids(legacy)).toContain('tls-legacy-version');
  });

  it('TLS 1.0 enabled under a security level that forbids it: alerts, even with old versions allowed', async () => {
    const r = await probe('tls10-broken', { enumerate: false });
    expect(st(r, 'tls').status).toBe('failed');
    expect(st(r, 'tls').evidence?.[0]?.pdu).toMatch(/^TLS alert/);
    expect((st(r, 'tls').facts?.['legacyRetry'] as { ok: boolean }).ok).toBe(false);
    expect(ids(r)).not.toContain('tls-legacy-only');
  });

  it('TLS 1.2-only server', async () => {
    const r = await probe('tls12', { enumerate: false });
    expect(r.verdict.id).toBe('ok');
    expect(st(r, 'tls').facts?.['version']).toBe('TLS 1.2');
  });
});
