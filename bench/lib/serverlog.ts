/**
 * What a server logged while one tool ran: the bytes appended to its log file between two offsets, reduced to
 * the distinct ERROR lines that are not a cascade ("X: Y failed"), paths shortened to their file names.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';

export function logSize(file: string | undefined): number {
  if (!file) return 0;
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function readFrom(file: string, offset: number, max = 512 * 1024): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = statSync(file).size;
    const len = Math.max(0, Math.min(size - offset, max));
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, offset);
    return buf.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const CASCADE = /(failed|failure|error)\.?$|header read error|returned -1|ReceiveCallback/i;

/** Distinct root-cause-looking ERROR lines appended since `offset` (at most `limit`). */
export function serverErrorsSince(file: string | undefined, offset: number, limit = 3): string[] {
  if (!file) return [];
  const text = readFrom(file, offset);
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!/\[ERROR\]/.test(line)) continue;
    const msg = line
      .replace(/^.*?\[ERROR\](\[[^\]]*\])?\s*(-\s*)?/, '')
      .replace(/\/[^\s,\]]+\/([^/\s,\]]+)/g, (_m, f: string) => basename(f))
      .trim();
    if (!msg || CASCADE.test(msg)) continue;
    if (!out.includes(msg)) out.push(msg);
    if (out.length >= limit) break;
  }
  return out;
}
