/**
 * Issue #11 (speed, item 2): a compact record's NDJSON line is written as bytes from its template's text and the
 * shapes of its objects, not by JSON.stringify. Whatever the target, the error, the times, and whatever a caller
 * changed in the record since it was made, the two writers (compactRecordJson,
 * encodeCompactRecord) give JSON.stringify's text byte for byte, or decline so that JSON.stringify writes it.
 * The errors are the transport's own (socketErrorToStageError with Node's codes), the reports those ReportBuilder
 * builds for the same stages.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatHostPort } from '../../src/probe/host-port.js';
import { compactRecordJson, earlyEndReport, encodeCompactRecord, NO_ROOM_FOR_RECORD, NOT_A_COMPACT_RECORD, ReportBuilder, type EarlyEnd } from '../../src/probe/report-builder.js';
import type { Depth, ProbeReport, StageResult } from '../../src/probe/types.js';
import { socketErrorToStageError } from '../../src/transport/errors.js';

const DEPTHS: Depth[] = ['tcp', 'x224', 'tls', 'credssp', 'auth', 'session'];
/** Codes a failed connect gives (the last is one the table does not name), and those a failed lookup gives. */
const TCP_CODES = ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ETIMEDOUT', 'EPROTO'];
const DNS_CODES = ['ENOTFOUND', 'ENODATA', 'EAI_AGAIN', 'ESERVFAIL', 'ETIMEOUT', 'EREFUSED', 'ECONNREFUSED'];

/** Every UTF-16 code unit, lone surrogates, quotes, backslashes and control characters included. */
const anyText = (max: number): fc.Arbitrary<string> => fc.string({ unit: fc.oneof(fc.constantFrom(...'az09.:-"\\\t\n\u0000\u007f'), fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c))), maxLength: max });
const host = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain(), anyText(30));
/** Times as the clock gives them (tenths of a millisecond), and any number a caller could put there. */
const time = fc.oneof(fc.integer({ min: 0, max: 10_000_000 }).map((k) => k / 10), fc.integer({ min: -1e15, max: 1e15 }).map((k) => k / 10), fc.double(), fc.constantFrom(-0, 0, 1e21, 1e-7, 0.30000000000000004, 123456789012.3));

interface Case {
  host: string;
  port: number;
  dnsCode: string | undefined;
  tcpCode: string;
  resolved: string[] | undefined;
  depth: Depth;
  version: string;
  times: number[];
  startedAt: number;
}
const kase: fc.Arbitrary<Case> = fc.record({
  host,
  port: fc.integer({ min: 0, max: 70_000 }),
  dnsCode: fc.option(fc.constantFrom(...DNS_CODES), { nil: undefined, freq: 4 }),
  tcpCode: fc.constantFrom(...TCP_CODES),
  resolved: fc.option(fc.array(fc.ipV4(), { minLength: 1, maxLength: 3 }), { nil: undefined }),
  depth: fc.constantFrom(...DEPTHS),
  version: fc.constantFrom('0.1.0', '0.1.0', 't-prop', 't-ü'),
  times: fc.array(time, { minLength: 5, maxLength: 5 }),
  startedAt: fc.integer({ min: 0, max: 4_102_444_800_000 }),
});

/** The early end runProbe hands earlyEndReport for this case: a literal or resolved name, then a failed connect. */
function earlyEnd(c: Case): EarlyEnd {
  const [t0, t1, t2, t3, total] = c.times as [number, number, number, number, number];
  const address = c.resolved?.[0] ?? c.host;
  const target = { host: c.host, port: c.port, ...(c.dnsCode ? {} : { address }) };
  const base = { target, depth: c.depth, version: c.version, startedAt: new Date(c.startedAt), durationMs: total };
  if (c.dnsCode) return { ...base, dns: { stage: 'dns', startMs: t0, durationMs: t1, status: 'failed', error: socketErrorToStageError({ code: c.dnsCode }, 'dns', c.host) } };
  const facts = c.resolved ? { address, family: 4, literal: false, ...(c.resolved.length > 1 ? { allAddresses: c.resolved } : {}) } : { address, family: c.host.includes(':') ? 6 : 4, literal: true };
  const dns: StageResult = { stage: 'dns', startMs: t0, durationMs: t1, status: 'ok', facts };
  const tcp: StageResult = { stage: 'tcp', startMs: t2, durationMs: t3, status: 'failed', error: socketErrorToStageError({ code: c.tcpCode }, 'tcp', formatHostPort(address, c.port)) };
  return { ...base, dns, tcp };
}

