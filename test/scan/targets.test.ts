// Every address here is only parsed and counted, never contacted.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/target.js';
import {
  countTargets,
  ExcludeSet,
  expandTargets,
  parsePortList,
  parseTargetLine,
  parseTargetSpec,
  readTargetList,
  targetKey,
  type ExpandOptions,
  type Target,
  type TargetSpec,
} from '../../src/scan/targets.js';

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw new Error(`expected a UsageError, got ${String(e)}`);
  }
  throw new Error('expected a UsageError, got a value');
}

async function asyncUsageError(p: Promise<unknown>): Promise<UsageError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw new Error(`expected a UsageError, got ${String(e)}`);
  }
  throw new Error('expected a UsageError, got a value');
}

async function collect(it: AsyncIterable<Target>): Promise<Target[]> {
  const out: Target[] = [];
  for await (const t of it) out.push(t);
  return out;
}

const specs = (...tokens: string[]): TargetSpec[] => tokens.map((t) => parseTargetSpec(t));

async function keys(tokens: string[], opts: Partial<ExpandOptions> = {}): Promise<string[]> {
  return (await collect(expandTargets(specs(...tokens), { ports: [3389], ...opts }))).map((t) => t.key);
}

describe('parseTargetSpec', () => {
  it('parses single addresses, CIDRs and ranges into intervals', () => {
    expect(parseTargetSpec('10.0.0.5')).toMatchObject({ kind: 'range', family: 4, first: 0x0a000005n, last: 0x0a000005n });
    expect(parseTargetSpec('10.0.0.0/30')).toMatchObject({ family: 4, first: 0x0a000000n, last: 0x0a000003n });
    expect(parseTargetSpec('0.0.0.0/0')).toMatchObject({ first: 0n, last: 0xffffffffn });
    expect(parseTargetSpec('10.0.0.7/32')).toMatchObject({ first: 0x0a000007n, last: 0x0a000007n });
    expect(parseTargetSpec('10.0.0.1-50')).toMatchObject({ first: 0x0a000001n, last: 0x0a000032n });
    expect(parseTargetSpec('10.0.0.254-10.0.1.1')).toMatchObject({ first: 0x0a0000fen, last: 0x0a000101n });
    expect(parseTargetSpec('2001:db8::/126')).toMatchObject({
      family: 6,
      first: 0x20010db8n << 96n,
      last: (0x20010db8n << 96n) | 3n,
    });
    expect(parseTargetSpec('2001:db8::1-2001:db8::ff')).toMatchObject({ family: 6, last: (0x20010db8n << 96n) | 0xffn });
    expect(parseTargetSpec('::/0')).toMatchObject({ family: 6, first: 0n, last: (1n << 128n) - 1n });
    expect(parseTargetSpec('::ffff:10.0.0.1')).toMatchObject({ family: 6, first: 0xffff0a000001n });
  });

  it('normalises a CIDR with host bits set and says so', () => {
    const s = parseTargetSpec('10.0.0.77/24');
    expect(s).toMatchObject({ first: 0x0a000000n, last: 0x0a0000ffn });
    expect(s.kind === 'range' && s.note).toBe('10.0.0.77/24 has host bits set; scanning 10.0.0.0/24');
    expect(parseTargetSpec('10.0.0.0/24')).not.toHaveProperty('note');
    const v6 = parseTargetSpec('2001:db8::5/120');
    expect(v6.kind === 'range' && v6.note).toBe('2001:db8::5/120 has host bits set; scanning 2001:db8::/120');
  });

  it('takes ports on names, addresses, CIDRs and ranges', () => {
    expect(parseTargetSpec('rdp-01.corp.example:3390')).toEqual({
      kind: 'name',
      host: 'rdp-01.corp.example',
      port: 3390,
      text: 'rdp-01.corp.example:3390',
    });
    expect(parseTargetSpec('10.0.0.5:3390')).toMatchObject({ first: 0x0a000005n, port: 3390 });
    expect(parseTargetSpec('[2001:db8::5]:13389')).toMatchObject({ family: 6, port: 13389 });
    expect(parseTargetSpec('[2001:db8::5]')).not.toHaveProperty('port');
    expect(parseTargetSpec('10.0.0.0/30:3390')).toMatchObject({ last: 0x0a000003n, port: 3390 });
    expect(parseTargetSpec('10.0.0.1-5:3390')).toMatchObject({ last: 0x0a000005n, port: 3390 });
    expect(parseTargetSpec('[2001:db8::/126]:3390')).toMatchObject({ family: 6, port: 3390 });
    expect(parseTargetSpec('10.0.0.5')).not.toHaveProperty('port');
  });

  it('keeps host names unresolved, including names with dashes and digits', () => {
    for (const n of ['host', 'rdp-01.corp.example.', '10-0-0-5.nip.io', 'a_b.example']) {
      expect(parseTargetSpec(n)).toEqual({ kind: 'name', host: n, text: n });
    }
    expect(parseTargetSpec('fe80::1%eth0')).toMatchObject({ kind: 'name', host: 'fe80::1%eth0' });
    expect(parseTargetSpec('[fe80::1%eth0]:3390')).toMatchObject({ kind: 'name', host: 'fe80::1%eth0', port: 3390 });
  });

  it.each([
    ['10.0.0.1/33', 'invalid target "10.0.0.1/33": prefix /33 is longer than 32 bits'],
    ['2001:db8::/129', 'invalid target "2001:db8::/129": prefix /129 is longer than 128 bits'],
    ['10.0.0.5-10.0.0.1', 'invalid target "10.0.0.5-10.0.0.1": range end 10.0.0.1 is before its start 10.0.0.5'],
    ['10.0.0.9-3', 'invalid target "10.0.0.9-3": range end 10.0.0.3 is before its start 10.0.0.9'],
    ['300.1.1.1', 'invalid target "300.1.1.1": "300.1.1.1" is not a valid IPv4 address'],
    ['10.1', 'invalid target "10.1": "10.1" is not a valid IPv4 address'],
    ['010.0.0.1', 'invalid target "010.0.0.1": "010.0.0.1" is not a valid IPv4 address'],
    ['0x7f000001', 'invalid target "0x7f000001": "0x7f000001" is not a valid IPv4 address'],
    ['host:99999', 'invalid target "host:99999": port 99999 is out of range 1-65535'],
    ['host:', 'invalid target "host:": invalid port ""'],
    ['[::1', 'invalid target "[::1": unclosed "["'],
    ['[::1]3389', 'invalid target "[::1]3389": unexpected text after "]"'],
    ['[10.0.0.1]:3389', 'invalid target "[10.0.0.1]:3389": only IPv4 addresses go in brackets'.replace('IPv4', 'IPv6')],
    ['10.0.0.1-256', 'invalid target "10.0.0.1-256": invalid last octet "256"'],
    ['10.0.0.1-2001:db8::1', 'invalid target "10.0.0.1-2001:db8::1": the ends of a range must be of the same address family'],
    ['2001:db8::1-ff', 'invalid target "2001:db8::1-ff": range end "ff" is not an IPv6 address (write both ends in full)'],
    ['10.0.0.0/x', 'invalid target "10.0.0.0/x": invalid prefix length "/x"'],
    ['host/24', 'invalid target "host/24": "host" is not an IP address'],
    ['2001:db8::zz', 'invalid target "2001:db8::zz": "2001:db8::zz" is not a valid IPv6 address'],
    ['bad!name', 'invalid target "bad!name": "bad!name" is not a valid host name or address'],
    ['a..b', 'invalid target "a..b": "a..b" is not a valid host name or address'],
    ['', 'invalid target "": empty target'],
  ])('%j is refused: %s', (token, message) => {
    const e = usageError(() => parseTargetSpec(token));
    expect(e.message).toBe(message);
    expect(e.message).not.toContain('\n');
  });

  it('prefixes the origin when given', () => {
    expect(usageError(() => parseTargetSpec('300.1.1.1', 'hosts.txt:3')).message).toBe(
      'hosts.txt:3: invalid target "300.1.1.1": "300.1.1.1" is not a valid IPv4 address',
    );
  });
});

