/**
 * The project's own recordings (captures/, made by `npm run record-captures`): rdp-probe's live connections to
 * real servers. Replayed offline, the first connection of each must give the verdict the live probe gave.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../../src/pcap/analyze.js';

const DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../captures');
const names = readdirSync(DIR).filter((f) => f.endsWith('.pcap')).map((f) => f.slice(0, -5));

describe('own recordings replay to the live verdict', () => {
  it('there are recordings', () => expect(names.length).toBeGreaterThanOrEqual(8));
  it.each(names)('%s', (name) => {
    const live = JSON.parse(readFileSync(resolve(DIR, `${name}.expect.json`), 'utf8')) as { firstConnection: Record<string, string> };
    const a = analyzeCapture(new Uint8Array(readFileSync(resolve(DIR, `${name}.pcap`))));
    const r = a.connections[0]!.report;
    const failed = r.stages.find((s) => s.status === 'failed');
    const e = live.firstConnection;
    expect(r.verdict.id).toBe(e['verdict']);
    expect(r.verdict.stage).toBe(e['stage']);
    expect(failed?.error?.kind).toBe(e['kind']);
    expect(failed?.error?.codeName).toBe(e['codeName']);
    expect(r.stages.find((s) => s.stage === 'x224')?.facts?.['selected']).toBe(e['selected']);
    // TLS 1.3 hides nothing the live probe reports about the version: the ServerHello is plaintext.
    expect(r.stages.find((s) => s.stage === 'tls')?.facts?.['version']).toBe(e['tlsVersion']);
  });
});
