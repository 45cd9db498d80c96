/**
 * Issue #7, CLI side: no failure reported as success (item 2), NO_COLOR/FORCE_COLOR and `--lab access-denied` on its
 * own (item 4), bad input is one line and exit 2 (item 5). main() in process with fake streams.
 */
import net from 'node:net';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, exitFor, main } from '../../src/cli/main.js';
import { ReportBuilder } from '../../src/probe/report-builder.js';
import type { ProbeReport } from '../../src/probe/types.js';
import { encodeConnectionConfirm } from '../../src/protocol/x224.js';
import { encodeNegFailure } from '../../src/protocol/nego.js';
import { startScripted, type ScriptedServer } from '../helpers/scripted-server.js';
import { memoryIo } from '../helpers/cli-io.js';

const io = (env: NodeJS.ProcessEnv = {}): ReturnType<typeof memoryIo> => memoryIo({ env });

const STACK = /\s+at .*\(?.*:\d+:\d+\)?/;
const dir = mkdtempSync(join(tmpdir(), 'rdp-probe-bad-input-'));
let peer: ScriptedServer;
let closedPort = 0;
beforeAll(async () => {
  peer = await startScripted((s) => s.end(Buffer.from(encodeConnectionConfirm({ dstRef: 0, srcRef: 0x1234, classOption: 0, neg: encodeNegFailure({ flags: 0, failureCode: 5 }) }))));
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  closedPort = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
});
afterAll(async () => {
  await peer.close();
  rmSync(dir, { recursive: true, force: true });
});

function expectUsage(t: ReturnType<typeof io>, code: number, re?: RegExp): void {
  expect(code).toBe(2);
  expect(t.err().trim().split('\n')).toHaveLength(1);
  expect(t.err()).not.toMatch(STACK);
  expect(t.err()).not.toMatch(/internal error/);
  if (re) expect(t.err()).toMatch(re);
  expect(t.out()).toBe('');
}

describe('item 2: no failure is reported as success', () => {
  it('--known-hosts in a directory that does not exist: one usage line, exit 2, before any probe', async () => {
    const before = peer.connections;
    const t = io();
    const code = await main(['check', `${peer.host}:${peer.port}`, '--known-hosts', join(dir, 'no-such-dir', 'known_hosts')], t.io);
    expectUsage(t, code, /--known-hosts .*does not exist/);
    expect(peer.connections).toBe(before);
  });

  it('--known-hosts naming a directory, or a file that cannot be read: one usage line, exit 2', async () => {
    const t = io();
    expectUsage(t, await main(['check', `${peer.host}:${peer.port}`, '--known-hosts', dir], t.io), /is not a file/);
    const kh = join(dir, 'kh-garbage');
    writeFileSync(kh, 'not a known-hosts line\n');
    const g = io();
    expectUsage(g, await main(['check', `${peer.host}:${peer.port}`, '--known-hosts', kh], g.io), /expected "HOST:PORT sha256:HEX"/);
  });

  it('exitFor: internal_error and local_failure are exit 2, never ok; so is an internal-error anomaly', () => {
    const base = (): ProbeReport => {
      const b = new ReportBuilder({ host: '192.0.2.1', port: 3389 }, 'tcp', () => 0, new Date(0), 'test');
      b.skip('dns', 'test');
      b.begin('tcp').end({ status: 'ok' });
      return b.build();
    };
    const ok = base();
    expect(exitFor(ok)).toBe(EXIT.OK);
    expect(EXIT.INTERNAL).toBe(2);
    for (const id of ['internal_error', 'local_failure']) {
      const r = base();
      (r.verdict as { id: string }).id = id;
      expect(exitFor(r)).toBe(2);
    }
    const a = base();
    a.anomalies.push('internal error: boom');
    expect(exitFor(a)).toBe(2);
  });

  it('a report that cannot be written to stdout is exit 2 with one line, not the verdict exit code', async () => {
    const t = io();
    let e = '';
    const broken = new Writable({ write: (_c, _e, cb) => cb(Object.assign(new Error('write EBADF'), { code: 'EBADF' })) });
    broken.on('error', () => undefined);
    const err = new PassThrough();
    err.on('data', (d) => (e += d));
    const code = await main(['check', `127.0.0.1:${closedPort}`, '--json'], { stdout: broken, stderr: err, env: {} });
    expect(code).toBe(2);
    expect(e.trim().split('\n')).toHaveLength(1);
    expect(e).toMatch(/cannot write the report to standard output: EBADF/);
    void t;
  });

  it('a stdout closed at start (>&-) is refused before any probe', async () => {
    const before = peer.connections;
    const t = io();
    const code = await main(['check', `${peer.host}:${peer.port}`], { ...t.io, stdoutClosed: true });
    expectUsage(t, code, /standard output is closed/);
    expect(peer.connections).toBe(before);
  });
});