describe('parsePortList', () => {
  it('keeps order, drops duplicates, expands ranges', () => {
    expect(parsePortList('3389,3390')).toEqual([3389, 3390]);
    expect(parsePortList('3390, 3389,3390')).toEqual([3390, 3389]);
    expect(parsePortList('3389-3391,22')).toEqual([3389, 3390, 3391, 22]);
  });
  it.each(['', '3389,', '0', '70000', '3391-3389', 'rdp'])('refuses %j', (text) => {
    expect(() => parsePortList(text)).toThrow(UsageError);
  });
});

describe('expandTargets: exact expansions', () => {
  it('10.0.0.0/30 → 4 addresses in order', async () => {
    expect(await keys(['10.0.0.0/30'])).toEqual(['10.0.0.0:3389', '10.0.0.1:3389', '10.0.0.2:3389', '10.0.0.3:3389']);
  });

  it('10.0.0.254-10.0.1.1 → 4 addresses across the octet boundary', async () => {
    expect(await keys(['10.0.0.254-10.0.1.1'])).toEqual([
      '10.0.0.254:3389',
      '10.0.0.255:3389',
      '10.0.1.0:3389',
      '10.0.1.1:3389',
    ]);
  });

  it('2001:db8::/126 → 4 addresses in Node’s canonical text', async () => {
    const ts = await collect(expandTargets(specs('2001:DB8:0:0::/126'), { ports: [3389] }));
    expect(ts.map((t) => t.host)).toEqual(['2001:db8::', '2001:db8::1', '2001:db8::2', '2001:db8::3']);
    expect(ts.map((t) => t.key)).toEqual([
      '[2001:db8::]:3389',
      '[2001:db8::1]:3389',
      '[2001:db8::2]:3389',
      '[2001:db8::3]:3389',
    ]);
    for (const t of ts) expect(new net.SocketAddress({ address: t.host, family: 'ipv6' }).address).toBe(t.host);
  });

  it('formats IPv6 exactly like net.SocketAddress (zero runs, embedded IPv4)', async () => {
    const tokens = ['2001:0db8:0000:0000:0001:0000:0000:0001', '::ffff:0a00:0001', '::1', '1::', '1:0:0:1:0:0:0:1', '::'];
    const hosts = (await collect(expandTargets(specs(...tokens), { ports: [1] }))).map((t) => t.host);
    expect(hosts).toEqual(tokens.map((a) => new net.SocketAddress({ address: a, family: 'ipv6' }).address));
    expect(hosts).toEqual(['2001:db8::1:0:0:1', '::ffff:10.0.0.1', '::1', '1::', '1:0:0:1::1', '::']);
  });

  it('address-major, then ports in --ports order; a spec’s own port replaces the list', async () => {
    expect(await keys(['10.0.0.1-2', 'host:22', 'Other.Example'], { ports: [3390, 3389] })).toEqual([
      '10.0.0.1:3390',
      '10.0.0.1:3389',
      '10.0.0.2:3390',
      '10.0.0.2:3389',
      'host:22',
      'other.example:3390',
      'other.example:3389',
    ]);
    const t = await collect(expandTargets(specs('Other.Example', '[::1]:3390'), { ports: [3389] }));
    expect(t).toEqual([
      { host: 'Other.Example', port: 3389, key: 'other.example:3389' },
      { host: '::1', port: 3390, key: '[::1]:3390' },
    ]);
  });

  it('accepts an async iterable of specs, e.g. a list read line by line', async () => {
    async function* lines(): AsyncGenerator<string> {
      yield '# my hosts';
      yield '10.0.0.1 10.0.0.2  # two on one line';
      yield '';
      yield 'dc01.corp.example:3390';
    }
    const ts = await collect(expandTargets(readTargetList(lines(), 'hosts.txt'), { ports: [3389] }));
    expect(ts.map((t) => t.key)).toEqual(['10.0.0.1:3389', '10.0.0.2:3389', 'dc01.corp.example:3390']);
  });

  it('names the file and line of a bad entry', async () => {
    const e = await asyncUsageError(collect(expandTargets(readTargetList(['10.0.0.1', '', '10.0.0.1/33'], 'hosts.txt'), { ports: [3389] })));
    expect(e.message).toBe('hosts.txt:3: invalid target "10.0.0.1/33": prefix /33 is longer than 32 bits');
  });
});

