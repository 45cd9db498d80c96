/** The verdict: a pure function of the stage results. One sentence and the usual fixes. */
import { NegFailureCode } from '../protocol/nego.js';
import { errinfoEntry } from './codes/errinfo.js';
import { mstscDisconnectEntry, mstscPairFor } from './codes/mstsc.js';
import { formatStatus } from '../protocol/ntstatus.js';
import type { Enumeration, Stage, StageError, StageResult, Verdict, VerdictId } from './types.js';

const NEG_FIXES: Record<number, string[]> = {
  [NegFailureCode.SSL_REQUIRED_BY_SERVER]: [
    'use a client that offers TLS (mstsc and FreeRDP do by default; FreeRDP: drop /sec:rdp)',
    'or, on the server, allow standard RDP security (Windows: Security Layer "Negotiate"/"RDP"; xrdp: security_layer=negotiate) if you must support old clients',
  ],
  [NegFailureCode.SSL_NOT_ALLOWED_BY_SERVER]: [
    'the server is set to standard RDP security only: set its Security Layer to "Negotiate" or "SSL (TLS 1.0)" (Windows: gpedit Remote Desktop Session Host > Security; xrdp: security_layer=negotiate or tls)',
    'or let the client fall back to standard RDP security (FreeRDP: /sec:rdp), which is weak',
  ],
  [NegFailureCode.SSL_CERT_NOT_ON_SERVER]: [
    'give the RDP listener a usable certificate (Windows: check the certificate thumbprint bound to the RDP-Tcp listener and its private key permissions for NETWORK SERVICE; xrdp: certificate= and key_file= with absolute, readable paths)',
  ],
  [NegFailureCode.INCONSISTENT_FLAGS]: ['the client sent protocol flags the server finds inconsistent: offer TLS together with CredSSP (e.g. SSL|HYBRID) and retry'],
  [NegFailureCode.HYBRID_REQUIRED_BY_SERVER]: [
    'the server requires Network Level Authentication: use a client with NLA/CredSSP enabled (mstsc: default; FreeRDP: /sec:nla or default) and valid credentials',
    'or, if NLA cannot work for these clients, untick "Allow connections only from computers running Remote Desktop with Network Level Authentication" on the server',
  ],
  [NegFailureCode.SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER]: ['the server requires TLS with a client certificate: configure the client certificate, or relax the server policy'],
};

/** Not the server's doing: our own bug, this machine, or the caller stopping us. */
function notTheServer(e: StageError | undefined, stage: Stage | undefined): Verdict | undefined {
  if (!e) return undefined;
  const at = stage ? { stage } : {};
  if (e.layer === 'internal')
    return { id: 'internal_error', ...at, summary: `rdp-probe hit an internal error: ${e.message}`, fixes: ['this is a bug in rdp-probe, not a finding about the server: please report it with the --json output'] };
  if (e.layer === 'local')
    return { id: 'local_failure', ...at, summary: `this machine could not run the probe: ${e.message}`, fixes: ['nothing is known about the target: fix the local limit (e.g. ulimit -n, fewer concurrent probes, a writable path) and probe again'] };
  if (e.kind === 'cancelled') return { id: 'cancelled', ...at, summary: e.message, fixes: [] };
  return undefined;
}

/**
 * The verdict from the stage results. `aborted` is a failure of ours or of this machine that came after every
 * stage had run (e.g. in enumeration): it wins over whatever the stages say, so such a report never reads ok.
 */
export function computeVerdict(stages: StageResult[], enumeration?: Enumeration, aborted?: StageError): Verdict {
  const v = verdictOf(stages, enumeration, aborted);
  const failed = v.stage ? stages.find((s) => s.stage === v.stage && s.status === 'failed') : undefined;
  if (!v.mstsc && failed) {
    const m = mstscFor(v, failed);
    if (m) v.mstsc = m;
  }
  return v;
}

/**
 * The "error code" mstsc shows for a failure this probe names, where the client's tables make it plain: the
 * SSL_ERR_* codes for an NTSTATUS the server returned during NLA, the socket codes for dns and tcp, licensing.
 * (Session refusals carry their Set Error Info pair already.) Undefined where the mapping is not known.
 */
