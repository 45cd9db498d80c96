/** Turns a failed TLS handshake (Node's error plus the server's bytes) into a named stage error. Pure. */
import { toHex } from '../protocol/hex.js';
import { inspectServerFlight, type ServerFlight } from '../protocol/tls-records.js';
import { tlsVersionLabel } from './tls-version.js';
import { decodeMcsDisconnectProviderUltimatum, decodeX224Frame } from '../protocol/x224.js';
import type { FrameEvidence, StageError } from './types.js';

export interface TlsFailureInput {
  code?: string;
  message: string;
  timedOut: boolean;
  closed: 'eof' | 'reset' | 'none';
  serverBytes: Uint8Array;
  timeoutMs: number;
  legacyAllowed: boolean;
}

export interface TlsFailure {
  error: StageError;
  evidence?: FrameEvidence;
  flight: ServerFlight;
  /** A version problem: worth a follow-up handshake with old versions allowed, to name what the server speaks. */
  versionProblem: boolean;
}

export function classifyTlsFailure(f: TlsFailureInput): TlsFailure {
  const flight = inspectServerFlight(f.serverBytes);
  const evidence: FrameEvidence | undefined =
    f.serverBytes.length > 0 ? { direction: 'server', hex: toHex(f.serverBytes.subarray(0, 512)), length: f.serverBytes.length, pdu: flightName(flight) } : undefined;
  const mk = (kind: string, message: string, extra: Partial<StageError> = {}, versionProblem = false): TlsFailure => ({
    error: { layer: extra.layer ?? 'peer', kind, message, ...(f.code ? { localCode: f.code } : {}), ...extra },
    ...(evidence ? { evidence } : {}),
    flight,
    versionProblem,
  });

  if (flight.kind === 'tpkt') {
    let what = 'a plaintext RDP frame';
    try {
      const pdu = decodeX224Frame(f.serverBytes.subarray(0, flight.length));
      if (pdu.type === 'data' && decodeMcsDisconnectProviderUltimatum(pdu.data)) what = 'a plaintext MCS Disconnect Provider Ultimatum';
    } catch {
      /* keep the generic wording */
    }
    return mk(
      'server_tls_setup_failure',
      `the server agreed to TLS in X.224 but answered the ClientHello with ${what}: its own TLS setup failed (certificate or key missing, not matching, or too weak for the server's OpenSSL security level)`,
    );
  }
  if (flight.kind === 'alert' && !flight.encrypted) {
    const name = flight.descriptionName;
    const spec = 'RFC 8446 6.2';
    if (flight.description === 70)
      return mk('tls_version_mismatch', `the server rejected the TLS versions offered (alert protocol_version): it speaks only versions ${f.legacyAllowed ? 'this client cannot use' : 'older than TLS 1.2'}`, { code: 70, codeName: name, spec }, true);
    if (flight.description === 40)
      return mk('tls_handshake_failure', 'the server found no cipher suite or parameters in common (alert handshake_failure)', { code: 40, codeName: name, spec }, !f.legacyAllowed);
    if (flight.description === 71)
      return mk('tls_insufficient_security', 'the server requires stronger cipher suites than offered (alert insufficient_security)', { code: 71, codeName: name, spec });
    if (flight.description === 80)
      return mk('tls_internal_error', "the server aborted the handshake with alert internal_error: its TLS configuration cannot complete a handshake (e.g. only TLS 1.0 enabled under a security level that forbids it)", { code: 80, codeName: name, spec }, !f.legacyAllowed);
    return mk('tls_alert', `the server aborted the handshake with alert ${name}`, { code: flight.description, codeName: name, spec });
  }
  if (flight.kind === 'server_hello' && flight.version < 0x0303 && !f.legacyAllowed) {
    return mk('tls_version_mismatch', `the server chose ${tlsVersionLabel(flight.version)}, older than the TLS 1.2 minimum this probe allows (use --legacy-tls to continue with it)`, {}, true);
  }
  const code = f.code ?? '';
  if (code === 'ERR_SSL_UNSUPPORTED_PROTOCOL' || code === 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' || code === 'ERR_SSL_NO_PROTOCOLS_AVAILABLE')
    return mk('tls_version_mismatch', 'the client and server share no TLS version', {}, true);
  if (code === 'ERR_SSL_BAD_SIGNATURE' || /bad signature|decrypt error|DECRYPT_ERROR/i.test(f.message))
    return mk('tls_bad_signature', "the server's handshake signature does not verify with its certificate's key: the certificate and private key do not match");
  if (code === 'ERR_SSL_EXCESSIVE_MESSAGE_SIZE')
    return mk('tls_message_too_large', 'the server sent a TLS handshake message larger than this client takes (OpenSSL accepts a certificate chain of up to 100 KiB): a certificate this large is refused by OpenSSL-based clients', { layer: 'peer' });
  if (f.timedOut && startsLikeTlsRecord(f.serverBytes))
    return mk('tls_timeout', `the server began a TLS record (${f.serverBytes.length} byte(s)) and then sent nothing more for ${f.timeoutMs} ms`, { layer: 'transport' });
  if (flight.kind === 'not_tls' && f.serverBytes.length > 0)
    return mk('tls_not_tls', `the server answered the ClientHello with ${f.serverBytes.length} byte(s) that are not TLS`, { layer: 'protocol' });
  if (f.timedOut && f.serverBytes.length === 0)
    return mk('tls_timeout', `the server selected TLS but did not answer the ClientHello within ${f.timeoutMs} ms`, { layer: 'transport' });
  if (f.timedOut) return mk('tls_timeout', `the TLS handshake did not finish within ${f.timeoutMs} ms`, { layer: 'transport' });
  if (f.serverBytes.length === 0 && f.closed === 'reset')
    return mk('tls_reset', 'the server reset the connection on the ClientHello (on Windows: often a broken certificate binding of the RDP listener)', { layer: 'transport' });
  if (f.serverBytes.length === 0)
    return mk('tls_closed', 'the server closed the connection on the ClientHello without a TLS answer (on Windows: often a broken certificate binding of the RDP listener)', { layer: 'transport' });
  return mk('tls_error', `the TLS handshake failed: ${f.message.toLowerCase()}`, { layer: 'transport' });
}

/**
 * The first bytes could be a TLS record whose rest has not arrived: a known content type (20-23) and, if present,
 * a record version of 3.x. A stall after them is a TLS timeout, not a non-TLS answer.
 */
function startsLikeTlsRecord(b: Uint8Array): boolean {
  const type = b[0];
  if (type === undefined || type < 20 || type > 23) return false;
  if (b.length >= 2 && b[1] !== 3) return false;
  if (b.length >= 3 && b[2]! > 4) return false;
  if (b.length < 5) return true;
  const len = (b[3]! << 8) | b[4]!;
  return b.length < 5 + len;
}

function flightName(f: ServerFlight): string {
  switch (f.kind) {
    case 'alert':
      return f.encrypted ? 'TLS alert (encrypted)' : `TLS alert ${f.descriptionName}`;
    case 'server_hello':
      return `TLS ServerHello (${tlsVersionLabel(f.version)})`;
    case 'tpkt':
      return 'plaintext TPKT frame';
    case 'handshake_other':
      return 'TLS handshake record';
    case 'empty':
      return 'nothing';
    case 'not_tls':
      return 'not TLS';
  }
}
