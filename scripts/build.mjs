#!/usr/bin/env node
/**
 * Builds the published CLI (dist/cli.cjs, with source maps): the entry (src/cli/bin.ts) is small and answers
 * --version and --help by itself; the CLI proper (main.ts and everything it imports) is one CommonJS file,
 * dist/cli-main.cjs, which the entry runs from a V8 code cache (dist/cli-main.cache, made here by a warm-up run;
 * see src/cli/code-cache.ts for why). Every module behind an import() (the lab with node-forge, TLS and
 * certificates with pkijs, policies with yaml, pcap analysis) is evaluated only when a run needs it. Everything is
 * bundled; only node: builtins stay outside. Then the top-level help is rendered once with yargs from the bundle
 * just built, for both wrap widths, into cli-help.json beside the bin.
 * The library build (`main`/`types`) stays tsc: `npm run build` runs both.
 */
import { build } from 'esbuild';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = process.argv[2] ?? `${root}dist/cli.cjs`;
if (!outfile.endsWith('.cjs')) throw new Error(`build: the bin is CommonJS, so its name ends in .cjs, not ${basename(outfile)}`);
const outdir = dirname(outfile);
const name = basename(outfile).replace(/\.cjs$/, '');
// What the ES-module bin of earlier builds left beside it (cli.mjs itself is written again below, as a forwarder).
for (const f of [`${name}.mjs.map`, `${name}.mjs.LEGAL.txt`]) rmSync(join(outdir, f), { force: true });
const chunks = join(outdir, 'chunks');
const helpFile = join(outdir, 'cli-help.json');
// Chunks of an earlier build (before the single CLI file) would linger; the help must be rendered afresh.
rmSync(chunks, { recursive: true, force: true });
rmSync(helpFile, { force: true });

/**
 * string-width (three copies, under yargs' cliui and wrap-ansi) does two costly things when it is imported, though
 * only help and error texts ever measure a string: it makes an Intl.Segmenter, which loads ICU's segmentation data
 * (7-9 ms), and string-width 8 evaluates /^\p{RGI_Emoji}$/v, whose pattern V8 expands when the literal is first
 * evaluated (10 ms; in a run from the code cache that is at import). Here both are made on first use. If a version
 * no longer has the line, the build says so and leaves it as it is.
 */
const LAZY_STRING_WIDTH = [
  ['const segmenter = new Intl.Segmenter();', 'let eagerSegmenter; const segmenter = { segment: (s) => (eagerSegmenter ??= new Intl.Segmenter()).segment(s) };', true],
  // Used only as rgiEmojiRegex.test(segment).
  ['const rgiEmojiRegex = /^\\p{RGI_Emoji}$/v;', "let eagerRgiEmoji; const rgiEmojiRegex = { test: (s) => (eagerRgiEmoji ??= new RegExp('^\\\\p{RGI_Emoji}$', 'v')).test(s) };", false],
];
const lazySegmenter = {
  name: 'lazy-string-width',
  setup(b) {
    b.onLoad({ filter: /[\\/]string-width[\\/]index\.js$/ }, (args) => {
      let text = readFileSync(args.path, 'utf8');
      const warnings = [];
      for (const [eager, lazy, everyVersion] of LAZY_STRING_WIDTH) {
        if (text.includes(eager)) text = text.replace(eager, () => lazy);
        else if (everyVersion) warnings.push({ text: `${args.path}: no ${JSON.stringify(eager)} to defer` });
      }
      return { contents: text, loader: 'js', warnings };
    });
  },
};

