/**
 * The CLI as a real process, for what only a process shows (ulimit -n, a closed stdout, EPIPE from `| head`): the
 * published bin, i.e. the esbuild bundle of scripts/build.mjs, built once per test file into a private temp
 * directory (no node_modules beside it: the bundle needs none), so helpers building in the same tree never race.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

/**
 * The bundles' dirs, removed after the importing test file: vitest runs this module's top level while it collects
 * that file (each file gets its own copy of the module), so the afterAll belongs to the file's root suite.
 */
const built: string[] = [];
afterAll(() => {
  for (const d of built.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Bundles src/cli/main.ts into a temp dir (removed after the test file) and returns the path of the bin (cli.cjs). */
export function buildCli(): string {
  const out = join(mkdtempSync(join(tmpdir(), 'rdp-probe-cli-')), 'cli.cjs');
  built.push(dirname(out));
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), out], { cwd: ROOT, stdio: 'pipe', timeout: 120_000 });
  return out;
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a bash script (the CLI path is in $CLI), with a hard deadline. */
export function runShell(script: string, cli: string, timeoutMs = 60_000, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((res, rej) => {
    const child = spawn('bash', ['-c', script], { env: { PATH: process.env['PATH'], CLI: cli, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`timed out after ${timeoutMs} ms: ${script}\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout, stderr });
    });
  });
}
