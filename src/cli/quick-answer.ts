/** The bin's answers that need neither yargs nor the CLI proper (src/cli/bin.ts); pure, for tests. */
import { VERSION } from '../version.js';
import { helpWidth } from './help-width.js';

/** What cli-help.json holds. */
export interface PrecomputedHelp {
  version: string;
  /** Help text by wrap width (see helpWidth). */
  help: Record<string, string>;
}

/** The text to print without the CLI proper, or undefined. */
export function quickAnswer(argv: readonly string[], columns: number | undefined, readHelp: () => string): string | undefined {
  if (argv.length !== 1) return undefined;
  if (argv[0] === '--version') return `${VERSION}\n`;
  if (argv[0] !== '--help') return undefined;
  try {
    const h = JSON.parse(readHelp()) as PrecomputedHelp;
    return h.version === VERSION ? h.help[String(helpWidth(columns))] : undefined;
  } catch {
    return undefined;
  }
}