describe('expandTargets: laziness and the size guard', () => {
  it('takes the first 5 of 0.0.0.0/0 at once and pulls no further spec', async () => {
    let pulled = 0;
    function* counted(): Generator<TargetSpec> {
      for (const s of specs('0.0.0.0/0', '10.0.0.0/8')) {
        pulled++;
        yield s;
      }
    }
    const t0 = performance.now();
    const first: string[] = [];
    for await (const t of expandTargets(counted(), { ports: [3389, 3390] })) {
      first.push(t.key);
      if (first.length === 5) break;
    }
    expect(performance.now() - t0).toBeLessThan(500);
    expect(first).toEqual(['0.0.0.0:3389', '0.0.0.0:3390', '0.0.0.1:3389', '0.0.0.1:3390', '0.0.0.2:3389']);
    expect(pulled).toBe(1);
  });

  it('reads specs only as needed from an endless source', async () => {
    let pulled = 0;
    async function* endless(): AsyncGenerator<TargetSpec> {
      for (let i = 0; ; i++) {
        pulled++;
        yield parseTargetSpec(`host${i}.example`);
      }
    }
    const got: string[] = [];
    for await (const t of expandTargets(endless(), { ports: [3389] })) {
      got.push(t.host);
      if (got.length === 3) break;
    }
    expect(got).toEqual(['host0.example', 'host1.example', 'host2.example']);
    expect(pulled).toBe(3);
  });

  it('walks an IPv6 /64 lazily when the guard is raised', async () => {
    const gen = expandTargets(specs('2001:db8::/64'), { ports: [3389], maxPerSpec: 1n << 64n });
    const a = await gen.next();
    const b = await gen.next();
    await gen.return(undefined);
    expect([a.value?.host, b.value?.host]).toEqual(['2001:db8::', '2001:db8::1']);
  });

  it('refuses a spec over 2^32 addresses when it is reached, after the ones before it', async () => {
    const gen = expandTargets(specs('10.0.0.1', '2001:db8::/64'), { ports: [3389] });
    expect((await gen.next()).value?.key).toBe('10.0.0.1:3389');
    const e = await asyncUsageError(gen.next());
    expect(e.message).toBe(
      'target "2001:db8::/64" covers 2^64 addresses, more than the limit of 2^32 per target; split it or raise the limit',
    );
    // All of IPv4 (exactly 2^32) and an IPv6 /96 are allowed.
    await expect(expandTargets(specs('::/96'), { ports: [1] }).next()).resolves.toMatchObject({ done: false });
    await expect(expandTargets(specs('::/95'), { ports: [1] }).next()).rejects.toThrow(UsageError);
  });

  it('countTargets knows sizes without expanding, and gives up on async sources', async () => {
    expect(countTargets(specs('0.0.0.0/0'), { ports: [3389, 3390] })).toBe(2n ** 33n);
    const exclude = await ExcludeSet.from(specs('10.0.0.0/16', '10.1.0.0/24'));
    expect(countTargets(specs('10.0.0.0/8', '10.0.0.0/24', 'a.example'), { ports: [3389], exclude })).toBe(
      2n ** 24n - 2n ** 16n - 256n + 1n,
    );
    expect(countTargets(readTargetList(['10.0.0.1'], 'x'), { ports: [3389] })).toBeUndefined();
    expect(countTargets(specs('10.0.0.0/30'), { ports: [3389], shard: { index: 2, count: 3 } })).toBe(1n);
    expect(countTargets(specs('10.0.0.0/30'), { ports: [3389], shard: { index: 1, count: 3 } })).toBe(2n);
    expect(() => countTargets(specs('::/64'), { ports: [3389] })).toThrow(UsageError);
  });
});

