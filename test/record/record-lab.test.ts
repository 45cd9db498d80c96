/**
 * check --record against the lab: the recorded file, read back by analyze (with the file's own secrets) gives the
 * live verdict again; tshark, an independent reader, decrypts it from the Decryption Secrets Block alone and sees
 * the CredSSP and T.125 PDUs; the password is in neither the file nor any reader's output, TSCredentials included;
 * and the recordings that would expose it (a Client Info password) are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenario } from '../../src/lab/scenarios.js';
import { LAB_USERS, startLab, type LabServer } from '../../src/lab/server.js';
import { scenarioProbeOptions } from '../../src/lab/tour.js';
import { findSecret, recordingRefusal } from '../../src/probe/recorder.js';
import { SecurityProtocol } from '../../src/protocol/nego.js';
import { analyzed, haveTshark, passwordForms, recordProbe, tshark, type Recorded } from './helpers.js';

const NAMES = ['nla', 'nla-logon-failure', 'errinfo-0x7', 'license-no-server', 'access-denied', 'connects', 'connects-rdp-security'];
const PASSWORD = LAB_USERS[0]!.password;
let lab: LabServer;
const tsharkOk = haveTshark();

beforeAll(async () => {
  lab = await startLab({ scenarios: NAMES });
}, 30_000);
afterAll(async () => lab?.close());

const port = (n: string): number => lab.ports[n]!;
async function record(n: string, over: Parameters<typeof scenarioProbeOptions>[2] = {}): Promise<Recorded> {
  return recordProbe(n, { host: '127.0.0.1', port: port(n) }, scenarioProbeOptions(lab, scenario(n)!, over));
}

/** NTSTATUS as tshark prints credssp.errorCode (a signed 32-bit integer). */
const signed = (v: number): string => String(v | 0);

describe.each([
  { name: 'nla', over: { depth: 'auth' as const, credentials: { user: 'lab', domain: 'LAB', password: PASSWORD } }, verdict: 'ok', stage: undefined, tshark: ['NTLMSSP_AUTH', 'pubKeyAuth'] },
  // The default depth stops after the CHALLENGE: offline, nla_auth is skipped, not failed (no AUTHENTICATE was sent).
  { name: 'nla', label: 'at --depth credssp', over: { depth: 'credssp' as const }, verdict: 'ok', stage: undefined, tshark: ['NTLMSSP_CHALLENGE'] },
  { name: 'nla', label: 'nla delegated (TSCredentials)', over: { depth: 'session' as const, delegate: true, credentials: { user: 'lab', domain: 'LAB', password: PASSWORD } }, verdict: 'connects', stage: undefined, tshark: ['NTLMSSP_AUTH', 'authInfo', 'Demand Active PDU', 'Confirm Active PDU'] },
  { name: 'nla-logon-failure', over: {}, verdict: 'nla_rejected', stage: 'nla_auth', tshark: ['NTLMSSP_AUTH', `errorCode: ${signed(0xc000006d)}`] },
  { name: 'errinfo-0x7', over: {}, verdict: 'session_refused', stage: 'activation', tshark: ['attachUserConfirm', 'disconnectProviderUltimatum'] },
  { name: 'license-no-server', over: {}, verdict: 'license_failure', stage: 'licensing', tshark: ['channelJoinConfirm', 'bMsgType: Error Alert (0xff)'] },
  { name: 'access-denied', over: {}, verdict: 'not_authorized', stage: 'authz', tshark: ['NTLMSSP_AUTH', 'authInfo'] },
])('$name $label', (c) => {
  let r: Recorded;
  beforeAll(async () => {
    r = await record(c.name, c.over);
  }, 30_000);

  it('the live verdict is the scenario’s', () => {
    expect(r.report.verdict.id).toBe(c.verdict);
    expect(r.report.verdict.stage).toBe(c.stage);
  });

  it('analyze on the file gives the live verdict and stage again, decrypted with the embedded secrets', () => {
    const a = analyzed(r.bytes);
    expect(a.secrets).toBe(1);
    expect({ verdict: a.verdict, stage: a.stage }).toEqual({ verdict: r.report.verdict.id, stage: r.report.verdict.stage });
    expect(a.connections).toBe(r.recorder.connections);
  });

  it('the password is in neither the file nor analyze’s output, in any encoding', () => {
    expect(findSecret(r.bytes, PASSWORD)).toBeUndefined();
    const text = Buffer.from(r.bytes).toString('latin1');
    const json = analyzed(r.bytes).json;
    for (const f of passwordForms(PASSWORD)) {
      expect(text.includes(f)).toBe(false);
      expect(json.toLowerCase().includes(f.toLowerCase())).toBe(false);
    }
  });

  it.skipIf(!tsharkOk)('tshark decrypts it from the Decryption Secrets Block alone and sees the CredSSP and T.125 PDUs; no password in its full dissection', () => {
    const verbose = tshark(r.file, port(c.name), ['-V']);
    for (const s of c.tshark) expect(verbose).toContain(s);
    // Decrypted: the TLS records became RDP PDUs.
    expect(tshark(r.file, port(c.name), ['-Y', 'credssp || t125 || rdp', '-T', 'fields', '-e', 'frame.number']).trim().split('\n').length).toBeGreaterThan(1);
    for (const f of passwordForms(PASSWORD)) expect(verbose.toLowerCase().includes(f.toLowerCase())).toBe(false);
  });
});

