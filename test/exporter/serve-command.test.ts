import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseListen, runServeCommand } from '../../src/cli/serve-command.js';
import { UsageError } from '../../src/cli/target.js';
import { testTempDir } from '../helpers/temp-dir.js';

const args = (over: Record<string, unknown> = {}) => ({ listen: '127.0.0.1:0', 'max-concurrent': 4, 'max-queue': 4, 'timeout-offset': 0.5, 'log-level': 'warn' as const, ...over }) as Parameters<typeof runServeCommand>[0];

describe('rdp-probe serve', () => {
  it('parses --listen', () => {
    expect(parseListen('127.0.0.1:9389')).toEqual({ host: '127.0.0.1', port: 9389 });
    expect(parseListen('[::1]:9389')).toEqual({ host: '::1', port: 9389 });
    expect(parseListen(':9389')).toEqual({ host: '0.0.0.0', port: 9389 });
    expect(() => parseListen('9389')).toThrow(UsageError);
    expect(() => parseListen('127.0.0.1:70000')).toThrow(/out of range/);
    expect(() => parseListen('[nope]:1')).toThrow(/not an IPv6/);
  });

  it('a bad config is one usage line naming the file and line', async () => {
    const dir = testTempDir('rdp-probe-serve-');
    const file = join(dir, 'bad.yml');
    writeFileSync(file, 'modules:\n  a:\n    depth: tls\n    colour: red\n');
    await expect(runServeCommand(args({ config: file }), { stderr: new PassThrough(), env: {} })).rejects.toThrow(`${file}:4:5: unknown key "colour" in module a`);
  });

  it('serves probes from the config until SIGTERM, then exits 0', async () => {
    const dir = testTempDir('rdp-probe-serve-');
    const file = join(dir, 'exporter.yml');
    writeFileSync(file, 'modules:\n  quick:\n    depth: tcp\n    timeout: 2s\n');
    const err = new PassThrough();
    let text = '';
    err.on('data', (d) => (text += d));
    const signals = new EventEmitter();
    const done = runServeCommand(args({ config: file }), { stderr: err, env: {}, signals });
    for (let i = 0; i < 100 && !/listening on/.test(text); i++) await new Promise((r) => setTimeout(r, 20));
    const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
    expect(m, text).not.toBeNull();
    // A closed port as the target.
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const closed = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const res = await fetch(`${m![1]}/probe?module=quick&target=127.0.0.1:${closed}`);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toMatch(/^probe_success 0$/m);
    expect(body).toMatch(/^probe_rdp_verdict\{verdict="port_closed"\} 1$/m);
    expect((await fetch(`${m![1]}/probe?module=rdp&target=127.0.0.1:${closed}`)).status).toBe(400);
    const metrics = await (await fetch(`${m![1]}/metrics`)).text();
    expect(metrics).toMatch(/^rdp_probe_exporter_probes_total\{module="quick",result="failure"\} 1$/m);
    expect(metrics).toMatch(/^process_resident_memory_bytes \d+/m);
    signals.emit('SIGTERM');
    await expect(done).resolves.toBe(0);
    expect(text).toMatch(/SIGTERM: stopping/);
    await expect(fetch(`${m![1]}/metrics`)).rejects.toThrow();
  });
});
