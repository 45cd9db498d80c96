/**
 * Issue #11 item 4: the compact record a target gets when it never passes TCP (closed, filtered, unreachable, the
 * name not resolving) is the report the full stage-by-stage path builds for the same target, field by field;
 * only the times differ. Real failures: a closed loopback port, a DNS server on loopback that is not there, and
 * (as root) a network namespace with iptables DROP and REJECT rules.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProbe, type ProbeOptions } from '../../src/transport/drive.js';
import type { ProbeReport } from '../../src/probe/types.js';
import { compactRecordJson, earlyEndReport, encodeCompactRecord, NOT_A_COMPACT_RECORD } from '../../src/probe/report-builder.js';
import { reportLine } from '../../src/report/json.js';
import { filteredNetnsForSuite, realServerSuite, type NetTarget } from '../servers/launcher.js';
import { closedPort } from '../helpers/ports.js';

/** The report with every time replaced by a placeholder (they differ between two runs, nothing else may). */
function timeless(r: ProbeReport): unknown {
  return {
    ...r,
    startedAt: 'T',
    durationMs: 'T',
    stages: r.stages.map((s) => ({ ...s, ...(s.startMs !== undefined ? { startMs: 'T' } : {}), ...(s.durationMs !== undefined ? { durationMs: 'T' } : {}) })),
  };
}

async function both(t: NetTarget, o: Partial<ProbeOptions>): Promise<{ compact: ProbeReport; full: ProbeReport }> {
  const compact = await runProbe(t, o);
  const full = await runProbe(t, { ...o, compactEarlyEnd: false });
  return { compact, full };
}

/** Field by field (so a failure names the field), then as JSON text (key order included: NDJSON lines are identical). */
function expectSame(compact: ProbeReport, full: ProbeReport): void {
  const c = timeless(compact) as Record<string, unknown>;
  const f = timeless(full) as Record<string, unknown>;
  expect(Object.keys(c)).toEqual(Object.keys(f));
  for (const k of Object.keys(f)) expect({ [k]: c[k] }).toEqual({ [k]: f[k] });
  expect(JSON.stringify(c)).toBe(JSON.stringify(f));
  // Its NDJSON line, written from the template's text, is JSON.stringify's byte for byte.
  expect(compactRecordJson(compact)).toBeDefined();
  expect(reportLine(compact)).toBe(JSON.stringify(compact));
  expect(compactRecordJson(full)).toBeUndefined();
  // So are the scan's: the bytes encodeCompactRecord writes after a batch's earlier lines.
  const buf = Buffer.alloc(8192, 0xee);
  const end = encodeCompactRecord(compact, buf, 100);
  expect(buf.subarray(100, end).toString('utf8')).toBe(JSON.stringify(compact));
  expect(buf.subarray(0, 100).every((b) => b === 0xee)).toBe(true);
  expect(encodeCompactRecord(full, buf, 0)).toBe(NOT_A_COMPACT_RECORD);
  // The times are there, and plausible.
  expect(compact.durationMs).toBeGreaterThanOrEqual(0);
  for (const s of compact.stages.filter((x) => x.status === 'ok' || x.status === 'failed')) expect(s.durationMs).toBeGreaterThanOrEqual(0);
}

