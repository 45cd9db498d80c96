/** The CLI in process: argv in, stdout/stderr/exit code out. */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, parseProtocols } from '../../src/cli/main.js';
import { encodeConnectionConfirm } from '../../src/protocol/x224.js';
import { encodeNegFailure } from '../../src/protocol/nego.js';
import { startScripted, type ScriptedServer } from '../helpers/scripted-server.js';
import { STAGES } from '../../src/probe/types.js';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { memoryIo } from '../helpers/cli-io.js';

const io = (): ReturnType<typeof memoryIo> => memoryIo();

let closedPort = 0;
let f5: ScriptedServer;
beforeAll(async () => {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  closedPort = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  f5 = await startScripted((sock) => sock.end(Buffer.from(encodeConnectionConfirm({ dstRef: 0, srcRef: 0x1234, classOption: 0, neg: encodeNegFailure({ flags: 0, failureCode: 5 }) }))));
});
afterAll(() => f5.close());

describe('rdp-probe check', () => {
  it('--json prints a report with every stage in order; exit 1 for a closed port', async () => {
    const t = io();
    const code = await main(['check', `127.0.0.1:${closedPort}`, '--json'], t.io);
    expect(code).toBe(1);
    const r = JSON.parse(t.out());
    expect(r.schemaVersion).toBe(1);
    expect(r.verdict.id).toBe('port_closed');
    expect(r.stages.map((s: { stage: string }) => s.stage)).toEqual([...STAGES]);
    expect(t.err()).toBe('');
  });

  it('the text report names the code, shows the bytes and the fixes', async () => {
    const t = io();
    const code = await main(['check', `${f5.host}:${f5.port}`, '--no-enumerate', '--color=false'], t.io);
    expect(code).toBe(1);
    const out = t.out();
    expect(out).toMatch(/✗ x224/);
    expect(out).toContain('HYBRID_REQUIRED_BY_SERVER');
    expect(out).toContain('MS-RDPBCGR 2.2.1.2.2');
    expect(out).toContain('030000130ed000001234000300080005000000');
    expect(out).toMatch(/Likely fixes\n  - /);
    expect(out).not.toMatch(/\x1b\[/);
  });

  it('--port and [v6]:port forms', async () => {
    const t = io();
    await main(['check', '127.0.0.1', '--port', String(closedPort), '--json'], t.io);
    expect(JSON.parse(t.out()).target.port).toBe(closedPort);
    const t6 = io();
    await main(['check', `[::1]:${closedPort}`, '--json', '--depth', 'tcp'], t6.io);
    const r6 = JSON.parse(t6.out());
    expect(r6.target.host).toBe('::1');
    expect(r6.stages[0].facts.family).toBe(6);
  });

  it.each([
    [['check', 'host:0'], /port 0 is out of range/],
    [['check', '[::1'], /unclosed/],
    [['check', 'a:b:c'], /ambiguous/],
    [['check', '127.0.0.1', '--timeout', 'soon'], /not a duration/],
    [['check', '127.0.0.1', '--depth', 'deep'], /Invalid values|Choices/],
    [['check', '127.0.0.1', '--protocols', 'tls'], /unknown protocol "tls"/],
    [['check', '127.0.0.1', '--ca', '/nonexistent/ca.pem'], /cannot read --ca file/],
    [['check'], /Not enough non-option arguments|target/],
    [['frobnicate'], /Unknown argument|name a command/],
  ])('usage error %j: one line on stderr, exit 2, no stack', async (argv, re) => {
    const t = io();
    const code = await main(argv, t.io);
    expect(code).toBe(2);
    expect(t.err()).toMatch(re);
    expect(t.err().trim().split('\n')).toHaveLength(1);
    expect(t.err()).not.toMatch(/\s+at .*\(.*:\d+:\d+\)/);
    expect(t.out()).toBe('');
  });

  it('--fail-on turns a finding into exit 1', async () => {
    // A legacy confirm: the verdict passes (exit 0) but the enumeration finds standard RDP security allowed (medium).
    const legacy = await startScripted((s) => s.end(Buffer.from(encodeConnectionConfirm({ dstRef: 0, srcRef: 0x1234, classOption: 0 }))));
    try {
      const a = io();
      expect(await main(['check', `${legacy.host}:${legacy.port}`, '--json'], a.io)).toBe(0);
      const b = io();
      expect(await main(['check', `${legacy.host}:${legacy.port}`, '--json', '--fail-on', 'medium'], b.io)).toBe(1);
    } finally {
      await legacy.close();
    }
  });
});

describe('rdp-probe check --lab (the embedded lab server)', () => {
  it('nla: a full ladder up to credssp, NLA required, exit 0', async () => {
    const t = io();
    expect(await main(['check', '--lab', 'nla', '--json'], t.io)).toBe(0);
    const r = JSON.parse(t.out());
    expect(r.stages.find((s: { stage: string }) => s.stage === 'credssp').facts.serverVersion).toBe(6);
    expect(r.enumeration.nla).toBe('required');
  });
  it('access-denied: authenticated but not allowed to log on, with --delegate only', async () => {
    const t = io();
    const code = await main(['check', '--lab', 'access-denied', '--depth', 'session', '--delegate', '--user', 'LAB\\lab', '--password-env', 'PW', '--insecure', '--no-enumerate', '--color=false'], { ...t.io, env: { PW: 'lab-password' } });
    expect(code).toBe(1);
    expect(t.out()).toMatch(/Verdict\s+not_authorized at authz/);
    expect(t.out()).toMatch(/authenticated, but not allowed to log on over RDP/);
    expect(t.out()).toMatch(/password delegated next, as asked/);
  });
  it('a target and --lab together is a usage error', async () => {
    const t = io();
    expect(await main(['check', '127.0.0.1', '--lab', 'nla'], t.io)).toBe(2);
  });
});

describe('rdp-probe analyze', () => {
  const SHARED = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../shared/captures');
  it('prints one ladder per RDP connection and exits 1 when one failed', async () => {
    const t = io();
    const code = await main(['analyze', `${SHARED}/public/zeek/rdp-proprietary-encryption.pcap`, '--color=false'], t.io);
    expect(code).toBe(1);
    expect(t.out()).toMatch(/2 RDP connection\(s\)/);
    expect(t.out()).toContain('SSL_NOT_ALLOWED_BY_SERVER');
  });
  it('a file that is not a capture is one line, exit 2', async () => {
    const t = io();
    expect(await main(['analyze', '/etc/hostname'], t.io)).toBe(2);
    expect(t.err()).toMatch(/not a readable capture/);
  });
});

describe('parseProtocols', () => {
  it('maps names to requestedProtocols bits', () => {
    expect(parseProtocols('ssl,hybrid,hybrid_ex')).toBe(0x0b);
    expect(parseProtocols('rdp')).toBe(0);
    expect(parseProtocols('RDSAAD')).toBe(0x10);
    expect(() => parseProtocols('rdp,ssl')).toThrow(/cannot be combined/);
  });
});
