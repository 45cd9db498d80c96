import { describe, expect, it } from 'vitest';
import { ReportBuilder } from '../../src/probe/report-builder.js';
import { STAGES, type Depth, type Enumeration, type Stage, type StageStatus } from '../../src/probe/types.js';

const STARTED = new Date('2026-03-01T10:00:00.000Z');

/** A clock the test moves by hand. */
function manualClock(start = 1000): { now: () => number; set: (t: number) => void } {
  let t = start;
  return { now: () => t, set: (v) => (t = v) };
}

function builder(depth: Depth, clock = manualClock()): ReportBuilder {
  return new ReportBuilder({ host: 'rdp.example.test', port: 3389 }, depth, clock.now, STARTED, '9.9.9-test');
}

function ok(b: ReportBuilder, ...stages: Stage[]): void {
  for (const s of stages) b.begin(s).end({ status: 'ok' });
}

const statuses = (b: ReportBuilder): [Stage, StageStatus, string | undefined][] => b.build().stages.map((s) => [s.stage, s.status, s.reason]);

/** Expected statuses: the listed ones, then `rest` for every later stage. */
function expectStatuses(b: ReportBuilder, head: [Stage, StageStatus, string?][], rest: [StageStatus, string?]): void {
  const expected = STAGES.map((s, i): [Stage, StageStatus, string | undefined] => {
    const h = head[i];
    if (h) {
      expect(h[0]).toBe(s);
      return [s, h[1], h[2]];
    }
    return [s, rest[0], rest[1]];
  });
  expect(statuses(b)).toEqual(expected);
}

describe('every stage, in order', () => {
  it.each(['tcp', 'x224', 'tls'] as const)('depth %s: all of STAGES, once each, in order', (depth) => {
    const b = builder(depth);
    ok(b, 'dns', 'tcp');
    expect(b.build().stages.map((s) => s.stage)).toEqual([...STAGES]);
  });

  it('depth tcp: dns and tcp ok, everything after skipped beyond --depth tcp', () => {
    const b = builder('tcp');
    ok(b, 'dns', 'tcp');
    expectStatuses(b, [['dns', 'ok'], ['tcp', 'ok']], ['skipped', 'beyond --depth tcp']);
    expect(b.build().verdict.id).toBe('ok');
  });

  it('depth x224: up to x224 ok, tls and later skipped beyond --depth x224', () => {
    const b = builder('x224');
    ok(b, 'dns', 'tcp', 'x224');
    expectStatuses(b, [['dns', 'ok'], ['tcp', 'ok'], ['x224', 'ok']], ['skipped', 'beyond --depth x224']);
  });

  it('depth tls: up to tls ok, credssp and later skipped beyond --depth tls', () => {
    const b = builder('tls');
    ok(b, 'dns', 'tcp', 'x224', 'tls');
    expectStatuses(b, [['dns', 'ok'], ['tcp', 'ok'], ['x224', 'ok'], ['tls', 'ok']], ['skipped', 'beyond --depth tls']);
  });

  it('keeps STAGES order whatever order the results came in', () => {
    const b = builder('tls');
    ok(b, 'tls', 'x224', 'tcp', 'dns');
    expect(b.build().stages.slice(0, 4).map((s) => s.stage)).toEqual(['dns', 'tcp', 'x224', 'tls']);
  });
});

describe('after a failure', () => {
  it.each(['tcp', 'x224', 'tls'] as const)('depth %s, tcp refused: every later stage is not_reached, none skipped', (depth) => {
    const b = builder(depth);
    ok(b, 'dns');
    b.begin('tcp').end({ status: 'failed', error: { layer: 'transport', kind: 'refused', message: 'refused' } });
    expectStatuses(b, [['dns', 'ok'], ['tcp', 'failed']], ['not_reached']);
    expect(b.build().verdict).toMatchObject({ id: 'port_closed', stage: 'tcp' });
  });

  it('depth x224, x224 failed: tls and later are not_reached', () => {
    const b = builder('x224');
    ok(b, 'dns', 'tcp');
    b.begin('x224').end({ status: 'failed', error: { layer: 'transport', kind: 'timeout', message: 'no answer' } });
    expectStatuses(b, [['dns', 'ok'], ['tcp', 'ok'], ['x224', 'failed']], ['not_reached']);
  });
});

