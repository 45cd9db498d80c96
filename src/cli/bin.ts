#!/usr/bin/env node
/**
 * The published bin's entry (dist/cli.cjs; CommonJS, see scripts/build.mjs). `rdp-probe --version` and
 * `rdp-probe --help` are answered here, from the version constant and from the help text scripts/build.mjs
 * rendered with yargs from this very build (cli-help.json beside the bin, one text per wrap width): neither loads
 * yargs nor the rest of the CLI, which is most of their start-up. Anything else, or a help text this build has not
 * got (another width, another version, no file), goes to src/cli/main.ts: in the bundle, dist/cli-main.cjs run
 * from its code cache.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadBundledCli } from './code-cache.js';
import { quickAnswer } from './quick-answer.js';

const argv = process.argv.slice(2);
const text = quickAnswer(argv, process.stdout.columns, () => readFileSync(new URL('./cli-help.json', import.meta.url), 'utf8'));
if (text !== undefined) process.stdout.write(text);
else {
  // The bundle's CLI proper with its code cache (src/cli/code-cache.ts); the tsc build has none and imports main.js.
  const bundled = loadBundledCli(fileURLToPath(new URL('./cli-main.cjs', import.meta.url)));
  if (bundled) void bundled.runAsProcess(argv);
  else void import('./main.js').then((m) => m.runAsProcess(argv));
}
