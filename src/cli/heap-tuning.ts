import v8 from 'node:v8';

/**
 * How much the old generation may grow past what survived the last full collection, as a percentage, while a scan
 * runs (V8's own factor, chosen from its GC speed, is up to 4x on a small heap).
 *
 * Why: a scan holds little (the code and the probes in flight, about 10 MB) but makes garbage fast, tens of thousands
 * of sockets and reports a second, and Node's sockets outlive a scavenge or two (their handles close
 * asynchronously), so they are promoted and die in the old generation. With the default factor the old generation
 * grew from 10 MB to 48 MB between full collections, and a /16 peaked at 124 MB of RSS where the bare connect loop
 * peaks at 92 MB. At 25% the full collections come every 200 ms instead of every second, each a 2 ms pause (the
 * marking runs mostly on the other core), and the same /16 peaks at 103 MB.
 */
export const SCAN_HEAP_GROWING_PERCENT = 25;

/**
 * Sets V8's heap growing factor for a batch job (a scan); returns a function that sets it back. Nothing is set
 * when the user chose heap flags themselves (on the command line or in NODE_OPTIONS): theirs win.
 *
 * The factor is read afresh at every full collection, so changing it after start-up is safe. It is set back before
 * the process exits because V8 hashes non-default flags into a code cache: a cache written with it set would be
 * rejected by every later run (see code-cache.ts).
 */
export function tuneHeapForBatch(execArgv: readonly string[] = process.execArgv, env: NodeJS.ProcessEnv = process.env): () => void {
  const chosen = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)].some((f) => /^--(heap-growing-percent|max-old-space-size|max-semi-space-size|min-semi-space-size|optimize-for-size)\b/.test(f.replace(/_/g, '-')));
  if (chosen) return () => {};
  v8.setFlagsFromString(`--heap-growing-percent=${SCAN_HEAP_GROWING_PERCENT}`);
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    v8.setFlagsFromString('--heap-growing-percent=0');
  };
}