describe('stages that did not run', () => {
  it('a stage the driver skipped keeps its own reason', () => {
    const b = builder('tls');
    ok(b, 'dns', 'tcp', 'x224');
    b.skip('tls', 'the server selected RDP (standard RDP security, no TLS)');
    expectStatuses(
      b,
      [['dns', 'ok'], ['tcp', 'ok'], ['x224', 'ok'], ['tls', 'skipped', 'the server selected RDP (standard RDP security, no TLS)']],
      ['skipped', 'beyond --depth tls'],
    );
  });

  it('a stage within depth that never ran, with no failure before it, is not_reached', () => {
    const b = builder('tls');
    ok(b, 'dns', 'tcp');
    expectStatuses(b, [['dns', 'ok'], ['tcp', 'ok'], ['x224', 'not_reached'], ['tls', 'not_reached']], ['skipped', 'beyond --depth tls']);
  });

  it('beyondDepthReason replaces the --depth wording for stages past the depth, and only for those', () => {
    const b = builder('x224');
    b.beyondDepthReason = 'the capture ends here';
    ok(b, 'dns', 'tcp');
    expectStatuses(b, [['dns', 'ok'], ['tcp', 'ok'], ['x224', 'not_reached']], ['skipped', 'the capture ends here']);
  });

  it('wants() follows the depth', () => {
    const tcp = builder('tcp');
    expect(STAGES.filter((s) => tcp.wants(s))).toEqual(['dns', 'tcp']);
    const tls = builder('tls');
    expect(STAGES.filter((s) => tls.wants(s))).toEqual(['dns', 'tcp', 'x224', 'tls']);
    const session = builder('session');
    expect(STAGES.filter((s) => session.wants(s))).toEqual([...STAGES]);
  });
});

describe('timing and shape', () => {
  it('stamps startMs and durationMs from the clock, rounded to 0.1 ms', () => {
    const clock = manualClock(1000);
    const b = builder('tcp', clock);
    clock.set(1012.34);
    const stage = b.begin('dns');
    clock.set(1020.01);
    const r = stage.end({ status: 'ok', facts: { address: '192.0.2.7' } });
    expect(r).toEqual({ stage: 'dns', startMs: 12.3, durationMs: 7.7, status: 'ok', facts: { address: '192.0.2.7' } });
    clock.set(1100);
    expect(b.build().durationMs).toBe(100);
  });

  it('drops undefined fields from a stage result', () => {
    const b = builder('tcp');
    const r = b.begin('dns').end({ status: 'ok', facts: undefined, error: undefined });
    expect(Object.keys(r).sort()).toEqual(['durationMs', 'stage', 'startMs', 'status']);
  });

  it('builds the report envelope, with enumeration only when there was one', () => {
    const b = builder('tcp');
    ok(b, 'dns', 'tcp');
    b.anomalies.push('something odd');
    const r = b.build();
    expect(r).toMatchObject({
      schemaVersion: 1,
      tool: { name: 'rdp-probe', version: '9.9.9-test' },
      target: { host: 'rdp.example.test', port: 3389 },
      startedAt: '2026-03-01T10:00:00.000Z',
      depth: 'tcp',
      findings: [],
      anomalies: ['something odd'],
    });
    expect('enumeration' in r).toBe(false);

    const en: Enumeration = { protocols: [], connections: 1, nla: 'required', standardRdpSecurity: 'refused', restrictedAdmin: null, redirectedAuthentication: null };
    b.enumeration = en;
    expect(b.build().enumeration).toEqual(en);
  });
});