describe('every connection of the probe is in the file', () => {
  it('with enumeration: the main connection and each enumeration connection, each labelled in its SYN', async () => {
    const r = await record('errinfo-0x7', { enumerate: true });
    expect(r.report.enumeration).toBeDefined();
    expect(r.recorder.connections).toBeGreaterThanOrEqual(3);
    const a = analyzed(r.bytes);
    expect(a.connections).toBe(r.recorder.connections);
    const text = Buffer.from(r.bytes).toString('latin1');
    expect(text).toContain('rdp-probe connection 1: main connection');
    expect(text).toContain('enumeration: requestedProtocols');
    if (tsharkOk) {
      const syns = tshark(r.file, port('errinfo-0x7'), ['-Y', 'tcp.flags.syn==1 && tcp.flags.ack==0', '-T', 'fields', '-e', 'frame.comment']).trim().split('\n');
      expect(syns).toHaveLength(r.recorder.connections);
      const bad = tshark(r.file, port('errinfo-0x7'), ['-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-Y', 'tcp.checksum.status==0 || ip.checksum.status==0 || tcp.analysis.flags && !tcp.analysis.window_update']).trim();
      expect(bad).toBe('');
    }
  }, 30_000);

  it('standard RDP security: the encryption-method connections too', async () => {
    const r = await record('connects-rdp-security', { enumerate: true });
    expect(r.report.enumeration?.encryptionMethods?.length).toBeGreaterThan(0);
    expect(Buffer.from(r.bytes).toString('latin1')).toContain('encryption methods: standard RDP security offering 128BIT');
    expect(r.recorder.connections).toBe(analyzed(r.bytes).connections);
    // Not the live verdict: past the security exchange standard RDP security encrypts with keys from a client random
    // the file cannot carry (pcapng has secrets blocks for TLS, not for RDP's RC4), and analyze says so.
    const a = analyzed(r.bytes);
    expect(r.report.verdict.id).toBe('connects');
    expect(a.verdict).toBe('ok');
    expect(a.json).toContain('encrypted with standard RDP security');
  }, 30_000);
});

describe('recordings that would expose the password are refused', () => {
  const creds = { user: 'lab', domain: 'LAB', password: PASSWORD };

  it('standard RDP security with --delegate --insecure: the Client Info password', async () => {
    const r = await record('connects-rdp-security', { credentials: creds, delegate: true, trust: { insecure: true }, requestedProtocols: SecurityProtocol.PROTOCOL_RDP });
    expect(recordingRefusal(r.report, { delegate: true, credentials: creds })).toMatch(/Client Info/);
  }, 30_000);

  it('TLS without NLA with --delegate and a trusted certificate: the key log would open the Client Info, as tshark shows', async () => {
    const r = await record('connects', { credentials: creds, delegate: true });
    expect(r.report.stages.find((s) => s.stage === 'licensing')?.facts?.['clientInfo']).toMatchObject({ password: 'delegated' });
    expect(recordingRefusal(r.report, { delegate: true, credentials: creds })).toMatch(/Client Info/);
    // Why: the bytes on the wire are encrypted (the raw check does not see it) ...
    expect(findSecret(r.bytes, PASSWORD)).toBeUndefined();
    // ... but a reader with the file's own key log reads the password.
    if (tsharkOk) expect(tshark(r.file, port('connects'), ['-T', 'fields', '-e', 'rdp.password', '-Y', 'rdp.password']).trim()).toBe(PASSWORD);
  }, 30_000);

  it('NLA with --delegate is not refused: TSCredentials are sealed with keys the file does not hold', async () => {
    const r = await record('access-denied');
    expect(recordingRefusal(r.report, { delegate: true, credentials: creds })).toBeUndefined();
  }, 30_000);
});
