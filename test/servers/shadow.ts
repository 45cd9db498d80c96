/**
 * FreeRDP 2.11 shadow server (freerdp-shadow-cli) instances on a shared Xvfb display.
 *
 * Behaviour of freerdp-shadow-cli 2.11.7 this file works around:
 *  - NLA is OFF unless asked for, although /help says "sec-nla (default:on)": use /sec:nla, or
 *    +sec-rdp +sec-tls +sec-nla for "any".
 *  - NLA users come from a WinPR SAM file (/sam-file:), line format `user:domain:LMHASH:NTHASH:::`.
 *  - The TLS certificate is $XDG_CONFIG_HOME/freerdp/shadow/shadow.crt|.key (makecert creates one with
 *    CN = hostname if absent); each instance gets its own XDG_CONFIG_HOME pre-seeded with the zoo's 'good'.
 *  - It sporadically died at start with "failed to open display: :N" (about 1 start in 25 when started right
 *    after another shadow instance had stopped). Cause: an X server resets itself when its last client
 *    disconnects and refuses connections meanwhile; Xvfb now runs with -noreset (0 failures in 160 starts).
 *    The bounded retry (3 attempts) stays as a safety net.
 */
import { copyFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_ADDRESS, resolveListen, type ShadowMode } from './addresses.js';
import { certZoo, hostPort, newInstanceDir, requireBinary, runRoot, TEST_PASSWORD, TEST_USER } from './env.js';
import { raceTimeout, spawnManaged, tailFile, tcpConnects, waitListening, type ManagedProcess } from './proc.js';
import type { ListenOptions, RunningServer } from './types.js';
import { ntHash } from '../../src/protocol/crypto/md4.js';

export const SHADOW_START_ATTEMPTS = 3;

// ---------------------------------------------------------------------------------------------------------------
// Shared Xvfb

export interface XvfbDisplay {
  /** e.g. ':1' */
  display: string;
  pid: number;
  logFile: string;
  /** ms from spawn until Xvfb reported its display number */
  startMs: number;
}

let xvfbProc: ManagedProcess | undefined;
let xvfbPromise: Promise<XvfbDisplay> | undefined;

/**
 * Starts one Xvfb for this test process (first call) and returns its display. `-displayfd` lets Xvfb pick a
 * free display number; `-nolisten tcp` keeps it off the network (unix socket only); `-noreset` keeps it from
 * resetting (and briefly refusing clients) whenever its last client disconnects. Bounded 10 s.
 */
export function ensureXvfb(): Promise<XvfbDisplay> {
  if (xvfbPromise && xvfbProc && !xvfbProc.hasExited()) return xvfbPromise;
  xvfbPromise = startXvfb().catch((e: unknown) => {
    xvfbPromise = undefined;
    throw e;
  });
  return xvfbPromise;
}

async function startXvfb(): Promise<XvfbDisplay> {
  const xvfb = requireBinary('Xvfb', 'apt-get install xvfb');
  const dir = join(runRoot(), 'xvfb');
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'xvfb.log');
  const t0 = Date.now();
  const proc = spawnManaged({
    name: 'Xvfb',
    command: xvfb,
    args: ['-displayfd', '3', '-screen', '0', '1024x768x24', '-nolisten', 'tcp', '-noreset'],
    logFile,
    fd3Pipe: true,
  });
  xvfbProc = proc;
  const fd3 = proc.child.stdio[3] as NodeJS.ReadableStream | null;
  if (!fd3) throw new Error('Xvfb: no fd 3 pipe');
  const display = await raceTimeout(
    new Promise<string | null>((resolve) => {
      let buf = '';
      fd3.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /^(\d+)\n/.exec(buf);
        if (m) resolve(`:${m[1]}`);
      });
      fd3.on('end', () => resolve(null));
      fd3.on('error', () => resolve(null));
    }),
    10_000,
  );
  if (display === null || display === 'timeout') {
    await proc.stop();
    throw new Error(`Xvfb did not report a display (${String(display)}):\n${tailFile(logFile)}`);
  }
  // Let the pipe close without keeping the event loop alive.
  (fd3 as unknown as { destroy?: () => void }).destroy?.();
  return { display, pid: proc.pid, logFile, startMs: Date.now() - t0 };
}

