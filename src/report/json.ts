import type { ProbeReport } from '../probe/types.js';

export function formatJson(r: ProbeReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}