describe('expandTargets: exclusions', () => {
  it('skips excluded addresses, CIDRs, ranges and names', async () => {
    const exclude = await ExcludeSet.from(specs('10.0.0.2', '10.0.0.4/31', '10.0.0.10-12', 'SKIP.example', '2001:db8::1'));
    expect(await keys(['10.0.0.0/28', 'skip.example', 'keep.example', '2001:db8::/126'], { exclude })).toEqual([
      '10.0.0.0:3389',
      '10.0.0.1:3389',
      '10.0.0.3:3389',
      '10.0.0.6:3389',
      '10.0.0.7:3389',
      '10.0.0.8:3389',
      '10.0.0.9:3389',
      '10.0.0.13:3389',
      '10.0.0.14:3389',
      '10.0.0.15:3389',
      'keep.example:3389',
      '[2001:db8::]:3389',
      '[2001:db8::2]:3389',
      '[2001:db8::3]:3389',
    ]);
  });

  it('skips a large excluded block in one step', async () => {
    const exclude = await ExcludeSet.from(specs('0.0.0.0-255.255.255.251'));
    const t0 = performance.now();
    expect(await keys(['0.0.0.0/0'], { exclude })).toEqual([
      '255.255.255.252:3389',
      '255.255.255.253:3389',
      '255.255.255.254:3389',
      '255.255.255.255:3389',
    ]);
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('answers membership for resolved addresses, and refuses ports', async () => {
    const exclude = await ExcludeSet.from(specs('10.0.0.0/24', '2001:db8::/64', 'dc.example'));
    expect(exclude.excludesHost('10.0.0.200')).toBe(true);
    expect(exclude.excludesHost('10.0.1.0')).toBe(false);
    expect(exclude.excludesHost('2001:DB8::ffff')).toBe(true);
    expect(exclude.excludesHost('DC.example')).toBe(true);
    expect(usageError(() => new ExcludeSet().add(parseTargetSpec('10.0.0.1:3389'))).message).toBe(
      '--exclude "10.0.0.1:3389": exclusions take no port; exclude the address',
    );
  });
});

describe('expandTargets: duplicates', () => {
  it('produces each key once, at its first position, across overlapping specs', async () => {
    expect(await keys(['10.0.0.2-4', '10.0.0.0/29', '10.0.0.3', '10.0.0.6-7'])).toEqual([
      '10.0.0.2:3389',
      '10.0.0.3:3389',
      '10.0.0.4:3389',
      '10.0.0.0:3389',
      '10.0.0.1:3389',
      '10.0.0.5:3389',
      '10.0.0.6:3389',
      '10.0.0.7:3389',
    ]);
  });

  it('tells ports apart: an own-port spec and the --ports list', async () => {
    expect(await keys(['10.0.0.1:3390', '10.0.0.0/31', '10.0.0.1:3390', '10.0.0.1:22', '10.0.0.0-1:3389'], { ports: [3389, 3390] })).toEqual([
      '10.0.0.1:3390',
      '10.0.0.0:3389',
      '10.0.0.0:3390',
      '10.0.0.1:3389',
      '10.0.0.1:22',
    ]);
  });

  it('dedupes names case-insensitively and IPv6 in any spelling', async () => {
    expect(await keys(['Host.example', 'host.EXAMPLE', 'host.example:3389', '2001:db8::1', '2001:DB8:0::1', '[2001:db8::1]:3389'])).toEqual([
      'host.example:3389',
      '[2001:db8::1]:3389',
    ]);
  });

  it('a repeated /8 is skipped in one step, not walked again', async () => {
    // Shard 1/65536 takes every 65536th target, so the first /8 yields 256 targets; the repeat yields none
    // and must not cost 16 M steps; 11.0.0.0 is target number 2^24, which is ≡ 0 mod 65536.
    const t0 = performance.now();
    const ts = await keys(['10.0.0.0/8', '10.0.0.0/8', '10.0.0.0/9', '11.0.0.0'], { shard: { index: 1, count: 65536 } });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(ts.length).toBe(257);
    expect(ts.slice(0, 2)).toEqual(['10.0.0.0:3389', '10.1.0.0:3389']);
    expect(ts.at(-1)).toBe('11.0.0.0:3389');
    expect(countTargets(specs('10.0.0.0/8', '10.0.0.0/8', '10.0.0.0/9', '11.0.0.0'), { ports: [3389] })).toBe(2n ** 24n + 1n);
  });
});

describe('expandTargets against a naive model', () => {
  // Random overlapping specs (singles, ranges, CIDRs, own ports) and exclusions inside 10.0.0.0/16, checked
  // against materialise → filter → dedupe with a Set. The large case has enough out-of-order intervals to
  // exercise the interval lists' side-list merges.
  const v4 = (n: number): string => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  const base = 10 << 24;

  function model(tokens: string[], excl: Array<[number, number]>, ports: number[]): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    for (const tok of tokens) {
      const spec = parseTargetSpec(tok);
      if (spec.kind !== 'range') throw new Error('model handles addresses only');
      for (let a = Number(spec.first); a <= Number(spec.last); a++) {
        if (excl.some(([lo, hi]) => a >= lo && a <= hi)) continue;
        for (const p of spec.port !== undefined ? [spec.port] : ports) {
          const key = `${v4(a)}:${p}`;
          if (!seen.has(key)) {
            seen.add(key);
            out.push(key);
          }
        }
      }
    }
    return out;
  }

  for (const [seed0, nSpecs, span] of [
    [1, 60, 256],
    [2, 200, 1024],
    [3, 200, 300],
    [4, 6000, 1 << 16],
  ] as const) {
    it(`seed ${seed0}: ${nSpecs} specs over ${span} addresses`, async () => {
      let seed: number = seed0;
      const rnd = (n: number): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      const tokens: string[] = [];
      for (let i = 0; i < nSpecs; i++) {
        const a = base + rnd(span);
        const kind = rnd(4);
        const port = rnd(3) === 0 ? `:${[3389, 3390, 22][rnd(3)]}` : '';
        if (kind === 0) tokens.push(`${v4(a)}${port}`);
        else if (kind === 1) tokens.push(`${v4(a)}-${v4(Math.min(a + rnd(40), base + span - 1))}${port}`);
        else if (kind === 2) tokens.push(`${v4(a)}/${29 + rnd(4)}${port}`);
        else tokens.push(`${v4(a)}-${(a & 255) + rnd(256 - (a & 255))}${port}`);
      }
      const excl: Array<[number, number]> = [];
      for (let i = 0; i < 5; i++) {
        const a = base + rnd(span);
        excl.push([a, a + rnd(20)]);
      }
      const exclude = await ExcludeSet.from(excl.map(([lo, hi]) => parseTargetSpec(`${v4(lo)}-${v4(hi)}`)));
      const ports = [3389, 3390];
      const expected = model(tokens, excl, ports);
      expect(await keys(tokens, { ports, exclude })).toEqual(expected);
      expect(countTargets(specs(...tokens), { ports, exclude })).toBe(BigInt(expected.length));
    });
  }
});

describe('parseTargetLine: list formats', () => {
  // As written by `nmap -p 22,3389 -oG hosts.gnmap 10.0.0.0/29`.
  const NMAP_OG = [
    '# Nmap 7.94SVN scan initiated Mon Jul  1 10:00:00 2024 as: nmap -p 22,3389 -oG hosts.gnmap 10.0.0.0/29',
    'Host: 10.0.0.5 (dc01.corp.example)\tStatus: Up',
    'Host: 10.0.0.5 (dc01.corp.example)\tPorts: 22/closed/tcp//ssh///, 3389/open/tcp//ms-wbt-server//Microsoft Terminal Services/\tIgnored State: filtered (998)',
    'Host: 10.0.0.6 ()\tStatus: Up',
    'Host: 10.0.0.6 ()\tPorts: 22/open/tcp//ssh//OpenSSH 9.6p1 Ubuntu 3ubuntu13 (Ubuntu Linux; protocol 2.0)/, 3389/open/tcp//ms-wbt-server//xrdp/',
    'Host: 10.0.0.7 ()\tStatus: Down',
    'Host: 10.0.0.8 ()\tPorts: 3389/filtered/tcp//ms-wbt-server///, 3389/open/udp//ms-wbt-server///',
    'Host: 2001:db8::5 ()\tPorts: 3390/open/tcp//unknown///',
    '# Nmap done at Mon Jul  1 10:00:05 2024 -- 8 IP addresses (3 hosts up) scanned in 5.01 seconds',
  ];

  // As written by `masscan -p3389 10.0.0.0/24 -oL hosts.lst`.
  const MASSCAN_OL = [
    '#masscan',
    'open tcp 3389 10.0.0.5 1719828000',
    'open tcp 3390 10.0.0.9 1719828001',
    'banner tcp 3389 10.0.0.5 1719828002 rdp Microsoft Remote Desktop',
    'closed tcp 3389 10.0.0.10 1719828003',
    'open udp 3389 10.0.0.11 1719828004',
    '# end',
  ];

  const short = (ss: TargetSpec[]): string[] =>
    ss.map((s) => `${s.kind === 'name' ? s.host : s.text}${s.port === undefined ? '' : `:${s.port}`}`);

  it('nmap -oG: open TCP ports per host; Status: Up gives the address; Down and comments nothing', () => {
    expect(NMAP_OG.map((l) => short(parseTargetLine(l)))).toEqual([
      [],
      ['10.0.0.5'],
      ['10.0.0.5:3389'],
      ['10.0.0.6'],
      ['10.0.0.6:22', '10.0.0.6:3389'],
      [],
      [],
      ['2001:db8::5:3390'],
      [],
    ]);
  });

  it('nmap -oG file expands to the open ports plus the --ports list for up hosts, without duplicates', async () => {
    const ts = await collect(expandTargets(readTargetList(NMAP_OG, 'hosts.gnmap'), { ports: [3389] }));
    expect(ts.map((t) => t.key)).toEqual(['10.0.0.5:3389', '10.0.0.6:3389', '10.0.0.6:22', '[2001:db8::5]:3390']);
  });

  it('masscan -oL: open tcp lines give address:port', async () => {
    expect(MASSCAN_OL.map((l) => short(parseTargetLine(l)))).toEqual([[], ['10.0.0.5:3389'], ['10.0.0.9:3390'], [], [], [], []]);
    const ts = await collect(expandTargets(readTargetList(MASSCAN_OL, 'hosts.lst'), { ports: [3389] }));
    expect(ts).toEqual([
      { host: '10.0.0.5', port: 3389, key: '10.0.0.5:3389' },
      { host: '10.0.0.9', port: 3390, key: '10.0.0.9:3390' },
    ]);
  });

  it('plain lines: tokens, comments, CRLF, a BOM', () => {
    expect(short(parseTargetLine('\uFEFF10.0.0.1\r'))).toEqual(['10.0.0.1']);
    expect(parseTargetLine('  10.0.0.0/30  host:3390\t[::1]:1 # lab').map((s) => s.text)).toEqual(['10.0.0.0/30', 'host:3390', '[::1]:1']);
    expect(parseTargetLine('   ')).toEqual([]);
    expect(parseTargetLine('# 10.0.0.1')).toEqual([]);
    expect(() => parseTargetLine('10.0.0.1 300.1.1.1')).toThrow('invalid target "300.1.1.1"');
  });
});

describe('targetKey', () => {
  it('canonicalises addresses and lower-cases names', () => {
    expect(targetKey('10.0.0.1', 3389)).toBe('10.0.0.1:3389');
    expect(targetKey('2001:DB8:0:0::1', 3389)).toBe('[2001:db8::1]:3389');
    expect(targetKey('DC01.Corp.Example', 1)).toBe('dc01.corp.example:1');
    expect(targetKey('fe80::1%eth0', 1)).toBe('[fe80::1%eth0]:1');
  });
});
