/**
 * NTSTATUS and SSPI (SECURITY_STATUS) codes as CredSSP reports them (TSRequest.errorCode, NLA failures): a view over
 * src/protocol/ntstatus.ts, which keeps the names, values, sentence and usual fix. This file adds the stage, likely
 * causes and FreeRDP's mapping (libfreerdp/core/nla.c: codes it does not list become ERRCONNECT_AUTHENTICATION_FAILED).
 */
import { describeStatus, NtStatus, SecStatus } from '../../protocol/ntstatus.js';
import type { Stage } from '../types.js';
import { indexTable, type CodeEntry } from './entry.js';

export const STATUS_SECTION = 'MS-ERREF 2.3 (NTSTATUS), SSPI SECURITY_STATUS';

type StatusName = keyof typeof NtStatus | keyof typeof SecStatus;

interface Extra {
  stage: Stage;
  causes: string[];
  freerdp?: string;
}

const BAD_CREDS = ['wrong password', 'wrong user name or domain', 'a stale saved password'];

/** What ntstatus.ts does not say. Every name there must have an entry here (checked at load). */
const EXTRA: Record<StatusName, Extra> = {
  STATUS_SUCCESS: { stage: 'nla_auth', causes: ['authentication succeeded'] },
  STATUS_MORE_PROCESSING_REQUIRED: { stage: 'credssp', causes: ['an intermediate step of the NTLM/SPNEGO exchange'] },
  STATUS_ACCESS_DENIED: { stage: 'nla_auth', causes: ['the account may not log on to this server', 'the remote logon right is missing'], freerdp: 'ERRCONNECT_ACCESS_DENIED (0x00020016)' },
  STATUS_NO_LOGON_SERVERS: { stage: 'nla_auth', causes: ['the server cannot reach a domain controller'] },
  STATUS_NO_SUCH_USER: { stage: 'nla_auth', causes: ['typo in the user name', 'wrong domain'] },
  STATUS_WRONG_PASSWORD: { stage: 'nla_auth', causes: ['wrong password'], freerdp: 'ERRCONNECT_WRONG_PASSWORD (0x00020015)' },
  STATUS_PASSWORD_RESTRICTION: { stage: 'nla_auth', causes: ['the new password breaks the policy'] },
  STATUS_LOGON_FAILURE: { stage: 'nla_auth', causes: BAD_CREDS, freerdp: 'ERRCONNECT_LOGON_FAILURE (0x00020014)' },
  STATUS_ACCOUNT_RESTRICTION: { stage: 'nla_auth', causes: ['blank passwords not allowed over the network', 'the account is in Protected Users (no NTLM)', 'a logon workstation restriction'], freerdp: 'ERRCONNECT_ACCOUNT_RESTRICTION (0x00020017)' },
  STATUS_INVALID_LOGON_HOURS: { stage: 'nla_auth', causes: ['logon hours set on the account'] },
  STATUS_INVALID_WORKSTATION: { stage: 'nla_auth', causes: ["the account's \"Log On To\" list does not include the client"] },
  STATUS_PASSWORD_EXPIRED: { stage: 'nla_auth', causes: ['the password age limit was reached'], freerdp: 'ERRCONNECT_PASSWORD_EXPIRED (0x0002000E)' },
  STATUS_ACCOUNT_DISABLED: { stage: 'nla_auth', causes: ['the account was disabled'], freerdp: 'ERRCONNECT_ACCOUNT_DISABLED (0x00020012)' },
  STATUS_NOT_SUPPORTED: { stage: 'nla_auth', causes: ['NTLM restriction policies', 'an authentication method the server will not use'] },
  STATUS_TIME_DIFFERENCE_AT_DC: { stage: 'nla_auth', causes: ['clock skew between the server and its domain controller'] },
  STATUS_LOGON_TYPE_NOT_GRANTED: { stage: 'nla_auth', causes: ['the account lacks "Allow log on through Remote Desktop Services"', '"Deny log on through Remote Desktop Services" matches the account or a group'], freerdp: 'ERRCONNECT_LOGON_TYPE_NOT_GRANTED (0x0002001A)' },
  STATUS_TRUSTED_DOMAIN_FAILURE: { stage: 'nla_auth', causes: ['a broken trust between domains'] },
  STATUS_TRUSTED_RELATIONSHIP_FAILURE: { stage: 'nla_auth', causes: ["the server's computer account secure channel is broken"] },
  STATUS_ACCOUNT_EXPIRED: { stage: 'nla_auth', causes: ['the account expiry date passed'], freerdp: 'ERRCONNECT_ACCOUNT_EXPIRED (0x00020019)' },
  STATUS_PASSWORD_MUST_CHANGE: { stage: 'nla_auth', causes: ['"User must change password at next logon" is set'], freerdp: 'ERRCONNECT_PASSWORD_MUST_CHANGE (0x00020013)' },
  STATUS_ACCOUNT_LOCKED_OUT: { stage: 'nla_auth', causes: ['too many wrong passwords, often from a stale saved password on another device'], freerdp: 'ERRCONNECT_ACCOUNT_LOCKED_OUT (0x00020018)' },
  STATUS_BAD_BINDINGS: { stage: 'nla_auth', causes: ['a TLS-intercepting proxy between client and server', 'a client that sends no or wrong channel bindings'] },
  STATUS_DOWNGRADE_DETECTED: { stage: 'nla_auth', causes: ['tampered negotiation', 'mismatched Kerberos/NTLM policies'] },
  STATUS_AUTHENTICATION_FIREWALL_FAILED: { stage: 'nla_auth', causes: ['selective authentication on a forest trust'] },
  STATUS_NTLM_BLOCKED: { stage: 'nla_auth', causes: ['"Network security: Restrict NTLM" policies'] },
  SEC_E_UNSUPPORTED_FUNCTION: { stage: 'credssp', causes: ['CredSSP encryption oracle remediation (CVE-2018-0886) mismatch between patched and unpatched ends', 'an unsupported CredSSP version'] },
  SEC_E_TARGET_UNKNOWN: { stage: 'nla_auth', causes: ['no SPN for the name used', 'domain controller unreachable'] },
  SEC_E_INTERNAL_ERROR: { stage: 'nla_auth', causes: ['a fault in the server security package'] },
  SEC_E_INVALID_TOKEN: { stage: 'credssp', causes: ['a malformed or unexpected NTLM/SPNEGO token', 'a middlebox altering the exchange', 'mismatched CredSSP versions'] },
  SEC_E_LOGON_DENIED: { stage: 'nla_auth', causes: BAD_CREDS },
  SEC_E_UNKNOWN_CREDENTIALS: { stage: 'nla_auth', causes: ['credentials in a form the package does not take'] },
  SEC_E_NO_CREDENTIALS: { stage: 'nla_auth', causes: ['no usable credentials (none given, or saved ones not usable)'] },
  SEC_E_MESSAGE_ALTERED: { stage: 'nla_auth', causes: ['the TLS session was modified (interception)', 'session keys out of step'] },
  SEC_E_OUT_OF_SEQUENCE: { stage: 'nla_auth', causes: ['client and server state out of step', 'replayed traffic'] },
  SEC_E_NO_AUTHENTICATING_AUTHORITY: { stage: 'nla_auth', causes: ['wrong domain', 'domain controller unreachable'] },
  SEC_E_WRONG_PRINCIPAL: { stage: 'nla_auth', causes: ['connecting by a name the server is not registered under', 'duplicate or missing TERMSRV SPN'] },
  SEC_E_TIME_SKEW: { stage: 'nla_auth', causes: ['client and server clocks differ by more than Kerberos allows'] },
  SEC_E_ALGORITHM_MISMATCH: { stage: 'tls', causes: ['no common TLS cipher suite or version'] },
  SEC_E_BAD_BINDINGS: { stage: 'nla_auth', causes: ['a TLS-intercepting proxy between client and server'] },
  SEC_E_DOWNGRADE_DETECTED: { stage: 'nla_auth', causes: ['tampered negotiation', 'mismatched security policies'] },
};

