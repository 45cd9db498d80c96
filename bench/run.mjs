#!/usr/bin/env node
// `npm run bench`: builds the CLI when dist/ is missing or older than src/, runs the benchmark
// (bench/compare.bench-run.ts through vitest, because the real-server launcher is TypeScript), then prints
// bench/results/latest.md on stdout. vitest's own output goes to stderr, so stdout is the markdown only.
//
// Environment: BENCH_RUNS (runs per case and tool, default 7), BENCH_CASES (comma list of timing case ids,
// for development: closed, filtered, nego-xrdp-nocert, nego-shadow-rdp, tls-ok, tls10, tls-setup).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

const missing = !existsSync(cli);
const stale = !missing && newestMtime(join(root, 'src')) > statSync(cli).mtimeMs;
if (missing || stale) {
  process.stderr.write(`[bench] ${missing ? 'dist/ missing' : 'src/ newer than dist/'}: npx tsc -p tsconfig.build.json\n`);
  const b = spawnSync(npx, ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: ['ignore', 2, 2], timeout: 300_000 });
  if (!existsSync(cli)) {
    process.stderr.write('[bench] build failed: dist/cli/main.js does not exist\n');
    process.exit(2);
  }
  if (b.status !== 0) process.stderr.write(`[bench] tsc exited ${b.status}; dist/ was still written, benchmarking it\n`);
}

const r = spawnSync(npx, ['vitest', 'run', '--config', 'bench/vitest.config.ts'], {
  cwd: root,
  stdio: ['ignore', 2, 2],
  env: process.env,
  timeout: 40 * 60_000,
  killSignal: 'SIGTERM',
});
if (r.error) process.stderr.write(`[bench] vitest: ${r.error.message}\n`);
const results = join(root, 'bench', 'results', 'latest.md');
if (r.status !== 0) {
  process.stderr.write(`[bench] the benchmark run failed (vitest exit ${r.status ?? r.signal}); ${existsSync(results) ? 'bench/results/latest.md is from an earlier run' : 'no results written'}\n`);
  process.exit(1);
}
process.stdout.write(readFileSync(results, 'utf8'));
