/**
 * NTSTATUS and SSPI (SECURITY_STATUS) codes seen in CredSSP errorCode and NLA failures, with a plain sentence
 * and the usual fix. Values from MS-ERREF 2.3 / winpr nt.h and sspi.h; messages lower case, no trailing period.
 */

import { hex32 } from './hex.js';

export interface StatusDescription {
  /** Spec name ('STATUS_LOGON_FAILURE'), or 'unknown (0x…)'. */
  name: string;
  /** How a person reads it: '0xC000006D STATUS_LOGON_FAILURE' (or '0xC0001234, an unknown status'). */
  label: string;
  message: string;
  fix: string;
}

export const NtStatus = {
  STATUS_SUCCESS: 0x00000000,
  STATUS_MORE_PROCESSING_REQUIRED: 0xc0000016,
  STATUS_ACCESS_DENIED: 0xc0000022,
  STATUS_NO_LOGON_SERVERS: 0xc000005e,
  STATUS_NO_SUCH_USER: 0xc0000064,
  STATUS_WRONG_PASSWORD: 0xc000006a,
  STATUS_PASSWORD_RESTRICTION: 0xc000006c,
  STATUS_LOGON_FAILURE: 0xc000006d,
  STATUS_ACCOUNT_RESTRICTION: 0xc000006e,
  STATUS_INVALID_LOGON_HOURS: 0xc000006f,
  STATUS_INVALID_WORKSTATION: 0xc0000070,
  STATUS_PASSWORD_EXPIRED: 0xc0000071,
  STATUS_ACCOUNT_DISABLED: 0xc0000072,
  STATUS_NOT_SUPPORTED: 0xc00000bb,
  STATUS_TIME_DIFFERENCE_AT_DC: 0xc0000133,
  STATUS_LOGON_TYPE_NOT_GRANTED: 0xc000015b,
  STATUS_TRUSTED_DOMAIN_FAILURE: 0xc000018c,
  STATUS_TRUSTED_RELATIONSHIP_FAILURE: 0xc000018d,
  STATUS_ACCOUNT_EXPIRED: 0xc0000193,
  STATUS_PASSWORD_MUST_CHANGE: 0xc0000224,
  STATUS_ACCOUNT_LOCKED_OUT: 0xc0000234,
  STATUS_BAD_BINDINGS: 0xc000035b,
  STATUS_DOWNGRADE_DETECTED: 0xc0000388,
  STATUS_AUTHENTICATION_FIREWALL_FAILED: 0xc0000413,
  STATUS_NTLM_BLOCKED: 0xc0000418,
} as const;

export const SecStatus = {
  SEC_E_UNSUPPORTED_FUNCTION: 0x80090302,
  SEC_E_TARGET_UNKNOWN: 0x80090303,
  SEC_E_INTERNAL_ERROR: 0x80090304,
  SEC_E_INVALID_TOKEN: 0x80090308,
  SEC_E_LOGON_DENIED: 0x8009030c,
  SEC_E_UNKNOWN_CREDENTIALS: 0x8009030d,
  SEC_E_NO_CREDENTIALS: 0x8009030e,
  SEC_E_MESSAGE_ALTERED: 0x8009030f,
  SEC_E_OUT_OF_SEQUENCE: 0x80090310,
  SEC_E_NO_AUTHENTICATING_AUTHORITY: 0x80090311,
  SEC_E_WRONG_PRINCIPAL: 0x80090322,
  SEC_E_TIME_SKEW: 0x80090324,
  SEC_E_ALGORITHM_MISMATCH: 0x80090331,
  SEC_E_BAD_BINDINGS: 0x80090346,
  SEC_E_DOWNGRADE_DETECTED: 0x80090350,
} as const;