// The CLI proper: one CommonJS file, so that V8 can compile it from a code cache (src/cli/code-cache.ts). Every
// module behind an import() (the lab with node-forge, TLS and certificates with pkijs, policies with yaml, pcap
// analysis) is wrapped by esbuild in an init function, evaluated only when a run first needs it.
const mainFile = join(outdir, `${name}-main.cjs`);
const cacheFile = join(outdir, `${name}-main.cache`);
rmSync(cacheFile, { force: true });
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  // Node 20 has RegExp /v; without this esbuild turns each /v literal into new RegExp(), which parses the pattern
  // at import (string-width's /^\p{RGI_Emoji}$/v: 10 ms) instead of on first use.
  supported: { 'regexp-set-notation': true },
  sourcemap: 'linked',
  // Smaller text parses faster. Identifiers are not renamed, so stack traces read without the source map and no
  // keepNames is needed: its __name() wrapper gives every function a dictionary of properties (about 250 bytes per
  // closure, 4 KiB of heap per probe in flight at scan scale).
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
};
/** import('node:…') stays a dynamic import in CommonJS output, which a vm.Script cannot run: make it a lazy require. */
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => (args.kind === 'dynamic-import' ? { path: args.path, namespace: 'lazy-builtin' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};
const main = await build({
  ...common,
  plugins: [lazySegmenter, lazyBuiltins],
  entryPoints: [`${root}src/cli/main.ts`],
  outfile: mainFile,
  format: 'cjs',
  // main.ts's import.meta.url: the bundle's own URL, passed in by the loader.
  define: { 'import.meta.url': '__rdpImportMetaUrl' },
});
// main.ts starts with a shebang line, which a function body cannot hold. The loader reads the file as latin1,
// which is only the same text for ASCII (esbuild's default charset escapes everything else).
const mainText = readFileSync(mainFile, 'utf8').replace(/^#!.*\n/, '');
if (/[^\x00-\x7f]/.test(mainText)) throw new Error(`${mainFile} has non-ASCII characters; src/cli/code-cache.ts reads it as latin1`);
writeFileSync(mainFile, mainText);

// The bin: quick answers, and the loader of the bundle above. main.js is its fallback in the tsc build only.
// CommonJS, not an ES module: Node starts a .cjs main file about 5 ms sooner (an ES module entry sets up the
// module loader's jobs, and importing node:fs there evaluates every lazy export, streams included).
const result = await build({
  ...common,
  plugins: [{ name: 'main-outside', setup: (b) => b.onResolve({ filter: /^\.\/main\.js$/ }, () => ({ path: './main.js', external: true })) }],
  entryPoints: { [name]: `${root}src/cli/bin.ts` },
  outdir,
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  define: { 'import.meta.url': '__rdpBinUrl' },
  banner: { js: 'var __rdpBinUrl = require("node:url").pathToFileURL(__filename).href;' },
});
chmodSync(outfile, 0o755);
// The bin used to be dist/cli.mjs, and links to it outlive an upgrade: npx keeps the bin link it made on first use
// of a project in its cache (~/.npm/_npx), so `npx rdp-probe` found nothing once the file was gone. It forwards.
const forwarder = join(outdir, `${name}.mjs`);
writeFileSync(forwarder, `#!/usr/bin/env node\n// The bin before ${name}.cjs (see scripts/build.mjs): kept for links made to it.\nimport './${name}.cjs';\n`);
chmodSync(forwarder, 0o755);

// The top-level help, rendered by yargs (main.ts) from this build: on a pipe (no columns) and on a wide terminal.
const render = (columns) =>
  execFileSync(process.execPath, [...(columns ? ['--import', `data:text/javascript,Object.defineProperty(process.stdout,'columns',{value:${columns}})`] : []), outfile, '--help'], { encoding: 'utf8', timeout: 60_000 });
const { helpWidth } = { helpWidth: (c) => Math.min(110, c ?? 100) };
const version = JSON.parse(readFileSync(`${root}package.json`, 'utf8')).version;
writeFileSync(helpFile, `${JSON.stringify({ version, help: { [helpWidth(undefined)]: render(undefined), [helpWidth(200)]: render(200) } })}\n`);

// The code cache: runs against the embedded lab (see warmUp) by the bin, with the loader told to write the cache at
// exit. The lab runs in a process of its own, so that none of its code is in the cache. Without a cache the CLI
// still runs (it compiles as it goes), so a failure here only warns.
try {
  await warmUp();
} catch (e) {
  process.stderr.write(`build: no code cache (${e instanceof Error ? e.message : String(e)}); the CLI compiles as it runs\n`);
}

const outs = [...Object.entries(result.metafile.outputs), ...Object.entries(main.metafile.outputs)].filter(([f]) => /\.(mjs|cjs)$/.test(f));
const entry = outs.find(([f]) => f.endsWith(`/${name}.cjs`))?.[1].bytes ?? 0;
const total = outs.reduce((n, [, o]) => n + o.bytes, 0);
const cacheBytes = existsSync(cacheFile) ? statSync(cacheFile).size : 0;
process.stdout.write(`built ${outfile.replace(root, '')} (entry ${(entry / 1024).toFixed(1)} KiB; CLI ${(total / 1024).toFixed(0)} KiB; code cache ${(cacheBytes / 1024).toFixed(0)} KiB)\n`);

/**
 * The warm-up runs: a server the lab plays in two ways, as the two halves of what a live server like xrdp (TLS or
 * standard RDP security, both) makes a default check do: TLS, a certificate, the protocol enumeration, and the
 * encryption-method enumeration over standard RDP security (MCS/GCC). A scan of both and a closed port go first.
 * Code a run needs but the cache lacks is compiled as it runs: without the second scenario, a check of xrdp
 * compiled the standard-security path every time (measured: 160 against 140 ms, 119 against 105 ms of CPU).
 */
async function warmUp() {
  const WARM_UP_SCENARIOS = ['connects', 'connects-rdp-security'];
  rmSync(cacheFile, { force: true });
  const lab = spawn(process.execPath, [outfile, 'lab', '--scenario', ...WARM_UP_SCENARIOS], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RDP_PROBE_WRITE_CODE_CACHE: '0' } });
  try {
    // The lab prints one row per scenario, "<name> 127.0.0.1:<port> ...", once all listen.
    const ports = await new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error('the lab did not start within 30 s')), 30_000);
      let out = '';
      lab.stdout.on('data', (d) => {
        out += d;
        const found = WARM_UP_SCENARIOS.map((n) => new RegExp(`^${n}\\s+127\\.0\\.0\\.1:(\\d+)`, 'm').exec(out)?.[1]);
        if (found.every(Boolean)) {
          clearTimeout(timer);
          res(found);
        }
      });
      lab.on('exit', (code) => {
        clearTimeout(timer);
        rej(new Error(`the lab exited (${code})`));
      });
    });
    // Each run starts from the cache the one before wrote, so the last one holds what all of them compiled.
    // Exit codes are verdicts: the file is what counts.
    const closed = await freePort();
    const runs = [['scan', '127.0.0.1', '-p', `${ports.join(',')},${closed}`], ['check', `127.0.0.1:${closed}`], ...ports.map((p) => ['check', `127.0.0.1:${p}`])];
    for (const args of runs) {
      // stdout is a pipe: with stdout closed ('ignore') the CLI refuses to run (exit 2) before it probes anything,
      // and the cache then held start-up alone. 0 and 1 are verdicts; 2 is a usage or local failure.
      const r = spawnSync(process.execPath, [outfile, ...args, '--timeout', '5s'], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 16 << 20, timeout: 60_000, env: { ...process.env, RDP_PROBE_WRITE_CODE_CACHE: '1', NODE_OPTIONS: '' } });
      if (r.status !== 0 && r.status !== 1) throw new Error(`the warm-up run \`${args.join(' ')}\` exited ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n')[0]}`);
    }
  } finally {
    lab.kill();
  }
  if (!existsSync(cacheFile)) throw new Error('the warm-up run wrote no cache');
}

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}
