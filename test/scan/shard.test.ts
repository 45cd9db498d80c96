// Every address here is only parsed and counted, never contacted.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/target.js';
import { inShard, nextInShard, parseShard, shardSize, type Shard } from '../../src/scan/shard.js';
import { countTargets, ExcludeSet, expandTargets, parseTargetSpec, type ExpandOptions } from '../../src/scan/targets.js';

async function keys(tokens: string[], opts: ExpandOptions): Promise<string[]> {
  const out: string[] = [];
  for await (const t of expandTargets(tokens.map((s) => parseTargetSpec(s)), opts)) out.push(t.key);
  return out;
}

describe('parseShard', () => {
  it.each([
    ['1/1', { index: 1, count: 1 }],
    ['2/5', { index: 2, count: 5 }],
    [' 3 / 7 ', { index: 3, count: 7 }],
    ['65536/65536', { index: 65536, count: 65536 }],
  ])('%j', (text, shard) => {
    expect(parseShard(text)).toEqual(shard);
  });

  it.each([
    ['0/3', '--shard 0/3: the shard number must be between 1 and 3'],
    ['4/3', '--shard 4/3: the shard number must be between 1 and 3'],
    ['1/0', '--shard 1/0: the shard count must be between 1 and 65536'],
    ['1/65537', '--shard 1/65537: the shard count must be between 1 and 65536'],
    ['1', '--shard "1": expected i/n, e.g. 2/5'],
    ['-1/3', '--shard "-1/3": expected i/n, e.g. 2/5'],
    ['1.5/3', '--shard "1.5/3": expected i/n, e.g. 2/5'],
    ['a/b', '--shard "a/b": expected i/n, e.g. 2/5'],
  ])('refuses %j', (text, message) => {
    expect(() => parseShard(text)).toThrow(UsageError);
    expect(() => parseShard(text)).toThrow(message);
  });

  it('expandTargets validates a programmatic shard too', async () => {
    await expect(keys(['10.0.0.1'], { ports: [1], shard: { index: 0, count: 2 } })).rejects.toThrow(UsageError);
  });
});

describe('shard arithmetic', () => {
  it('target k belongs to shard (k mod n) + 1', () => {
    const s: Shard = { index: 3, count: 7 };
    expect([0n, 1n, 2n, 9n, 16n, 7n * 10n ** 30n + 2n].map((k) => inShard(s, k))).toEqual([false, false, true, true, true, true]);
    expect(nextInShard(s, 0n)).toBe(2n);
    expect(nextInShard(s, 2n)).toBe(2n);
    expect(nextInShard(s, 3n)).toBe(9n);
    expect(shardSize(s, 0n)).toBe(0n);
    expect(shardSize(s, 2n)).toBe(0n);
    expect(shardSize(s, 3n)).toBe(1n);
    expect(shardSize(s, 16n)).toBe(2n);
    expect(shardSize(s, 17n)).toBe(3n);
  });
});

describe('--shard over an expansion', () => {
  const cases: Array<{ name: string; tokens: string[]; opts: () => Promise<ExpandOptions> }> = [
    { name: 'a /22 × 2 ports', tokens: ['10.20.0.0/22'], opts: async () => ({ ports: [3389, 3390] }) },
    {
      name: 'mixed specs with overlaps, exclusions, names and own ports',
      tokens: ['10.20.0.0/22', '10.20.1.0/24', 'rdp.example', '10.20.3.250-10.20.4.5:3390', '[2001:db8::/125]:3389', 'RDP.example'],
      opts: async () => ({
        ports: [3389, 3390],
        exclude: await ExcludeSet.from(['10.20.2.0/25', '10.20.0.7'].map((s) => parseTargetSpec(s))),
      }),
    },
  ];

  for (const c of cases) {
    it(`${c.name}: for n in 1, 2, 3, 7 the shards are disjoint, in order, and together the whole`, async () => {
      const opts = await c.opts();
      const all = await keys(c.tokens, opts);
      expect(new Set(all).size).toBe(all.length);
      if (c.tokens.length === 1) expect(all.length).toBe(1024 * 2);
      for (const n of [1, 2, 3, 7]) {
        const shards: string[][] = [];
        for (let i = 1; i <= n; i++) shards.push(await keys(c.tokens, { ...opts, shard: { index: i, count: n } }));
        // Exactly the k mod n rule: shard i holds all[k] for k ≡ i-1 (mod n), in order.
        shards.forEach((s, i) => expect(s).toEqual(all.filter((_, k) => k % n === i)));
        // Hence: no overlap …
        const seen = new Set<string>();
        for (const s of shards) for (const k of s) {
          expect(seen.has(k)).toBe(false);
          seen.add(k);
        }
        // … no gap, and balanced.
        expect(seen).toEqual(new Set(all));
        const sizes = shards.map((s) => s.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        shards.forEach((s, i) =>
          expect(countTargets(c.tokens.map((t) => parseTargetSpec(t)), { ...opts, shard: { index: i + 1, count: n } })).toBe(BigInt(s.length)),
        );
      }
    });
  }

  it('is the same on every run (deterministic)', async () => {
    const a = await keys(['10.20.0.0/22'], { ports: [3389, 3390], shard: { index: 2, count: 3 } });
    const b = await keys(['10.20.0.0/22'], { ports: [3389, 3390], shard: { index: 2, count: 3 } });
    expect(a).toEqual(b);
    expect(a.slice(0, 4)).toEqual(['10.20.0.0:3390', '10.20.0.2:3389', '10.20.0.3:3390', '10.20.0.5:3389']);
  });

  it('skipping done targets (--resume) does not move the others between shards', async () => {
    const shard = { index: 2, count: 3 };
    const full = await keys(['10.20.0.0/28'], { ports: [3389], shard });
    const doneKeys = new Set(full.slice(0, 2));
    const resumed = await keys(['10.20.0.0/28'], { ports: [3389], shard, done: doneKeys });
    expect(resumed).toEqual(full.slice(2));
  });
});
