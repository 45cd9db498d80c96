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
const KNOWN_OPEN: Record<string, RegExp> = {
  // An Attach User Confirm initiator of 0xff06 (+1001 = 66287, outside T.125's UserId 1001..65535) is taken as our
  // user id; the Channel Join Request encoder then throws EncodeError out of SessionConnector.receive.
  'fuzz-conn-session-0975502443e3.json': /^threw EncodeError: user id 66287 outside 1001\.\.65535/,
  // The same under standard RDP security (nDPI rdp3.pcap's server flight, user id 0xffff + 1001).
  'fuzz-conn-session-756a9da06883.json': /^threw EncodeError: user id 65536 outside 1001\.\.65535/,
  // Standard RDP security: the server's SC_SECURITY names encryptionMethod 0x3 (40|128, not one method) with a
  // nonzero level; securityExchange hands it to deriveSessionKeys, whose EncodeError escapes receive (xrdp capture).
  'fuzz-conn-session-b63b147bc094.json': /^threw EncodeError: encryption method 0x3 has no RC4 session keys/,
  // The same with encryptionMethod 0x7f (nDPI rdp3.pcap's server flight).
  'fuzz-conn-session-14cebf231fc3.json': /^threw EncodeError: encryption method 0x7f has no RC4 session keys/,
};

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
