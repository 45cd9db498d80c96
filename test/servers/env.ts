/**
 * Shared bits of the real-server launcher: run directory, binary lookup, the loopback guard, test
 * credentials and the certificate zoo.
 */
import { accessSync, constants, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeCertZoo } from '../../src/lab/certs.js';

/** Credentials every credential-checking test server accepts (shadow NLA SAM file). */
export const TEST_USER = 'rdpuser';
export const TEST_PASSWORD = 'Passw0rd!';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

/** Addresses the launcher may bind or connect to: 127.0.0.0/8 and ::1 only. */
export function isLoopback(host: string): boolean {
  if (host === '::1') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return !!m && m.slice(1).every((o) => Number(o) <= 255);
}

export function assertLoopback(host: string): void {
  if (!isLoopback(host)) {
    throw new Error(`refusing address '${host}': test servers run on loopback only (127.0.0.0/8, ::1)`);
  }
}

/** "host:port" with brackets for IPv6. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/bin', '/bin'];

/** Absolute path of an executable on PATH (plus the sbin dirs a non-root PATH may lack), or null. */
export function findBinary(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SBIN_DIRS];
  for (const d of dirs) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

export function requireBinary(name: string, hint: string): string {
  const p = findBinary(name);
  if (!p) throw new Error(`${name} not found (${hint})`);
  return p;
}

let runRootCache: string | undefined;

/**
 * Root of this test process's runtime state: `<repo>/.run/servers/<pid>-<time>` (git-ignored), or the same
 * under os.tmpdir() if the repository is not writable. Old run dirs beyond the newest 5 are pruned.
 */
export function runRoot(): string {
  if (runRootCache) return runRootCache;
  const stamp = `${process.pid}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  for (const base of [join(REPO_ROOT, '.run', 'servers'), join(tmpdir(), 'rdp-probe-servers')]) {
    try {
      mkdirSync(base, { recursive: true });
      accessSync(base, constants.W_OK);
      pruneOldRuns(base, 5);
      const dir = join(base, stamp);
      mkdirSync(dir, { recursive: true });
      runRootCache = dir;
      return dir;
    } catch {
      // try the next base
    }
  }
  throw new Error('no writable run directory (repo .run/ and os.tmpdir() both failed)');
}

function pruneOldRuns(base: string, keep: number): void {
  let entries: string[];
  try {
    entries = readdirSync(base).filter((e) => /^\d+-/.test(e));
  } catch {
    return;
  }
  const withTime = entries
    .map((e) => {
      try {
        return { e, t: statSync(join(base, e)).mtimeMs };
      } catch {
        return { e, t: 0 };
      }
    })
    .sort((a, b) => b.t - a.t);
  for (const { e } of withTime.slice(keep, keep + 50)) {
    const pid = Number(e.split('-')[0]);
    if (pidAlive(pid)) continue; // another test run still uses it
    rmSync(join(base, e), { recursive: true, force: true });
  }
}

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let instanceCounter = 0;

/** A fresh per-instance directory under the run root. */
export function newInstanceDir(name: string, host: string, port: number): string {
  const safe = `${name}@${host.replace(/:/g, '_')}_${port}`.replace(/[^A-Za-z0-9@._-]/g, '_');
  const dir = join(runRoot(), `${String(++instanceCounter).padStart(3, '0')}-${safe}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export type CertZoo = Awaited<ReturnType<typeof writeCertZoo>>;
export type CertName = keyof CertZoo;

let zooPromise: Promise<CertZoo> | undefined;

/**
 * The certificate zoo (src/lab/certs.ts) under `<repo>/.run/certs` (or the run root if that is not
 * writable); generated once per test process, idempotent on disk.
 */
export function certZoo(): Promise<CertZoo> {
  if (!zooPromise) {
    let dir = join(REPO_ROOT, '.run', 'certs');
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.W_OK);
    } catch {
      dir = join(runRoot(), 'certs');
      mkdirSync(dir, { recursive: true });
    }
    zooPromise = writeCertZoo(dir).catch((e: unknown) => {
      zooPromise = undefined;
      throw e;
    });
  }
  return zooPromise;
}
