/**
 * Replays every saved fuzz failure (test/fixtures/regressions/): each .bin (ours and the older robustness
 * tests') through every decoder target and, as a server stream cut three ways, through every connector; each
 * saved connector plan through its connector. A fixed bug stays fixed.
 */
import { describe, expect, it } from 'vitest';
import { checkConnector, type ConnectorKind } from './connectors.js';
import { savedInputs, savedPlans } from './replay.js';
import { checkDecode, DECODERS } from './targets.js';

const KINDS: ConnectorKind[] = ['x224', 'credssp', 'session'];

/**
 * Saved failures whose fix belongs to someone else's file, with what they still do. Each must keep failing this
 * way (so the entry is true); once fixed, the test below fails and the entry is to be deleted: the fixture then
 * replays as a plain regression like every other.
 */
// Fixtures of bugs found and not yet fixed: each must still fail as described (delete the entry once fixed).
// The four SessionConnector fixtures found by the long runner (a user id past 65535, an encryption method mask)
// are fixed and replay as plain regressions.
const KNOWN_OPEN: Record<string, RegExp> = {};

describe('fuzz regressions replay', () => {
  it('every saved input keeps every decoder contract', () => {
    const failures: string[] = [];
    for (const { file, bytes } of savedInputs()) {
      for (const t of DECODERS) {
        const v = checkDecode(t, bytes);
        if (v) failures.push(`${file} / ${t.name}: ${v.why}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('every saved input, as a server stream in one piece, byte by byte and in 7-byte chunks, keeps every connector contract', () => {
    const failures: string[] = [];
    for (const { file, bytes } of savedInputs()) {
      for (const kind of KINDS) {
        for (const [chunks, ending] of [
          [[], { how: 'eof' }],
          [[1], { how: 'timeout', ms: 1000 }],
          [[7], { how: 'reset' }],
        ] as const) {
          const v = checkConnector(kind, { variant: 0, stream: bytes, chunks: [...chunks], ending, how: file });
          if (v) failures.push(`${file} / ${kind} ${JSON.stringify(chunks)}: ${v.why}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('every saved connector plan keeps its connector contract (known open bugs aside)', () => {
    const failures = savedPlans()
      .filter(({ file }) => !(file in KNOWN_OPEN))
      .map(({ file, kind, plan }) => [file, checkConnector(kind, plan)] as const)
      .filter(([, v]) => v !== undefined)
      .map(([file, v]) => `${file}: ${v!.why}`);
    expect(failures).toEqual([]);
  });

  it.each(Object.entries(KNOWN_OPEN))('known open: %s still fails as described (delete the entry once fixed)', (file, why) => {
    const saved = savedPlans().find((p) => p.file === file);
    expect(saved, `${file} is missing`).toBeDefined();
    expect(checkConnector(saved!.kind, saved!.plan)?.why).toMatch(why);
  });
});