/** The report ReportBuilder builds from the same stages (the full path's, with its clock stopped at durationMs). */
function built(e: EarlyEnd): ProbeReport {
  const b = new ReportBuilder({ host: e.target.host, port: e.target.port }, e.depth, () => e.durationMs, e.startedAt, e.version, 0);
  b.set(e.dns);
  if (e.target.address !== undefined) b.target.address = e.target.address;
  if (e.tcp) b.set(e.tcp);
  return b.build();
}

/**
 * Every writer gives JSON.stringify(r) or declines. Returns whether the bytes were written by the byte writer
 * (rather than left to JSON.stringify).
 */
function expectExact(r: ProbeReport): boolean {
  const want = JSON.stringify(r);
  const text = compactRecordJson(r);
  if (text !== undefined) expect(text).toBe(want);
  const at = 7;
  const buf = Buffer.alloc(at + Buffer.byteLength(want) + 16, 0xee);
  const end = encodeCompactRecord(r, buf, at);
  // Nothing before `at` is touched (a batch's earlier lines are there).
  expect(buf.subarray(0, at).every((b) => b === 0xee)).toBe(true);
  if (end < 0) {
    expect(end).toBe(NOT_A_COMPACT_RECORD);
    return false;
  }
  expect(buf.subarray(at, end).equals(Buffer.from(want, 'utf8'))).toBe(true);
  expect(text).toBeDefined();
  return true;
}

