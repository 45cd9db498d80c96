/**
 * Licensing Error Message (LICENSE_ERROR_MESSAGE), [MS-RDPBCGR] 2.2.1.12.1.3: dwErrorCode (who may send each code as
 * the spec groups them) and dwStateTransition ([MS-RDPELE] 3.1.5.3 says what each transition does). STATUS_VALID_CLIENT
 * with ST_NO_TRANSITION is the success answer of a server that needs no CAL exchange. Sentences are ours.
 */
import { hex32, indexTable, type CodeEntry } from './entry.js';

export const LICENSE_SECTION = 'MS-RDPBCGR 2.2.1.12.1.3';

export type LicenseSender = 'client' | 'server' | 'both';

export interface LicenseErrorEntry extends CodeEntry {
  sentBy: LicenseSender;
}

const STORE = "delete the client's stored license (HKLM\\SOFTWARE\\Microsoft\\MSLicensing on Windows) and connect once as administrator so it is rebuilt";
const SERVER = ['run RD Licensing Diagnoser on the session host', 'check the licensing mode and the license server the session host uses, and that it can reach it'];

function l(code: number, name: string, sentBy: LicenseSender, meaning: string, causes: string[], checks: string[]): LicenseErrorEntry {
  return { table: 'license-error', code, name, stage: 'licensing', sentBy, meaning, causes, checks };
}

export const LICENSE_ERROR_CODES: readonly LicenseErrorEntry[] = [
  l(0x01, 'ERR_INVALID_SERVER_CERTIFICATE', 'client', 'The client could not accept the certificate the server sent in its license request.', ['a damaged or unexpected server licensing certificate', 'a client that cannot check the proprietary certificate'], ['update the client', 'check the server certificate with rdp-probe (security stage)']),
  l(0x02, 'ERR_NO_LICENSE', 'client', 'The client has no license to present.', ['first connection from this client', 'the stored license was deleted or cannot be read'], ['normal on a first connection: the server then issues one', STORE]),
  l(0x03, 'ERR_INVALID_MAC', 'both', 'The MAC of a licensing message did not verify.', ['licensing keys out of step', 'traffic altered in transit', 'a client licensing bug'], ['retry; update the client', STORE]),
  l(0x04, 'ERR_INVALID_SCOPE', 'server', 'The scope the client asked a license for is not one the server serves.', ['a client asking for the wrong product or scope'], ['update the client', ...SERVER.slice(0, 1)]),
  l(0x06, 'ERR_NO_LICENSE_SERVER', 'server', 'The server could not reach a license server.', ['no license server configured, unreachable, or its service stopped'], SERVER),
  l(0x07, 'STATUS_VALID_CLIENT', 'server', 'The client is licensed: licensing is finished and the connection goes on (sent with ST_NO_TRANSITION).', ['a server that needs no CAL exchange for this client (administrative mode, or a valid license)'], ['nothing to fix: this is the success answer']),
  l(0x08, 'ERR_INVALID_CLIENT', 'server', 'The server rejected the client or its license.', ['a stored license the server does not accept (modified, from another server, expired)', 'no CAL available for this client'], [STORE, ...SERVER]),
  l(0x0b, 'ERR_INVALID_PRODUCTID', 'server', 'The product ID in the client license request is not valid.', ['a client sending a product ID the server does not know'], ['update the client']),
  l(0x0c, 'ERR_INVALID_MESSAGE_LEN', 'server', 'A licensing message from the client had an invalid length.', ['a malformed licensing message (client bug or middlebox)'], ['update the client; capture the licensing exchange']),
];

const WITH_CODE = 'the dwErrorCode sent with it says why (rdp-probe explain license CODE)';

function s(code: number, name: string, meaning: string, causes: string[]): CodeEntry {
  return { table: 'license-state', code, name, stage: 'licensing', meaning, causes, checks: [WITH_CODE] };
}

export const LICENSE_STATE_TRANSITIONS: readonly CodeEntry[] = [
  s(0x01, 'ST_TOTAL_ABORT', 'Abort the licensing protocol; depending on the server licensing system the connection may be dropped.', ['the sender hit an error it will not recover from']),
  s(0x02, 'ST_NO_TRANSITION', 'Stay where you are; with STATUS_VALID_CLIENT it means licensing succeeded.', ['success (STATUS_VALID_CLIENT), or a status the peer only reports']),
  s(0x03, 'ST_RESET_PHASE_TO_START', 'Start licensing again from the beginning.', ['a recoverable error early in the exchange']),
  s(0x04, 'ST_RESEND_LAST_MESSAGE', 'Send the previous licensing message again.', ['a message was lost or could not be processed']),
];

const ERRORS = indexTable(LICENSE_ERROR_CODES);
const STATES = indexTable(LICENSE_STATE_TRANSITIONS);

export function licenseErrorEntry(code: number): LicenseErrorEntry | undefined {
  return ERRORS.byCode.get(code >>> 0) as LicenseErrorEntry | undefined;
}

export function licenseStateEntry(code: number): CodeEntry | undefined {
  return STATES.byCode.get(code >>> 0);
}

/** 'ST_TOTAL_ABORT', or 'unknown (0x…)'. */
export function stateTransitionName(code: number): string {
  return licenseStateEntry(code)?.name ?? `unknown (${hex32(code)})`;
}

/** 'ERR_NO_LICENSE_SERVER', or 'unknown (0x…)'. */
export function licenseErrorName(code: number): string {
  return licenseErrorEntry(code)?.name ?? `unknown (${hex32(code)})`;
}
