/**
 * Which real servers this machine can run, and the skip policy for real-server suites:
 *  - locally, a suite whose server is missing is skipped with a visible notice on stderr;
 *  - in CI (CI set and not "false"/"0") a missing server fails the suite loudly.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { findBinary } from './env.js';
import { XRDP_PID_FILE, XRDP_RSAKEYS } from './xrdp.js';

export interface ServerSupport {
  xrdp: boolean;
  shadow: boolean;
  xvfb: boolean;
  netns: boolean;
  reasons: string[];
}

export type RealServerNeed = 'xrdp' | 'shadow' | 'netns';

const isRoot = (): boolean => process.getuid?.() === 0;

function readable(p: string): boolean {
  try {
    accessSync(p, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** Static checks (binaries, permissions); nothing is started. */
export function serverSupport(): ServerSupport {
  const reasons: string[] = [];

  let xrdp = true;
  if (!findBinary('xrdp')) {
    xrdp = false;
    reasons.push('xrdp: xrdp not installed (apt-get install xrdp)');
  } else if (existsSync(XRDP_RSAKEYS)) {
    if (!readable(XRDP_RSAKEYS)) {
      xrdp = false;
      reasons.push(`xrdp: ${XRDP_RSAKEYS} is not readable by this user (run the tests as root)`);
    }
  } else if (!findBinary('xrdp-keygen') || !isRoot()) {
    xrdp = false;
    reasons.push(`xrdp: ${XRDP_RSAKEYS} is missing (run \`xrdp-keygen xrdp auto\` as root)`);
  }
  if (xrdp && existsSync(XRDP_PID_FILE)) {
    xrdp = false;
    reasons.push(`xrdp: ${XRDP_PID_FILE} exists (system xrdp running?); xrdp refuses to start while it exists`);
  }

  const xvfb = !!findBinary('Xvfb');
  if (!xvfb) reasons.push('xvfb: Xvfb not installed (apt-get install xvfb)');

  let shadow = xvfb;
  if (!findBinary('freerdp-shadow-cli')) {
    shadow = false;
    reasons.push('shadow: freerdp-shadow-cli not installed (apt-get install freerdp2-shadow-x11)');
  } else if (!xvfb) {
    reasons.push('shadow: needs Xvfb (apt-get install xvfb)');
  }

  let netns = true;
  if (!isRoot()) {
    netns = false;
    reasons.push('netns: needs root (ip netns add)');
  }
  if (!findBinary('ip')) {
    netns = false;
    reasons.push('netns: ip not installed (apt-get install iproute2)');
  }
  if (!findBinary('iptables')) {
    netns = false;
    reasons.push('netns: iptables not installed (apt-get install iptables)');
  }

  return { xrdp, shadow, xvfb, netns, reasons };
}

export function inCI(): boolean {
  const v = process.env.CI;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/**
 * Call at the top of a real-server test file and pass `skip` to `describe.skipIf(...)`.
 * Missing prerequisites: throws in CI, otherwise prints "SKIPPING real-server suite …" to stderr.
 */
export function realServerSuite(
  need: RealServerNeed[],
  suiteName = 'real-server suite',
  support: ServerSupport = serverSupport(),
): { skip: boolean } {
  const s = support;
  const missing = [...new Set(need)].filter((n) => !s[n]);
  if (missing.length === 0) return { skip: false };
  const why = s.reasons.filter((r) => missing.some((m) => r.startsWith(`${m}:`) || (m === 'shadow' && r.startsWith('xvfb:'))));
  const detail = why.map((r) => r.replace(/^\w+: /, '')).join('; ');
  if (inCI()) {
    throw new Error(`real-server suite "${suiteName}" cannot run in CI: ${detail}`);
  }
  process.stderr.write(`\nSKIPPING real-server suite "${suiteName}": ${detail}\n\n`);
  return { skip: true };
}
