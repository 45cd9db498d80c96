/**
 * `rdp-probe lab`: --list, the loopback-only rule, serving until SIGINT (a port each, or one port chosen by the
 * X.224 cookie), the tour (every scenario probed in process, exit 0, the table and the ladder of errinfo-0x7),
 * and what the lab records of the probe: its Connect-Initial, its Client Info without a password, its polite
 * leave, and real RC4 under standard RDP security.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { LAB_ACCOUNT } from '../../src/cli/lab-account.js';
import { SCENARIOS, SCENARIO_NAMES } from '../../src/lab/scenarios.js';
import { startLab, type LabServer } from '../../src/lab/server.js';
import { scenarioProbeOptions } from '../../src/lab/tour.js';
import { scenario } from '../../src/lab/scenarios.js';
import { decodeX224Frame, encodeConnectionRequest } from '../../src/protocol/x224.js';
import { runProbe } from '../../src/transport/drive.js';

function cli(signals?: EventEmitter) {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (d) => (o += d));
  err.on('data', (d) => (e += d));
  return { io: { stdout: out, stderr: err, env: {}, ...(signals ? { signals } : {}) }, out: () => o, err: () => e };
}

/** One X.224 Connection Request with this cookie; the answer's negotiation message. */
async function connectionRequest(port: number, cookie: string | undefined, requestedProtocols = 0x0b) {
  const s = net.connect(port, '127.0.0.1');
  await new Promise<void>((r, j) => s.once('connect', () => r()).once('error', j));
  s.write(encodeConnectionRequest({ ...(cookie !== undefined ? { cookie } : {}), neg: { flags: 0, requestedProtocols } }));
  const frame = await new Promise<Buffer>((r, j) => {
    let b = Buffer.alloc(0);
    s.on('data', (d) => {
      b = Buffer.concat([b, d]);
      if (b.length >= 4 && b.length >= b.readUInt16BE(2)) r(b.subarray(0, b.readUInt16BE(2)));
    });
    s.once('error', j);
    setTimeout(() => j(new Error('no answer')), 3000);
  });
  s.destroy();
  const pdu = decodeX224Frame(new Uint8Array(frame));
  return pdu.type === 'connection_confirm' ? pdu.neg : undefined;
}

describe('rdp-probe lab --list and usage', () => {
  it('--list: one row per scenario with its expected verdict and stage', async () => {
    const t = cli();
    expect(await main(['lab', '--list'], t.io)).toBe(0);
    const lines = t.out().trim().split('\n');
    expect(lines[0]).toMatch(/^scenario\s+expected\s+stage\s+probe with\s+description$/);
    expect(lines).toHaveLength(SCENARIOS.length + 1);
    for (const s of SCENARIOS) expect(lines.some((l) => l.startsWith(`${s.name} `) && l.includes(s.expected.verdict) && l.includes(s.description))).toBe(true);
    expect(t.out()).toMatch(/^errinfo-0x7\s+session_refused\s+activation\s+--depth session\s+after licensing/m);
  });

  it.each(['10.0.0.1', '0.0.0.0', '::', 'example.com'])('--listen %s: refused in one line, exit 2', async (addr) => {
    const t = cli();
    expect(await main(['lab', '--listen', addr], t.io)).toBe(2);
    expect(t.err()).toBe(`rdp-probe: --listen ${addr}: the lab listens on loopback only (127.0.0.0/8 or ::1)\n`);
    expect(t.out()).toBe('');
  });

  it('an unknown scenario is a usage error', async () => {
    const t = cli();
    expect(await main(['lab', '--scenario', 'no-such-thing', '--list'], t.io)).toBe(2);
    expect(t.err()).toMatch(/unknown scenario "no-such-thing"/);
  });
});