describe('item 4: colour and the lab', () => {
  const ESC = /\x1b\[/;
  const check = async (env: NodeJS.ProcessEnv, extra: string[] = [], tty = false) => {
    const t = io(env);
    if (tty) t.io.stdout.isTTY = true;
    await main(['check', `127.0.0.1:${closedPort}`, '--depth', 'tcp', ...extra], t.io);
    return t.out();
  };
  it('check: NO_COLOR (any non-empty value) turns colour off on a TTY; empty NO_COLOR does not', async () => {
    expect(await check({}, [], true)).toMatch(ESC);
    expect(await check({ NO_COLOR: '1' }, [], true)).not.toMatch(ESC);
    expect(await check({ NO_COLOR: 'yes please' }, [], true)).not.toMatch(ESC);
    expect(await check({ NO_COLOR: '' }, [], true)).toMatch(ESC);
  });
  it('check: FORCE_COLOR turns it on in a pipe, FORCE_COLOR=0 off; --color / --no-color win over both', async () => {
    expect(await check({})).not.toMatch(ESC);
    expect(await check({ FORCE_COLOR: '1' })).toMatch(ESC);
    expect(await check({ FORCE_COLOR: '0' }, [], true)).not.toMatch(ESC);
    expect(await check({ NO_COLOR: '1' }, ['--color'])).toMatch(ESC);
    expect(await check({ FORCE_COLOR: '1' }, ['--no-color'])).not.toMatch(ESC);
  });
  it('analyze honours NO_COLOR and FORCE_COLOR', async () => {
    const file = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../shared/captures/public/zeek/rdp-proprietary-encryption.pcap');
    const a = io({ FORCE_COLOR: '1' });
    await main(['analyze', file], a.io);
    expect(a.out()).toMatch(ESC);
    const b = io({ NO_COLOR: '1' });
    b.io.stdout.isTTY = true;
    await main(['analyze', file], b.io);
    expect(b.out()).not.toMatch(ESC);
    expect(b.out()).toMatch(/RDP connection/);
  });
  it('scan table honours NO_COLOR and FORCE_COLOR, --no-color winning', async () => {
    const run = async (env: NodeJS.ProcessEnv, extra: string[] = [], tty = false) => {
      const t = io(env);
      if (tty) t.io.stdout.isTTY = true;
      await main(['scan', `127.0.0.1:${closedPort}`, `${peer.host}:${peer.port}`, '--depth', 'x224', '--no-enumerate', '-o', 'table', ...extra], t.io);
      expect(t.out()).toMatch(/TARGET\s+VERDICT/);
      return t.out();
    };
    expect(await run({ FORCE_COLOR: '1' })).toMatch(ESC);
    expect(await run({}, [], true)).toMatch(ESC);
    expect(await run({ NO_COLOR: '1' }, [], true)).not.toMatch(ESC);
    expect(await run({ FORCE_COLOR: '1' }, ['--no-color'])).not.toMatch(ESC);
    expect(await run({})).not.toMatch(ESC);
  });
  it('check --lab access-denied alone shows its failure: depth session with the lab account, delegated, password never printed', async () => {
    const t = io();
    const code = await main(['check', '--lab', 'access-denied', '--color=false'], t.io);
    expect(code).toBe(1);
    expect(t.out()).toMatch(/Verdict\s+not_authorized at authz/);
    expect(t.out()).toMatch(/credentials accepted for LAB\\lab/);
    // Trusted by the lab's own certificate fingerprint, not by --insecure.
    expect(t.out()).not.toMatch(/nla-auth-insecure/);
    const j = io();
    expect(await main(['check', '--lab', 'access-denied', '--json'], j.io)).toBe(1);
    expect(j.out()).not.toContain('lab-password');
    expect(Buffer.from(j.out()).toString('hex')).not.toContain(Buffer.from('lab-password', 'utf16le').toString('hex'));
    expect(JSON.parse(j.out()).depth).toBe('session');
  });
  it('--lab access-denied with an explicit --depth keeps it (no implied account)', async () => {
    const t = io();
    const code = await main(['check', '--lab', 'access-denied', '--depth', 'credssp', '--json'], t.io);
    expect(code).toBe(0);
    expect(JSON.parse(t.out()).depth).toBe('credssp');
  });
});

describe('item 5: bad input gets one line and exit 2', () => {
  it.each([
    [['check', 'a..b']],
    [['check', '.a']],
    [['check', '127.0.0.1', '--dns-server', 'not an ip']],
    [['check', '127.0.0.1', '--dns-server']],
    [['check', '127.0.0.1', '--port', '0']],
    [['check', '127.0.0.1:3389', '--port', '0']],
    [['check', '127.0.0.1', '--warn-days', '-5']],
    [['scan', 'a..b']],
    [['scan', '127.0.0.1', '--dns-server', 'not an ip']],
    [['scan', '127.0.0.1', '--dns-server']],
    [['scan', '127.0.0.1', '--port', '0']],
    [['scan', '127.0.0.1', '-p', '0']],
    [['scan', '127.0.0.1', '--warn-days', '-5']],
    [['analyze', resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../shared/captures/public/zeek/rdp-proprietary-encryption.pcap'), '--warn-days', '-5']],
  ])('%j', async (argv) => {
    const t = io();
    expectUsage(t, await main(argv, t.io));
  });

  it('scan -iL /dev/zero: one line naming line 1, exit 2', async () => {
    const t = io();
    expectUsage(t, await main(['scan', '-iL', '/dev/zero'], t.io), /-iL \/dev\/zero:1: line is longer than 64 KiB/);
  });

  it('scan --resume /dev/zero: one line, exit 2', async () => {
    const t = io();
    expectUsage(t, await main(['scan', '127.0.0.1', '--resume', '/dev/zero'], t.io), /--resume \/dev\/zero:1: line is longer than 16 MiB/);
  });

  it('a big file with no newline is refused, not read whole', async () => {
    const f = join(dir, 'no-newline.txt');
    writeFileSync(f, Buffer.alloc(4 * 1024 * 1024, 0x31));
    const t = io();
    expectUsage(t, await main(['scan', '-iL', f], t.io), /:1: line is longer than 64 KiB/);
  });

  it('an -iL line over 64 KiB is refused naming its line, never cut into another address', async () => {
    const f = join(dir, 'long-line.txt');
    // Cut at 64 KiB this line would end in "127.0.0.19".
    const pad = ' '.repeat(65536 - '127.0.0.19'.length);
    writeFileSync(f, `127.0.0.1:${closedPort}\n${pad}127.0.0.199:${closedPort}\n`);
    const t = io();
    const code = await main(['scan', '-iL', f, '-o', 'ndjson', '--depth', 'tcp'], t.io);
    expect(code).toBe(2);
    expect(t.err().trim().split('\n')).toHaveLength(1);
    expect(t.err()).toContain(`${f}:2: line is longer than 64 KiB; refused (not cut)`);
    // The list is read as the scan pulls targets: line 1 was probed; nothing made of line 2 was.
    const hosts = t.out().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).target.host);
    expect(hosts).toEqual(['127.0.0.1']);
  });

  it('scan -iL /tmp (a directory) is a usage error, not an internal error', async () => {
    const t = io();
    expectUsage(t, await main(['scan', '-iL', tmpdir()], t.io), /is a directory/);
    const r = io();
    const sub = join(dir, 'resume-dir');
    mkdirSync(sub);
    expectUsage(r, await main(['scan', '127.0.0.1', '--resume', sub], r.io), /is a directory/);
  });

  it('--resume X --output X with a format other than ndjson is refused', async () => {
    const f = join(dir, 'same.out');
    writeFileSync(f, '');
    for (const fmt of ['csv', 'table', 'json']) {
      const t = io();
      expectUsage(t, await main(['scan', '127.0.0.1', '--resume', f, '--output', f, '-o', fmt], t.io), /needs -o ndjson/);
    }
  });

  it('--resume recognises a 190 KB record (and still ignores a cut last line)', async () => {
    const f = join(dir, 'big-records.ndjson');
    const big = { schemaVersion: 1, tool: { name: 'rdp-probe', version: 'x' }, target: { host: '127.0.0.1', port: closedPort }, verdict: { id: 'port_closed' }, stages: [], findings: [{ id: 'cert-huge', severity: 'info' }], anomalies: ['x'.repeat(190_000)] };
    writeFileSync(f, `${JSON.stringify(big)}\n{"schemaVersion":1,"target":{"host":"127.0.0.3","po`);
    const t = io();
    const code = await main(['scan', `127.0.0.1:${closedPort}`, `127.0.0.2:${closedPort}`, '--depth', 'tcp', '-o', 'ndjson', '--resume', f], t.io);
    expect(code).toBe(0);
    expect(t.err()).toMatch(/resume: 1 target\(s\) already done .*last line was cut short/);
    const hosts = t.out().trim().split('\n').map((l) => JSON.parse(l).target.host);
    expect(hosts).toEqual(['127.0.0.2']);
    // The summary counts the record read back too.
    expect(t.err()).toMatch(/scanned 2 target\(s\) \(1 from --resume, 1 now\)/);
    expect(t.err()).toMatch(/findings: cert-huge 1/);
  });

  it('scan whose stdout reader goes away (EPIPE) stops probing and ends quietly, exit 0', async () => {
    let lines = 0;
    const stdout = new Writable({
      write: (chunk, _e, cb) => {
        lines += String(chunk).split('\n').length - 1;
        if (lines > 2) cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
        else cb();
      },
    });
    const err = new PassThrough();
    let e = '';
    err.on('data', (d) => (e += d));
    // 1024 targets at 4 in flight: reaching the end would take far longer than stopping does.
    const t0 = performance.now();
    const code = await main(['scan', `127.0.0.0/22`, '-p', String(closedPort), '--depth', 'tcp', '-c', '4', '-o', 'ndjson'], { stdout, stderr: err, env: {} });
    expect(code).toBe(0);
    expect(e).toBe('');
    expect(lines).toBeLessThan(20);
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});
