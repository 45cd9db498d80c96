/**
 * Regression fixtures of the fuzz layer, under test/fixtures/regressions/: `fuzz-dec-<target>-<hash>.bin` is a
 * decoder input (raw bytes), `fuzz-conn-<kind>-<hash>.json` a connector plan (stream hex, chunk sizes, ending).
 * regressions.test.ts replays every .bin there (the older robustness tests' too) through every decoder and
 * connector, and every connector plan through its connector.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ConnectorKind, ConnectorPlan, Ending } from './connectors.js';
import { REGRESSIONS } from './corpus.js';

export function regressionName(kind: string, target: string, bytes: Uint8Array): string {
  return `fuzz-${kind}-${target.replace(/[^A-Za-z0-9]+/g, '-').replace(/-+$/, '')}-${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`;
}

/** Saves a failing decoder input (the raw bytes; every .bin there is replayed through every target). */
export function saveDecoderRegression(target: string, bytes: Uint8Array): string {
  mkdirSync(REGRESSIONS, { recursive: true });
  const file = `${regressionName('dec', target, bytes)}.bin`;
  writeFileSync(path.join(REGRESSIONS, file), bytes);
  return path.join('test', 'fixtures', 'regressions', file);
}

/**
 * Failures already saved and reported whose fix is in someone else's file (see KNOWN_OPEN in
 * regressions.test.ts): the fuzz runs count them instead of stopping, so they keep looking for new ones.
 */
export const KNOWN_OPEN_WHY: readonly RegExp[] = [];

interface SavedPlan {
  kind: ConnectorKind;
  variant: number;
  stream: string;
  chunks: number[];
  ending: Ending;
  how: string;
}

export function saveConnectorRegression(kind: ConnectorKind, p: ConnectorPlan): string {
  mkdirSync(REGRESSIONS, { recursive: true });
  const file = `${regressionName('conn', kind, p.stream)}.json`;
  const saved: SavedPlan = { kind, variant: p.variant, stream: Buffer.from(p.stream).toString('hex'), chunks: p.chunks, ending: p.ending, how: p.how };
  writeFileSync(path.join(REGRESSIONS, file), `${JSON.stringify(saved, null, 1)}\n`);
  return path.join('test', 'fixtures', 'regressions', file);
}

export function savedInputs(): { file: string; bytes: Uint8Array }[] {
  return readdirSync(REGRESSIONS)
    .filter((f) => f.endsWith('.bin'))
    .sort()
    .map((file) => ({ file, bytes: new Uint8Array(readFileSync(path.join(REGRESSIONS, file))) }));
}

export function savedPlans(): { file: string; kind: ConnectorKind; plan: ConnectorPlan }[] {
  return readdirSync(REGRESSIONS)
    .filter((f) => f.startsWith('fuzz-conn-') && f.endsWith('.json'))
    .sort()
    .map((file) => {
      const s = JSON.parse(readFileSync(path.join(REGRESSIONS, file), 'utf8')) as SavedPlan;
      return { file, kind: s.kind, plan: { variant: s.variant, stream: new Uint8Array(Buffer.from(s.stream, 'hex')), chunks: s.chunks, ending: s.ending, how: s.how } };
    });
}
