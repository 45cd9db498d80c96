/**
 * check --record against real servers: xrdp (TLS, --depth session, every enumeration connection) and FreeRDP's
 * shadow server (NLA, the right password, --depth auth). The file read back gives the live verdict again, and
 * tshark decrypts it from its own secrets.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { findSecret } from '../../src/probe/recorder.js';
import { realServerSuite, startShadow, startXrdp, stopAllServers, TEST_PASSWORD, TEST_USER } from '../servers/launcher.js';
import { analyzed, haveTshark, passwordForms, recordProbe, tshark } from './helpers.js';

const xrdp = realServerSuite(['xrdp'], '--record against xrdp');
const shadow = realServerSuite(['shadow'], '--record against FreeRDP shadow');
const tsharkOk = haveTshark();
afterAll(stopAllServers, 60_000);

describe.skipIf(xrdp.skip)('xrdp, TLS, --depth session with enumeration', () => {
  it('every connection is recorded; analyze gives the live verdict; tshark sees the MCS PDUs', async () => {
    const s = await startXrdp('tls', { host: '127.0.0.238' });
    const r = await recordProbe('xrdp-tls-session', { host: s.host, port: s.port }, { depth: 'session', enumerate: true, stageTimeoutMs: 3000 });
    await s.stop();
    expect(r.report.verdict.id).toBe('connects');
    expect(r.recorder.connections).toBeGreaterThan(1);
    const a = analyzed(r.bytes);
    expect({ verdict: a.verdict, stage: a.stage }).toEqual({ verdict: 'connects', stage: undefined });
    expect(a.connections).toBe(r.recorder.connections);
    if (tsharkOk) {
      const out = tshark(r.file, s.port, []);
      for (const pdu of ['ClientData', 'attachUserConfirm', 'channelJoinConfirm', 'License Request']) expect(out).toContain(pdu);
    }
  }, 60_000);
});

describe.skipIf(shadow.skip)('FreeRDP shadow, NLA, the right password, --depth auth', () => {
  it('analyze gives the live verdict from the file; tshark sees the NTLM exchange and pubKeyAuth; no password anywhere', async () => {
    const s = await startShadow('nla');
    const r = await recordProbe('shadow-nla-auth', { host: s.host, port: s.port }, { depth: 'auth', enumerate: false, stageTimeoutMs: 3000, credentials: { user: TEST_USER, domain: '', password: TEST_PASSWORD }, trust: { insecure: true } });
    await s.stop();
    expect(r.report.verdict.id).toBe('ok');
    expect(r.report.stages.find((x) => x.stage === 'nla_auth')?.status).toBe('ok');
    const a = analyzed(r.bytes);
    expect(a.verdict).toBe('ok');
    expect(a.report.stages.find((x) => x.stage === 'nla_auth')?.status).toBe('ok');
    expect(findSecret(r.bytes, TEST_PASSWORD)).toBeUndefined();
    if (tsharkOk) {
      const out = tshark(r.file, s.port, ['-V']);
      for (const f of ['NTLMSSP_AUTH', `User name: ${TEST_USER}`, 'pubKeyAuth']) expect(out).toContain(f);
      for (const f of passwordForms(TEST_PASSWORD)) expect(out.toLowerCase().includes(f.toLowerCase())).toBe(false);
    }
  }, 60_000);
});