describe('rdp-probe lab (serving until SIGINT)', () => {
  it('a port each: prints them; a probe of one gets its verdict; SIGINT stops the lab and exits 0', async () => {
    const signals = new EventEmitter();
    const t = cli(signals);
    const done = main(['lab', '--scenario', 'errinfo-0x9', '--scenario', 'connects'], t.io);
    for (let i = 0; i < 100 && !/connects\s+127\.0\.0\.1:\d+/.test(t.out()); i++) await new Promise((r) => setTimeout(r, 50));
    const port = Number(/errinfo-0x9\s+127\.0\.0\.1:(\d+)/.exec(t.out())?.[1]);
    expect(port).toBeGreaterThan(0);
    expect(t.out()).toContain(`--user '${LAB_ACCOUNT.typed}'`);
    const r = await runProbe({ host: '127.0.0.1', port }, { depth: 'session', enumerate: false, stageTimeoutMs: 3000 });
    expect(r.verdict).toMatchObject({ id: 'session_refused', stage: 'activation', mstsc: { disconnectReason: 3, extendedReason: 9 } });
    signals.emit('SIGINT');
    expect(await done).toBe(0);
    await expect(connectionRequest(port, undefined)).rejects.toThrow();
  });

  it('one port: the X.224 cookie mstshash=<scenario> chooses the scenario, the first one is the default', async () => {
    const lab = await startLab({ scenarios: ['connects', 'neg-ssl-required', 'neg-hybrid-required'], port: 0 });
    try {
      const port = lab.ports['connects']!;
      expect(new Set(Object.values(lab.ports))).toEqual(new Set([port]));
      expect(await connectionRequest(port, 'neg-ssl-required')).toMatchObject({ type: 'failure', failureCode: 1 });
      expect(await connectionRequest(port, 'neg-hybrid-required')).toMatchObject({ type: 'failure', failureCode: 5 });
      expect(await connectionRequest(port, undefined)).toMatchObject({ type: 'response', selectedProtocol: 1 });
      expect(await connectionRequest(port, 'someuser')).toMatchObject({ type: 'response', selectedProtocol: 1 });
      await lab.settled();
      expect(lab.connections.map((c) => c.scenario)).toEqual(['neg-ssl-required', 'neg-hybrid-required', 'connects', 'connects']);
    } finally {
      await lab.close();
    }
  });
});

describe('rdp-probe lab --tour', () => {
  it('probes every scenario, lists each with expected and observed, shows the ladder of errinfo-0x7, exits 0, in seconds', async () => {
    const t = cli();
    const t0 = performance.now();
    const code = await main(['lab', '--tour', '--color=false'], t.io);
    const ms = performance.now() - t0;
    console.log(`lab --tour: ${SCENARIOS.length} scenarios in ${Math.round(ms)} ms`);
    expect(t.err()).toBe('');
    expect(code).toBe(0);
    const out = t.out();
    for (const n of SCENARIO_NAMES) expect(out).toMatch(new RegExp(`^${n}\\s+\\S.*\\s+ok$`, 'm'));
    expect(out).not.toContain('DIFFERS');
    expect(out).toMatch(/^errinfo-0x7\s+session_refused at activation\s+session_refused at activation\s+ok$/m);
    expect(out).toMatch(/The stage ladder of errinfo-0x7/);
    expect(out).toMatch(/^\s+✓ licensing .*STATUS_VALID_CLIENT$/m);
    expect(out).toMatch(/^\s+✗ activation .*Set Error Info/m);
    expect(out).toMatch(/^mstsc\s+would show "error code 0x3, extended error code 0x7"$/m);
    expect(out).toMatch(new RegExp(`^${SCENARIOS.length}/${SCENARIOS.length} scenarios as expected in \\d+\\.\\d s`, 'm'));
    expect(ms).toBeLessThan(20_000);
  }, 30_000);
});

