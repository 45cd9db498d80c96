#!/usr/bin/env node
/**
 * Builds the published CLI as one ESM file (dist/cli.mjs, with its source map) so start-up reads one file
 * instead of resolving and scanning hundreds of modules (pkijs' CommonJS build alone went through Node's CJS
 * lexer on every run). Everything is bundled; only node: builtins stay outside. Modules behind import() stay
 * in the file but are not evaluated until a stage asks for them (esbuild wraps them in lazy initialisers).
 * The library build (`main`/`types`) stays tsc: `npm run build` runs both.
 */
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = process.argv[2] ?? `${root}dist/cli.mjs`;

const result = await build({
  entryPoints: [`${root}src/cli/main.ts`],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  // Smaller text parses faster; names are kept so error names and stack traces still read.
  minify: true,
  keepNames: true,
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
  // The shebang comes from src/cli/main.ts. CommonJS dependencies (pino, yargs' helpers) call require() for
  // builtins: give the ESM bundle one.
  banner: { js: "import { createRequire as __rdpCreateRequire } from 'node:module'; const require = __rdpCreateRequire(import.meta.url);" },
});
chmodSync(outfile, 0o755);
const bytes = Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
process.stdout.write(`built ${outfile.replace(root, '')} (${(bytes / 1024).toFixed(0)} KiB)\n`);