describe('compact record = full path (loopback)', () => {
  it.each(['credssp', 'tcp', 'x224', 'session'] as const)('port_closed at --depth %s', async (depth) => {
    const port = await closedPort();
    const { compact, full } = await both({ host: '127.0.0.1', port }, { depth });
    expect(compact.verdict.id).toBe('port_closed');
    expect(compact.verdict.summary).toContain(`127.0.0.1:${port} refused`);
    expectSame(compact, full);
  });

  it('dns_failure (the DNS server named is a closed loopback port)', async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const dnsPort = sock.address().port;
    await new Promise<void>((r) => sock.close(() => r()));
    const { compact, full } = await both({ host: 'rdp.example.test', port: 3389 }, { dnsServers: [`127.0.0.1:${dnsPort}`], stageTimeoutMs: 1000 });
    expect(compact.verdict.id).toBe('dns_failure');
    expect(compact.target.address).toBeUndefined();
    expectSame(compact, full);
  });

  it('reports do not share objects (a caller may change one)', async () => {
    const port = await closedPort();
    const a = await runProbe({ host: '127.0.0.1', port });
    const b = await runProbe({ host: '127.0.0.1', port });
    expect(a.verdict).not.toBe(b.verdict);
    expect(a.verdict.fixes).not.toBe(b.verdict.fixes);
    expect(a.stages[5]).not.toBe(b.stages[5]);
    a.verdict.fixes.push('changed');
    expect(b.verdict.fixes).not.toContain('changed');
    // A changed record is no longer written from its template.
    a.anomalies.push('changed');
    expect(compactRecordJson(a)).toBeUndefined();
    expect(reportLine(a)).toBe(JSON.stringify(a));
  });

  it('its text is that of JSON.stringify, byte for byte, for any strings and values a caller could give it', () => {
    const odd = ['plain', 'quote " and backslash \\', 'tab\tnewline\n\u0000\u001f', 'del \u007f', 'é ü ß', '名前.example', 'emoji 🙂', 'lone \ud800 surrogate', ''];
    for (const host of odd) {
      const dns = { stage: 'dns' as const, startMs: 0.1, durationMs: -0, status: 'ok' as const, facts: { address: host, family: 4, literal: true, extra: undefined, n: NaN, list: [1, 'a'], nested: { deep: { k: host } } } };
      const tcp = { stage: 'tcp' as const, status: 'failed' as const, startMs: 1e21, durationMs: 1.5e-7, error: { layer: 'transport' as const, kind: 'refused', message: `${host}:1 refused`, codeName: 'ECONNREFUSED' } };
      const r = earlyEndReport({ depth: 'credssp', version: 't-odd', startedAt: new Date(0), durationMs: 2.5, target: { host, port: 1, address: host }, dns, tcp });
      expect(r).toBeDefined();
      expect(compactRecordJson(r!)).toBe(JSON.stringify(r));
      // A caller's own objects in the record: another prototype, a toJSON, integer-like keys.
      r!.target = Object.assign(Object.create({ inherited: 1 }) as object, { host, port: 1 }) as ProbeReport['target'];
      (r!.stages[0] as unknown as Record<string, unknown>)['facts'] = { 2: 'b', 1: 'a', toJSON: () => ({ replaced: host }) };
      (r!.stages[1] as unknown as Record<string, unknown>)['error'] = { 10: host, layer: 'x', kind: 'refused', message: host, codeName: 'ECONNREFUSED' };
      expect(compactRecordJson(r!)).toBe(JSON.stringify(r));
    }
  });

  it('a template carries nothing of the target it was first built for', () => {
    const dns = { stage: 'dns' as const, status: 'ok' as const, startMs: 0, durationMs: 0 };
    const base = { depth: 'credssp' as const, version: 't-template', startedAt: new Date(0), durationMs: 1, dns };
    const refused = (message: string) => ({ stage: 'tcp' as const, status: 'failed' as const, startMs: 0, durationMs: 1, error: { layer: 'transport' as const, kind: 'refused', message, codeName: 'ECONNREFUSED' } });
    const one = earlyEndReport({ ...base, target: { host: 'first.test', port: 1 }, tcp: refused('first.test:1 refused') });
    const two = earlyEndReport({ ...base, target: { host: 'second.test', port: 2 }, tcp: refused('second.test:2 refused') });
    expect(one?.verdict.summary).toBe('the port is closed: first.test:1 refused');
    expect(two?.verdict.summary).toBe('the port is closed: second.test:2 refused');
    expect(JSON.stringify(two)).not.toContain('first');
    // dns ok then tcp failed, or dns failed alone: anything else is not an early end.
    expect(earlyEndReport({ ...base, target: { host: 'h', port: 1 }, dns: { ...dns, status: 'failed', error: refused('x').error }, tcp: refused('y') })).toBeUndefined();
    expect(earlyEndReport({ ...base, target: { host: 'h', port: 1 } })).toBeUndefined();
  });
});

/** The report without its times and our local port (two connections never share one). */
function portless(r: ProbeReport): Record<string, unknown> {
  const t = timeless(r) as { stages: { facts?: Record<string, unknown> }[] };
  for (const s of t.stages) if (s.facts?.['localPort'] !== undefined) s.facts = { ...s.facts, localPort: 'P' };
  return t as unknown as Record<string, unknown>;
}

