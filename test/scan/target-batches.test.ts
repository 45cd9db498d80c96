// Issue #11 item 2: expandTargetBatches, the batched form of expandTargets. Every address is only parsed, never contacted.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/target.js';
import { ExcludeSet, expandTargetBatches, expandTargets, parseTargetSpec, TARGET_BATCH, type ExpandOptions, type Target, type TargetSpec } from '../../src/scan/targets.js';

const specs = (...tokens: string[]): TargetSpec[] => tokens.map((t) => parseTargetSpec(t));

async function flat(it: AsyncIterable<Target>): Promise<string[]> {
  const out: string[] = [];
  for await (const t of it) out.push(t.key);
  return out;
}

async function batches(it: AsyncIterable<Target[]>): Promise<Target[][]> {
  const out: Target[][] = [];
  for await (const b of it) out.push(b);
  return out;
}

describe('expandTargetBatches', () => {
  const tokens = ['10.0.0.0/26', 'b.example', '10.0.0.16/28:3390', '2001:db8::/123', 'A.example', 'b.example', '10.0.1.0-9'];
  const options = async (): Promise<Array<{ name: string; opts: ExpandOptions }>> => [
    { name: 'two ports', opts: { ports: [3389, 3390] } },
    { name: 'an exclusion', opts: { ports: [3389, 3390], exclude: await ExcludeSet.from(specs('10.0.0.8/29', 'a.example', '2001:db8::10-2001:db8::12')) } },
    { name: 'shard 2/3', opts: { ports: [3389, 3390], shard: { index: 2, count: 3 } } },
    { name: 'resume', opts: { ports: [3389, 3390], done: new Set(['10.0.0.1:3389', '10.0.0.20:3390', 'b.example:3390', '[2001:db8::7]:3389']) } },
    { name: 'shard 1/4 and resume', opts: { ports: [3389], shard: { index: 1, count: 4 }, done: new Set(['10.0.0.4:3389', '10.0.1.8:3389']) } },
  ];

  it('produces the same targets in the same order as expandTargets, in non-empty batches of at most `size`', async () => {
    for (const { name, opts } of await options()) {
      const expected = await flat(expandTargets(specs(...tokens), opts));
      expect(expected.length, name).toBeGreaterThan(20);
      for (const size of [1, 3, 7, TARGET_BATCH]) {
        const got = await batches(expandTargetBatches(specs(...tokens), opts, size));
        expect(got.every((b) => b.length >= 1 && b.length <= size), `${name}, size ${size}`).toBe(true);
        expect(got.flat().map((t) => t.key), `${name}, size ${size}`).toEqual(expected);
        // From a sync source only the last batch may be short.
        expect(got.slice(0, -1).every((b) => b.length === size), `${name}, size ${size}`).toBe(true);
      }
    }
  });

  it('resume skips exactly the done keys, and shards split the batches without overlap or gap', async () => {
    const all = await flat(expandTargets(specs(...tokens), { ports: [3389] }));
    const done = new Set(all.filter((_, i) => i % 5 === 0));
    const resumed = (await batches(expandTargetBatches(specs(...tokens), { ports: [3389], done }, 4))).flat().map((t) => t.key);
    expect(resumed).toEqual(all.filter((k) => !done.has(k)));
    const shards: string[] = [];
    for (let i = 1; i <= 3; i++) shards.push(...(await batches(expandTargetBatches(specs(...tokens), { ports: [3389], shard: { index: i, count: 3 } }, 5))).flat().map((t) => t.key));
    expect(shards.sort()).toEqual([...all].sort());
  });

  it('is lazy: the first batch of 0.0.0.0/0 comes at once, of exactly `size`, and no further spec is pulled', async () => {
    let pulled = 0;
    function* counted(): Generator<TargetSpec> {
      for (const s of specs('0.0.0.0/0', '10.0.0.0/8')) {
        pulled++;
        yield s;
      }
    }
    const gen = expandTargetBatches(counted(), { ports: [3389] }, 100);
    const a = (await gen.next()).value as Target[];
    const b = (await gen.next()).value as Target[];
    await gen.return(undefined);
    expect(a).toHaveLength(100);
    expect(a[0]!.key).toBe('0.0.0.0:3389');
    expect(b[0]!.key).toBe('0.0.0.100:3389');
    expect(pulled).toBe(1);
  });

  it('hands over a short batch before awaiting the next spec of an async source', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let pulled = 0;
    async function* slow(): AsyncGenerator<TargetSpec> {
      pulled++;
      yield parseTargetSpec('10.0.0.0/30');
      pulled++;
      yield parseTargetSpec('a.example');
      await gate; // like stdin with no further line yet
      pulled++;
      yield parseTargetSpec('b.example');
    }
    const gen = expandTargetBatches(slow(), { ports: [3389] });
    expect(((await gen.next()).value as Target[]).map((t) => t.key)).toEqual(['10.0.0.0:3389', '10.0.0.1:3389', '10.0.0.2:3389', '10.0.0.3:3389']);
    expect(((await gen.next()).value as Target[]).map((t) => t.key)).toEqual(['a.example:3389']);
    expect(pulled).toBe(2);
    const third = gen.next();
    release();
    expect(((await third).value as Target[]).map((t) => t.key)).toEqual(['b.example:3389']);
    expect((await gen.next()).done).toBe(true);
  });

  it('hands over the targets before an oversized spec, then throws', async () => {
    const gen = expandTargetBatches(specs('10.0.0.1', '10.0.0.2', '2001:db8::/64'), { ports: [3389] });
    expect(((await gen.next()).value as Target[]).map((t) => t.key)).toEqual(['10.0.0.1:3389', '10.0.0.2:3389']);
    await expect(gen.next()).rejects.toThrow(UsageError);
  });

  it('refuses a batch size that is not a positive integer', async () => {
    await expect(expandTargetBatches(specs('10.0.0.1'), { ports: [3389] }, 0).next()).rejects.toThrow(RangeError);
    await expect(expandTargetBatches(specs('10.0.0.1'), { ports: [3389] }, 2.5).next()).rejects.toThrow(RangeError);
  });
});
