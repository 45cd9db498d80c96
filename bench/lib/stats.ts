/** Order statistics for a handful of wall times. */
export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
}

export function summarize(values: number[]): Summary | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { n: s.length, median, min: s[0]!, max: s[s.length - 1]! };
}

/** Seconds with two decimals below 10 s, one above. */
export function fmtSeconds(ms: number): string {
  const s = ms / 1000;
  return s < 10 ? s.toFixed(2) : s.toFixed(1);
}