const TABLE: Record<number, Omit<StatusDescription, 'name' | 'label'>> = {
  [NtStatus.STATUS_SUCCESS]: { message: 'the operation succeeded', fix: 'nothing to fix' },
  [NtStatus.STATUS_MORE_PROCESSING_REQUIRED]: {
    message: 'the authentication exchange needs another round trip',
    fix: 'nothing to fix: this is an intermediate step, not a failure',
  },
  [NtStatus.STATUS_ACCESS_DENIED]: {
    message: 'access denied',
    fix: 'check that the account may log on remotely (Remote Desktop Users group, "Allow log on through Remote Desktop Services")',
  },
  [NtStatus.STATUS_NO_LOGON_SERVERS]: {
    message: 'no domain controller was available to check the credentials',
    fix: "check the server's connectivity to its domain controllers (DNS, site, firewall), or use a local account",
  },
  [NtStatus.STATUS_NO_SUCH_USER]: {
    message: 'the user name does not exist',
    fix: 'check the user name and domain (DOMAIN\\user or user@domain)',
  },
  [NtStatus.STATUS_WRONG_PASSWORD]: { message: 'the password is wrong', fix: 'check the password (and the keyboard layout, caps lock)' },
  [NtStatus.STATUS_PASSWORD_RESTRICTION]: {
    message: 'the password does not meet the password policy',
    fix: 'choose a password that meets the length, complexity and history rules',
  },
  [NtStatus.STATUS_LOGON_FAILURE]: {
    message: 'unknown user name or bad password',
    fix: 'check the user name, domain and password; the server does not say which one is wrong',
  },
  [NtStatus.STATUS_ACCOUNT_RESTRICTION]: {
    message: 'an account restriction prevents this logon',
    fix: 'check for blank-password, Protected Users (NTLM not allowed) or logon-workstation restrictions on the account',
  },
  [NtStatus.STATUS_INVALID_LOGON_HOURS]: {
    message: 'the account may not log on at this time of day',
    fix: "adjust the account's logon hours in Active Directory",
  },
  [NtStatus.STATUS_INVALID_WORKSTATION]: {
    message: 'the account may not log on from this workstation',
    fix: 'add the client workstation to the account\'s "Log On To" list, or clear the restriction',
  },
  [NtStatus.STATUS_PASSWORD_EXPIRED]: {
    message: 'the password has expired',
    fix: 'change the password (NLA cannot do it: log on once without NLA, or reset it elsewhere)',
  },
  [NtStatus.STATUS_ACCOUNT_DISABLED]: { message: 'the account is disabled', fix: 'enable the account' },
  [NtStatus.STATUS_NOT_SUPPORTED]: {
    message: 'the request is not supported',
    fix: 'check the NTLM restriction policies on the client and the server',
  },
  [NtStatus.STATUS_TIME_DIFFERENCE_AT_DC]: {
    message: "the clocks of the server and its domain controller are too far apart",
    fix: 'synchronise the clocks (w32tm /resync) on the server and the domain controller',
  },
  [NtStatus.STATUS_LOGON_TYPE_NOT_GRANTED]: {
    message: 'the account is not granted the remote interactive logon right',
    fix: 'add the account to Remote Desktop Users, or grant "Allow log on through Remote Desktop Services" and check "Deny log on through Remote Desktop Services"',
  },
  [NtStatus.STATUS_TRUSTED_DOMAIN_FAILURE]: {
    message: 'the trust between the domains failed',
    fix: 'check the domain trust (netdom trust /verify) and domain controller reachability',
  },
  [NtStatus.STATUS_TRUSTED_RELATIONSHIP_FAILURE]: {
    message: 'the trust relationship between the server and the domain failed',
    fix: "repair the server's secure channel (Test-ComputerSecureChannel -Repair) or rejoin it to the domain",
  },
  [NtStatus.STATUS_ACCOUNT_EXPIRED]: { message: 'the account has expired', fix: "extend the account's expiry date" },
  [NtStatus.STATUS_PASSWORD_MUST_CHANGE]: {
    message: 'the password must be changed before the first logon',
    fix: 'change the password first (NLA cannot do it), or clear "User must change password at next logon"',
  },
  [NtStatus.STATUS_ACCOUNT_LOCKED_OUT]: {
    message: 'the account is locked out',
    fix: 'wait for the lockout duration or unlock the account, and find what keeps sending a wrong password',
  },
  [NtStatus.STATUS_BAD_BINDINGS]: {
    message: 'the channel binding token does not match the tls channel',
    fix: 'check for a TLS-intercepting proxy between client and server; otherwise relax the channel binding requirement',
  },
  [NtStatus.STATUS_DOWNGRADE_DETECTED]: {
    message: 'the server detected a possible downgrade attack',
    fix: 'check for something tampering with the negotiation; make client and server agree on Kerberos/NTLM policy',
  },
  [NtStatus.STATUS_AUTHENTICATION_FIREWALL_FAILED]: {
    message: 'the account may not authenticate to this server across the trust (selective authentication)',
    fix: 'grant the "Allowed to authenticate" permission on the server\'s computer object in the trusting domain',
  },
  [NtStatus.STATUS_NTLM_BLOCKED]: {
    message: 'ntlm authentication is blocked by policy',
    fix: 'use Kerberos (connect by name, with a domain controller in reach) or relax "Network security: Restrict NTLM"',
  },
  [SecStatus.SEC_E_UNSUPPORTED_FUNCTION]: {
    message: 'the function requested is not supported',
    fix: 'usually the CredSSP encryption oracle remediation: update both ends, or set the "Encryption Oracle Remediation" policy consistently',
  },
  [SecStatus.SEC_E_TARGET_UNKNOWN]: {
    message: 'the target is unknown or unreachable',
    fix: 'check the server name (SPN) and the domain controller reachability',
  },
  [SecStatus.SEC_E_INTERNAL_ERROR]: {
    message: 'the security package hit an internal error',
    fix: 'check the server event log (System, LSA/Schannel) for the cause',
  },
  [SecStatus.SEC_E_INVALID_TOKEN]: {
    message: 'the token supplied to the security package is invalid',
    fix: 'a malformed or unexpected NTLM/SPNEGO message: check for middleboxes or mismatched CredSSP versions',
  },
  [SecStatus.SEC_E_LOGON_DENIED]: {
    message: 'the logon attempt failed',
    fix: 'check the user name, domain and password',
  },
  [SecStatus.SEC_E_UNKNOWN_CREDENTIALS]: {
    message: 'the credentials supplied to the package were not recognised',
    fix: 'check the credential format (DOMAIN\\user, user@domain)',
  },
  [SecStatus.SEC_E_NO_CREDENTIALS]: {
    message: 'no credentials are available in the security package',
    fix: 'supply credentials explicitly; saved or delegated credentials were not usable',
  },
  [SecStatus.SEC_E_MESSAGE_ALTERED]: {
    message: 'the message or signature supplied for verification has been altered',
    fix: 'check for something modifying the TLS session (interception) or mismatched session keys',
  },
  [SecStatus.SEC_E_OUT_OF_SEQUENCE]: {
    message: 'the message supplied for verification is out of sequence',
    fix: 'a client/server state mismatch: retry, and check for middleboxes replaying traffic',
  },
  [SecStatus.SEC_E_NO_AUTHENTICATING_AUTHORITY]: {
    message: 'no authority could be contacted for authentication',
    fix: "check the domain name and the server's connectivity to a domain controller",
  },
  [SecStatus.SEC_E_WRONG_PRINCIPAL]: {
    message: 'the target principal name is incorrect',
    fix: 'connect by the name the server is registered under (its SPN), or fix duplicate or missing TERMSRV/ SPNs',
  },
  [SecStatus.SEC_E_TIME_SKEW]: {
    message: 'the clocks on the client and server machines are skewed',
    fix: 'synchronise the clocks (Kerberos allows 5 minutes by default)',
  },
  [SecStatus.SEC_E_ALGORITHM_MISMATCH]: {
    message: 'client and server have no common algorithm',
    fix: 'align the TLS cipher suites and protocol versions on both ends',
  },
  [SecStatus.SEC_E_BAD_BINDINGS]: {
    message: 'the client and server channel bindings differ',
    fix: 'check for a TLS-intercepting proxy between client and server',
  },
  [SecStatus.SEC_E_DOWNGRADE_DETECTED]: {
    message: 'the system detected a possible attempt to compromise security',
    fix: 'check for something tampering with the negotiation; align the client and server security policies',
  },
};