function mstscFor(v: Verdict, failed: StageResult): Verdict['mstsc'] {
  const e = failed.error;
  const one = (code: number): Verdict['mstsc'] => {
    const entry = mstscDisconnectEntry(code);
    return entry ? { disconnectReason: code, extendedReason: 0, text: `mstsc: "error code 0x${code.toString(16)}" (${entry.name})` } : undefined;
  };
  if (v.id === 'dns_failure') return one(0x104);
  if (v.id === 'port_closed' || v.id === 'unreachable') return one(0x204);
  if (v.id === 'filtered') return one(0x108);
  if (failed.stage === 'nla_auth' && e?.kind === 'error_code' && e.code !== undefined) {
    const byStatus: Record<number, number> = {
      0xc000006d: 0x807, 0xc000006a: 0x807, 0xc0000064: 0xa07, 0xc0000072: 0xb07, 0xc000006e: 0xc07, 0xc0000234: 0xd07,
      0xc0000193: 0xe07, 0xc0000071: 0xf07, 0xc0000224: 0x1207,
    };
    const code = byStatus[e.code >>> 0];
    if (code !== undefined) return one(code);
  }
  if (v.id === 'license_failure') return one(0x808);
  return undefined;
}

function verdictOf(stages: StageResult[], enumeration?: Enumeration, aborted?: StageError): Verdict {
  if (aborted) {
    const last = [...stages].reverse().find((s) => s.status === 'ok' || s.status === 'failed');
    const v = notTheServer(aborted, last?.stage);
    if (v) return v;
  }
  const failed = stages.find((s) => s.status === 'failed');
  if (!failed) return okVerdict(stages, enumeration);
  const e = failed.error;
  const kind = e?.kind ?? 'unknown';
  const mk = (id: VerdictId, summary: string, fixes: string[]): Verdict => ({ id, stage: failed.stage, summary, fixes });
  const ours = notTheServer(e ?? { layer: 'internal', kind: 'no_error', message: `the ${failed.stage} stage failed without saying why` }, failed.stage);
  if (ours) return ours;
  if (kind === 'target_deadline') return mk('timeout', e?.message ?? `the target deadline passed during ${failed.stage}`, ['raise --target-timeout, or look at why this stage is slow']);
  const timeoutFixes = ['the server started this stage and then stopped answering: look at the server side (overload, a hung logon service, a domain controller it cannot reach); raise --timeout if it is only slow'];
  switch (failed.stage) {
    case 'dns':
      return mk('dns_failure', `the name could not be resolved: ${e?.message ?? kind}`, [
        'check the spelling of the host name and the DNS suffix',
        'check that this machine uses the right DNS server (e.g. the VPN or internal resolver that knows the name)',
      ]);
    case 'tcp':
      if (kind === 'refused')
        return mk('port_closed', `the port is closed: ${e?.message}`, [
          'check that Remote Desktop is enabled on the host and listening on this port (Windows: the TermService service; netstat -an | findstr 3389)',
          'check the port number: a non-default RDP port is set in HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp\\PortNumber',
          'a host firewall that rejects (rather than drops) also looks like this',
        ]);
      if (kind === 'connect_timeout' || kind === 'timeout')
        return mk('filtered', `no answer to the TCP handshake: the port is filtered, or the host is down (${e?.message})`, [
          'check firewalls on the path and on the host (Windows Defender Firewall rule "Remote Desktop - User Mode (TCP-In)", network security groups, VPN split tunnels)',
          'check that the host is up and that this is its current address',
        ]);
      if (kind === 'host_unreachable' || kind === 'network_unreachable' || kind === 'address_not_available')
        return mk('unreachable', `the host cannot be reached: ${e?.message}`, [
          'check routing and VPN connectivity to the host\'s network',
          'an ICMP admin-prohibited answer means a firewall on the path rejects the connection',
        ]);
      if (kind === 'reset')
        return mk('connection_dropped', `the TCP connection was reset: ${e?.message}`, ['something on the path or the host resets connections to this port (a firewall, a load balancer without a backend, a service at its connection limit)']);
      return mk('network_error', `the TCP connection failed with an error this tool does not name: ${e?.message}`, ['retry; check the network path and the error code in the report']);
    case 'x224':
      switch (kind) {
        case 'timeout':
          return mk('no_answer', `${e?.message}: the service is hung, overloaded, or not an RDP server`, [
            'on Windows: restart the Remote Desktop Services (TermService) service; check the event log for TermService/RemoteDesktopServices-RdpCoreTS errors',
            'check that the port belongs to RDP and not to another service that waits for the client to speak in its own protocol',
          ]);
        case 'closed_after_request':
        case 'reset_after_request':
        case 'reset_after_accept':
        case 'disconnect_request':
        case 'unexpected_pdu':
          return mk('connection_dropped', `${e?.message}`, [
            'the listener refuses this client: check connection limits (max connections, licensing mode), IP restrictions, and whether RDP is really enabled',
            'a proxy or load balancer in front of RDP that cannot reach its backend also looks like this',
          ]);
        case 'truncated_answer':
          // Part of a frame, then the deadline (layer transport): a server too slow or stalled, not a bad answer.
          if (e?.layer === 'transport') return mk('timeout', `${e.message}: the server began its answer but did not finish it in time`, timeoutFixes);
          return mk('protocol_error', `the X.224 answer is not valid RDP: ${e?.message}`, [
            'a device in the path (proxy, IPS, TLS inspection) may be rewriting the connection, or the service is not RDP',
          ]);
        case 'not_rdp':
          return mk('not_rdp', `the service on this port is not RDP: ${e?.message}`, ['check the port number: another service answers on it']);
        case 'negotiation_failure': {
          const code = e?.code ?? -1;
          return mk('negotiation_failure', `the server refused the security negotiation with ${e?.codeName}: ${e?.message}`, NEG_FIXES[code] ?? ['check the security layer settings of client and server']);
        }
        default:
          return mk('protocol_error', `the X.224 answer is not valid RDP: ${e?.message}`, [
            'a device in the path (proxy, IPS, TLS inspection) may be rewriting the connection, or the service is not RDP',
          ]);
      }
    case 'tls':
      if (kind === 'untrusted_certificate')
        return mk('untrusted_certificate', 'the server certificate is not the one expected: nothing more was sent', [
          'compare the fingerprint with the one on the server (Windows: the thumbprint of the certificate bound to RDP-Tcp): if the server was re-issued a certificate, update --pin or the --known-hosts entry; if not, someone may be in the middle',
        ]);
      if (kind === 'server_tls_setup_failure')
        return mk('tls_server_setup_failure', `${e?.message}`, [
          'fix the server certificate and key: both files present and readable, the key matching the certificate, RSA >= 2048 bits and a SHA-256 signature (xrdp: certificate=/key_file= in xrdp.ini; Windows: the certificate bound to RDP-Tcp)',
        ]);
      if (kind === 'tls_version_mismatch')
        return mk('tls_version_mismatch', `${e?.message}`, [
          'enable TLS 1.2 on the server (Windows: SCHANNEL protocols registry keys / KB3080079 for 2008 R2; xrdp: ssl_protocols=TLSv1.2, TLSv1.3)',
          'as a stopgap, allow old TLS versions on the client (rdp-probe --legacy-tls; FreeRDP /tls-seclevel:0)',
        ]);
      if (kind === 'tls_message_too_large')
        return mk('tls_failure', `${e?.message}`, ['install a certificate of ordinary size (a few KiB): fewer subjectAltNames, no large extensions, no long chain sent with it']);
      if (kind === 'tls_bad_signature')
        return mk('tls_failure', `${e?.message}`, ['install the private key that belongs to the certificate (or a certificate that matches the key) on the server']);
      if (kind === 'client_closed_after_handshake' || kind === 'client_closed_handshake' || kind === 'client_alert')
        return mk('tls_failure', `${e?.message}`, [
          'check the server certificate against what the client trusts: name, expiry, issuer (rdp-probe check shows them as findings)',
          'on the client, trust or pin the server certificate (FreeRDP: /cert:tofu or known_hosts; mstsc: install the issuing CA)',
        ]);
      if (kind === 'tls_reset' || kind === 'tls_closed')
        return mk('tls_failure', `${e?.message}`, [
          'on Windows, re-create the RDP listener certificate binding (delete the self-signed certificate in the "Remote Desktop" store and restart TermService) and check the SSLCertificateSHA1Hash value',
          'check TLS inspection devices on the path',
        ]);
      return mk('tls_failure', `the TLS handshake failed: ${e?.message}`, [
        'compare TLS versions and cipher suites enabled on both sides (Windows: SCHANNEL settings, IIS Crypto; xrdp: ssl_protocols, tls_ciphers)',
      ]);
    case 'credssp':
      if (kind === 'timeout') return mk('timeout', `the server did not answer the NTLM NEGOTIATE in time (${e?.message})`, timeoutFixes);
      if (kind === 'error_code')
        return mk('nla_failure', `CredSSP (NLA) failed before authentication: ${e?.message}`, ['see the NTSTATUS named above; on Windows check the System and Security event logs of the server']);
      return mk('nla_failure', `NLA is selected but CredSSP did not start: ${e?.message}`, [
        'on Windows: check that the CredSSP security package is enabled and the server certificate has a usable private key; a TLS inspection device can also break CredSSP',
      ]);
    case 'nla_auth':
      if (kind === 'untrusted_certificate')
        return mk('untrusted_certificate', 'credentials were not sent: the server certificate is not trusted', ['verify the certificate fingerprint out of band, then pin it (--pin) or trust its CA (--ca)']);
      if (kind === 'pubkeyauth_mismatch')
        return mk('possible_mitm', "the server's proof of the TLS key (pubKeyAuth) does not verify: something between us may be terminating TLS", [
          'compare the certificate fingerprint here with the one on the server; if they differ, a TLS-intercepting device or an attacker sits in the path',
          'do not send credentials over this path until that is explained',
        ]);
      if (kind === 'timeout') return mk('timeout', 'the server did not answer the credentials in time: nothing says they were wrong', timeoutFixes);
      if (kind === 'tls_error') return mk('tls_failure', 'the TLS session broke during the credential check: this is not an answer to the credentials', ['check for a device in the path that tampers with TLS; retry']);
      if (kind === 'malformed_tsrequest' || kind === 'not_tsrequest' || kind === 'no_pubkeyauth' || kind === 'unsupported_challenge')
        return mk('protocol_error', 'the server answered the credentials with something this client cannot read: nothing says they were wrong', [
          'a device in the path may be rewriting CredSSP, or the server speaks a CredSSP variant this tool does not know; try mstsc or FreeRDP to compare',
        ]);
      if (kind === 'error_code')
        return mk('nla_rejected', `the server refused the logon with ${e?.code !== undefined ? formatStatus(e.code) : String(e?.codeName)}`, [
          'the status names the reason: see the usual fix in the stage error',
          'check the user name, domain and password; for a domain account write DOMAIN\\user or give --domain',
        ]);
      if (kind === 'internal_error_after_authenticate')
        return mk('nla_rejected', 'the server ended the logon with TLS alert internal_error right after the credentials: on Windows that is ambiguous (a CredSSP policy mismatch or an account problem)', [
          'look at the Security event log on the server (event 4625 and its status code) and at the CredSSP "Encryption Oracle Remediation" policy on both ends',
        ]);
      if (kind === 'closed_after_authenticate' || kind === 'access_denied')
        return mk('nla_rejected', kind === 'access_denied' ? 'the server refused the logon (TLS alert access_denied)' : 'the server closed the connection right after the credentials, without an error code: taken as a refusal', [
          'check the user name, domain and password; for a domain account write DOMAIN\\user or give --domain',
          'an account that is locked, disabled, expired or must change its password is named when the server says so (TSRequest errorCode)',
          'if the server only closes the connection, look at the Security event log on the server (event 4625 and its status code)',
        ]);
      return mk('nla_failure', `the credential check ended without an answer this tool can name (${kind})`, ['look at the stage error and the server event log']);
    case 'authz':
      if (kind === 'timeout') return mk('timeout', 'the server did not send the authorization result in time', timeoutFixes);
      if (kind === 'access_denied')
        return mk('not_authorized', 'authenticated, but not allowed to log on over RDP (AUTHZ_ACCESS_DENIED)', [
          'add the user to the Remote Desktop Users group on the server, or grant "Allow log on through Remote Desktop Services" (and check "Deny log on through Remote Desktop Services")',
        ]);
      return mk('not_authorized', `${e?.message}`, ['check the server event log for why the authorized session was refused']);
    case 'mcs':
    case 'security':
    case 'licensing':
    case 'activation':
      return sessionVerdict(failed, mk);
    default:
      // A stage this table does not know yet is a gap in rdp-probe, not a fact about the server.
      return mk('internal_error', `no verdict is defined for a failure at ${failed.stage} (${kind}): ${e?.message ?? ''}`, ['this is a gap in rdp-probe: please report it with the --json output']);
  }
}

