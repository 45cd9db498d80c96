/**
 * A policy against FreeRDP's shadow server with NLA (the real CredSSP/NTLM server): NLA required, TLS 1.2+, a
 * CredSSP floor and a credential check with the password from the environment pass (exit 0); asking it to refuse
 * NLA-less clients it does refuse passes too, while a policy that expects standard RDP security allowed fails (2).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './cli.js';
import { runProbe } from '../../src/transport/drive.js';
import { realServerSuite, startShadow, stopAllServers, TEST_PASSWORD, TEST_USER, type RunningServer } from '../servers/launcher.js';

const { skip } = realServerSuite(['shadow'], 'monitoring policy against FreeRDP shadow');


describe.skipIf(skip)('policy against the real FreeRDP shadow server (NLA)', () => {
  let shadow: RunningServer;
  let fp = '';
  /** Made in beforeAll, not at collection, so a skipped suite leaves nothing behind. */
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rdp-shadow-policy-'));
    shadow = await startShadow('nla', { host: '127.0.0.213' });
    const r = await runProbe({ host: shadow.host, port: shadow.port }, { depth: 'tls', enumerate: false, stageTimeoutMs: 4000 });
    fp = String((r.stages.find((s) => s.stage === 'tls')?.facts?.['certificate'] as Record<string, unknown>)['sha256']);
  }, 60_000);
  afterAll(async () => {
    await stopAllServers();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const policy = (expect: string): string => {
    const p = join(dir, `p${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(p, `defaults: { timeout: 4s, targetTimeout: 20s }\nhosts:\n  - target: ${shadow.host}:${shadow.port}\n    name: shadow\n    expect:\n${expect}`);
    return p;
  };

  it('NLA required, standard security refused, CredSSP 6 and a credential check: RDP OK, exit 0, no password in the output', async () => {
    const p = policy(`      nla: required\n      standardRdpSecurity: refused\n      tlsMin: "1.2"\n      certificate: { pin: "sha256:${fp}" }\n      credssp: { minVersion: 6 }\n      auth: { user: '${TEST_USER}', passwordEnv: SHADOW_PW }\n      reach: auth\n`);
    const r = await cli(['check', `${shadow.host}:${shadow.port}`, '--policy', p], { SHADOW_PW: TEST_PASSWORD });
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/^RDP OK: /);
    expect(r.out + r.err).not.toContain(TEST_PASSWORD);
  });

  it('a wrong password in the environment makes the credential check fail: CRITICAL, exit 2', async () => {
    const p = policy(`      nla: required\n      certificate: { pin: "sha256:${fp}" }\n      auth: { user: '${TEST_USER}', passwordEnv: SHADOW_PW }\n      reach: auth\n`);
    const r = await cli(['check', `${shadow.host}:${shadow.port}`, '--policy', p], { SHADOW_PW: 'WrongPassword1' });
    expect(r.code, r.out + r.err).toBe(2);
    expect(r.out).toMatch(/^RDP CRITICAL: /);
  });

  it('expecting standard RDP security allowed on an NLA-only server: CRITICAL, exit 2', async () => {
    const p = policy(`      standardRdpSecurity: allowed\n`);
    const r = await cli(['check', `${shadow.host}:${shadow.port}`, '--policy', p]);
    expect(r.code, r.out + r.err).toBe(2);
    expect(r.out).toMatch(/^RDP CRITICAL: .*standardRdpSecurity/);
  });
});
