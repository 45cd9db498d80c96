/**
 * Kept for the many callers of this path: runProbe and its options live in src/probe/run.ts (policy), the stage
 * order in src/connector/sequence.ts, and the one driver loop in ./exchange.ts.
 */
export { runProbe, defaultProbeOptions, cutError, DEFAULT_REQUESTED, type ProbeOptions, type TrustOptions, type KnownHostsStore } from '../probe/run.js';
