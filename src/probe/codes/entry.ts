/**
 * The shape every code table shares, so `explain`, reports and findings can treat an ERRINFO, an NTSTATUS and an
 * xfreerdp exit code alike. Tables are plain data: no I/O, no clock.
 */
import type { Stage } from '../types.js';

export type CodeTable =
  | 'errinfo'
  | 'mstsc-disconnect'
  | 'mstsc-extended'
  | 'neg-failure'
  | 'status'
  | 'license-error'
  | 'license-state'
  | 'freerdp'
  | 'xfreerdp-exit';

/** The pair mstsc shows: "error code" (disconnectReason) and "extended error code" (ExtendedDisconnectReasonCode). */
export interface MstscPair {
  disconnectReason: number;
  extendedReason: number;
}

export interface CodeEntry {
  table: CodeTable;
  code: number;
  /** Name as the source spells it ('ERRINFO_SERVER_DENIED_CONNECTION', 'exDiscReasonServerDeniedConnection'). */
  name: string;
  /**
   * The stage at which the code shows up in a connection. Undefined when it is not tied to one stage (a local
   * disconnect, a client-side out-of-memory, a socket closed at any point).
   */
  stage: Stage | undefined;
  /** One plain sentence, our own words. */
  meaning: string;
  causes: readonly string[];
  /** What to check, or the usual fix. */
  checks: readonly string[];
  /** The pair mstsc shows for this code, where the documented tables give it. */
  mstsc?: MstscPair;
  /** Other spellings seen in the wild (FreeRDP's ERRINFO names, for instance); matched by `explain`. */
  aliases?: readonly string[];
  /** Cross references in other tables, e.g. 'ERRCONNECT_LOGON_FAILURE (0x00020014)'. */
  related?: readonly string[];
}

export function hex32(v: number): string {
  return `0x${(v >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

/** 0x904 (2308): how mstsc's own documentation writes its codes. */
export function hexDec(v: number): string {
  return `0x${v.toString(16).toUpperCase()} (${v})`;
}

/** Index a table by code and by name, failing loudly at module load on a duplicate (a table bug). */
export function indexTable(entries: readonly CodeEntry[]): { byCode: Map<number, CodeEntry>; byName: Map<string, CodeEntry> } {
  const byCode = new Map<number, CodeEntry>();
  const byName = new Map<string, CodeEntry>();
  for (const e of entries) {
    if (byCode.has(e.code)) throw new Error(`duplicate code ${e.code} in ${e.table}`);
    if (byName.has(e.name.toUpperCase())) throw new Error(`duplicate name ${e.name} in ${e.table}`);
    byCode.set(e.code, e);
    byName.set(e.name.toUpperCase(), e);
  }
  return { byCode, byName };
}
