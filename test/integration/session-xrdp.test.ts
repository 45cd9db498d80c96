/**
 * --depth session against real xrdp (Debian package) on loopback: xrdp needs no credentials for a session, so the
 * probe must reach its Demand Active over TLS and over standard RDP security at every crypt level, with no
 * password asked or sent, and leave politely.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProbe, type ProbeOptions } from '../../src/transport/drive.js';
import type { ProbeReport } from '../../src/probe/types.js';
import { SecurityProtocol } from '../../src/protocol/nego.js';
import { realServerSuite, startXrdp, stopAllServers, type RunningServer, type XrdpScenario } from '../servers/launcher.js';

const { skip } = realServerSuite(['xrdp'], 'xrdp session depth');

const SCENARIOS: XrdpScenario[] = ['negotiate', 'tls', 'rdp', 'rdp-none', 'rdp-low', 'rdp-medium', 'rdp-high', 'rdp-fips'];
const opts: Partial<ProbeOptions> = { depth: 'session', stageTimeoutMs: 4000, targetTimeoutMs: 20000, enumerate: false };

describe.skipIf(skip)('real xrdp at --depth session', () => {
  const servers = new Map<string, RunningServer>();
  const probe = (name: XrdpScenario, over: Partial<ProbeOptions> = {}): Promise<ProbeReport> => {
    const s = servers.get(name)!;
    return runProbe({ host: s.host, port: s.port }, { ...opts, ...over });
  };
  const st = (r: ProbeReport, id: string) => r.stages.find((s) => s.stage === id)!;

  beforeAll(async () => {
    // Addresses of their own (127.0.0.201+), so this suite never races the verdict suite for a listener.
    let n = 201;
    for (const name of SCENARIOS) servers.set(name, await startXrdp(name, { host: `127.0.0.${n++}` }));
  }, 120_000);
  afterAll(stopAllServers, 60_000);

  it('tls: MCS, licensing (valid client) and the Demand Active over TLS, no credentials', async () => {
    const r = await probe('tls');
    const bad = r.stages.filter((s) => s.status === 'failed');
    expect(bad, JSON.stringify(bad)).toEqual([]);
    expect(r.verdict.id).toBe('connects');
    const mcs = st(r, 'mcs');
    expect(mcs.status).toBe('ok');
    expect(String(mcs.facts?.['serverVersion'])).toMatch(/RDP/);
    expect(mcs.facts?.['encryptionMethod']).toBe('NONE');
    expect(mcs.facts?.['joinedChannels']).toEqual(expect.arrayContaining([1003]));
    expect(st(r, 'security').status).toBe('skipped');
    expect(st(r, 'licensing').status).toBe('ok');
    expect(String(st(r, 'licensing').facts?.['outcome'])).toMatch(/valid client/);
    const act = st(r, 'activation');
    expect(act.status).toBe('ok');
    expect(act.facts?.['capabilitySets']).toEqual(expect.arrayContaining(['General', 'Bitmap']));
    expect((act.facts?.['desktop'] as { width: number }).width).toBeGreaterThan(0);
  });

  for (const name of ['rdp', 'rdp-low', 'rdp-medium', 'rdp-high', 'rdp-fips', 'rdp-none'] as const) {
    it(`${name}: standard RDP security, the security exchange and session keys hold up to the Demand Active`, async () => {
      const r = await probe(name, { requestedProtocols: SecurityProtocol.PROTOCOL_RDP });
      const bad = r.stages.filter((s) => s.status === 'failed');
      expect(bad, JSON.stringify(bad)).toEqual([]);
      expect(st(r, 'x224').facts?.['selected']).toBe('RDP');
      expect(st(r, 'security').status).toBe('ok');
      expect(st(r, 'activation').status).toBe('ok');
      expect(r.verdict.id).toBe('connects');
    });
  }
});

describe.skipIf(skip)('real xrdp: which standard-security encryption methods are accepted', () => {
  const servers = new Map<string, RunningServer>();
  beforeAll(async () => {
    let n = 215;
    for (const name of ['rdp-low', 'rdp-high', 'rdp-fips', 'tls'] as const) servers.set(name, await startXrdp(name, { host: `127.0.0.${n++}` }));
  }, 120_000);
  afterAll(stopAllServers, 60_000);
  const en = async (name: string) => {
    const s = servers.get(name)!;
    const r = await runProbe({ host: s.host, port: s.port }, { depth: 'x224', stageTimeoutMs: 4000, targetTimeoutMs: 30000 });
    return r;
  };
  const accepted = (r: ProbeReport) => (r.enumeration?.encryptionMethods ?? []).filter((m) => m.accepted).map((m) => m.method).sort();

  it('one connection per method, each offering only that method: the level and the accepted set per crypt_level', async () => {
    const low = await en('rdp-low');
    const high = await en('rdp-high');
    const fips = await en('rdp-fips');
    // Every method was asked, with a decided answer.
    for (const r of [low, high, fips]) {
      expect(r.enumeration?.encryptionMethods?.map((m) => m.method)).toEqual(['NONE', '40BIT', '56BIT', '128BIT', 'FIPS']);
      expect(r.enumeration?.encryptionMethods?.every((m) => m.accepted !== null), JSON.stringify(r.enumeration?.encryptionMethods)).toBe(true);
    }
    expect(low.enumeration?.encryptionLevel).toBe('LOW');
    expect(high.enumeration?.encryptionLevel).toBe('HIGH');
    expect(fips.enumeration?.encryptionLevel).toBe('FIPS');
    expect(accepted(fips)).toEqual(['FIPS']);
    expect(accepted(high)).not.toContain('NONE');
    expect(accepted(high)).toContain('128BIT');
    expect(low.findings.map((f) => f.id)).toContain('rdp-encryption-client-to-server-only');
  });

  it('a TLS-only server: standard security refused, so no method is asked', async () => {
    const r = await en('tls');
    expect(r.enumeration?.standardRdpSecurity).toBe('refused');
    expect(r.enumeration?.encryptionMethods).toBeUndefined();
  });
});
