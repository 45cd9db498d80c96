/**
 * FreeRDP's connect errors and xfreerdp's exit codes, read from FreeRDP master (include/freerdp/error.h,
 * libfreerdp/core/{nla,nego,freerdp,connection,transport}.c, client/X11/xfreerdp.h and xf_client.c). FreeRDP prints
 * a connect error with its class: ERRCONNECT_AUTHENTICATION_FAILED is type 0x9 of class 2, full code 0x00020009.
 * Sentences are ours; where FreeRDP sets a code is stated only where the source shows it.
 */
import type { Stage } from '../types.js';
import { indexTable, type CodeEntry } from './entry.js';

export const FREERDP_SOURCE = 'FreeRDP include/freerdp/error.h';
export const XFREERDP_SOURCE = 'FreeRDP client/X11/xfreerdp.h (enum XF_EXIT_CODE)';

/** FREERDP_ERROR_CONNECT_CLASS: the class FreeRDP puts in the upper 16 bits of a connect error. */
export const ERRCONNECT_CLASS = 2;

export function errconnectFullCode(type: number): number {
  return ((ERRCONNECT_CLASS << 16) | (type & 0xffff)) >>> 0;
}

const AUTH = ['check the user name, domain and password', 'run rdp-probe --depth auth to see the NTSTATUS the server returned'];

function c(type: number, name: string, stage: Stage | undefined, meaning: string, causes: string[], checks: string[], related?: string[]): CodeEntry {
  const entry: CodeEntry = { table: 'freerdp', code: errconnectFullCode(type), name, stage, meaning, causes, checks };
  if (related) entry.related = related;
  return entry;
}