/**
 * The stages after the security handshake: the server has accepted the transport and now refuses (or fails) the
 * session itself. A Set Error Info names why, and mstsc shows it as "error code 0x3, extended error code" the same
 * value; without one, the bare disconnect shows as 0x3 with no extended code worth reading.
 */
function sessionVerdict(failed: StageResult, mk: (id: VerdictId, summary: string, fixes: string[]) => Verdict): Verdict {
  const e = failed.error;
  const kind = e?.kind ?? 'unknown';
  if (kind === 'error_info' && e?.code !== undefined) {
    const entry = errinfoEntry(e.code);
    const name = entry?.name ?? e.codeName ?? `ERRINFO 0x${e.code.toString(16)}`;
    const v = mk('session_refused', `the server refused the session with Set Error Info ${name} (0x${e.code.toString(16).toUpperCase()}) during ${failed.stage}${entry ? `: ${lowerFirst(entry.meaning)}` : ''}`, [
      ...(entry?.checks ?? ['look up the code with rdp-probe explain, and the server\'s TerminalServices event logs for the same time']),
    ]);
    const pair = mstscPairFor(e.code);
    if (pair) v.mstsc = { ...pair, text: `mstsc: "error code 0x${pair.disconnectReason.toString(16)}, extended error code 0x${pair.extendedReason.toString(16)}"` };
    return v;
  }
  if (kind === 'redirected') {
    return mk('redirected', `${e?.message}`, ['connect to the target host named above (or through the RD Connection Broker with a client that follows redirection, as mstsc does)']);
  }
  if (kind === 'timeout') {
    return mk('timeout', `the server stopped answering during ${failed.stage}: ${e?.message}`, ['look at the server: a hung session host, a licensing server it waits for, or a firewall that drops large packets (MTU)']);
  }
  if (kind === 'malformed_pdu' || kind === 'malformed_frame' || kind === 'unexpected_pdu' || kind === 'channel_join_mismatch' || kind === 'mac_mismatch') {
    return mk('protocol_error', `the server's ${failed.stage} answer is not valid RDP: ${e?.message}`, ['a device in the path may be rewriting the connection; otherwise the server is not a standard RDP server']);
  }
  if (!SESSION_KINDS.has(kind)) {
    // A kind the session connector does not produce is a gap in rdp-probe, not a fact about the server.
    return mk('internal_error', `no verdict is defined for a failure at ${failed.stage} (${kind}): ${e?.message ?? ''}`, ['this is a gap in rdp-probe: please report it with the --json output']);
  }
  const dropped = kind === 'disconnect_provider_ultimatum' || kind === 'closed' || kind === 'reset' || kind === 'disconnect_request';
  const bySever: Verdict['mstsc'] = dropped ? { disconnectReason: 3, extendedReason: 0, text: 'mstsc: "error code 0x3" (the remote computer ended the session) with no extended code' } : undefined;
  switch (failed.stage) {
    case 'mcs': {
      const v = mk(dropped ? 'connection_dropped' : 'mcs_failure', `the server refused the session at the MCS stage: ${e?.message}`, [
        'xrdp does this when it requires TLS and the client sent no RDP_NEG_REQ: let the client offer TLS (FreeRDP: drop /sec:rdp)',
        'otherwise check the server log for why it refused the client settings (encryption methods, channels, connection limits)',
      ]);
      if (bySever) v.mstsc = bySever;
      return v;
    }
    case 'security': {
      const v = mk('security_failure', `standard RDP security could not be set up: ${e?.message}`, [
        'a server that chose standard RDP security must send a usable certificate and server random; prefer TLS (Security Layer "SSL" or "Negotiate")',
      ]);
      if (bySever) v.mstsc = bySever;
      return v;
    }
    case 'licensing': {
      const v = mk(kind === 'license_error' ? 'license_failure' : dropped ? 'connection_dropped' : 'license_failure', `licensing failed: ${e?.message}`, [
        'check the RD Licensing configuration of the session host (licensing mode and license server: RD Licensing Diagnoser), or that the grace period has not run out',
        'if other clients connect and one does not, its stored licence may be corrupt: delete HKLM\\SOFTWARE\\Microsoft\\MSLicensing on that client (inferred)',
      ]);
      if (bySever) v.mstsc = bySever;
      return v;
    }
    default: {
      const v = mk(dropped ? 'connection_dropped' : 'session_refused', `the server ended the connection during activation without saying why: ${e?.message}`, [
        'check the server\'s TerminalServices-LocalSessionManager and RemoteConnectionManager event logs at this time',
      ]);
      if (bySever) v.mstsc = bySever;
      return v;
    }
  }
}

