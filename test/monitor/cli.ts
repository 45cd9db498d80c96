import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';

/** The CLI in process, with its stdout, stderr and exit code. */
export async function cli(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (d) => (o += d));
  err.on('data', (d) => (e += d));
  const code = await main(argv, { stdout: out, stderr: err, env });
  return { code, out: o, err: e };
}