/** What JSON.stringify of a string leaves as it is: the byte writer takes such text, JSON.stringify anything else. */
const plain = (s: string): boolean => /^[\x20-\x7e]*$/.test(s) && !/["\\]/.test(s);

describe('compact record bytes = JSON.stringify', () => {
  it('for any target, error, depth and times (the record also being the one ReportBuilder builds)', () => {
    let fast = 0;
    fc.assert(
      fc.property(kase, (c) => {
        const e = earlyEnd(c);
        const r = earlyEndReport(e);
        if (r === undefined) return;
        // The builder's clock is stopped at the total; it rounds it to a tenth, as the clock of runProbe does.
        const full = { ...built(e), durationMs: e.durationMs };
        expect(r).toEqual(full);
        expect(JSON.stringify(r)).toBe(JSON.stringify(full));
        const bytes = expectExact(r);
        // The byte writer declines only what it leaves to JSON.stringify: a non-ASCII version, or a string to escape.
        const strings = [c.host, ...(c.resolved ?? [])];
        if (c.version !== 't-ü' && strings.every(plain)) expect(bytes).toBe(true);
        if (bytes) fast++;
      }),
      { numRuns: 1500 },
    );
    expect(fast).toBeGreaterThan(300);
  });

  it('IPv6 literals, resolved names with several addresses, and a dns failure (one stage ran)', () => {
    const common = { port: 3389, tcpCode: 'ECONNREFUSED', depth: 'credssp' as const, version: '0.1.0', times: [0, 0.1, 0.1, 3.4, 3.6], startedAt: 1_764_630_000_000 };
    for (const c of [
      { ...common, host: '::1', dnsCode: undefined, resolved: undefined },
      { ...common, host: 'fe80::1%eth0', dnsCode: undefined, resolved: undefined },
      { ...common, host: 'rdp.example.test', dnsCode: undefined, resolved: ['192.0.2.1', '192.0.2.2'] },
      { ...common, host: 'rdp.example.test', dnsCode: 'ENOTFOUND', resolved: undefined },
    ]) {
      const r = earlyEndReport(earlyEnd(c))!;
      expect(expectExact(r)).toBe(true);
      expect(r.stages.filter((s) => s.status === 'ok' || s.status === 'failed')).toHaveLength(c.dnsCode ? 1 : 2);
    }
  });

  it('numbers as JSON writes them: tenths, integers, -0, exponents, non-finite (null)', () => {
    const c: Case = { host: '127.0.0.1', port: 3389, dnsCode: undefined, tcpCode: 'ECONNREFUSED', resolved: undefined, depth: 'tcp', version: '0.1.0', times: [0, 0, 0, 0, 0], startedAt: 0 };
    const r = earlyEndReport(earlyEnd(c))!;
    const numbers = [0, -0, 0.1, 0.5, 1, 9.9, 10, 99.9, 100, 1234567.8, 9999999999999.9, 1e13, 1e14 + 0.5, -3.4, 0.15, 0.30000000000000004, 1.5e-7, 1e21, 2 ** 53, Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity];
    for (let k = 0; k < 3000; k++) numbers.push(k / 10, k * 7.3, -k / 10);
    for (const n of numbers) {
      r.durationMs = n;
      r.stages[1]!.durationMs = n;
      expect(expectExact(r)).toBe(true);
    }
  });

  it('a record that does not fit: NO_ROOM_FOR_RECORD at every shorter length, the bytes at exactly its length', () => {
    const r = earlyEndReport(earlyEnd({ host: '127.0.0.1', port: 3389, dnsCode: undefined, tcpCode: 'ECONNREFUSED', resolved: undefined, depth: 'credssp', version: '0.1.0', times: [0, 0.1, 0.1, 3.4, 3.6], startedAt: 0 }))!;
    const want = Buffer.from(JSON.stringify(r));
    for (let room = 0; room < want.length; room++) expect(encodeCompactRecord(r, Buffer.alloc(room + 3), 3)).toBe(NO_ROOM_FOR_RECORD);
    const buf = Buffer.alloc(want.length + 3);
    expect(encodeCompactRecord(r, buf, 3)).toBe(want.length + 3);
    expect(buf.subarray(3).equals(want)).toBe(true);
  });

  it('only records earlyEndReport made: not a built report, nor a copy of a record', () => {
    const e = earlyEnd({ host: '127.0.0.1', port: 3389, dnsCode: undefined, tcpCode: 'ECONNREFUSED', resolved: undefined, depth: 'credssp', version: '0.1.0', times: [0, 0.1, 0.1, 3.4, 3.6], startedAt: 0 });
    const buf = Buffer.alloc(4096);
    for (const r of [built(e), { ...earlyEndReport(e)! }, structuredClone(earlyEndReport(e)!)]) {
      expect(compactRecordJson(r)).toBeUndefined();
      expect(encodeCompactRecord(r, buf, 0)).toBe(NOT_A_COMPACT_RECORD);
    }
  });
});

type Mutation = (r: ProbeReport) => void;
/** A value a caller could set: odd text, the same text, a number, nothing, an object or array (a fresh one each time). */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(anyText(12), fc.constantFrom('ok', 'skipped', 'not_reached', 'tcp', 'port_closed', '0.1.0', 'rdp-probe'), time, fc.constant(undefined), fc.constant(null), fc.boolean(), fc.constant(0).map(() => ({ a: 1 })), fc.constant(0).map(() => ['x', 2]));
const index = fc.integer({ min: 0, max: 10 });
const key = fc.constantFrom('stage', 'status', 'reason', 'startMs', 'facts', 'error', 'extra', 'toJSON', 'address', '0');
/** Something a caller can do to a record after it was made. */
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(index, anyValue).map(([i, v]): Mutation => (r) => void (r.verdict.fixes[i % (r.verdict.fixes.length + 1)] = v as string)),
  fc.tuple(fc.constantFrom('id', 'stage', 'summary', 'fixes', 'mstsc', 'extra'), anyValue).map(([k, v]): Mutation => (r) => void ((r.verdict as unknown as Record<string, unknown>)[k] = v)),
  fc.constantFrom<Mutation>(
    (r) => void delete r.verdict.mstsc,
    (r) => void (r.verdict.mstsc && (r.verdict.mstsc.text += '!')),
    (r) => void (r.verdict.mstsc && (r.verdict.mstsc = { ...r.verdict.mstsc })),
    (r) => void (r.verdict.summary = `${r.verdict.summary.slice(0, 5)}${r.verdict.summary.slice(5)}`),
    (r) => void r.verdict.fixes.reverse(),
    (r) => void (r.tool = { version: r.tool.version, name: r.tool.name }),
    (r) => void (r.tool = { ...r.tool }),
    (r) => void (r.schemaVersion = 2 as ProbeReport['schemaVersion']),
    (r) => void r.findings.push({ id: 'x', severity: 'info', title: 't', detail: 'd' } as unknown as ProbeReport['findings'][number]),
    (r) => void r.anomalies.push('changed'),
    (r) => void r.stages.push({ stage: 'x224', status: 'not_reached' }),
    (r) => void r.stages.pop(),
    (r) => void r.stages.reverse(),
    (r) => void (r.target = { port: r.target.port, host: r.target.host }),
    (r) => void (r.target = Object.assign(Object.create({ inherited: 1 }) as object, r.target)),
    (r) => void Object.defineProperty(r.target, 'toJSON', { value: () => 'replaced' }),
    (r) => void Object.defineProperty(r.stages[0]!, 'toJSON', { value: () => 'replaced' }),
    (r) => void Object.defineProperty(r.stages[4]!, 'toJSON', { value: () => 'replaced' }),
    (r) => void Object.setPrototypeOf(r.stages[6]!, { toJSON: () => 1 }),
    (r) => void Object.defineProperty(r.verdict, 'toJSON', { value: () => 'replaced' }),
    (r) => void Object.defineProperty(r, 'toJSON', { value: () => 'replaced' }),
    (r) => void Object.defineProperty(r.stages[3]!, 'hidden', { value: 1, enumerable: false }),
    (r) => void (r.stages[0] = { ...r.stages[0]!, facts: { ...r.stages[0]!.facts, allAddresses: ['192.0.2.1', '192.0.2.2'] } }),
    (r) => {
      const tcp = r.stages[1];
      if (tcp) r.stages[1] = { ...tcp, error: { ...tcp.error!, message: `${tcp.error?.message ?? ''} "quoted"` } };
    },
    (r) => void (r.startedAt = new Date(0) as unknown as string),
    (r) => void (r.depth = 'tcp'),
    (r) => {
      const { anomalies } = r;
      delete (r as Partial<ProbeReport>).anomalies;
      r.anomalies = anomalies;
    },
    (r) => void (r.enumeration = { protocols: [] } as unknown as ProbeReport['enumeration']),
  ),
  fc.tuple(index, key, anyValue).map(([i, k, v]): Mutation => (r) => {
    const s = r.stages[i % r.stages.length];
    if (s) (s as unknown as Record<string, unknown>)[k] = v;
  }),
  fc.tuple(index, key).map(([i, k]): Mutation => (r) => {
    const s = r.stages[i % r.stages.length];
    if (s) delete (s as unknown as Record<string, unknown>)[k];
  }),
  fc.tuple(fc.constantFrom('host', 'port', 'address', 'extra'), anyValue).map(([k, v]): Mutation => (r) => void ((r.target as unknown as Record<string, unknown>)[k] = v)),
  fc.tuple(fc.constantFrom('address', 'family', 'literal', 'extra'), anyValue).map(([k, v]): Mutation => (r) => {
    const facts = r.stages[0]?.facts;
    if (facts) facts[k] = v;
  }),
  fc.tuple(fc.constantFrom('layer', 'kind', 'message', 'codeName', 'extra'), anyValue).map(([k, v]): Mutation => (r) => {
    const error = r.stages[1]?.error;
    if (error) (error as unknown as Record<string, unknown>)[k] = v;
  }),
  fc.tuple(fc.constantFrom('durationMs', 'startedAt', 'depth', 'extra'), anyValue).map(([k, v]): Mutation => (r) => void ((r as unknown as Record<string, unknown>)[k] = v)),
);

