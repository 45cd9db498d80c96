/**
 * Timed child processes for the benchmark: whole-process wall time from just before spawn() to the 'exit'
 * event, output captured, a hard kill timer on every child, and a registry so nothing outlives the runner.
 *
 * Every child runs in its own process group (detached) under `setpriv --pdeathsig KILL` when available, so a
 * killed runner takes its children with it. The exec hop costs every tool the same ~1 ms.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface TimedResult {
  /** Exit code, or null when killed by a signal. */
  rc: number | null;
  signal: NodeJS.Signals | null;
  /** true when the kill timer fired (the tool hung). */
  timedOut: boolean;
  /** Milliseconds from spawn() to the process's exit. */
  wallMs: number;
  stdout: string;
  stderr: string;
}

export interface TimedOptions {
  /** Kill timer: SIGTERM to the group at this point, SIGKILL 2 s later. */
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const MAX_OUTPUT = 256 * 1024;
const live = new Set<number>();
let hooked = false;

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // group already gone
  }
}

function installExitHook(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const pid of live) killGroup(pid, 'SIGKILL');
    live.clear();
  });
}

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/** Runs `command args` and resolves (never rejects) once it has exited and its output is drained. */
export function runTimed(command: string, args: string[], opts: TimedOptions): Promise<TimedResult> {
  installExitHook();
  const [cmd, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, args];
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let exitAt: number | undefined;
    let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;
    const t0 = performance.now();
    const child = spawn(cmd, argv, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd });
    const pid = child.pid;
    if (pid !== undefined) live.add(pid);
    let killTimer: NodeJS.Timeout | undefined;
    let hardKill: NodeJS.Timeout | undefined;
    const finish = (): void => {
      if (settled || !exitInfo) return;
      settled = true;
      clearTimeout(killTimer);
      clearTimeout(hardKill);
      if (pid !== undefined) {
        // anything the tool forked and left in its group goes too
        killGroup(pid, 'SIGKILL');
        live.delete(pid);
      }
      resolve({ rc: exitInfo.code, signal: exitInfo.signal, timedOut, wallMs: (exitAt ?? performance.now()) - t0, stdout, stderr });
    };
    killTimer = setTimeout(() => {
      timedOut = true;
      if (pid !== undefined) killGroup(pid, 'SIGTERM');
      hardKill = setTimeout(() => {
        if (pid !== undefined) killGroup(pid, 'SIGKILL');
        // stdio may be held open by a grandchild that escaped the group; give up on it
        setTimeout(() => {
          if (!exitInfo) exitInfo = { code: null, signal: 'SIGKILL' };
          child.stdout?.destroy();
          child.stderr?.destroy();
          finish();
        }, 2_000).unref();
      }, 2_000);
    }, opts.timeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      if (stdout.length < MAX_OUTPUT) stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < MAX_OUTPUT) stderr += d.toString();
    });
    child.once('exit', (code, signal) => {
      exitAt = performance.now();
      exitInfo = { code, signal };
      // normally 'close' follows at once; if a grandchild still holds stdout, stop waiting for it
      setTimeout(() => {
        if (pid !== undefined) killGroup(pid, 'SIGKILL');
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish();
      }, 1_000).unref();
    });
    child.once('close', () => finish());
    child.once('error', (e) => {
      stderr += `spawn error: ${e.message}\n`;
      if (!exitInfo) {
        exitAt = performance.now();
        exitInfo = { code: -1, signal: null };
      }
      finish();
    });
  });
}
