/**
 * The two numbers mstsc shows when a connection ends: "error code" = the discReason of IMsTscAxEvents::OnDisconnected,
 * "extended error code" = ExtendedDisconnectReasonCode. Values and names from learn.microsoft.com
 * (windows/win32/termserv/imstscaxevents-ondisconnected and .../extendeddisconnectreasoncode); the sentences are ours.
 */
import type { Stage } from '../types.js';
import { indexTable, type CodeEntry, type MstscPair } from './entry.js';

export const DISCONNECT_REASON_BY_SERVER = 0x3;
export const EXTENDED_PROTOCOL_RANGE_START = 4096;
export const EXTENDED_PROTOCOL_RANGE_END = 32767;

const NET_CHECKS = ['check that the name resolves and the port answers from this client (rdp-probe HOST shows the stage)', 'check firewalls and proxies on the path'];
const LOCAL = ['nothing on the server: this is the client side'];

function d(code: number, name: string, stage: Stage | undefined, meaning: string, causes: string[], checks: string[]): CodeEntry {
  return { table: 'mstsc-disconnect', code, name, stage, meaning, causes, checks };
}

/** IMsTscAxEvents::OnDisconnected discReason, every value the page lists (47). */
export const MSTSC_DISCONNECT_REASONS: readonly CodeEntry[] = [
  d(0x0, 'disconnectReasonNoInfo', undefined, 'The client has no information about why the connection ended.', ['the reason was not recorded'], ['look at the extended error code and the server event logs']),
  d(0x1, 'disconnectReasonLocalNotError', undefined, 'The connection was closed on the client side; this is not an error.', ['the user closed the window or chose Disconnect'], LOCAL),
  d(0x2, 'disconnectReasonRemoteByUser', 'activation', 'The user ended the connection from inside the remote session; this is not an error.', ['the user chose Disconnect or logged off in the session'], ['nothing to fix']),
  d(0x3, 'disconnectReasonByServer', 'activation', 'The server ended the connection; the extended error code says why.', ['the server sent a Set Error Info PDU and then disconnected', 'an administrator or a policy ended the session'], ['read the extended error code: it is the ERRINFO value the server sent (rdp-probe explain 0x3 EXTENDED)']),
  d(0x104, 'disconnectReasonDNSLookupFailed', 'dns', 'The computer name could not be resolved.', ['typo in the name', 'the DNS server does not know the name', 'VPN or split DNS not in effect'], ['resolve the name from the client (nslookup, getent hosts)', 'try the IP address']),
  d(0x106, 'disconnectReasonOutOfMemory', undefined, 'The client ran out of memory.', ['low memory on the client'], LOCAL),
  d(0x108, 'disconnectReasonConnectionTimedOut', 'tcp', 'The connection attempt timed out.', ['the host is down or unreachable', 'a firewall drops packets to port 3389', 'wrong port'], NET_CHECKS),
  d(0x204, 'disconnectReasonSocketConnectFailed', 'tcp', 'The TCP connection could not be opened.', ['nothing listens on the port (Remote Desktop disabled, service stopped)', 'a firewall rejects the connection', 'wrong port'], ['check that Remote Desktop is enabled and TermService runs', ...NET_CHECKS]),
  d(0x206, 'disconnectReasonOutOfMemory2', undefined, 'The client ran out of memory.', ['low memory on the client'], LOCAL),
  d(0x208, 'disconnectReasonHostNotFound', 'dns', 'The host could not be found.', ['the name does not resolve', 'the name resolves to an address that does not exist'], ['resolve the name from the client', 'try the IP address']),
  d(0x304, 'disconnectReasonWinsockSendFailed', 'tcp', 'Sending data on the socket failed.', ['the connection was reset by the server or a middlebox', 'network drop'], NET_CHECKS),
  d(0x306, 'disconnectReasonOutOfMemory3', undefined, 'The client ran out of memory.', ['low memory on the client'], LOCAL),
  d(0x308, 'disconnectReasonInvalidIPAddr', 'dns', 'The IP address given is not valid.', ['malformed address in the connection settings'], ['check the address typed or in the .rdp file']),
  d(0x404, 'disconnectReasonSocketRecvFailed', 'tcp', 'Receiving data on the socket failed.', ['the server or a middlebox reset the connection', 'network drop'], NET_CHECKS),
  d(0x406, 'disconnectReasonInvalidSecurityData', 'security', 'The security data in the connection is not valid.', ['a damaged or unexpected security exchange', 'a middlebox altering the stream'], ['try again; capture the connection and run rdp-probe on the server']),
  d(0x408, 'disconnectReasonInternalError', undefined, 'The client hit an internal error.', ['a client bug or a damaged client installation'], ['update the client; try another client to see whether the server is at fault']),
  d(0x506, 'disconnectReasonInvalidEncryption', 'security', 'The encryption method is not valid.', ['client and server share no standard RDP encryption method', 'FIPS policy on one side only'], ['compare the server encryption level (rdp-probe --enumerate lists accepted methods) with the client FIPS setting']),
  d(0x508, 'disconnectReasonDNSLookupFailed2', 'dns', 'The DNS lookup failed.', ['the name does not resolve'], ['resolve the name from the client']),
  d(0x604, 'disconnectReasonGetHostByNameFailed', 'dns', 'Looking up the host name with the Windows Sockets resolver failed.', ['the name does not resolve'], ['resolve the name from the client']),
  d(0x606, 'disconnectReasonInvalidServerSecurityInfo', 'security', 'The security data the server sent is not valid.', ['a damaged server certificate or server security data', 'a middlebox altering the stream'], ['run rdp-probe against the server and look at the mcs and security stages']),
  d(0x608, 'disconnectReasonTimerError', undefined, 'An internal timer failed in the client.', ['a client-side fault'], LOCAL),
  d(0x704, 'disconnectReasonTimeoutOccurred', undefined, 'A time-out occurred.', ['the server stopped answering partway through the connection'], ['run rdp-probe to see which stage stops answering']),
  d(0x706, 'disconnectReasonServerCertificateUnpackErr', 'security', 'The client could not unpack the server certificate.', ['a damaged proprietary or X.509 server certificate in the server security data'], ['regenerate the server certificate (for standard RDP security the key pair is in the registry)', 'check the security stage with rdp-probe']),
  d(0x804, 'disconnectReasonInvalidIP', 'dns', 'A bad IP address was given.', ['malformed address'], ['check the address typed or in the .rdp file']),
  d(0x808, 'disconnectReasonLicensingFailed', 'licensing', 'The license negotiation failed.', ['no license server or no CALs', "a damaged license stored on the client"], ['see the licensing stage with rdp-probe', "delete the client's stored license (MSLicensing) and retry"]),
  d(0x904, 'disconnectReasonAtClientWinsockFDCLOSE', undefined, 'The socket was closed (the other end or the network closed it).', ['the server closed the connection at some stage (security layer mismatch, TLS failure, listener problem)', 'a firewall or proxy cut the connection'], ['run rdp-probe to see at which stage the server closes the connection']),
  d(0x906, 'disconnectReasonInternalSecurityError', undefined, 'An internal security error occurred.', ['a security-layer failure (TLS, CredSSP or standard RDP security)'], ['run rdp-probe to see which stage fails']),
  d(0x908, 'disconnectReasonLicensingTimeout', 'licensing', 'The licensing exchange timed out.', ['the license server did not answer the session host in time', 'network problems during licensing'], ['check the session host can reach its license server', 'see the licensing stage with rdp-probe']),
  d(0xa06, 'disconnectReasonInternalSecurityError2', undefined, 'An internal security error occurred.', ['a security-layer failure (TLS, CredSSP or standard RDP security)'], ['run rdp-probe to see which stage fails']),
  d(0xb06, 'disconnectReasonEncryptionError', 'security', 'Encrypting data failed.', ['standard RDP security key or state problem'], ['prefer TLS or NLA over standard RDP security']),
  d(0xc06, 'disconnectReasonDecryptionError', 'security', 'Decrypting data from the server failed.', ['standard RDP security keys out of step', 'a middlebox altering encrypted traffic'], ['prefer TLS or NLA over standard RDP security', 'check for devices modifying the traffic']),
  d(0xc08, 'disconnectReasonClientDecompressionError', 'activation', 'Decompressing data from the server failed.', ['a bulk-compression mismatch or client bug'], ['turn off compression in the client; update the client']),
  d(0x807, 'SSL_ERR_LOGON_FAILURE', 'nla_auth', 'The logon failed: wrong user name or password.', ['wrong password', 'wrong user name or domain'], ['check the user name (DOMAIN\\user or user@domain) and the password']),
  d(0xa07, 'SSL_ERR_NO_SUCH_USER', 'nla_auth', 'The user name has no account.', ['typo in the user name', 'wrong domain'], ['check the user name and the domain']),
  d(0xb07, 'SSL_ERR_ACCOUNT_DISABLED', 'nla_auth', 'The account is disabled.', ['the account was disabled'], ['enable the account']),
  d(0xc07, 'SSL_ERR_ACCOUNT_RESTRICTION', 'nla_auth', 'An account restriction stops the logon.', ['blank password not allowed remotely', 'logon workstations restriction', 'Protected Users group (no NTLM)'], ['check the account restrictions and the Protected Users group']),
  d(0xd07, 'SSL_ERR_ACCOUNT_LOCKED_OUT', 'nla_auth', 'The account is locked out.', ['too many wrong passwords (possibly from a stale saved password elsewhere)'], ['unlock the account and find the source of the bad passwords']),
  d(0xe07, 'SSL_ERR_ACCOUNT_EXPIRED', 'nla_auth', 'The account has expired.', ['the account expiry date passed'], ["extend the account's expiry date"]),
  d(0xf07, 'SSL_ERR_PASSWORD_EXPIRED', 'nla_auth', 'The password has expired.', ['password age limit reached'], ['change the password (NLA cannot do it: change it elsewhere first)']),
  d(0x1207, 'SSL_ERR_PASSWORD_MUST_CHANGE', 'nla_auth', 'The password must be changed before the first logon.', ['"User must change password at next logon" is set'], ['change the password first, or clear the flag']),
  d(0x1607, 'SSL_ERR_DELEGATION_POLICY', 'credssp', 'Policy does not allow delegating credentials to this server.', ['client "Allow delegating ..." policies do not cover the server name', 'Restricted Admin or Remote Credential Guard requirements'], ['check the client policies under Credentials Delegation for TERMSRV/<server>']),
  d(0x1707, 'SSL_ERR_POLICY_NTLM_ONLY', 'credssp', 'Credentials may not be delegated without mutual authentication, and only NTLM was possible.', ['Kerberos unavailable (connecting by IP, no domain controller in reach) so the server was not authenticated', 'delegation policy that excludes NTLM-only servers'], ['connect by the server\'s DNS name with a domain controller in reach, or allow NTLM-only delegation for this server']),
  d(0x1807, 'SSL_ERR_NO_AUTHENTICATING_AUTHORITY', 'nla_auth', 'No authority could be reached to check the credentials.', ['wrong domain name', 'domain controller unreachable', 'broken trust'], ['check the domain part of the user name and domain controller reachability']),
  d(0x1b07, 'SSL_ERR_CERT_EXPIRED', 'tls', 'The certificate received has expired.', ['expired server (or smart card) certificate'], ['renew the certificate (rdp-probe shows the server certificate dates)']),
  d(0x1c07, 'SSL_ERR_SMARTCARD_WRONG_PIN', 'nla_auth', 'A wrong PIN was given to the smart card.', ['wrong PIN'], ['retry with the right PIN; too many attempts block the card']),
  d(0x2107, 'SSL_ERR_FRESH_CRED_REQUIRED_BY_SERVER', 'nla_auth', 'The server does not accept saved credentials; new ones must be typed.', ['server policy "Always prompt for password upon connection"'], ['type the password when asked']),
  d(0x2207, 'SSL_ERR_SMARTCARD_CARD_BLOCKED', 'nla_auth', 'The smart card is blocked.', ['too many wrong PINs'], ['unblock the card with its PUK or the issuing authority']),
];

