/**
 * Verdicts that name what happened, from scripted peers on loopback: a reset right after accept, the target
 * deadline against the stage deadline, enumeration cut by our own deadline, a TLS record that stalls.
 */
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { runProbe } from '../../src/transport/drive.js';
import { encodeConnectionConfirm } from '../../src/protocol/x224.js';
import { encodeNegResponse } from '../../src/protocol/nego.js';
import { startScripted, type ScriptedServer } from '../helpers/scripted-server.js';

const servers: ScriptedServer[] = [];
async function serve(...args: Parameters<typeof startScripted>): Promise<ScriptedServer> {
  const s = await startScripted(...args);
  servers.push(s);
  return s;
}
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

const stage = (r: Awaited<ReturnType<typeof runProbe>>, id: string) => r.stages.find((s) => s.stage === id)!;
const cc = (selectedProtocol: number): Buffer => Buffer.from(encodeConnectionConfirm({ dstRef: 0, srcRef: 0x1234, classOption: 0, neg: encodeNegResponse({ flags: 0, selectedProtocol }) }));

describe('a server that accepts and resets at once (harness fake-rst)', () => {
  it('is connection_dropped at x224 with tcp ok, 30 times out of 30', async () => {
    const srv = await serve((s: net.Socket) => s.resetAndDestroy(), { onAccept: true });
    const seen: string[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await runProbe({ host: srv.host, port: srv.port }, { stageTimeoutMs: 2000, targetTimeoutMs: 5000, enumerate: false });
      seen.push(`${r.verdict.id} at ${r.verdict.stage} (tcp ${stage(r, 'tcp').status})`);
    }
    expect(new Set(seen)).toEqual(new Set(['connection_dropped at x224 (tcp ok)']));
    expect(srv.connections).toBe(30);
  });
});

describe('the target deadline says it is the target deadline', () => {
  it('--target-timeout 1s with a 5 s stage deadline: timeout, "the 1000 ms target deadline passed during x224"', async () => {
    const srv = await serve(() => undefined);
    const t0 = performance.now();
    const r = await runProbe({ host: srv.host, port: srv.port }, { stageTimeoutMs: 5000, targetTimeoutMs: 1000, enumerate: false });
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(r.verdict).toMatchObject({ id: 'timeout', stage: 'x224' });
    expect(r.verdict.summary).toContain('the 1000 ms target deadline passed during x224');
    expect(r.verdict.summary).not.toMatch(/5000 ms/);
    expect(stage(r, 'x224').error?.kind).toBe('target_deadline');
  });

  it('the stage deadline is still the server not answering (no_answer)', async () => {
    const srv = await serve(() => undefined);
    const r = await runProbe({ host: srv.host, port: srv.port }, { stageTimeoutMs: 300, targetTimeoutMs: 5000, enumerate: false });
    expect(r.verdict.id).toBe('no_answer');
    expect(stage(r, 'x224').error?.kind).toBe('timeout');
  });

  it('a caller that stops the probe gets cancelled, not a timeout', async () => {
    const srv = await serve(() => undefined);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const r = await runProbe({ host: srv.host, port: srv.port }, { stageTimeoutMs: 5000, targetTimeoutMs: 5000, enumerate: false, signal: ac.signal });
    expect(r.verdict).toMatchObject({ id: 'cancelled', stage: 'x224' });
  });

  it('enumeration connections cut by our deadline are not server timeouts', async () => {
    // The main connection is answered at once (SSL); every later connection hangs until the target deadline.
    let n = 0;
    const srv = await serve((s) => {
      if (n++ === 0) s.end(cc(1));
    });
    const r = await runProbe({ host: srv.host, port: srv.port }, { depth: 'x224', stageTimeoutMs: 5000, targetTimeoutMs: 800, enumerate: true });
    expect(stage(r, 'x224').status).toBe('ok');
    const answers = r.enumeration!.protocols;
    expect(answers.some((a) => a.answer?.startsWith('cut: the 800 ms target deadline passed'))).toBe(true);
    for (const a of answers) expect(a.answer ?? '').not.toBe('timeout');
    expect(answers.filter((a) => a.answer?.startsWith('cut:')).every((a) => a.accepted === null && a.how === 'unknown')).toBe(true);
  });
});

describe('TLS', () => {
  it('a TLS record header and then a stall is a TLS timeout, not "not TLS"', async () => {
    const srv = await serve((s) => {
      s.write(cc(1));
      s.once('data', () => s.write(Buffer.from('1603030050', 'hex')));
      s.resume();
    });
    const r = await runProbe({ host: srv.host, port: srv.port }, { depth: 'tls', stageTimeoutMs: 500, targetTimeoutMs: 5000, enumerate: false });
    const t = stage(r, 'tls');
    expect(t.error?.kind).toBe('tls_timeout');
    expect(t.error?.message).toContain('began a TLS record');
    expect(r.verdict.summary).not.toMatch(/not TLS/);
  });
});