/** Applies the changes; one that cannot apply to what earlier ones left (fixes no longer an array) is skipped. */
function changeAll(r: ProbeReport, changes: Mutation[]): void {
  for (const change of changes) {
    try {
      change(r);
    } catch {
      // e.g. setting an index on a number an earlier change put there.
    }
  }
}

describe('a record changed after it was made', () => {
  it('is still written as JSON.stringify writes it, or left to JSON.stringify (never from stale template text)', () => {
    fc.assert(
      fc.property(kase, fc.array(mutation, { minLength: 1, maxLength: 4 }), (c, changes) => {
        const r = earlyEndReport(earlyEnd(c));
        if (r === undefined) return;
        changeAll(r, changes);
        expectExact(r);
      }),
      { numRuns: 3000 },
    );
  });

  it('changes nothing in another record of the same template, nor in the template', () => {
    fc.assert(
      fc.property(kase, fc.array(mutation, { minLength: 1, maxLength: 4 }), (c, changes) => {
        const a = earlyEndReport(earlyEnd(c));
        const b = earlyEndReport(earlyEnd(c));
        if (a === undefined || b === undefined) return;
        const before = JSON.stringify(b);
        changeAll(a, changes);
        expect(JSON.stringify(b)).toBe(before);
        expectExact(b);
        const later = earlyEndReport(earlyEnd(c))!;
        expect(JSON.stringify(later)).toBe(before);
        expectExact(later);
      }),
      { numRuns: 1000 },
    );
  });

  it('the first record of a new template, changed before it is ever written, does not become the text of the next', () => {
    const c: Case = { host: '127.0.0.1', port: 3389, dnsCode: undefined, tcpCode: 'ECONNREFUSED', resolved: undefined, depth: 'credssp', version: 't-first-edited', times: [0, 0.1, 0.1, 3.4, 3.6], startedAt: 0 };
    const first = earlyEndReport(earlyEnd(c))!;
    first.verdict.fixes[0] = 'EDITED';
    first.verdict.stage = 'EDITED' as ProbeReport['verdict']['stage'];
    first.stages[5]!.status = 'ok';
    expectExact(first);
    const next = earlyEndReport(earlyEnd(c))!;
    expect(expectExact(next)).toBe(true);
    expect(compactRecordJson(next)).not.toContain('EDITED');
    expect(compactRecordJson(next)).toContain('{"stage":"nla_auth","status":"not_reached"}');
  });
});