/** '0xC000006D': the code as Windows tools print it (upper case, 8 digits). */
export function statusHex(code: number): string {
  return `0x${(code >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

/** '0xC000006D STATUS_LOGON_FAILURE', or '0xC0001234 (unknown status)'. */
export function formatStatus(code: number): string {
  const name = NAMES[code >>> 0];
  return name !== undefined ? `${statusHex(code)} ${name}` : `${statusHex(code)} (unknown status)`;
}

const NAMES: Record<number, string> = {};
for (const [k, v] of Object.entries({ ...NtStatus, ...SecStatus })) NAMES[v] = k;

/**
 * Name, sentence and usual fix for an NTSTATUS or SECURITY_STATUS. Accepts signed or unsigned 32-bit values
 * (-1073741715 and 0xC000006D are the same code). Unknown codes come back as 'unknown (0x…)'.
 */
export function describeStatus(code: number): StatusDescription {
  const c = code >>> 0;
  const name = NAMES[c];
  const entry = TABLE[c];
  if (name !== undefined && entry !== undefined) return { name, label: formatStatus(c), ...entry };
  return {
    name: `unknown (${hex32(c)})`,
    label: formatStatus(c),
    message: `the server reported status ${statusHex(c)}, which this tool does not name`,
    fix: 'look the code up in [MS-ERREF] (NTSTATUS 2.3, HRESULT 2.1) or with "certutil -error"',
  };
}
