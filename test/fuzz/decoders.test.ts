/**
 * fast-check over every decoder (issue #8 item 4): random bytes and mutated real frames (captures, recordings,
 * encoder outputs) give a value or a DecodeError, nothing else, each call well under MAX_CALL_MS. A bounded
 * number of cases here; `npm run fuzz` runs a million per target. A failing input is shrunk and saved under
 * test/fixtures/regressions/, which regressions.test.ts replays on every run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeFailure, runDecoderTarget, seedsByTarget } from './harness.js';
import { ROUNDTRIPS, subsetMismatch } from './roundtrip.js';
import { DECODERS } from './targets.js';

const CI_RUNS = 300;

describe('fuzz: every decoder gives a value or a DecodeError', () => {
  it('each target has real seeds it decodes (the mutations start from valid frames)', () => {
    const seeds = seedsByTarget();
    const without = DECODERS.filter((t) => t.layers.length > 0 && (seeds.get(t.name)?.accepted.length ?? 0) === 0).map((t) => t.name);
    expect(without).toEqual([]);
  });

  it.each(DECODERS.map((t) => [t.name, t] as const))('%s', (_name, t) => {
    const r = runDecoderTarget(t, t.ciRuns ?? CI_RUNS, Date.now() ^ 0x9e3779b9);
    if (r.failure) expect.fail(describeFailure(r));
    expect(r.cases).toBe(t.ciRuns ?? CI_RUNS);
    // Not vacuous: some cases get through (mutated real frames still decode), some are refused.
    if (!t.neverThrows) expect(r.outcomes.errors).toBeGreaterThan(0);
    expect(r.outcomes.values).toBeGreaterThan(0);
  });
});

describe('fuzz: decode(encode(x)) gives x back', () => {
  it.each(ROUNDTRIPS.map((r) => [r.name, r] as const))('%s', (_name, r) => {
    fc.assert(
      fc.property(r.arb, (x) => {
        const decoded = r.decode(r.encode(x));
        const m = subsetMismatch(decoded, r.expected ? r.expected(x) : x);
        if (m) throw new Error(m);
      }),
      { numRuns: 200 },
    );
  });
});
