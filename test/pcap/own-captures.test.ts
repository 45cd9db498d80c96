/**
 * The project's own recordings (captures/, made by `npm run record-captures`): rdp-probe's live connections to
 * real servers. Replayed offline, the first connection of each must give the verdict the live probe gave.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../../src/pcap/analyze.js';
import { expectLiveFacts } from './files.js';

const DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../captures');
const names = readdirSync(DIR).filter((f) => f.endsWith('.pcap')).map((f) => f.slice(0, -5));

describe('own recordings replay to the live verdict', () => {
  it('there are recordings', () => expect(names.length).toBeGreaterThanOrEqual(8));
  it.each(names)('%s', (name) => {
    const live = JSON.parse(readFileSync(resolve(DIR, `${name}.expect.json`), 'utf8')) as { firstConnection: Record<string, string> };
    const a = analyzeCapture(new Uint8Array(readFileSync(resolve(DIR, `${name}.pcap`))));
    expectLiveFacts(a.connections[0]!.report, live.firstConnection);
  });
});
