/**
 * Failures of this machine, not of the target: out of file descriptors, ports, buffers or memory. A scan must
 * never record one as a target's result (a --resume would then skip a target that was never probed).
 */
import type { ProbeReport } from '../probe/types.js';

/** errno names that say this machine ran out of something. */
export const LOCAL_FAILURE_CODES: ReadonlySet<string> = new Set(['EMFILE', 'ENFILE', 'EADDRNOTAVAIL', 'ENOBUFS', 'ENOMEM']);
/** Stage error kinds that name a local resource (transport/errors.ts and the probe's own kinds). */
const LOCAL_KINDS: ReadonlySet<string> = new Set(['address_not_available', 'local_failure', 'local_resource', 'too_many_open_files', 'no_buffer_space', 'out_of_memory']);
const CODE_IN_TEXT = /\b(EMFILE|ENFILE|EADDRNOTAVAIL|ENOBUFS|ENOMEM)\b/i;

type ReportLike = Pick<ProbeReport, 'verdict' | 'stages'> & { anomalies?: readonly string[] };

/**
 * Is this report the trace of a local failure? True for the verdict 'local_failure', for any stage error whose
 * code or kind names a local resource, and for an internal error whose text carries one of those codes (a module
 * that could not be loaded for want of a descriptor).
 */
export function isLocalFailure(report: ReportLike): boolean {
  if ((report.verdict?.id as string | undefined) === 'local_failure') return true;
  for (const s of report.stages ?? []) {
    const e = s.error;
    if (!e) continue;
    if ((e.codeName !== undefined && LOCAL_FAILURE_CODES.has(e.codeName)) || (e.localCode !== undefined && LOCAL_FAILURE_CODES.has(e.localCode))) return true;
    if (LOCAL_KINDS.has(e.kind)) return true;
    if (e.layer === 'internal' && CODE_IN_TEXT.test(e.message)) return true;
  }
  return (report.anomalies ?? []).some((a) => /^internal error/i.test(a) && CODE_IN_TEXT.test(a));
}

/** The local code a report names, for the one line saying why the concurrency was lowered. */
export function localFailureReason(report: ReportLike): string {
  for (const s of report.stages ?? []) {
    const e = s.error;
    if (!e) continue;
    for (const c of [e.codeName, e.localCode]) if (c !== undefined && LOCAL_FAILURE_CODES.has(c)) return c;
    const m = CODE_IN_TEXT.exec(e.message);
    if (m) return m[1]!.toUpperCase();
    if (LOCAL_KINDS.has(e.kind)) return e.kind;
  }
  for (const a of report.anomalies ?? []) {
    const m = CODE_IN_TEXT.exec(a);
    if (m) return m[1]!.toUpperCase();
  }
  return 'a local failure';
}
