import { compactRecordJson } from '../probe/report-builder.js';
import type { ProbeReport } from '../probe/types.js';

export function formatJson(r: ProbeReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

/** One report as one line of JSON (NDJSON), as JSON.stringify writes it; compact records from their template. */
export function reportLine(r: ProbeReport): string {
  return compactRecordJson(r) ?? JSON.stringify(r);
}
