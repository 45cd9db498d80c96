/**
 * The lab against a real client: FreeRDP's xfreerdp `+auth-only` (freerdp2-x11) runs NLA against the lab's NLA
 * scenarios. The right password must pass (exit 0) on every one. A wrong one: the shadow server answers it with no
 * errorCode (it closes the connection), and so does the lab's nla-closes-on-failure, where xfreerdp must exit with
 * the code it gave against the real shadow server, read from the shared capture of that run
 * (/work/shared/captures/loopback/shadow-nla_xfreerdp-nla_badpw.txt: client rc 147). The other NLA scenarios
 * answer as Windows does (TSRequest.errorCode STATUS_LOGON_FAILURE), which xfreerdp reports as a logon failure.
 *
 * The password is the lab's own test account's (not a secret), so it may go in xfreerdp's argv here.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_USERS, startLab, type LabServer } from '../../src/lab/server.js';
import { findBinary } from '../servers/env.js';
import { ensureXvfb } from '../servers/shadow.js';

const XFREERDP = findBinary('xfreerdp');
const SHADOW_BADPW = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../shared/captures/loopback/shadow-nla_xfreerdp-nla_badpw.txt');
/** Scenarios that refuse a wrong password as Windows does (TSRequest.errorCode STATUS_LOGON_FAILURE). */
const WINDOWS_LIKE = ['nla', 'credssp-6', 'credssp-5', 'credssp-3', 'old-credssp'] as const;
/** The scenario that refuses it as FreeRDP's shadow server does (no errorCode: it closes the connection). */
const SHADOW_LIKE = 'nla-closes-on-failure';
const NLA_SCENARIOS = [...WINDOWS_LIKE, SHADOW_LIKE] as const;

/** xfreerdp's exit code against the real shadow server with a wrong password, from the recorded run. */
function shadowWrongPasswordRc(): number {
  const m = /^# client rc: (\d+)/m.exec(readFileSync(SHADOW_BADPW, 'utf8'));
  if (!m) throw new Error(`no "client rc" line in ${SHADOW_BADPW}`);
  return Number(m[1]);
}

function xfreerdp(host: string, port: number, password: string, env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  const account = LAB_USERS[0]!;
  return new Promise((done) => {
    const p = spawn('timeout', ['20', XFREERDP!, '+auth-only', `/v:${host}:${port}`, `/u:${account.user}`, `/d:${account.domain}`, `/p:${password}`, '/cert:ignore', '/sec:nla'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => done({ code: code ?? -1, out }));
  });
}

describe.skipIf(!XFREERDP || !existsSync(SHADOW_BADPW))('xfreerdp +auth-only against the lab', () => {
  let lab: LabServer;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    lab = await startLab({ scenarios: [...NLA_SCENARIOS] });
    const x = await ensureXvfb();
    env = { DISPLAY: x.display, XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'rdp-probe-lab-xf-')) };
  }, 30_000);
  afterAll(async () => {
    await lab?.close();
    if (env?.['XDG_CONFIG_HOME']) rmSync(env['XDG_CONFIG_HOME'], { recursive: true, force: true });
  });

  it.each(NLA_SCENARIOS)('%s: the right password exits 0, and the lab received it delegated (TSCredentials)', async (name) => {
    const before = lab.connections.length;
    const r = await xfreerdp(lab.host, lab.ports[name]!, LAB_USERS[0]!.password, env);
    await lab.settled();
    expect(r.code, r.out).toBe(0);
    const c = lab.connections.slice(before).find((x) => x.credssp?.authenticate);
    expect(c?.credssp?.authenticate).toMatchObject({ user: 'lab', domain: 'LAB', ntProofOk: true });
    expect(c?.credssp?.clientPubKeyAuth).toBe('ok');
    expect(c?.credssp?.credentials?.userName).toBe('lab');
    // xfreerdp +auth-only waits for an active connection: the lab took it through the Confirm Active and finalization.
    expect(c?.session?.confirmActive).toBe(true);
    expect(c?.session?.finalized).toBe(true);
  }, 30_000);

  /** The failed logon as the lab observed it: the response verified and found wrong; nothing delegated to it. */
  const refusedAtLab = (before: number): void => {
    const c = lab.connections.slice(before).find((x) => x.credssp?.authenticate);
    expect(c?.credssp?.authenticate).toMatchObject({ userKnown: true, ntProofOk: false });
    expect(c?.credssp?.authInfoReceived).toBe(false);
  };

  it(`${SHADOW_LIKE}: a wrong password exits with the code xfreerdp gives against the real shadow server (a transport failure)`, async () => {
    const want = shadowWrongPasswordRc();
    expect(want).toBe(147);
    const shadowOut = readFileSync(SHADOW_BADPW, 'utf8');
    const before = lab.connections.length;
    const r = await xfreerdp(lab.host, lab.ports[SHADOW_LIKE]!, 'WrongPassword1', env);
    await lab.settled();
    expect(r.code, r.out).toBe(want);
    // The same FreeRDP error name as in the shadow run.
    expect(shadowOut).toContain('ERRCONNECT_CONNECT_TRANSPORT_FAILED');
    expect(r.out).toContain('ERRCONNECT_CONNECT_TRANSPORT_FAILED');
    refusedAtLab(before);
  }, 30_000);

  it.each(WINDOWS_LIKE)('%s: a wrong password is refused with STATUS_LOGON_FAILURE, which xfreerdp names ERRCONNECT_LOGON_FAILURE (exit 134, not the shadow server\'s 147)', async (name) => {
    const before = lab.connections.length;
    const r = await xfreerdp(lab.host, lab.ports[name]!, 'WrongPassword1', env);
    await lab.settled();
    expect(r.code, r.out).toBe(134);
    expect(r.code).not.toBe(shadowWrongPasswordRc());
    expect(r.out).toContain('ERRCONNECT_LOGON_FAILURE');
    refusedAtLab(before);
    const c = lab.connections.slice(before).find((x) => x.credssp?.authenticate);
    expect(c?.credssp?.sent.at(-1)).toMatch(/^TSRequest errorCode 0xc000006d/);
  }, 30_000);
});