/** Equal but for the times and the local port, field by field and as JSON text (reports that are not compact records). */
function expectSameReport(lean: ProbeReport, full: ProbeReport): void {
  const c = portless(lean);
  const f = portless(full);
  for (const k of Object.keys(f)) expect({ [k]: c[k] }).toEqual({ [k]: f[k] });
  expect(JSON.stringify(c)).toBe(JSON.stringify(f));
}

/** A loopback server that accepts and closes each connection at once (TCP ok, X.224 unanswered). */
async function acceptAndClose(): Promise<{ port: number; close: () => Promise<void> }> {
  // It reads, so that it sees our end too (a paused socket never would, and close() would wait for it).
  const srv = net.createServer((s) => s.resume().end());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return { port: (srv.address() as net.AddressInfo).port, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

describe('the lean path of a literal address (runProbe without an async frame) = the full path', () => {
  it('a stop before the connect: the cancelled report, as the full path gives it', async () => {
    const port = await closedPort();
    const stop = new AbortController();
    stop.abort();
    const { compact, full } = await both({ host: '127.0.0.1', port }, { signal: stop.signal });
    expect(compact.verdict.id).toBe(full.verdict.id);
    expect(compact.stages.find((s) => s.stage === 'tcp')?.error?.kind).toBe('cancelled');
    expectSameReport(compact, full);
  });

  it.each(['tcp', 'x224', 'credssp'] as const)('a target that accepts (handed over to the full path) at --depth %s', async (depth) => {
    const srv = await acceptAndClose();
    try {
      // The first connected probe of a process loads the sequence modules (slow under vitest's transform) before
      // X.224 is sent, whichever path it came by: not what this test compares.
      await runProbe({ host: '127.0.0.1', port: srv.port }, { depth: 'x224', enumerate: false });
      const { compact, full } = await both({ host: '127.0.0.1', port: srv.port }, { depth, enumerate: false, stageTimeoutMs: 1000 });
      expect(compact.stages.find((s) => s.stage === 'tcp')?.status).toBe('ok');
      expect(compactRecordJson(compact)).toBeUndefined();
      expectSameReport(compact, full);
      if (depth !== 'tcp') expect(compact.stages.find((s) => s.stage === 'x224')?.status).toBe('failed');
    } finally {
      await srv.close();
    }
  });

  it("the caller's clock gives startedAt, as on the full path", async () => {
    const port = await closedPort();
    const { compact, full } = await both({ host: '127.0.0.1', port }, { now: () => new Date(1234) });
    expect(compact.startedAt).toBe('1970-01-01T00:00:01.234Z');
    expect(full.startedAt).toBe(compact.startedAt);
  });

  it('a target deadline shorter than dns and tcp together (the controller from the start), IPv6 literal, and a port net.connect refuses', async () => {
    const port = await closedPort();
    const short = await both({ host: '127.0.0.1', port }, { stageTimeoutMs: 5000, targetTimeoutMs: 2000 });
    expectSame(short.compact, short.full);
    const v6 = await both({ host: '::1', port }, {});
    expect(['port_closed', 'network_unreachable', 'unreachable']).toContain(v6.compact.verdict.id);
    expectSameReport(v6.compact, v6.full);
    const bad = await both({ host: '127.0.0.1', port: 70000 }, {});
    expect(bad.compact.stages.find((s) => s.stage === 'tcp')?.status).toBe('failed');
    expectSameReport(bad.compact, bad.full);
  });
});

const netSuite = realServerSuite(['netns'], 'filtered/unreachable network namespace');
describe.skipIf(netSuite.skip)('compact record = full path (network namespace)', () => {
  const netns = filteredNetnsForSuite();

  it('filtered (iptables DROP: the tcp stage deadline)', async () => {
    const { compact, full } = await both(netns().filtered, { stageTimeoutMs: 300, targetTimeoutMs: 5000, enumerate: false });
    expect(compact.verdict.id).toBe('filtered');
    expectSame(compact, full);
  });

  it('unreachable (REJECT icmp-admin-prohibited)', async () => {
    const { compact, full } = await both(netns().adminProhibited, { stageTimeoutMs: 2000 });
    expect(compact.verdict.id).toBe('unreachable');
    expectSame(compact, full);
  });

  it('port_closed by ICMP port unreachable', async () => {
    const { compact, full } = await both(netns().icmpRefused, { stageTimeoutMs: 2000 });
    expect(compact.verdict.id).toBe('port_closed');
    expectSame(compact, full);
  });
});
