/**
 * Real-server test launcher: xrdp 0.9.21 and FreeRDP 2.11's shadow server on loopback, plus "filtered" and
 * unreachable targets in a private network namespace.
 *
 *   import { startXrdp, startShadow, stopAllServers, realServerSuite } from '../servers/launcher.js';
 *   const { skip } = realServerSuite(['xrdp']);
 *   describe.skipIf(skip)('…', () => { afterAll(stopAllServers); … });
 *
 * Runtime state (rendered xrdp.ini, logs, SAM files, XDG config) lives in <repo>/.run/servers/<pid>-<time>/
 * (or os.tmpdir()). Every process is started detached in its own process group and is stopped by stop(),
 * stopAllServers(), a process-exit hook, a per-process max lifetime (10 min) and a parent-death signal.
 */
import { stopAllProcesses } from './proc.js';
import { stopXvfb } from './shadow.js';

export type { RunningServer, ListenOptions } from './types.js';
export {
  DEFAULT_ADDRESS,
  DEFAULT_PORT,
  IPV6_PORT_BASE,
  XRDP_SCENARIOS,
  SHADOW_MODES,
  type XrdpScenario,
  type ShadowMode,
} from './addresses.js';
export { TEST_USER, TEST_PASSWORD, runRoot, certZoo, isLoopback } from './env.js';
export { startXrdp, XRDP_PARAMS, renderXrdpIni } from './xrdp.js';
export { startShadow, ensureXvfb, stopXvfb, samLine, type XvfbDisplay } from './shadow.js';
export { filteredNetns, filteredNetnsForSuite, listNetns, type FilteredNetns, type NetTarget } from './netns.js';
export { serverSupport, realServerSuite, inCI, type ServerSupport, type RealServerNeed } from './support.js';
export { liveProcesses } from './proc.js';
export { x224Probe, x224Exchange, connectionRequest, parseConnectionConfirm, describeAnswer, type X224Answer } from './x224.js';

/** Stops every server this process started, then the shared Xvfb. Bounded (~7 s per process, in parallel). */
export async function stopAllServers(): Promise<void> {
  // servers first, so a shadow server does not lose its display while shutting down
  await stopAllProcesses((p) => p.name !== 'Xvfb');
  await stopXvfb();
  await stopAllProcesses();
}
