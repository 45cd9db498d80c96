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
import { decodeTpkt } from '../../src/protocol/tpkt.js';
import { checkDecode, DECODERS, MAX_CALL_MS } from './targets.js';

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

describe('the contract check itself', () => {
  const target = (decode: (b: Uint8Array) => unknown, neverThrows = false) => ({ name: 'fake', decode, layers: [], neverThrows });
  it('flags a RangeError, a TypeError and a thrown string, and keeps the stack', () => {
    const v = checkDecode(target((b) => new DataView(b.buffer, b.byteOffset, b.length).getUint32(0)), new Uint8Array(2));
    expect(v?.why).toMatch(/^threw RangeError/);
    expect(v?.stack).toContain('getUint32');
    expect(checkDecode(target((b) => (b as unknown as { x: { y: number } }).x.y), new Uint8Array(1))?.why).toMatch(/^threw TypeError/);
    expect(checkDecode(target(() => { throw 'no'; }), new Uint8Array(0))?.why).toBe('threw no');
  });
  it('accepts a value and a DecodeError, unless the decoder is documented as total', () => {
    expect(checkDecode(target(() => 1), new Uint8Array(0))).toBeUndefined();
    expect(checkDecode(target(decodeTpkt), new Uint8Array(1))).toBeUndefined();
    expect(checkDecode(target(decodeTpkt, true), new Uint8Array(1))?.why).toMatch(/never throwing/);
  });
  it('flags a call slower than the limit (MAX_CALL_MS in the runs; 20 ms here)', () => {
    expect(MAX_CALL_MS).toBeGreaterThan(100);
    const spin = () => {
      const end = performance.now() + 30;
      while (performance.now() < end);
    };
    expect(checkDecode(target(spin), new Uint8Array(0), undefined, 20)?.why).toMatch(/^took \d+ ms/);
  });
});
