import { main } from '../../src/cli/main.js';
import { memoryIo } from '../helpers/cli-io.js';

/** The CLI in process, with its stdout, stderr and exit code. */
export async function cli(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const m = memoryIo({ env });
  const code = await main(argv, m.io);
  return { code, out: m.out(), err: m.err() };
}