/** The failure kinds the session connector reports (beyond error_info, redirected, timeout and malformed frames). */
const SESSION_KINDS = new Set([
  'disconnect_provider_ultimatum', 'closed', 'reset', 'disconnect_request',
  'mcs_connect_rejected', 'gcc_create_rejected', 'attach_user_rejected', 'channel_join_rejected',
  'no_server_key', 'malformed_certificate', 'unusable_server_key', 'unsupported_encryption_method', 'license_error',
]);

function lowerFirst(s: string): string {
  return s.length > 0 ? s[0]!.toLowerCase() + s.slice(1).replace(/\.$/, '') : s;
}

function okVerdict(stages: StageResult[], en?: Enumeration): Verdict {
  const act = stages.find((s) => s.stage === 'activation');
  if (act?.status === 'ok') {
    const m = stages.find((s) => s.stage === 'mcs');
    const sel = stages.find((s) => s.stage === 'x224')?.facts?.['selected'];
    const parts = [`the server would show a logon screen or a session: Demand Active received over ${String(sel ?? '?')}`];
    if (m?.facts?.['serverVersion']) parts.push(`server ${String(m.facts['serverVersion'])}`);
    const d = act.facts?.['desktop'] as { width?: number; height?: number } | undefined;
    if (d?.width) parts.push(`desktop ${d.width}x${d.height ?? '?'}`);
    const lic = stages.find((s) => s.stage === 'licensing');
    if (lic?.facts?.['errorCode']) parts.push(`licensing ${String(lic.facts['errorCode'])}`);
    return { id: 'connects', summary: `${parts.join('; ')}; the probe then left (MCS Disconnect Provider Ultimatum)`, fixes: [] };
  }
  const x = stages.find((s) => s.stage === 'x224');
  const tls = stages.find((s) => s.stage === 'tls');
  const tcp = stages.find((s) => s.stage === 'tcp');
  if (x?.status !== 'ok') {
    return { id: 'ok', summary: tcp?.status === 'ok' ? 'the TCP port is open (no RDP checks were asked for)' : 'nothing failed', fixes: [] };
  }
  if (x.facts?.['legacy'] === true) {
    return {
      id: 'legacy_server',
      stage: 'x224',
      summary: 'the server answered with a Connection Confirm without negotiation data: a legacy RDP server (Windows 2003/XP era, or a server reached without RDP_NEG_REQ) that offers only standard RDP security, no TLS and no NLA',
      fixes: ['upgrade or reconfigure the server to support TLS and NLA; standard RDP security (RC4) is weak'],
    };
  }
  const parts: string[] = [];
  parts.push(`the server negotiated ${String(x.facts?.['selected'] ?? '?')}`);
  if (tls?.status === 'ok') parts.push(`${String(tls.facts?.['version'] ?? '')} with ${String(tls.facts?.['cipher'] ?? '')}`.trim());
  const cr = stages.find((s) => s.stage === 'credssp');
  if (cr?.status === 'ok') parts.push(`CredSSP v${String(cr.facts?.['serverVersion'] ?? '?')}`);
  const na = stages.find((s) => s.stage === 'nla_auth');
  if (na?.status === 'ok') parts.push(`the credentials are accepted (password ${na.facts?.['credentialsDelegated'] === true ? 'delegated, as asked' : 'not delegated'})`);
  const az = stages.find((s) => s.stage === 'authz');
  if (az?.status === 'ok') parts.push('the user may log on over RDP (AUTHZ_SUCCESS)');
  if (en) {
    if (en.nla === 'required') parts.push('NLA is required');
    else if (en.nla === 'offered') parts.push('NLA is offered but not required');
    else if (en.nla === 'not_supported') parts.push('NLA is not supported');
    if (en.standardRdpSecurity === 'allowed') parts.push('standard RDP security is allowed');
  }
  return { id: 'ok', summary: `${parts.join('; ')}: every stage run passed`, fixes: [] };
}