function x(code: number, name: string, stage: Stage | undefined, meaning: string, causes: string[], checks: string[]): CodeEntry {
  return { table: 'mstsc-extended', code, name, stage, meaning, causes, checks };
}

const ERRINFO_HINT = 'the same value is the ERRINFO the server sent: rdp-probe explain errinfo VALUE';

/** ExtendedDisconnectReasonCode, every member of the enumeration (28). */
export const MSTSC_EXTENDED_REASONS: readonly CodeEntry[] = [
  x(0, 'exDiscReasonNoInfo', undefined, 'No extended information is available.', ['the server gave no reason (no Set Error Info PDU), or the client closed the connection'], ['look at the error code (disconnectReason) instead']),
  x(1, 'exDiscReasonAPIInitiatedDisconnect', 'activation', 'An application disconnected the session.', ['an administrative tool on the server disconnected it'], [ERRINFO_HINT]),
  x(2, 'exDiscReasonAPIInitiatedLogoff', 'activation', 'An application logged the session off.', ['an administrative tool on the server logged it off'], [ERRINFO_HINT]),
  x(3, 'exDiscReasonServerIdleTimeout', 'activation', 'The server disconnected the idle session after its idle limit.', ['idle session time limit'], ['check the Session Time Limits policies']),
  x(4, 'exDiscReasonServerLogonTimeout', 'activation', 'The server disconnected the session after its connection time limit.', ['active session time limit'], ['check the Session Time Limits policies']),
  x(5, 'exDiscReasonReplacedByOtherConnection', 'activation', 'Another connection replaced this one.', ['the same user connected from elsewhere'], ['look for another client using the same account']),
  x(6, 'exDiscReasonOutOfMemory', 'activation', 'The server had no memory left.', ['memory exhaustion on the server'], ['check memory use on the server']),
  x(7, 'exDiscReasonServerDeniedConnection', 'activation', 'The server denied the connection.', ['the server sent ERRINFO_SERVER_DENIED_CONNECTION (0x7) after the security layer and NLA had passed'], [ERRINFO_HINT]),
  x(8, 'exDiscReasonServerDeniedConnectionFips', 'activation', 'The server denied the connection for security reasons (FIPS).', ['FIPS-compliant encryption required on one side and not available on the other'], ['compare the FIPS policy ("System cryptography: Use FIPS compliant algorithms") on client and server']),
  x(9, 'exDiscReasonServerInsufficientPrivileges', 'activation', 'The server denied the connection: the user lacks the privileges to connect.', ['the account may not log on through Remote Desktop Services'], [ERRINFO_HINT]),
  x(10, 'exDiscReasonServerFreshCredsRequired', 'activation', 'The server needs freshly typed credentials.', ['server policy refuses saved credentials'], ['type the password when asked']),
  x(11, 'exDiscReasonRpcInitiatedDisconnectByUser', 'activation', 'Activity in the user\'s session started the disconnect.', ['the user disconnected from inside the session'], ['nothing to fix']),
  x(12, 'exDiscReasonLogoffByUser', 'activation', 'The user logged off, ending the session.', ['the user signed out'], ['nothing to fix']),
  x(256, 'exDiscReasonLicenseInternal', 'licensing', 'An internal licensing error occurred.', ['licensing component fault on the server'], [ERRINFO_HINT]),
  x(257, 'exDiscReasonLicenseNoLicenseServer', 'licensing', 'No license server was available.', ['license server not configured or unreachable'], [ERRINFO_HINT]),
  x(258, 'exDiscReasonLicenseNoLicense', 'licensing', 'No valid license was available.', ['no CALs left'], [ERRINFO_HINT]),
  x(259, 'exDiscReasonLicenseErrClientMsg', 'licensing', 'The server received a licensing message that was not valid.', ['client licensing bug or a damaged stored license'], [ERRINFO_HINT]),
  x(260, 'exDiscReasonLicenseHwidDoesntMatchLicense', 'licensing', 'The hardware ID does not match the one in the stored license.', ['stored license copied or modified'], [ERRINFO_HINT]),
  x(261, 'exDiscReasonLicenseErrClientLicense', 'licensing', 'The client license is in error.', ['damaged stored license'], [ERRINFO_HINT]),
  x(262, 'exDiscReasonLicenseCantFinishProtocol', 'licensing', 'Network problems interrupted the licensing protocol.', ['connection problems during licensing'], [ERRINFO_HINT]),
  x(263, 'exDiscReasonLicenseClientEndedProtocol', 'licensing', 'The client ended the licensing protocol early.', ['client gave up during licensing'], [ERRINFO_HINT]),
  x(264, 'exDiscReasonLicenseErrClientEncryption', 'licensing', 'A licensing message was encrypted wrongly.', ['client licensing bug'], [ERRINFO_HINT]),
  x(265, 'exDiscReasonLicenseCantUpgradeLicense', 'licensing', "The client's access license could not be upgraded or renewed.", ['renewal failed (license server, CAL version, license store not writable)'], [ERRINFO_HINT]),
  x(266, 'exDiscReasonLicenseNoRemoteConnections', 'licensing', 'The server is not licensed to accept remote connections.', ['licensing grace period over, or no licensing configured'], [ERRINFO_HINT]),
  x(267, 'exDiscReasonLicenseCreatingLicStoreAccDenied', 'licensing', 'Access was denied while creating the registry key for the client license store.', ['the client may not write HKLM\\SOFTWARE\\Microsoft\\MSLicensing (non-elevated user, first use)'], ['run the client once as administrator so it can create the store, or grant write access to the MSLicensing key']),
  x(768, 'exDiscReasonRdpEncInvalidCredentials', undefined, 'Invalid credentials were found.', ['credentials sent with the connection were not accepted'], ['check the user name and password saved for this connection']),
  x(4096, 'exDiscReasonProtocolRangeStart', undefined, 'Start of the range of internal protocol errors (4096 to 32767).', ['the server rejected something in the RDP stream'], ['the value is an ERRINFO protocol code: rdp-probe explain errinfo VALUE', 'check the server event log for details']),
  x(32767, 'exDiscReasonProtocolRangeEnd', undefined, 'End of the range of internal protocol errors (4096 to 32767).', ['the server rejected something in the RDP stream'], ['the value is an ERRINFO protocol code: rdp-probe explain errinfo VALUE', 'check the server event log for details']),
];

