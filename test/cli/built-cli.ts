/**
 * The CLI as a real process, for what only a process shows (ulimit -n, a closed stdout, EPIPE from `| head`):
 * built once per test file into a private temp directory, so helpers building in the same tree never race.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

/** Compiles src into a temp dir (node_modules linked beside it) and returns the path of cli/main.js. */
export function buildCli(): string {
  const out = mkdtempSync(join(tmpdir(), 'rdp-probe-cli-'));
  try {
    execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', out], { cwd: ROOT, stdio: 'pipe', timeout: 120_000 });
  } catch {
    // Type errors elsewhere in the tree still emit JavaScript (noEmitOnError is off); a missing main.js fails below.
  }
  symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules'));
  return join(out, 'cli/main.js');
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
