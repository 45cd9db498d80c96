/**
 * RDP_NEG_FAILURE failureCode, [MS-RDPBCGR] 2.2.1.2.2: the server's answer in the X.224 Connection Confirm when it
 * will not use any security protocol the client offered. Names come from src/protocol/nego.ts; sentences are ours.
 * FreeRDP's mapping (nego.c nego_failure_to_error) is given as `related`.
 */
import { NegFailureCode } from '../../protocol/nego.js';
import { indexTable, type CodeEntry } from './entry.js';

export const NEG_FAILURE_SECTION = 'MS-RDPBCGR 2.2.1.2.2';

const ERRCONNECT_NEGO = 'FreeRDP: ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED (0x0002000C) when no fallback is left';

function n(code: number, meaning: string, causes: string[], checks: string[], related: string[]): CodeEntry {
  const name = Object.entries(NegFailureCode).find(([, v]) => v === code)?.[0];
  if (!name) throw new Error(`no RDP_NEG_FAILURE name for ${code}`);
  return { table: 'neg-failure', code, name, stage: 'x224', meaning, causes, checks, related };
}

export const NEG_FAILURE_CODES: readonly CodeEntry[] = [
  n(NegFailureCode.SSL_REQUIRED_BY_SERVER, 'The server insists on TLS (or CredSSP over TLS) and the client offered only standard RDP security; if the client offered only CredSSP, the server does TLS without NLA.', [
    "server Security Layer set to SSL (TLS)",
    'the client offered PROTOCOL_RDP only (or HYBRID only to a server without NLA)',
  ], ['let the client offer TLS (FreeRDP /sec:tls, or allow negotiation)', 'rdp-probe --enumerate shows which protocols the server accepts'], [ERRCONNECT_NEGO]),
  n(NegFailureCode.SSL_NOT_ALLOWED_BY_SERVER, 'The server accepts only standard RDP security and supports no TLS or CredSSP.', [
    "server Security Layer set to RDP",
    'an old or minimal server without TLS support',
  ], ['let the client offer standard RDP security (FreeRDP /sec:rdp)', "or set the server's Security Layer to Negotiate or SSL (recommended)"], [ERRCONNECT_NEGO]),
  n(NegFailureCode.SSL_CERT_NOT_ON_SERVER, 'The server has no usable certificate, so it cannot start TLS or CredSSP.', [
    'the certificate configured for the RDP listener was deleted, expired or replaced',
    'the service cannot read the private key of the configured certificate',
  ], ["check the listener certificate (SSLCertificateSHA1Hash) and that NETWORK SERVICE can read its private key", 'remove the configured thumbprint to let the server generate a self-signed certificate again'], ['FreeRDP: ERRCONNECT_TLS_CONNECT_FAILED (0x00020008)']),
  n(NegFailureCode.INCONSISTENT_FLAGS, 'The protocols requested do not fit the security protocol already in effect (only possible with the direct approach, when TLS or CredSSP is already running).', [
    'a client that negotiates inside an already-established external security layer with different flags',
  ], ['update the client; capture the X.224 exchange'], [ERRCONNECT_NEGO]),
  n(NegFailureCode.HYBRID_REQUIRED_BY_SERVER, 'The server requires Network Level Authentication (CredSSP) and the client did not offer it.', [
    "'Require user authentication for remote connections by using Network Level Authentication' is on",
    'the client has NLA turned off, or offered TLS or RDP only',
  ], ['let the client offer CredSSP (FreeRDP /sec:nla, mstsc with CredSSP support)', 'or turn off the NLA requirement on the server (weaker)'], ['FreeRDP: ERRCONNECT_HYBRID_REQUIRED_BY_SERVER (0x0002001E)']),
  n(NegFailureCode.SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER, 'The server requires TLS with certificate-based client authentication.', [
    'a server configured to authenticate clients by certificate at the TLS layer',
  ], ['use a client that presents a client certificate in TLS', 'check the server security configuration'], [ERRCONNECT_NEGO]),
];

const INDEX = indexTable(NEG_FAILURE_CODES);

export function negFailureEntry(code: number): CodeEntry | undefined {
  return INDEX.byCode.get(code >>> 0);
}