export const ERRCONNECT_CODES: readonly CodeEntry[] = [
  c(0x01, 'ERRCONNECT_PRE_CONNECT_FAILED', undefined, 'The client stopped before connecting because of a configuration problem.', ['invalid or conflicting command-line options', 'a channel or plugin that failed to load'], ['run with /log-level:DEBUG and read the first error', 'remove options until it connects']),
  c(0x02, 'ERRCONNECT_CONNECT_UNDEFINED', undefined, 'An unspecified connection error occurred.', ['set, for instance, when RDSTLS authentication fails'], ['run with /log-level:DEBUG', 'run rdp-probe against the host to see the failing stage']),
  c(0x03, 'ERRCONNECT_POST_CONNECT_FAILED', 'activation', 'The connection was made but the client failed in its post-connect setup.', ['display, graphics or channel initialisation failed on the client'], ['run with /log-level:DEBUG; try without optional channels or graphics options']),
  c(0x04, 'ERRCONNECT_DNS_ERROR', 'dns', 'The name could not be resolved.', ['the name does not resolve'], ['resolve the name from the client (getent hosts)']),
  c(0x05, 'ERRCONNECT_DNS_NAME_NOT_FOUND', 'dns', 'The host name was not found in DNS.', ['typo in the host name', 'DNS server does not know the name'], ['resolve the name from the client', 'try the IP address']),
  c(0x06, 'ERRCONNECT_CONNECT_FAILED', 'tcp', 'The connection failed.', ['nothing listens on the port', 'a firewall blocks it', 'host down'], ['run rdp-probe HOST: the tcp stage says refused, filtered or unreachable']),
  c(0x07, 'ERRCONNECT_MCS_CONNECT_INITIAL_ERROR', 'mcs', 'The MCS Connect-Initial / Connect-Response exchange failed.', ['the server rejected the GCC client data', 'the server closed the connection at the MCS stage'], ['run rdp-probe --depth session to see the MCS result and any Set Error Info']),
  c(0x08, 'ERRCONNECT_TLS_CONNECT_FAILED', 'tls', 'The TLS handshake failed.', ['no common TLS version or cipher', 'the server has no usable certificate (RDP_NEG_FAILURE SSL_CERT_NOT_ON_SERVER maps here)', 'certificate verification refused by the client'], ['run rdp-probe HOST to see the TLS alert and certificate', 'try /tls:seclevel:0 only to test legacy servers']),
  c(0x09, 'ERRCONNECT_AUTHENTICATION_FAILED', 'nla_auth', 'Authentication failed and aborted the connection.', ['an NTSTATUS FreeRDP does not map to a more specific code (no such user, logon hours, workstation, no logon servers, ...)', 'an Early User Authorization result other than success or access denied'], AUTH, ['xfreerdp exit 132 (XF_EXIT_AUTH_FAILURE)']),
  c(0x0a, 'ERRCONNECT_INSUFFICIENT_PRIVILEGES', 'activation', 'The user lacks the privileges to connect.', ['FreeRDP sets this when the server sent ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES (0x9)'], ['add the account to Remote Desktop Users or grant "Allow log on through Remote Desktop Services"'], ['ERRINFO 0x00000009']),
  c(0x0b, 'ERRCONNECT_CONNECT_CANCELLED', undefined, 'The connection was cancelled.', ['the user cancelled (for instance at a credential or certificate prompt)'], ['nothing to fix']),
  c(0x0c, 'ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED', 'x224', 'Security negotiation failed: no security protocol both sides accept.', ['an RDP_NEG_FAILURE from the server other than SSL_CERT_NOT_ON_SERVER and HYBRID_REQUIRED_BY_SERVER, with no fallback left', 'the client limited to a protocol the server does not allow (/sec:...)'], ['run rdp-probe --enumerate to list the protocols the server accepts', 'allow the client to negotiate (drop /sec:...)'], ['xfreerdp exit 133 (XF_EXIT_NEGO_FAILURE)']),
  c(0x0d, 'ERRCONNECT_CONNECT_TRANSPORT_FAILED', undefined, 'The transport failed while the connection was being set up.', ['the server or a middlebox closed or reset the connection partway'], ['run rdp-probe to see at which stage the server closes the connection']),
  c(0x0e, 'ERRCONNECT_PASSWORD_EXPIRED', 'nla_auth', 'The password has expired and must be changed.', ['STATUS_PASSWORD_EXPIRED from the server'], ['change the password elsewhere first (NLA cannot change it)'], ['STATUS_PASSWORD_EXPIRED (0xC0000071)']),
  c(0x0f, 'ERRCONNECT_PASSWORD_CERTAINLY_EXPIRED', 'nla_auth', 'The password has most likely expired (the server dropped TLS during NLA without an NTSTATUS).', ['FreeRDP sets this when TLS fails in NLA mode and NLA recorded no error; an expired password is one common reason, not the only one'], ['try the account from another client; change the password if it expired', 'run rdp-probe --depth auth for the NTSTATUS']),
  c(0x10, 'ERRCONNECT_CLIENT_REVOKED', 'nla_auth', 'The client (its credentials or certificate) has been revoked.', ['a revoked account or smart card certificate'], ['check the account and certificate status']),
  c(0x11, 'ERRCONNECT_KDC_UNREACHABLE', 'nla_auth', 'The Kerberos KDC could not be reached.', ['no domain controller in reach of the client', 'DNS SRV records for Kerberos missing', 'port 88 blocked'], ['check that the client can reach a domain controller on port 88', 'or use NTLM (connect by IP)']),
  c(0x12, 'ERRCONNECT_ACCOUNT_DISABLED', 'nla_auth', 'The account is disabled.', ['STATUS_ACCOUNT_DISABLED from the server'], ['enable the account'], ['STATUS_ACCOUNT_DISABLED (0xC0000072)']),
  c(0x13, 'ERRCONNECT_PASSWORD_MUST_CHANGE', 'nla_auth', 'The password must be changed before logging on.', ['STATUS_PASSWORD_MUST_CHANGE from the server'], ['change the password first, or clear "User must change password at next logon"'], ['STATUS_PASSWORD_MUST_CHANGE (0xC0000224)']),
  c(0x14, 'ERRCONNECT_LOGON_FAILURE', 'nla_auth', 'The logon failed: unknown user name or bad password.', ['STATUS_LOGON_FAILURE from the server'], AUTH, ['STATUS_LOGON_FAILURE (0xC000006D)', 'xfreerdp exit 134 (XF_EXIT_LOGON_FAILURE)']),
  c(0x15, 'ERRCONNECT_WRONG_PASSWORD', 'nla_auth', 'The password is wrong.', ['STATUS_WRONG_PASSWORD from the server'], ['check the password and keyboard layout'], ['STATUS_WRONG_PASSWORD (0xC000006A)']),
  c(0x16, 'ERRCONNECT_ACCESS_DENIED', 'authz', 'Access was denied.', ['STATUS_ACCESS_DENIED from the server', 'AUTHZ_ACCESS_DENIED in the Early User Authorization Result (authenticated, but may not log on over RDP)'], ['grant "Allow log on through Remote Desktop Services" or add the account to Remote Desktop Users'], ['STATUS_ACCESS_DENIED (0xC0000022)']),
  c(0x17, 'ERRCONNECT_ACCOUNT_RESTRICTION', 'nla_auth', 'An account restriction stopped the logon.', ['STATUS_ACCOUNT_RESTRICTION from the server (blank password, Protected Users, workstation restriction)'], ['check the account restrictions'], ['STATUS_ACCOUNT_RESTRICTION (0xC000006E)']),
  c(0x18, 'ERRCONNECT_ACCOUNT_LOCKED_OUT', 'nla_auth', 'The account is locked out.', ['STATUS_ACCOUNT_LOCKED_OUT from the server'], ['unlock the account and find what keeps sending a wrong password'], ['STATUS_ACCOUNT_LOCKED_OUT (0xC0000234)', 'xfreerdp exit 135 (XF_EXIT_ACCOUNT_LOCKED_OUT)']),
  c(0x19, 'ERRCONNECT_ACCOUNT_EXPIRED', 'nla_auth', 'The account has expired.', ['STATUS_ACCOUNT_EXPIRED from the server'], ["extend the account's expiry date"], ['STATUS_ACCOUNT_EXPIRED (0xC0000193)']),
  c(0x1a, 'ERRCONNECT_LOGON_TYPE_NOT_GRANTED', 'nla_auth', 'The account is not granted the logon type needed for remote desktop.', ['STATUS_LOGON_TYPE_NOT_GRANTED from the server'], ['grant "Allow log on through Remote Desktop Services", check the Deny right'], ['STATUS_LOGON_TYPE_NOT_GRANTED (0xC000015B)']),
  c(0x1b, 'ERRCONNECT_NO_OR_MISSING_CREDENTIALS', 'nla_auth', 'The credentials are invalid or missing.', ['NLA needs credentials and none were given'], ['give /u: and /p: (or use a credential prompt)']),
  c(0x1c, 'ERRCONNECT_ACTIVATION_TIMEOUT', 'activation', 'The client timed out waiting for the connection to become active.', ['the server never finished activation (no Demand Active, or it stalled)'], ['run rdp-probe --depth session to see where activation stops']),
  c(0x1d, 'ERRCONNECT_TARGET_BOOTING', 'activation', 'The target virtual machine is starting (gateway/Azure resource manager answer).', ['the target is a virtual machine that is being started'], ['wait a few minutes and connect again']),
  c(0x1e, 'ERRCONNECT_HYBRID_REQUIRED_BY_SERVER', 'x224', 'The server requires Network Level Authentication, but the client does not have it enabled.', ['RDP_NEG_FAILURE HYBRID_REQUIRED_BY_SERVER with NLA turned off in the client'], ['enable NLA in the client (/sec:nla or drop -sec-nla)'], ['RDP_NEG_FAILURE 0x00000005']),
];

