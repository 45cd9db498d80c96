#!/usr/bin/env node
/**
 * Builds the published CLI (dist/cli.mjs, with source maps) as ESM chunks: the entry (src/cli/bin.ts) is a few
 * hundred bytes and answers --version and --help by itself; the CLI proper (main.ts and what it imports) is one
 * chunk loaded after that, and every module behind an import() (the lab with node-forge, the TLS and certificate
 * code with pkijs, the policy code with yaml, pcap analysis) is a chunk of its own, compiled only when a run needs
 * it. Everything is bundled; only node: builtins stay outside. Then the top-level help is rendered once with
 * yargs from the bundle just built, for both wrap widths, into cli-help.json beside the bin.
 * The library build (`main`/`types`) stays tsc: `npm run build` runs both.
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = process.argv[2] ?? `${root}dist/cli.mjs`;
const outdir = dirname(outfile);
const name = basename(outfile).replace(/\.mjs$/, '');
const chunks = join(outdir, 'chunks');
const helpFile = join(outdir, 'cli-help.json');
// Chunks of an earlier build would linger (their names carry a hash); the help must be rendered afresh.
rmSync(chunks, { recursive: true, force: true });
rmSync(helpFile, { force: true });

/**
 * string-width (three copies, under yargs' cliui and wrap-ansi) makes an Intl.Segmenter when it is imported, which
 * loads ICU's segmentation data: 7-9 ms of every run, though only help and error texts ever measure a string.
 * Here the segmenter is made on first use instead. If a new version no longer has the line, the build says so and
 * leaves the file as it is.
 */
const lazySegmenter = {
  name: 'lazy-segmenter',
  setup(b) {
    b.onLoad({ filter: /[\\/]string-width[\\/]index\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const eager = 'const segmenter = new Intl.Segmenter();';
      if (!text.includes(eager)) return { contents: text, loader: 'js', warnings: [{ text: `${args.path}: no eager Intl.Segmenter to defer` }] };
      const lazy = 'let eagerSegmenter; const segmenter = { segment: (s) => (eagerSegmenter ??= new Intl.Segmenter()).segment(s) };';
      return { contents: text.replace(eager, lazy), loader: 'js' };
    });
  },
};

const result = await build({
  plugins: [lazySegmenter],
  // Node 20 has RegExp /v; without this esbuild turns each /v literal into new RegExp(), which parses the pattern
  // at import (string-width's /^\p{RGI_Emoji}$/v: 10 ms) instead of on first use.
  supported: { 'regexp-set-notation': true },
  entryPoints: { [name]: `${root}src/cli/bin.ts` },
  outdir,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  // Smaller text parses faster. Identifiers are not renamed, so stack traces read without the source map and no
  // keepNames is needed: its __name() wrapper gives every function a dictionary of properties (about 250 bytes per
  // closure, 4 KiB of heap per probe in flight at scan scale).
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
  // The shebang comes from src/cli/bin.ts. CommonJS dependencies (pino, yargs' helpers) call require() for
  // builtins: give each ESM chunk one.
  banner: { js: "import { createRequire as __rdpCreateRequire } from 'node:module'; const require = __rdpCreateRequire(import.meta.url);" },
});
chmodSync(outfile, 0o755);

// The top-level help, rendered by yargs (main.ts) from this build: on a pipe (no columns) and on a wide terminal.
const render = (columns) =>
  execFileSync(process.execPath, [...(columns ? ['--import', `data:text/javascript,Object.defineProperty(process.stdout,'columns',{value:${columns}})`] : []), outfile, '--help'], { encoding: 'utf8', timeout: 60_000 });
const { helpWidth } = { helpWidth: (c) => Math.min(110, c ?? 100) };
const version = JSON.parse(readFileSync(`${root}package.json`, 'utf8')).version;
writeFileSync(helpFile, `${JSON.stringify({ version, help: { [helpWidth(undefined)]: render(undefined), [helpWidth(200)]: render(200) } })}\n`);

const outs = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith('.mjs'));
const entry = outs.find(([, o]) => o.entryPoint)?.[1].bytes ?? 0;
const total = outs.reduce((n, [, o]) => n + o.bytes, 0);
process.stdout.write(`built ${outfile.replace(root, '')} (entry ${(entry / 1024).toFixed(1)} KiB; ${outs.length - 1} chunks, ${(total / 1024).toFixed(0)} KiB in all)\n`);
