/** Issue #7 item 6: a failure of this machine (EMFILE …) is never a target's result; the scan lowers its in-flight count or stops. */
import { describe, expect, it } from 'vitest';
import { ReportBuilder } from '../../src/probe/report-builder.js';
import type { ProbeReport } from '../../src/probe/types.js';
import { isLocalFailure } from '../../src/scan/local-failure.js';
import { loadResume } from '../../src/scan/resume.js';
import { LocalFailureError, scanTargets, type ScanTarget } from '../../src/scan/scan.js';

function report(t: ScanTarget, codeName?: string, kind = 'socket_error'): ProbeReport {
  const b = new ReportBuilder({ host: t.host, port: t.port }, 'tcp', () => 0, new Date(0), 'test');
  b.skip('dns', 'test');
  const s = b.begin('tcp');
  if (codeName) s.end({ status: 'failed', error: { layer: 'transport', kind, message: `connect ${codeName.toLowerCase()}`, codeName } });
  else s.end({ status: 'ok' });
  return b.build();
}

const targets = (n: number): ScanTarget[] => Array.from({ length: n }, (_, i) => ({ host: `192.0.2.${i}`, port: 3389 }));

describe('isLocalFailure', () => {
  it('names EMFILE, ENFILE, EADDRNOTAVAIL, ENOBUFS, ENOMEM and the local_failure verdict; not a refused port', () => {
    const t = { host: '192.0.2.1', port: 3389 };
    for (const c of ['EMFILE', 'ENFILE', 'EADDRNOTAVAIL', 'ENOBUFS', 'ENOMEM']) expect(isLocalFailure(report(t, c))).toBe(true);
    expect(isLocalFailure(report(t, 'ECONNREFUSED', 'refused'))).toBe(false);
    expect(isLocalFailure(report(t))).toBe(false);
    const v = report(t);
    (v.verdict as { id: string }).id = 'local_failure';
    expect(isLocalFailure(v)).toBe(true);
    const a = report(t);
    a.anomalies.push('internal error: EMFILE: too many open files, open heavy.js');
    expect(isLocalFailure(a)).toBe(true);
  });
});

describe('scanTargets and local failures', () => {
  it('a burst of EMFILE halves the in-flight limit once, re-probes those targets, and never yields the failures', async () => {
    let inFlight = 0;
    const peaks: number[] = [];
    let emfiles = 0;
    const lowered: { from: number; to: number; reason: string }[] = [];
    const runner = async (t: ScanTarget) => {
      inFlight++;
      peaks.push(inFlight);
      await new Promise((r) => setTimeout(r, 3));
      // Above 8 in flight the machine runs out of descriptors.
      const fail = inFlight > 8;
      inFlight--;
      if (fail) emfiles++;
      return report(t, fail ? 'EMFILE' : undefined);
    };
    const seen: string[] = [];
    for await (const r of scanTargets(targets(120), { concurrency: 32, runner, onConcurrencyLowered: (x) => lowered.push(x) })) {
      expect(isLocalFailure(r.report)).toBe(false);
      seen.push(r.target.host);
    }
    expect(emfiles).toBeGreaterThan(0);
    expect(seen.sort()).toEqual(targets(120).map((t) => t.host).sort());
    expect(lowered[0]).toEqual({ from: 32, to: 16, reason: 'EMFILE', target: expect.anything() });
    // 32 → 16 → 8: then nothing fails any more.
    expect(lowered.map((l) => l.to)).toEqual([16, 8]);
    expect(Math.max(...peaks.slice(-40))).toBeLessThanOrEqual(8);
  });

  it('a failure that persists at one in flight ends the scan with LocalFailureError; earlier results were yielded', async () => {
    let calls = 0;
    const runner = async (t: ScanTarget) => {
      calls++;
      return report(t, t.host === '192.0.2.3' ? 'EADDRNOTAVAIL' : undefined, 'address_not_available');
    };
    const seen: string[] = [];
    const t0 = performance.now();
    let error: unknown;
    try {
      for await (const r of scanTargets(targets(10), { concurrency: 2, runner, localRetries: 3 })) seen.push(r.target.host);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LocalFailureError);
    expect((error as LocalFailureError).reason).toBe('EADDRNOTAVAIL');
    expect((error as Error).message).not.toContain('\n');
    expect(seen).toEqual(['192.0.2.0', '192.0.2.1', '192.0.2.2']);
    expect(calls).toBeLessThan(20);
    expect(performance.now() - t0).toBeLessThan(3000);
  });
});

describe('--resume and local failures', () => {
  it('a record of a local failure (an older run wrote them as verdict error) is not done', async () => {
    const emfile = JSON.stringify(report({ host: '192.0.2.7', port: 3389 }, 'EMFILE'));
    const ok = JSON.stringify(report({ host: '192.0.2.8', port: 3389 }));
    const done = await loadResume([emfile, ok]);
    expect(done.has('192.0.2.7:3389')).toBe(false);
    expect(done.has('192.0.2.8:3389')).toBe(true);
    expect(done.localFailures).toBe(1);
    expect(done.size).toBe(1);
  });
});