function sentence(s: string): string {
  return s.length === 0 ? s : `${s[0]!.toUpperCase()}${s.slice(1)}.`;
}

function build(): CodeEntry[] {
  const out: CodeEntry[] = [];
  for (const [name, value] of Object.entries({ ...NtStatus, ...SecStatus }) as [StatusName, number][]) {
    const extra = EXTRA[name];
    if (!extra) throw new Error(`status.ts has no stage for ${name}`);
    const d = describeStatus(value);
    const entry: CodeEntry = { table: 'status', code: value >>> 0, name, stage: extra.stage, meaning: sentence(d.message), causes: extra.causes, checks: [d.fix] };
    if (extra.freerdp) entry.related = [`FreeRDP: ${extra.freerdp}`];
    else if (value !== 0 && value !== NtStatus.STATUS_MORE_PROCESSING_REQUIRED) entry.related = ['FreeRDP: ERRCONNECT_AUTHENTICATION_FAILED (0x00020009)'];
    out.push(entry);
  }
  return out;
}

export const STATUS_CODES: readonly CodeEntry[] = build();

const INDEX = indexTable(STATUS_CODES);

/** Signed or unsigned 32-bit (-1073741715 and 0xC000006D are the same code). */
export function statusEntry(code: number): CodeEntry | undefined {
  return INDEX.byCode.get(code >>> 0);
}