/** Stops the shared Xvfb (after the shadow servers using it). */
export async function stopXvfb(): Promise<void> {
  const p = xvfbProc;
  xvfbProc = undefined;
  xvfbPromise = undefined;
  if (p) await p.stop();
}

// ---------------------------------------------------------------------------------------------------------------
// Shadow server

/** One SAM line: `user:domain:LM:NT:::` with an empty domain and LM hash. */
export function samLine(user = TEST_USER, password = TEST_PASSWORD, domain = ''): string {
  return `${user}:${domain}::${Buffer.from(ntHash(password)).toString('hex')}:::\n`;
}

function securityArgs(mode: ShadowMode, samFile: string): string[] {
  switch (mode) {
    case 'nla':
      return ['/sec:nla', `/sam-file:${samFile}`];
    case 'tls':
      return ['/sec:tls'];
    case 'rdp':
      return ['/sec:rdp'];
    case 'any':
      return ['+sec-rdp', '+sec-tls', '+sec-nla', `/sam-file:${samFile}`];
  }
}

/**
 * Starts freerdp-shadow-cli in `mode` ('nla' = NLA only with the TEST_USER SAM file; 'tls'; 'rdp' = standard
 * RDP security only; 'any' = all three). Resolves once host:port accepts TCP connections; up to 3 attempts
 * when the server dies with "failed to open display", each attempt bounded to 15 s.
 */
export async function startShadow(mode: ShadowMode, opts: ListenOptions = {}): Promise<RunningServer> {
  if (!(mode in DEFAULT_ADDRESS.shadow)) throw new Error(`unknown shadow mode '${String(mode)}'`);
  const { host, port } = resolveListen(DEFAULT_ADDRESS.shadow[mode], opts);
  const shadow = requireBinary('freerdp-shadow-cli', 'apt-get install freerdp2-shadow-x11');
  if (await tcpConnects(host, port, 500)) throw new Error(`${hostPort(host, port)} already has a listener`);

  const zoo = await certZoo();
  const { display } = await ensureXvfb();
  const name = `shadow:${mode}`;
  const dir = newInstanceDir(`shadow-${mode}`, host, port);
  const xdg = join(dir, 'xdg');
  const certDir = join(xdg, 'freerdp', 'shadow');
  mkdirSync(certDir, { recursive: true });
  copyFileSync(zoo.good.cert, join(certDir, 'shadow.crt'));
  copyFileSync(zoo.good.key, join(certDir, 'shadow.key'));
  const samFile = join(dir, 'SAM');
  writeFileSync(samFile, samLine(), { mode: 0o600 });

  const bind = host.includes(':') ? `[${host}]` : host;
  const args = [`/bind-address:${bind}`, `/port:${port}`, ...securityArgs(mode, samFile)];
  writeFileSync(join(dir, 'args'), `${args.join('\n')}\n`);
  const env = { ...process.env, DISPLAY: display, XDG_CONFIG_HOME: xdg, HOME: dir };

  const logFile = join(dir, 'shadow.log');
  const t0 = Date.now();
  const failures: string[] = [];
  for (let attempt = 1; attempt <= SHADOW_START_ATTEMPTS; attempt++) {
    const proc = spawnManaged({ name, command: shadow, args, logFile, env, cwd: dir });
    const state = await waitListening(host, port, proc, 15_000);
    if (state === 'listening') {
      return {
        name,
        host,
        port,
        pid: proc.pid,
        logFile,
        dir,
        startMs: Date.now() - t0,
        stop: () => proc.stop(),
      };
    }
    await proc.stop();
    const tail = tailFile(logFile);
    const attemptLog = join(dir, `shadow.attempt${attempt}.log`);
    try {
      renameSync(logFile, attemptLog);
    } catch {
      // no log written
    }
    failures.push(`attempt ${attempt}: ${state}\n${tail}`);
    const retryable = /failed to open display/i.test(tail);
    if (!retryable || attempt === SHADOW_START_ATTEMPTS) break;
    process.stderr.write(`[servers] ${name}: "failed to open display" on attempt ${attempt}; retrying\n`);
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `${name} did not start listening on ${hostPort(host, port)} (DISPLAY=${display}):\n${failures.join('\n')}`,
  );
}
