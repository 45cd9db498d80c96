/**
 * The CLI as a real process: what only a process shows. A closed stdout (`>&-`), `scan | head` (EPIPE),
 * `ulimit -n 64` with `-c 500` (EMFILE), and the --help text as a shell prints it.
 */
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeConnectionConfirm } from '../../src/protocol/x224.js';
import { encodeNegFailure } from '../../src/protocol/nego.js';
import { buildCli, runShell } from './built-cli.js';

let cli = '';
const servers: net.Server[] = [];
let port = 0;
const LISTENERS = ['127.0.0.10', '127.0.0.11', '127.0.0.12'];
const dir = mkdtempSync(join(tmpdir(), 'rdp-probe-process-'));

beforeAll(async () => {
  cli = buildCli();
  // A few scripted RDP peers (HYBRID_REQUIRED_BY_SERVER) on one port of 127.0.0.0/24; every other address refuses.
  const confirm = Buffer.from(encodeConnectionConfirm({ dstRef: 0, srcRef: 0x1234, classOption: 0, neg: encodeNegFailure({ flags: 0, failureCode: 5 }) }));
  for (const host of LISTENERS) {
    const srv = net.createServer((s) => {
      s.on('error', () => undefined);
      s.once('data', () => s.end(confirm));
    });
    await new Promise<void>((r) => srv.listen(port, host, () => r()));
    port = (srv.address() as net.AddressInfo).port;
    servers.push(srv);
  }
}, 120_000);
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  rmSync(dir, { recursive: true, force: true });
});

describe('a closed or vanishing stdout', () => {
  it('check >&- fails with exit 2 and a line on stderr instead of exiting with the report lost', async () => {
    const r = await runShell(`node "$CLI" check 127.0.0.10:${port} --no-enumerate >&-`, cli);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^rdp-probe: standard output is closed/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('check >/dev/null is a deliberate discard: the exit code is the verdict', async () => {
    const r = await runShell(`node "$CLI" check 127.0.0.10:${port} --no-enumerate >/dev/null`, cli);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
  });

  it('scan | head -n 2 ends quietly: no stack trace, no error, node exits 0, and stops early', async () => {
    const t0 = performance.now();
    // 1024 targets at 2 in flight: the whole scan would take far longer than stopping.
    const r = await runShell(`node "$CLI" scan 127.0.0.0/22 -p ${port} --depth tcp -c 2 -o ndjson | head -n 2; echo "node=\${PIPESTATUS[0]}" >&2`, cli);
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
    expect(r.stderr.trim()).toBe('node=0');
    expect(performance.now() - t0).toBeLessThan(15_000);
  });
});

describe('our own limits are ours: ulimit -n 64 and -c 500', () => {
  it('no local failure is recorded as a target result; the in-flight count is lowered; --resume lists only real results', async () => {
    const out = join(dir, 'ulimit.ndjson');
    const r = await runShell(`ulimit -n 64; node "$CLI" scan 127.0.0.0/24 -p ${port} -c 500 --no-enumerate -o ndjson --output "${out}"`, cli, 90_000);
    expect(r.stderr).not.toMatch(/\s+at .*:\d+:\d+/);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines.join('\n')).not.toMatch(/EMFILE|ENFILE|local_failure/i);
    const reports = lines.map((l) => JSON.parse(l) as { target: { host: string }; verdict: { id: string } });
    // Every target once, each with a verdict about the server.
    expect(reports).toHaveLength(256);
    expect(new Set(reports.map((x) => x.target.host)).size).toBe(256);
    expect(reports.filter((x) => x.verdict.id === 'negotiation_failure').map((x) => x.target.host).sort()).toEqual(LISTENERS);
    expect(reports.filter((x) => x.verdict.id === 'port_closed')).toHaveLength(253);
    // It was lowered, and said so in one line each time.
    expect(r.stderr).toMatch(/^rdp-probe: EMFILE \(this machine, not a target\): probes in flight lowered from 500 to 250/m);
    expect(r.code).toBe(0);
    // A resumed run finds everything done.
    const again = await runShell(`node "$CLI" scan 127.0.0.0/24 -p ${port} -o ndjson --output "${out}" --resume "${out}"`, cli);
    expect(again.stderr).toMatch(/resume: 256 target\(s\) already done/);
    expect(again.stderr).toMatch(/scanned 256 target\(s\) \(256 from --resume, 0 now\)/);
  }, 120_000);
});

describe('--help', () => {
  it('names the lab account as it must be typed on a shell', async () => {
    const r = await runShell(`node "$CLI" check --help`, cli);
    expect(r.code).toBe(0);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain(`--user 'LAB\\lab' --password-stdin`);
  });
});