function xe(code: number, name: string, stage: Stage | undefined, meaning: string, related?: string[]): CodeEntry {
  const checks = related ? [`look up what the server sent: rdp-probe explain ${related[0]!.toLowerCase()}`] : ['run xfreerdp with /log-level:DEBUG to see the underlying error'];
  const causes = related ? [`the server sent ${related[0]} before disconnecting`] : [];
  const entry: CodeEntry = { table: 'xfreerdp-exit', code, name, stage, meaning, causes, checks };
  if (related) entry.related = related;
  return entry;
}

/** The connect error an exit code of 133–161 mirrors (xf_client.c xf_exit_code_map). */
function viaConnect(code: number, name: string, type: number): CodeEntry {
  const base = ERRCONNECT_CODES.find((e) => e.code === errconnectFullCode(type));
  if (!base) throw new Error(`no ERRCONNECT type ${type}`);
  return { ...base, table: 'xfreerdp-exit', code, name, related: [`${base.name} (0x${base.code.toString(16).toUpperCase().padStart(8, '0')})`] };
}

const FROM_ERRINFO = 'ERRINFO';

/**
 * enum XF_EXIT_CODE. After a session ends xfreerdp exits with the ERRINFO value the server sent, so 1–11 name the
 * protocol-independent ERRINFO codes; 16–26 stand for the licensing ERRINFO 0x100–0x10A and 32 for the RDP protocol
 * range; 128 and up are the client's own (132–161 one per connect error, through xf_exit_code_map; 146 is unused).
 */
