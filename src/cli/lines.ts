/**
 * Lines of a list file, stdin or an NDJSON results file, with a bound on one line's length: /dev/zero or a
 * huge file without a newline must end in one usage error, not in a string that outgrows memory. A longer line
 * is refused with its number, never cut (a cut line is another target: 127.0.0.199 would become 127.0.0.19).
 */
import type { Readable } from 'node:stream';
import { UsageError } from './target.js';

/** -iL and --exclude-file lines. */
export const MAX_LIST_LINE = 64 * 1024;
/** --resume lines: one NDJSON report, which a hostile certificate can blow up to hundreds of KB. */
export const MAX_RECORD_LINE = 16 * 1024 * 1024;

export interface LineOptions {
  /** For messages: the file name, or "stdin". */
  source: string;
  /** The option it came from, e.g. "-iL". */
  option: string;
  maxBytes: number;
}

export async function* readLines(stream: Readable, o: LineOptions): AsyncGenerator<string> {
  let parts: Buffer[] = [];
  let pending = 0;
  let n = 0;
  const tooLong = (): UsageError => new UsageError(`${o.option} ${o.source}:${n + 1}: line is longer than ${formatBytes(o.maxBytes)}; refused (not cut)`);
  const take = (buf: Buffer): string => {
    n++;
    const s = buf.toString('utf8');
    return s.endsWith('\r') ? s.slice(0, -1) : s;
  };
  try {
    for await (const chunk of stream) {
      let b: Buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      for (;;) {
        const nl = b.indexOf(0x0a);
        if (nl < 0) break;
        if (pending + nl > o.maxBytes) throw tooLong();
        const line = parts.length === 0 ? b.subarray(0, nl) : Buffer.concat([...parts, b.subarray(0, nl)]);
        parts = [];
        pending = 0;
        b = b.subarray(nl + 1);
        yield take(line);
      }
      if (b.length > 0) {
        pending += b.length;
        if (pending > o.maxBytes) throw tooLong();
        parts.push(Buffer.from(b));
      }
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${o.option} ${o.source}: ${code === 'EISDIR' ? 'it is a directory' : (code ?? (e instanceof Error ? e.message : String(e)))}`);
  } finally {
    stream.destroy();
  }
  if (pending > 0) yield take(Buffer.concat(parts));
}

function formatBytes(n: number): string {
  return n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n / 1024} KiB`;
}
