/** The width yargs wraps the help to, for a terminal of `columns` (undefined: not a terminal). The bin's precomputed help is keyed by it. */
export function helpWidth(columns: number | undefined): number {
  return Math.min(110, columns ?? 100);
}
