/** Loads the shared real captures (../shared/captures relative to the repository root). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
