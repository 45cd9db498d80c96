/**
 * Code tables (ERRINFO, mstsc pairs, RDP_NEG_FAILURE, NTSTATUS/SSPI, licensing, FreeRDP, xfreerdp) and the pure
 * `explain` lookup over them. Reports import the lookups; the CLI imports explain and formatExplain.
 */
export { hex32, hexDec, type CodeEntry, type CodeTable, type MstscPair } from './entry.js';
export { ERRINFO_CODES, ERRINFO_SECTION, errinfoEntry, errinfoName } from './errinfo.js';
export {
  DISCONNECT_REASON_BY_SERVER,
  EXTENDED_PROTOCOL_RANGE_END,
  EXTENDED_PROTOCOL_RANGE_START,
  MSTSC_DISCONNECT_REASONS,
  MSTSC_EXTENDED_REASONS,
  mstscDisconnectEntry,
  mstscExtendedEntry,
  mstscPairFor,
} from './mstsc.js';
export { NEG_FAILURE_CODES, NEG_FAILURE_SECTION, negFailureEntry } from './neg-failure.js';
export { STATUS_CODES, STATUS_SECTION, statusEntry } from './status.js';
export {
  LICENSE_ERROR_CODES,
  LICENSE_SECTION,
  LICENSE_STATE_TRANSITIONS,
  licenseErrorEntry,
  licenseErrorName,
  licenseStateEntry,
  stateTransitionName,
  type LicenseErrorEntry,
  type LicenseSender,
} from './license.js';
export {
  ERRCONNECT_CLASS,
  ERRCONNECT_CODES,
  FREERDP_SOURCE,
  XFREERDP_EXIT_CODES,
  XFREERDP_SOURCE,
  errconnectFullCode,
  freerdpEntry,
  xfreerdpExitEntry,
} from './freerdp.js';
export { CODE_TABLES, explain, formatExplain, parseCode, type ExplainResult } from './explain.js';