describe('a getter of the caller', () => {
  it('that writes another record while this one is written: both as JSON.stringify writes them', () => {
    const c: Case = { host: '127.0.0.1', port: 3389, dnsCode: undefined, tcpCode: 'ECONNREFUSED', resolved: undefined, depth: 'credssp', version: '0.1.0', times: [0, 0.1, 0.1, 3.4, 3.6], startedAt: 0 };
    const inner = earlyEndReport(earlyEnd({ ...c, host: '127.0.0.2' }))!;
    const outer = earlyEndReport(earlyEnd(c))!;
    let innerText: string | undefined;
    Object.defineProperty(outer.target, 'host', { enumerable: true, get: () => ((innerText = compactRecordJson(inner) ?? JSON.stringify(inner)), '127.0.0.1') });
    expectExact(outer);
    expect(innerText).toBe(JSON.stringify(inner));
  });
});

describe('shapes', () => {
  it('a value every record had so far (folded into the constant text) that then differs, and back', () => {
    const c: Case = { host: '198.51.100.7', port: 3390, dnsCode: undefined, tcpCode: 'ECONNREFUSED', resolved: undefined, depth: 'x224', version: 't-fixed', times: [0, 0.1, 0.1, 3.4, 3.6], startedAt: 0 };
    const lines: string[] = [];
    for (const change of [{}, {}, { port: 3391 }, {}, { tcpCode: 'EHOSTUNREACH' }, { times: [0.2, 0.1, 0.3, 3.4, 3.6] }, { host: '198.51.100.8' }, {}, { tcpCode: 'ECONNREFUSED' }]) {
      const r = earlyEndReport(earlyEnd({ ...c, ...change }))!;
      expect(expectExact(r)).toBe(true);
      lines.push(compactRecordJson(r)!);
    }
    expect(lines[2]).toContain('"port":3391');
    expect(lines[3]).toContain('"port":3390');
    expect(lines[4]).toContain('"kind":"host_unreachable"');
    expect(lines[5]).toContain('{"stage":"dns","startMs":0.2,');
  });

  it('objects of several shapes at the same place, alternating (and more shapes than a place keeps)', () => {
    const c: Case = { host: '127.0.0.1', port: 3389, dnsCode: undefined, tcpCode: 'ECONNREFUSED', resolved: undefined, depth: 'credssp', version: '0.1.0', times: [0, 0.1, 0.1, 3.4, 3.6], startedAt: 0 };
    for (let round = 0; round < 3; round++) {
      for (let n = 0; n < 20; n++) {
        const r = earlyEndReport(earlyEnd(n % 2 ? c : { ...c, resolved: ['192.0.2.1', '192.0.2.2'] }))!;
        // A target with n extra keys: a new shape for each n.
        for (let k = 0; k < n % 12; k++) (r.target as unknown as Record<string, unknown>)[`k${k}`] = k;
        expectExact(r);
      }
    }
  });
});
