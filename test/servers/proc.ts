/**
 * Process plumbing for the real-server launcher: start a server detached in its own process group, keep a
 * registry of everything still running, stop it (SIGTERM, then SIGKILL after 5 s), and kill whatever is left
 * when the test process goes away.
 *
 * Lifetimes are bounded three ways:
 *   1. stop() / stopAllServers() from the tests (afterAll);
 *   2. a process 'exit' / SIGINT / SIGTERM hook in this process that SIGKILLs every registered group;
 *   3. an unref'd watchdog per process (default 10 min) and `setpriv --pdeathsig KILL` (when available),
 *      so a server dies with its parent even when the test process is SIGKILLed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';

/** Upper bound on any server's lifetime unless the caller asks for another one. */
export const DEFAULT_MAX_LIFETIME_MS = 10 * 60_000;

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code / signal once the process is gone (never rejects). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /** SIGTERM to the whole process group, wait up to `graceMs`, then SIGKILL. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/** Resolves with the promise's value, or 'timeout' after `ms` (the timer is cleared either way). */
export async function raceTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

const live = new Map<number, ManagedProcess>();
const exitCallbacks = new Set<() => void>();
let hooksInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: group already gone.
  }
}

/** Synchronous last-chance cleanup: SIGKILL every live group, run registered sync cleanups (netns). */
function emergencyCleanup(): void {
  for (const p of live.values()) if (!p.hasExited()) killGroup(p.pid, 'SIGKILL');
  live.clear();
  for (const cb of exitCallbacks) {
    try {
      cb();
    } catch {
      // best effort
    }
  }
  exitCallbacks.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once('exit', emergencyCleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      emergencyCleanup();
      process.removeListener(sig, handler);
      // Keep the default behaviour (terminate) unless somebody else handles the signal.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

/** Registers a synchronous cleanup run at process exit (used for network namespaces). Returns an unregister fn. */
export function onProcessExit(cb: () => void): () => void {
  installHooks();
  exitCallbacks.add(cb);
  return () => exitCallbacks.delete(cb);
}

let setprivPath: string | null | undefined;
function setpriv(): string | null {
  if (setprivPath === undefined) {
    setprivPath = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) ?? null;
  }
  return setprivPath;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  /** stdout+stderr go here (truncated). */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  maxLifetimeMs?: number;
  /** Extra pipe on fd 3 (Xvfb -displayfd). */
  fd3Pipe?: boolean;
}

/**
 * Starts `command` detached (new session + process group, pgid = pid), stdin closed, output to `logFile`.
 * The returned pid is the server's own pid (setpriv execs it).
 */
export function spawnManaged(opts: SpawnOptions): ManagedProcess {
  installHooks();
  const out = openSync(opts.logFile, 'w');
  let child: ChildProcess;
  try {
    const sp = setpriv();
    const [cmd, args] = sp
      ? [sp, ['--pdeathsig', 'KILL', '--', opts.command, ...opts.args]]
      : [opts.command, opts.args];
    child = spawn(cmd, args, {
      detached: true,
      stdio: opts.fd3Pipe ? ['ignore', out, out, 'pipe'] : ['ignore', out, out],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
  } finally {
    closeSync(out);
  }
  if (child.pid === undefined) {
    // spawn failed synchronously (ENOENT is reported via 'error'); surface it clearly.
    throw new Error(`could not start ${opts.command} (see ${opts.logFile})`);
  }
  const pid = child.pid;
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      live.delete(pid);
      clearTimeout(watchdog);
      resolve({ code, signal });
    });
    child.once('error', () => {
      if (child.exitCode === null && child.signalCode === null && !done) {
        // e.g. ENOENT: no 'exit' follows.
        done = true;
        live.delete(pid);
        clearTimeout(watchdog);
        resolve({ code: -1, signal: null });
      }
    });
  });
  const watchdog = setTimeout(() => {
    if (!done) {
      process.emitWarning(`${opts.name} (pid ${pid}) exceeded its max lifetime; killing it`);
      killGroup(pid, 'SIGKILL');
    }
  }, opts.maxLifetimeMs ?? DEFAULT_MAX_LIFETIME_MS);
  watchdog.unref();
  // Do not keep the test process alive just because a server runs; the exit hook kills it.
  child.unref();

  let stopping: Promise<void> | null = null;
  const mp: ManagedProcess = {
    name: opts.name,
    pid,
    child,
    exited,
    hasExited: () => done,
    stop(graceMs = 5_000): Promise<void> {
      if (stopping) return stopping;
      stopping = (async () => {
        if (done) return;
        killGroup(pid, 'SIGTERM');
        const r = await raceTimeout(exited, graceMs);
        // Kill the rest of the group too (threads die with the leader; forked helpers would not).
        killGroup(pid, 'SIGKILL');
        if (r === 'timeout') await raceTimeout(exited, 2_000);
        live.delete(pid);
      })();
      return stopping;
    },
  };
  live.set(pid, mp);
  return mp;
}

/** Stops every process this module started (in parallel, bounded by each stop()'s 5 s + 2 s). */
export async function stopAllProcesses(filter: (p: ManagedProcess) => boolean = () => true): Promise<void> {
  await Promise.all([...live.values()].filter(filter).map((p) => p.stop()));
}

export function liveProcesses(): { name: string; pid: number }[] {
  return [...live.values()].map((p) => ({ name: p.name, pid: p.pid }));
}

/** One TCP connect attempt with a timeout; true when the handshake completed. */
export function tcpConnects(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const finish = (ok: boolean): void => {
      clearTimeout(t);
      s.removeAllListeners();
      s.on('error', () => undefined);
      s.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => finish(false), timeoutMs);
    s.once('connect', () => finish(true));
    s.once('error', () => finish(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls a TCP connect to host:port until it succeeds ('listening'), the process dies ('exited') or
 * `timeoutMs` passes ('timeout'). At most timeoutMs/25 + 1 attempts.
 */
export async function waitListening(
  host: string,
  port: number,
  proc: ManagedProcess,
  timeoutMs = 15_000,
): Promise<'listening' | 'exited' | 'timeout'> {
  const deadline = Date.now() + timeoutMs;
  const maxAttempts = Math.ceil(timeoutMs / 25) + 1;
  for (let i = 0; i < maxAttempts && Date.now() < deadline; i++) {
    if (proc.hasExited()) return 'exited';
    if (await tcpConnects(host, port, 500)) return proc.hasExited() ? 'exited' : 'listening';
    if (proc.hasExited()) return 'exited';
    await sleep(i < 40 ? 25 : 100); // fast at first (servers bind within ~50 ms), then gentler
  }
  return 'timeout';
}

/** Last `lines` lines of a text file ('' if unreadable). */
export function tailFile(file: string, lines = 25): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n').trimEnd();
  } catch {
    return '';
  }
}
