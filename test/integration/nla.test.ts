/**
 * NLA against FreeRDP's shadow server with a SAM file (user rdpuser, password Passw0rd!): server facts without
 * credentials, a credential check that stops at pubKeyAuth, the trust gate before anything derived from the
 * password is sent, and xrdp (no NLA) for the skipped case.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { ProbeReport } from '../../src/probe/types.js';
import { runProbe } from '../../src/transport/drive.js';
import { realServerSuite, startShadow, startXrdp, stopAllServers, TEST_PASSWORD, TEST_USER, type RunningServer } from '../servers/launcher.js';

const { skip } = realServerSuite(['shadow', 'xrdp'], 'NLA against FreeRDP shadow');
const st = (r: ProbeReport, id: string) => r.stages.find((s) => s.stage === id)!;
const base = { stageTimeoutMs: 4000, targetTimeoutMs: 20000, enumerate: false } as const;

function cli(env: Record<string, string> = {}, stdinText?: string) {
  const out = new PassThrough();
  const err = new PassThrough();
  const stdin = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (d) => (o += d));
  err.on('data', (d) => (e += d));
  if (stdinText !== undefined) stdin.end(stdinText);
  return { io: { stdout: out, stderr: err, env, stdin }, out: () => o, err: () => e };
}

describe.skipIf(skip)('NLA with FreeRDP shadow (real)', () => {
  let nla: RunningServer;
  let xrdp: RunningServer;
  /** Made in beforeAll, not at collection, so a skipped suite leaves nothing behind. */
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rdp-probe-nla-'));
    nla = await startShadow('nla');
    xrdp = await startXrdp('tls');
  }, 60_000);
  afterAll(async () => {
    await stopAllServers();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);
  const at = () => ({ host: nla.host, port: nla.port });
  const creds = (password: string, user = TEST_USER) => ({ user, domain: '', password });

  it('credssp without credentials: CredSSP version, NTLM names, OS build, clock skew', async () => {
    const r = await runProbe(at(), { ...base, depth: 'credssp' });
    expect(r.verdict.id).toBe('ok');
    const c = st(r, 'credssp');
    expect(c.status).toBe('ok');
    expect(c.facts?.['serverVersion']).toBe(6);
    const n = c.facts?.['ntlm'] as Record<string, unknown>;
    expect(typeof n['netbiosComputer']).toBe('string');
    expect(n['osVersion']).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Math.abs(Number(n['clockSkewSeconds']))).toBeLessThan(5);
    expect((c.facts?.['clientCompatibility'] as Record<string, string>)['forceUpdatedClients']).toBe('works');
    expect(st(r, 'nla_auth').status).toBe('skipped');
  });

  it('right password: nla_auth ok, server pubKeyAuth verified, nothing delegated', async () => {
    const r = await runProbe(at(), { ...base, depth: 'auth', credentials: creds(TEST_PASSWORD), trust: { insecure: true } });
    expect(st(r, 'nla_auth')).toMatchObject({ status: 'ok', facts: { pubKeyAuth: 'verified', credentialsDelegated: false } });
    expect(r.verdict.id).toBe('ok');
    expect(r.findings.map((f) => f.id)).toContain('nla-auth-insecure');
  });

  it('wrong password and unknown user: named rejection', async () => {
    for (const c of [creds('WrongPassword1'), creds(TEST_PASSWORD, 'nosuchuser')]) {
      const r = await runProbe(at(), { ...base, depth: 'auth', credentials: c, trust: { insecure: true } });
      expect(r.verdict.id).toBe('nla_rejected');
      expect(st(r, 'nla_auth').error?.kind).toBe('closed_after_authenticate');
      expect(st(r, 'credssp').status).toBe('ok');
    }
  });

  it('an untrusted certificate stops before nla_auth; a pin or a known-hosts entry lets it through', async () => {
    const r = await runProbe(at(), { ...base, depth: 'auth', credentials: creds(TEST_PASSWORD) });
    expect(r.verdict.id).toBe('untrusted_certificate');
    expect(st(r, 'nla_auth').error?.layer).toBe('policy');
    const fp = (st(r, 'tls').facts?.['certificate'] as Record<string, string>)['sha256'];
    const pinned = await runProbe(at(), { ...base, depth: 'auth', credentials: creds(TEST_PASSWORD), trust: { pins: [`sha256:${fp}`] } });
    expect(st(pinned, 'nla_auth').status).toBe('ok');
    const wrongPin = await runProbe(at(), { ...base, depth: 'auth', credentials: creds(TEST_PASSWORD), trust: { pins: [`sha256:${'0'.repeat(64)}`] } });
    expect(wrongPin.findings.map((f) => f.id)).toContain('cert-pin-mismatch');
    // A pin that contradicts the certificate ends the probe at tls, at any depth: not even the NEGOTIATE goes out.
    expect(wrongPin.verdict).toMatchObject({ id: 'untrusted_certificate', stage: 'tls' });
    expect(st(wrongPin, 'nla_auth').status).toBe('not_reached');
  });

  it('--known-hosts: first use stores, a changed fingerprint is loud and blocks', async () => {
    const kh = join(dir, 'known_hosts');
    const args = ['check', `${nla.host}:${nla.port}`, '--no-enumerate', '--depth', 'auth', '--user', TEST_USER, '--password-env', 'RDP_PW', '--known-hosts', kh, '--json'];
    const first = cli({ RDP_PW: TEST_PASSWORD });
    expect(await main(args, first.io)).toBe(0);
    expect(JSON.parse(first.out()).findings.map((f: { id: string }) => f.id)).toContain('cert-first-use');
    expect(readFileSync(kh, 'utf8')).toMatch(new RegExp(`^${nla.host.replace(/\./g, '\\.')}:${nla.port} sha256:[0-9a-f]{64}\\n$`));
    const second = cli({ RDP_PW: TEST_PASSWORD });
    expect(await main(args, second.io)).toBe(0);
    writeFileSync(kh, `${nla.host}:${nla.port} sha256:${'a'.repeat(64)}\n`);
    const third = cli({ RDP_PW: TEST_PASSWORD });
    expect(await main(args, third.io)).toBe(1);
    const r = JSON.parse(third.out());
    expect(r.verdict.id).toBe('untrusted_certificate');
    expect(r.findings.find((f: { id: string }) => f.id === 'cert-fingerprint-changed')?.severity).toBe('critical');
  });

  it('--depth session --delegate: HYBRID has no Early User Authorization Result; without --delegate nothing is sent', async () => {
    const d = await runProbe(at(), { ...base, depth: 'session', credentials: creds(TEST_PASSWORD), delegate: true, trust: { insecure: true } });
    expect(st(d, 'nla_auth').status).toBe('ok');
    expect(st(d, 'authz')).toMatchObject({ status: 'skipped' });
    expect(st(d, 'authz').reason).toMatch(/HYBRID, which has no Early User Authorization Result/);
    const nd = await runProbe(at(), { ...base, depth: 'session', credentials: creds(TEST_PASSWORD), trust: { insecure: true } });
    expect(st(nd, 'authz').reason).toMatch(/only with --delegate/);
  });

  it('xrdp (no NLA): credssp skipped with the reason', async () => {
    const r = await runProbe({ host: xrdp.host, port: xrdp.port }, { ...base, depth: 'credssp' });
    expect(st(r, 'credssp')).toMatchObject({ status: 'skipped' });
    expect(st(r, 'credssp').reason).toMatch(/selected SSL: no CredSSP/);
  });

  it('the password never appears in stdout, stderr, logs or transcripts', async () => {
    const pw = TEST_PASSWORD;
    const needles = [pw, Buffer.from(pw, 'utf8').toString('hex'), Buffer.from(pw, 'utf16le').toString('hex'), Buffer.from(pw, 'utf16le').toString('latin1')];
    const runs: [string[], Record<string, string>, string | undefined][] = [
      [['--depth', 'auth', '--user', TEST_USER, '--password-stdin', '--insecure'], {}, `${pw}\n`],
      [['--depth', 'auth', '--user', TEST_USER, '--password-env', 'PW', '--insecure', '--json'], { PW: pw }, undefined],
      [['--depth', 'session', '--delegate', '--user', TEST_USER, '--password-env', 'PW', '--insecure', '--json'], { PW: pw }, undefined],
      [['--depth', 'auth', '--user', 'nosuchuser', '--password-env', 'PW', '--insecure'], { PW: pw }, undefined],
      [['--depth', 'auth', '--user', TEST_USER, '--password-env', 'PW'], { PW: pw }, undefined],
    ];
    for (const [extra, env, stdin] of runs) {
      const t = cli(env, stdin);
      await main(['check', `${nla.host}:${nla.port}`, '--no-enumerate', '--log-level', 'trace', ...extra], t.io);
      const all = t.out() + t.err();
      expect(all.length).toBeGreaterThan(100);
      for (const n of needles) expect(all.includes(n), `found ${JSON.stringify(n)} with ${extra.join(' ')}`).toBe(false);
    }
    const transcript: string[] = [];
    await runProbe(at(), { ...base, depth: 'session', credentials: creds(pw), delegate: true, trust: { insecure: true }, record: (e) => transcript.push(JSON.stringify(e)) });
    const text = transcript.join('\n');
    expect(transcript.length).toBeGreaterThanOrEqual(5);
    for (const n of needles) expect(text.includes(n)).toBe(false);
    // The header is hex JSON: decode it too.
    const header = Buffer.from(JSON.parse(transcript[0]!).hex, 'hex').toString('utf8');
    expect(header).not.toContain(pw);
  });
});
