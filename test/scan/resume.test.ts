// Every address here is only parsed, never contacted.
import { describe, expect, it } from 'vitest';
import { loadResume, ResumeSet } from '../../src/scan/resume.js';
import { expandTargets, parseTargetSpec, type Target } from '../../src/scan/targets.js';

async function* linesOf(text: string): AsyncGenerator<string> {
  for (const l of text.split('\n')) yield l;
}

const rec = (host: string, port: number, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ schemaVersion: 1, target: { host, port, ...extra }, verdict: { stage: 'tcp', outcome: 'refused' } });

describe('loadResume', () => {
  it('collects finished targets and tolerates a truncated last line', async () => {
    const file = [
      rec('10.0.0.1', 3389),
      rec('10.0.0.2', 3389, { address: '10.0.0.2' }),
      rec('DC01.corp.example', 3390, { address: '10.9.9.9' }),
      rec('2001:DB8:0::1', 3389),
      '{"schemaVersion":1,"target":{"host":"10.0.0.3","port":3389},"verd', // killed mid-write
    ].join('\n');
    const done = await loadResume(linesOf(file));
    expect(done).toBeInstanceOf(ResumeSet);
    expect(done.size).toBe(4);
    expect(done.truncatedLastLine).toBe(true);
    expect(done.garbageLines).toBe(0);
    for (const k of ['10.0.0.1:3389', '10.0.0.2:3389', 'dc01.corp.example:3390', '[2001:db8::1]:3389']) expect(done.has(k)).toBe(true);
    // Not done: the truncated record, another port, the resolved address of a name, the name on another port.
    for (const k of ['10.0.0.3:3389', '10.0.0.1:3390', '10.9.9.9:3390', 'dc01.corp.example:3389', 'nonsense']) expect(done.has(k)).toBe(false);
  });

  it('counts garbage lines, including a torn line in the middle, and ignores blank ones and CRLF', async () => {
    const file = [
      rec('10.0.0.1', 3389),
      'not json at all',
      '{"target":{"host":"10.0.0.2","port":3389},"ver{"target":{"host":"10.0.0.4","port":3389}}', // torn, then appended
      '',
      '{"summary":true}',
      '{"target":{"host":"10.0.0.5","port":0}}',
      '{"target":{"host":"","port":3389}}',
      '[1,2,3]',
      'null',
      `${rec('10.0.0.6', 3389)}\r`,
      '   ',
    ].join('\n');
    const done = await loadResume(linesOf(file));
    expect(done.garbageLines).toBe(7);
    expect(done.truncatedLastLine).toBe(false);
    expect(done.size).toBe(2);
    expect(done.has('10.0.0.1:3389')).toBe(true);
    expect(done.has('10.0.0.6:3389')).toBe(true);
    expect(done.has('10.0.0.2:3389')).toBe(false);
    expect(done.has('10.0.0.4:3389')).toBe(false);
  });

  it('reads an empty file as nothing done', async () => {
    const done = await loadResume(linesOf(''));
    expect([done.size, done.garbageLines, done.truncatedLastLine]).toEqual([0, 0, false]);
  });

  it('counts repeated records once', async () => {
    const done = await loadResume([rec('10.0.0.1', 3389), rec('10.0.0.1', 3389), rec('h', 1), rec('H', 1)]);
    expect(done.size).toBe(2);
  });

  it('stays exact for many addresses inserted out of order (compact interval storage)', async () => {
    // A shuffled /18 minus every 7th address: far more than the side list holds, forcing merges.
    const addrs: number[] = [];
    for (let i = 0; i < 1 << 14; i++) if (i % 7 !== 3) addrs.push((10 << 24) | i);
    let seed = 12345;
    for (let i = addrs.length - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const j = seed % (i + 1);
      [addrs[i], addrs[j]] = [addrs[j]!, addrs[i]!];
    }
    const v4 = (n: number): string => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    const done = await loadResume(addrs.map((a) => rec(v4(a), 3389)));
    expect(done.size).toBe(addrs.length);
    for (let i = 0; i < 1 << 14; i++) expect(done.has(`${v4((10 << 24) | i)}:3389`)).toBe(i % 7 !== 3);
    expect(done.has(`${v4((10 << 24) | (1 << 14))}:3389`)).toBe(false);
  });

  it('plugs into expandTargets as `done`', async () => {
    const done = await loadResume([rec('10.0.0.1', 3389), rec('10.0.0.2', 3390), rec('host.example', 3389), '{"tar']);
    const out: Target[] = [];
    for await (const t of expandTargets(['10.0.0.0/30', 'HOST.example'].map((s) => parseTargetSpec(s)), { ports: [3389, 3390], done })) out.push(t);
    expect(out.map((t) => t.key)).toEqual([
      '10.0.0.0:3389',
      '10.0.0.0:3390',
      '10.0.0.1:3390',
      '10.0.0.2:3389',
      '10.0.0.3:3389',
      '10.0.0.3:3390',
      'host.example:3390',
    ]);
  });
});
