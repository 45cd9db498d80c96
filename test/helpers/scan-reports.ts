/** A scripted runner's report for the scan engine's tests: dns skipped, tcp ok, or failed with `kind`. */
import { ReportBuilder } from '../../src/probe/report-builder.js';
import type { ProbeReport } from '../../src/probe/types.js';
import type { ScanTarget } from '../../src/scan/scan.js';

export function fakeReport(t: ScanTarget, kind?: string): ProbeReport {
  const b = new ReportBuilder({ host: t.host, port: t.port }, 'tcp', () => 0, new Date(0), 'test');
  b.skip('dns', 'test');
  const s = b.begin('tcp');
  if (kind) s.end({ status: 'failed', error: { layer: 'transport', kind, message: kind } });
  else s.end({ status: 'ok' });
  return b.build();
}
