/** Loads the shared real captures (../shared/captures relative to the repository root). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { ProbeReport } from '../../src/probe/types.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const CAPTURES = path.resolve(here, '../../../shared/captures');

export function loadCapture(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(path.join(CAPTURES, rel)));
}

export function hex(b: Uint8Array, n = b.length): string {
  return Buffer.from(b.subarray(0, n)).toString('hex');
}

/** Number of (possibly overlapping) occurrences of `needle` in `hay`. */
export function countOccurrences(hay: Uint8Array, needle: Uint8Array): number {
  let n = 0;
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    n++;
  }
  return n;
}

/**
 * The offline report of a recording's first connection gives what the live probe recorded beside it
 * (captures/NAME.expect.json's firstConnection): verdict and stage, the failed stage's kind and code, the
 * selected protocol and the TLS version (TLS 1.3 hides no version: the ServerHello is plaintext).
 */
export function expectLiveFacts(r: ProbeReport, e: Record<string, string>): void {
  const failed = r.stages.find((s) => s.status === 'failed');
  expect(r.verdict.id).toBe(e['verdict']);
  expect(r.verdict.stage).toBe(e['stage']);
  expect(failed?.error?.kind).toBe(e['kind']);
  expect(failed?.error?.codeName).toBe(e['codeName']);
  expect(r.stages.find((s) => s.stage === 'x224')?.facts?.['selected']).toBe(e['selected']);
  expect(r.stages.find((s) => s.stage === 'tls')?.facts?.['version']).toBe(e['tlsVersion']);
}