describe('what the lab saw the probe send', () => {
  let lab: LabServer;
  beforeAll(async () => {
    lab = await startLab({ scenarios: ['connects', 'connects-rdp-security', 'credssp-6', 'errinfo-0x7', 'legacy'] });
  });
  afterAll(() => lab.close());
  const probe = async (name: string, over = {}) => {
    const before = lab.connections.length;
    const r = await runProbe({ host: lab.host, port: lab.ports[name]! }, scenarioProbeOptions(lab, scenario(name)!, over));
    await lab.settled();
    return { r, conns: lab.connections.slice(before) };
  };

  it('connects over TLS: a Connect-Initial that asks for Set Error Info, a Client Info without a password, a polite leave', async () => {
    const { r, conns } = await probe('connects');
    expect(r.verdict.id).toBe('connects');
    const s = conns[0]!.session!;
    expect(s.connectInitial).toMatchObject({ clientName: 'rdp-probe', serverSelectedProtocol: 1, supportsErrorInfo: true, console: false });
    expect(s.erectDomain).toBe(true);
    expect(s.joined).toEqual([1007, 1003]);
    expect(s.clientInfo).toMatchObject({ passwordSent: false, encrypted: false });
    expect(s.clientUltimatum).toBe('rn-user-requested');
    expect(s.problems).toEqual([]);
    expect(s.sent).toEqual(['MCS Connect-Response (result 0)', 'MCS Attach User Confirm', 'MCS Channel Join Confirm (1007)', 'MCS Channel Join Confirm (1003)', 'Licensing / License Error (STATUS_VALID_CLIENT)', 'Demand Active PDU']);
  });

  it('TLS without NLA and --delegate: the lab account password goes in the Client Info (delegation), and it matches', async () => {
    const { r, conns } = await probe('connects', { credentials: { user: 'lab', domain: 'LAB', password: LAB_ACCOUNT.password }, delegate: true });
    expect(r.verdict.id).toBe('connects');
    expect(conns[0]!.session!.clientInfo).toMatchObject({ user: 'lab', domain: 'LAB', passwordSent: true, passwordMatches: true });
    // Kept only as a yes/no: the observation holds no password.
    expect(JSON.stringify(conns[0]!.session)).not.toContain(LAB_ACCOUNT.password);
  });

  it('the same account without --delegate: the user name, no password', async () => {
    const { conns } = await probe('connects', { credentials: { user: 'lab', domain: 'LAB', password: LAB_ACCOUNT.password }, delegate: false });
    expect(conns[0]!.session!.clientInfo).toMatchObject({ user: 'lab', passwordSent: false });
  });

  it('NLA with delegation: the password goes in the TSCredentials only, never in the Client Info', async () => {
    const { r, conns } = await probe('credssp-6', { depth: 'session', delegate: true, credentials: { user: 'lab', domain: 'LAB', password: LAB_ACCOUNT.password } });
    expect(r.verdict.id).toBe('connects');
    const c = conns[0]!;
    expect(c.credssp?.credentials).toMatchObject({ userName: 'lab', domainName: 'LAB' });
    expect(c.session?.clientInfo).toMatchObject({ user: 'lab', passwordSent: false });
  });

  it('standard RDP security: the lab decrypts the client random with its key, and both directions are RC4 with MACs', async () => {
    const { r, conns } = await probe('connects-rdp-security');
    expect(r.verdict.id).toBe('connects');
    const sec = r.stages.find((s) => s.stage === 'security')!;
    expect(sec.facts).toMatchObject({ encryptionMethod: '128BIT', encryptionLevel: 'HIGH' });
    expect((sec.facts?.['certificate'] as Record<string, unknown>)['signature']).toBe('verified with the Terminal Services key');
    expect(r.findings.map((f) => f.id)).not.toContain('proprietary-cert-signature-invalid');
    const s = conns[0]!.session!;
    expect(s.encryption).toEqual({ method: '128BIT', level: 3 });
    expect(s.securityExchange).toBe('ok');
    // The Client Info arrived encrypted and its MAC verified with the lab's own keys.
    expect(s.clientInfo).toMatchObject({ encrypted: true, passwordSent: false });
    expect(s.decryptedFromClient).toBeGreaterThanOrEqual(1);
    expect(s.connectInitial?.encryptionMethods).toEqual(expect.arrayContaining(['ENCRYPTION_METHOD_128BIT']));
  });

  it('legacy at --depth session: no negotiation data, then standard RDP security to a Demand Active', async () => {
    const { r, conns } = await probe('legacy', { depth: 'session' });
    expect(r.stages.find((s) => s.stage === 'x224')?.facts?.['legacy']).toBe(true);
    expect(r.stages.find((s) => s.stage === 'activation')?.status).toBe('ok');
    const s = conns[0]!.session!;
    expect(s.connectInitial?.serverSelectedProtocol ?? 0).toBe(0);
    expect(s.securityExchange).toBe('ok');
  });

  it('errinfo-0x7: the lab sent Set Error Info then an ultimatum, and the report names the mstsc pair 0x3/0x7', async () => {
    const { r, conns } = await probe('errinfo-0x7');
    expect(r.verdict.mstsc).toMatchObject({ disconnectReason: 3, extendedReason: 7 });
    expect(conns[0]!.session!.sent.slice(-2)).toEqual(['Set Error Info (0x7)', 'MCS Disconnect Provider Ultimatum (rn-provider-initiated)']);
  });

  it('start-up is fast: keys from node:crypto, certificates signed natively', () => {
    console.log(`lab start-up: keys and certificates ${lab.startup.keysMs} ms, whole start ${lab.startup.totalMs} ms`);
    expect(lab.startup.keysMs).toBeLessThan(5000);
  });
});