export const XFREERDP_EXIT_CODES: readonly CodeEntry[] = [
  xe(0, 'XF_EXIT_SUCCESS', undefined, 'The session ended normally.'),
  xe(1, 'XF_EXIT_DISCONNECT', 'activation', 'An administrative tool on the server disconnected the session.', [`${FROM_ERRINFO} 0x00000001`]),
  xe(2, 'XF_EXIT_LOGOFF', 'activation', 'The session was logged off by an administrative tool (xfreerdp also uses 2 when the server sent 0x1 but its disconnect ultimatum says the user asked for it).', [`${FROM_ERRINFO} 0x00000002`]),
  xe(3, 'XF_EXIT_IDLE_TIMEOUT', 'activation', "The server's idle session limit ended the session.", [`${FROM_ERRINFO} 0x00000003`]),
  xe(4, 'XF_EXIT_LOGON_TIMEOUT', 'activation', "The server's active session limit ended the session.", [`${FROM_ERRINFO} 0x00000004`]),
  xe(5, 'XF_EXIT_CONN_REPLACED', 'activation', 'Another connection took over the session.', [`${FROM_ERRINFO} 0x00000005`]),
  xe(6, 'XF_EXIT_OUT_OF_MEMORY', 'activation', 'The server ran out of memory.', [`${FROM_ERRINFO} 0x00000006`]),
  xe(7, 'XF_EXIT_CONN_DENIED', 'activation', 'The server denied the connection.', [`${FROM_ERRINFO} 0x00000007`]),
  xe(8, 'XF_EXIT_CONN_DENIED_FIPS', 'activation', 'The server denied the connection for a FIPS reason (MS-RDPBCGR defines no ERRINFO 0x8; mstsc has exDiscReasonServerDeniedConnectionFips 8).'),
  xe(9, 'XF_EXIT_USER_PRIVILEGES', 'activation', 'The user lacks the privileges to connect.', [`${FROM_ERRINFO} 0x00000009`]),
  xe(10, 'XF_EXIT_FRESH_CREDENTIALS_REQUIRED', 'activation', 'The server wants freshly typed credentials.', [`${FROM_ERRINFO} 0x0000000A`]),
  xe(11, 'XF_EXIT_DISCONNECT_BY_USER', 'activation', 'The user disconnected from inside the session.', [`${FROM_ERRINFO} 0x0000000B`]),
  xe(16, 'XF_EXIT_LICENSE_INTERNAL', 'licensing', "The server's licensing component failed.", [`${FROM_ERRINFO} 0x00000100`]),
  xe(17, 'XF_EXIT_LICENSE_NO_LICENSE_SERVER', 'licensing', 'No license server was available.', [`${FROM_ERRINFO} 0x00000101`]),
  xe(18, 'XF_EXIT_LICENSE_NO_LICENSE', 'licensing', 'No client access license was available.', [`${FROM_ERRINFO} 0x00000102`]),
  xe(19, 'XF_EXIT_LICENSE_BAD_CLIENT_MSG', 'licensing', 'The server rejected a licensing message from the client.', [`${FROM_ERRINFO} 0x00000103`]),
  xe(20, 'XF_EXIT_LICENSE_HWID_DOESNT_MATCH', 'licensing', 'The stored license does not match this client.', [`${FROM_ERRINFO} 0x00000104`]),
  xe(21, 'XF_EXIT_LICENSE_BAD_CLIENT', 'licensing', 'The stored client license is malformed.', [`${FROM_ERRINFO} 0x00000105`]),
  xe(22, 'XF_EXIT_LICENSE_CANT_FINISH_PROTOCOL', 'licensing', 'Network problems ended the licensing exchange.', [`${FROM_ERRINFO} 0x00000106`]),
  xe(23, 'XF_EXIT_LICENSE_CLIENT_ENDED_PROTOCOL', 'licensing', 'The client ended the licensing exchange early.', [`${FROM_ERRINFO} 0x00000107`]),
  xe(24, 'XF_EXIT_LICENSE_BAD_CLIENT_ENCRYPTION', 'licensing', 'A licensing message was encrypted wrongly.', [`${FROM_ERRINFO} 0x00000108`]),
  xe(25, 'XF_EXIT_LICENSE_CANT_UPGRADE', 'licensing', 'The stored license could not be upgraded or renewed.', [`${FROM_ERRINFO} 0x00000109`]),
  xe(26, 'XF_EXIT_LICENSE_NO_REMOTE_CONNECTIONS', 'licensing', 'The server is not licensed for remote connections.', [`${FROM_ERRINFO} 0x0000010A`]),
  xe(32, 'XF_EXIT_RDP', undefined, 'The server reported an RDP protocol error (an ERRINFO in the 0x10C9 range); the xfreerdp log names it.'),
  xe(128, 'XF_EXIT_PARSE_ARGUMENTS', undefined, 'The command line could not be parsed.'),
  xe(129, 'XF_EXIT_MEMORY', undefined, 'The client ran out of memory.'),
  xe(130, 'XF_EXIT_PROTOCOL', undefined, 'A protocol error on the client side.'),
  xe(131, 'XF_EXIT_CONN_FAILED', undefined, 'The connection failed; xfreerdp uses this for any connect error it has no own exit code for.'),
  viaConnect(132, 'XF_EXIT_AUTH_FAILURE', 0x09),
  viaConnect(133, 'XF_EXIT_NEGO_FAILURE', 0x0c),
  viaConnect(134, 'XF_EXIT_LOGON_FAILURE', 0x14),
  viaConnect(135, 'XF_EXIT_ACCOUNT_LOCKED_OUT', 0x18),
  viaConnect(136, 'XF_EXIT_PRE_CONNECT_FAILED', 0x01),
  viaConnect(137, 'XF_EXIT_CONNECT_UNDEFINED', 0x02),
  viaConnect(138, 'XF_EXIT_POST_CONNECT_FAILED', 0x03),
  viaConnect(139, 'XF_EXIT_DNS_ERROR', 0x04),
  viaConnect(140, 'XF_EXIT_DNS_NAME_NOT_FOUND', 0x05),
  viaConnect(141, 'XF_EXIT_CONNECT_FAILED', 0x06),
  viaConnect(142, 'XF_EXIT_MCS_CONNECT_INITIAL_ERROR', 0x07),
  viaConnect(143, 'XF_EXIT_TLS_CONNECT_FAILED', 0x08),
  viaConnect(144, 'XF_EXIT_INSUFFICIENT_PRIVILEGES', 0x0a),
  viaConnect(145, 'XF_EXIT_CONNECT_CANCELLED', 0x0b),
  viaConnect(147, 'XF_EXIT_CONNECT_TRANSPORT_FAILED', 0x0d),
  viaConnect(148, 'XF_EXIT_CONNECT_PASSWORD_EXPIRED', 0x0e),
  viaConnect(149, 'XF_EXIT_CONNECT_PASSWORD_MUST_CHANGE', 0x13),
  viaConnect(150, 'XF_EXIT_CONNECT_KDC_UNREACHABLE', 0x11),
  viaConnect(151, 'XF_EXIT_CONNECT_ACCOUNT_DISABLED', 0x12),
  viaConnect(152, 'XF_EXIT_CONNECT_PASSWORD_CERTAINLY_EXPIRED', 0x0f),
  viaConnect(153, 'XF_EXIT_CONNECT_CLIENT_REVOKED', 0x10),
  viaConnect(154, 'XF_EXIT_CONNECT_WRONG_PASSWORD', 0x15),
  viaConnect(155, 'XF_EXIT_CONNECT_ACCESS_DENIED', 0x16),
  viaConnect(156, 'XF_EXIT_CONNECT_ACCOUNT_RESTRICTION', 0x17),
  viaConnect(157, 'XF_EXIT_CONNECT_ACCOUNT_EXPIRED', 0x19),
  viaConnect(158, 'XF_EXIT_CONNECT_LOGON_TYPE_NOT_GRANTED', 0x1a),
  viaConnect(159, 'XF_EXIT_CONNECT_NO_OR_MISSING_CREDENTIALS', 0x1b),
  viaConnect(160, 'XF_EXIT_CONNECT_TARGET_BOOTING', 0x1d),
  viaConnect(161, 'XF_EXIT_CONNECT_HYBRID_REQUIRED_BY_SERVER', 0x1e),
  xe(255, 'XF_EXIT_UNKNOWN', undefined, 'An error xfreerdp could not classify.'),
];

const CONNECT = indexTable(ERRCONNECT_CODES);
const EXIT = indexTable(XFREERDP_EXIT_CODES);

/** Accepts the full code (0x00020009) or the bare type (0x9), which FreeRDP's headers use. */
export function freerdpEntry(code: number): CodeEntry | undefined {
  const c = code >>> 0;
  return CONNECT.byCode.get(c) ?? (c > 0 && c <= 0xffff ? CONNECT.byCode.get(errconnectFullCode(c)) : undefined);
}

export function xfreerdpExitEntry(code: number): CodeEntry | undefined {
  return EXIT.byCode.get(code >>> 0);
}
