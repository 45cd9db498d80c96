/**
 * --depth session against FreeRDP's shadow server with NLA (SAM file): with the right password and --delegate the
 * probe reaches the Demand Active; without --delegate it stops after the credential check and says why; with no
 * NLA (shadow /sec:rdp, encryption method NONE) it reaches activation with no credentials at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeReport } from '../../src/probe/types.js';
import { runProbe } from '../../src/transport/drive.js';
import { SecurityProtocol } from '../../src/protocol/nego.js';
import { realServerSuite, startShadow, stopAllServers, TEST_PASSWORD, TEST_USER, type RunningServer } from '../servers/launcher.js';

const { skip } = realServerSuite(['shadow'], 'session depth against FreeRDP shadow');
const st = (r: ProbeReport, id: string) => r.stages.find((s) => s.stage === id)!;
const base = { stageTimeoutMs: 4000, targetTimeoutMs: 20000, enumerate: false, depth: 'session' } as const;

describe.skipIf(skip)('session depth with FreeRDP shadow (real)', () => {
  let nla: RunningServer;
  let rdp: RunningServer;
  beforeAll(async () => {
    nla = await startShadow('nla', { host: '127.0.0.211' });
    rdp = await startShadow('rdp', { host: '127.0.0.212' });
  }, 90_000);
  afterAll(stopAllServers, 60_000);

  it('NLA, right password, --delegate: authz skipped (HYBRID), then MCS and licensing to the Demand Active', async () => {
    const r = await runProbe({ host: nla.host, port: nla.port }, { ...base, credentials: { user: TEST_USER, domain: '', password: TEST_PASSWORD }, delegate: true, trust: { insecure: true } });
    const bad = r.stages.filter((s) => s.status === 'failed');
    expect(bad, JSON.stringify(bad)).toEqual([]);
    expect(st(r, 'nla_auth').facts?.['credentialsDelegated']).toBe(true);
    expect(st(r, 'mcs').status).toBe('ok');
    expect(st(r, 'activation').status).toBe('ok');
    expect(r.verdict.id).toBe('connects');
    // Delegated credentials: the probe confirmed the Demand Active and finalized, and says what it saw of the logon.
    expect(st(r, 'activation').facts?.['logon']).toBeDefined();
    // The password went in TSCredentials (asked for), never in a report.
    expect(JSON.stringify(r)).not.toContain(TEST_PASSWORD);
  });

  it('NLA without --delegate: the session stages are skipped with the reason, not left unexplained', async () => {
    const r = await runProbe({ host: nla.host, port: nla.port }, { ...base, credentials: { user: TEST_USER, domain: '', password: TEST_PASSWORD }, trust: { insecure: true } });
    expect(st(r, 'nla_auth').status).toBe('ok');
    for (const s of ['mcs', 'security', 'licensing', 'activation']) {
      expect(st(r, s).status).toBe('skipped');
      expect(st(r, s).reason).toMatch(/--delegate/);
    }
    expect(r.verdict.id).toBe('ok');
  });

  it('standard RDP security with encryption method NONE: activation with no credentials, and a critical finding', async () => {
    const r = await runProbe({ host: rdp.host, port: rdp.port }, { ...base, requestedProtocols: SecurityProtocol.PROTOCOL_RDP });
    const bad = r.stages.filter((s) => s.status === 'failed');
    expect(bad, JSON.stringify(bad)).toEqual([]);
    expect(st(r, 'mcs').facts?.['encryptionMethod']).toBe('NONE');
    expect(st(r, 'activation').status).toBe('ok');
    expect(r.findings.map((f) => f.id)).toContain('rdp-encryption-none');
    expect(r.verdict.id).toBe('connects');
  });
});
