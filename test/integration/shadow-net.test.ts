/**
 * Verdicts against FreeRDP's shadow server (NLA with a SAM file, TLS only, RDP only) and against network
 * failures made real: a closed port, and a network namespace with iptables DROP / REJECT rules.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProbe } from '../../src/transport/drive.js';
import { SecurityProtocol } from '../../src/protocol/nego.js';
import type { ProbeReport } from '../../src/probe/types.js';
import { filteredNetnsForSuite, realServerSuite, startShadow, stopAllServers, type RunningServer } from '../servers/launcher.js';

const st = (r: ProbeReport, id: string) => r.stages.find((s) => s.stage === id)!;
const opts = { stageTimeoutMs: 4000, targetTimeoutMs: 20000 };

const shadowSuite = realServerSuite(['shadow'], 'FreeRDP shadow verdicts');
describe.skipIf(shadowSuite.skip)('real FreeRDP shadow servers', () => {
  const s = new Map<string, RunningServer>();
  beforeAll(async () => {
    for (const m of ['nla', 'tls', 'rdp'] as const) s.set(m, await startShadow(m));
  }, 120_000);
  afterAll(stopAllServers, 60_000);
  const at = (m: string) => ({ host: s.get(m)!.host, port: s.get(m)!.port });

  it('nla: HYBRID selected; NLA required; a TLS-only client gets HYBRID_REQUIRED_BY_SERVER', async () => {
    const r = await runProbe(at('nla'), opts);
    expect(r.verdict.id).toBe('ok');
    expect(st(r, 'x224').facts?.['selected']).toBe('HYBRID');
    expect(st(r, 'tls').status).toBe('ok');
    expect(r.enumeration?.nla).toBe('required');
    expect(r.enumeration?.standardRdpSecurity).toBe('refused');
    const tlsOnly = await runProbe(at('nla'), { ...opts, requestedProtocols: SecurityProtocol.PROTOCOL_SSL, enumerate: false });
    expect(tlsOnly.verdict.id).toBe('negotiation_failure');
    expect(st(tlsOnly, 'x224').error?.codeName).toBe('HYBRID_REQUIRED_BY_SERVER');
    expect(tlsOnly.verdict.fixes.join(' ')).toMatch(/Network Level Authentication/);
  });

  it('rdp: SSL_NOT_ALLOWED_BY_SERVER, standard RDP security allowed', async () => {
    const r = await runProbe(at('rdp'), opts);
    expect(r.verdict.id).toBe('negotiation_failure');
    expect(st(r, 'x224').error?.codeName).toBe('SSL_NOT_ALLOWED_BY_SERVER');
    expect(r.enumeration?.standardRdpSecurity).toBe('allowed');
    // SSL_NOT_ALLOWED_BY_SERVER already says the server does standard RDP security only: no extra connection asks.
    expect(r.enumeration?.protocols.find((p) => p.protocol === 'RDP')).toMatchObject({ accepted: true, how: 'inferred' });
    expect(r.enumeration?.protocols.find((p) => p.protocol === 'HYBRID')).toMatchObject({ accepted: false, how: 'inferred' });
  });

  it('tls: TLS accepted, NLA not offered', async () => {
    const r = await runProbe(at('tls'), opts);
    expect(r.verdict.id).toBe('ok');
    expect(r.enumeration?.nla).toBe('not_supported');
    expect(r.enumeration?.protocols.find((p) => p.protocol === 'SSL')?.accepted).toBe(true);
  });
});

describe('closed port (real, nothing listening)', () => {
  it('is port_closed', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const r = await runProbe({ host: '127.0.0.1', port }, opts);
    expect(r.verdict.id).toBe('port_closed');
    expect(st(r, 'tcp').error?.codeName).toBe('ECONNREFUSED');
  });
});

const netSuite = realServerSuite(['netns'], 'filtered/unreachable network namespace');
describe.skipIf(netSuite.skip)('filtered and unreachable targets in a network namespace', () => {
  const netns = filteredNetnsForSuite();

  it('iptables DROP: filtered, at the tcp stage deadline', async () => {
    const t0 = performance.now();
    const r = await runProbe(netns().filtered, { stageTimeoutMs: 1500, targetTimeoutMs: 10000 });
    const took = performance.now() - t0;
    expect(r.verdict.id).toBe('filtered');
    expect(st(r, 'tcp').error?.kind).toBe('connect_timeout');
    expect(took).toBeGreaterThanOrEqual(1400);
    expect(took).toBeLessThan(5000);
  });

  it('REJECT icmp-admin-prohibited: unreachable', async () => {
    const r = await runProbe(netns().adminProhibited, opts);
    expect(r.verdict.id).toBe('unreachable');
    expect(st(r, 'tcp').error?.codeName).toBe('EHOSTUNREACH');
  });

  it('REJECT icmp-port-unreachable and a RST look closed', async () => {
    expect((await runProbe(netns().icmpRefused, opts)).verdict.id).toBe('port_closed');
    expect((await runProbe(netns().closedRst, opts)).verdict.id).toBe('port_closed');
  });

  it('no ARP answer: unreachable', async () => {
    const r = await runProbe(netns().noArpHost, { stageTimeoutMs: 6000, targetTimeoutMs: 10000 });
    expect(r.verdict.id).toBe('unreachable');
  });
});
