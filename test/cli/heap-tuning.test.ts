import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { tuneHeapForBatch } from '../../src/cli/heap-tuning.js';

// V8 hashes every non-default flag into a code cache and refuses a cache made under another hash: that is how these
// tests see whether tuneHeapForBatch changed a flag, and whether its restore put it back.
// Each script is new text (V8 would answer a repeated one from its own in-memory cache without looking at ours) of
// the same length (which is all of the source V8 checks a cache against).
let n = 0;
const source = (): string => `function heapTuningProbe(a, b) { return a + b; } heapTuningProbe(1, 2); // ${String(++n).padStart(6, '0')}`;
const cacheNow = (): Buffer => {
  const s = new vm.Script(source());
  s.runInThisContext();
  return s.createCachedData();
};
const takenNow = (cache: Buffer): boolean => !new vm.Script(source(), { cachedData: cache }).cachedDataRejected;

describe('tuneHeapForBatch', () => {
  it('sets a V8 flag while a scan runs, and its restore sets it back (a cache made after the scan is one every run takes)', () => {
    const before = cacheNow();
    const restore = tuneHeapForBatch([], {});
    try {
      expect(takenNow(before)).toBe(false);
      const during = cacheNow();
      restore();
      expect(takenNow(during)).toBe(false);
      expect(takenNow(before)).toBe(true);
      // A second restore changes nothing.
      restore();
      expect(takenNow(before)).toBe(true);
    } finally {
      restore();
    }
  });

  it.each([
    [['--max-old-space-size=200'], {}],
    [['--max_semi_space_size=8'], {}],
    [[], { NODE_OPTIONS: '--enable-source-maps --heap-growing-percent=80' }],
    [[], { NODE_OPTIONS: '--optimize-for-size' }],
  ])('leaves the heap alone when the user chose heap flags: %j %j', (execArgv, env) => {
    const before = cacheNow();
    const restore = tuneHeapForBatch(execArgv, env);
    try {
      expect(takenNow(before)).toBe(true);
    } finally {
      restore();
    }
  });
});