const DISC = indexTable(MSTSC_DISCONNECT_REASONS);
const EXT = indexTable(MSTSC_EXTENDED_REASONS);

export function mstscDisconnectEntry(code: number): CodeEntry | undefined {
  return DISC.byCode.get(code);
}

/**
 * A member of the enumeration, or, for a value inside 4096–32767 that the enumeration does not name, an entry for
 * the protocol range (the enumeration names only its ends).
 */
export function mstscExtendedEntry(code: number): CodeEntry | undefined {
  const named = EXT.byCode.get(code);
  if (named) return named;
  if (code > EXTENDED_PROTOCOL_RANGE_START && code < EXTENDED_PROTOCOL_RANGE_END) {
    return {
      ...MSTSC_EXTENDED_REASONS.find((e) => e.code === EXTENDED_PROTOCOL_RANGE_START)!,
      code,
      name: 'exDiscReasonProtocolRange',
      meaning: 'An internal protocol error, in the range 4096 to 32767 the enumeration reserves for them.',
    };
  }
  return undefined;
}

/**
 * The pair mstsc shows for an ERRINFO the server sent: disconnect reason 0x3 (by server) and, as extended code, the
 * same value, where ExtendedDisconnectReasonCode has it (1–12, 256–267, 768 or the protocol range 4096–32767).
 * This rests on the two documented tables using the same numbers (ERRINFO 0x7 = exDiscReasonServerDeniedConnection 7,
 * 0x100 = exDiscReasonLicenseInternal 256 …); no page states the pass-through in words. Undefined for ERRINFO values
 * the enumeration does not cover (0x0F–0x1A, the broker range 0x400+), where the pair is not documented.
 */
export function mstscPairFor(errinfo: number): MstscPair | undefined {
  if (errinfo === 0) return undefined;
  const covered = EXT.byCode.has(errinfo) || (errinfo >= EXTENDED_PROTOCOL_RANGE_START && errinfo <= EXTENDED_PROTOCOL_RANGE_END);
  return covered ? { disconnectReason: DISCONNECT_REASON_BY_SERVER, extendedReason: errinfo } : undefined;
}
