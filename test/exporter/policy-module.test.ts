/**
 * A module that references a monitoring policy (src/monitor): the target's entry decides the probe (its
 * expectations, its auth: credentials from the environment, its pin) and judges it; probe_success means
 * "meets the policy". Real probes of the lab NLA peer over HTTP.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { loadConfigFile } from '../../src/exporter/config.js';
import { createExporter, type Exporter } from '../../src/exporter/server.js';
import { startNlaPeer, type NlaPeer } from '../../src/lab/rdp-nla-peer.js';

const PW = 'Policy-Pw-77';

describe('exporter module with a policy', () => {
  let peer: NlaPeer;
  let exporter: Exporter;
  let base = '';
  let dir = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rdp-probe-exporter-policy-'));
    peer = await startNlaPeer({ credsspVersion: 6, users: [{ user: 'probe', domain: 'LAB', password: PW }], protocol: 'hybrid_ex', earlyUserAuthResult: 0 });
    const t = `127.0.0.1:${peer.port}`;
    writeFileSync(join(dir, 'pass.yml'), `hosts:\n  - target: ${t}\n    expect:\n      nla: required\n      standardRdpSecurity: refused\n      credssp: { minVersion: 6 }\n      certificate: { pin: "${peer.fingerprint}" }\n      auth: { user: 'LAB\\probe', passwordEnv: PROBE_PW }\n`);
    writeFileSync(join(dir, 'fail.yml'), `hosts:\n  - target: ${t}\n    expect:\n      standardRdpSecurity: allowed\n`);
    writeFileSync(join(dir, 'exporter.yml'), 'modules:\n  pass:\n    policy: pass.yml\n  fail:\n    policy: fail.yml\n');
    const config = loadConfigFile(join(dir, 'exporter.yml'), { PROBE_PW: PW });
    exporter = createExporter({ config, env: { PROBE_PW: PW }, registry: new Registry() });
    base = `http://127.0.0.1:${(await exporter.listen('127.0.0.1', 0)).port}`;
  });
  afterAll(async () => {
    await exporter?.close();
    await peer?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const get = async (q: string) => (await fetch(`${base}/probe?${q}`, { signal: AbortSignal.timeout(20_000) })).text();

  it('a host that meets its policy, credential check included: probe_success 1, status OK, a series per check', async () => {
    const body = await get(`module=pass&target=127.0.0.1:${peer.port}`);
    expect(body).toMatch(/^probe_success 1$/m);
    expect(body).toMatch(/^probe_rdp_policy_status 0$/m);
    for (const c of ['verdict', 'nla', 'standardRdpSecurity', 'credssp.minVersion', 'certificate.pin', 'auth']) expect(body).toMatch(new RegExp(`^probe_rdp_policy_check\\{check="${c.replace('.', '\\.')}"\\} 0$`, 'm'));
    expect(body).toMatch(/^probe_rdp_stage_status\{stage="nla_auth",status="ok"\} 1$/m);
    expect(peer.connections.some((c) => c.credssp?.authenticate?.user === 'probe' && c.credssp.authenticate.ntProofOk)).toBe(true);
  });

  it('a host that breaks its policy: probe_success 0 although the probe itself passed, status CRITICAL', async () => {
    const body = await get(`module=fail&target=127.0.0.1:${peer.port}&debug=true`);
    expect(body).toMatch(/^probe_success 0$/m);
    expect(body).toMatch(/^probe_rdp_verdict\{verdict="ok"\} 1$/m);
    expect(body).toMatch(/^probe_rdp_policy_status 2$/m);
    expect(body).toMatch(/^probe_rdp_policy_check\{check="standardRdpSecurity"\} 2$/m);
    expect(body).toMatch(/^CRITICAL standardRdpSecurity: expected standard RDP security allowed; the server shows refused$/m);
    expect(body).toMatch(/"policy": ".*fail\.yml"/);
  });

  it('a target the policy does not list: not probed, UNKNOWN', async () => {
    const before = peer.connections.length;
    const body = await get('module=pass&target=127.0.0.9:3389');
    expect(body).toMatch(/^probe_success 0$/m);
    expect(body).toMatch(/^probe_rdp_policy_status 3$/m);
    expect(peer.connections.length).toBe(before);
  });

  it('a bad policy is a config error naming the module line and the policy line', () => {
    writeFileSync(join(dir, 'bad.yml'), 'hosts:\n  - target: a\n    expect: { nla: sometimes }\n');
    writeFileSync(join(dir, 'bad-exporter.yml'), 'modules:\n  x:\n    policy: bad.yml\n');
    expect(() => loadConfigFile(join(dir, 'bad-exporter.yml'), {})).toThrow(/bad-exporter\.yml:3:13: module x: policy .*bad\.yml:3:\d+: /);
  });
});
