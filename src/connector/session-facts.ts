/**
 * Pure fact builders for the session stages, shared by the live SessionConnector and the offline replay
 * (src/pcap/session-replay.ts), so both file the same facts and findings under the same names.
 */
import { DecodeError } from '../protocol/codec/errors.js';
import { channelOptionNames, clientEarlyCapabilityNames, encryptionMethodNames, type DecodedClientData } from '../protocol/gcc/client-data.js';
import type { ServerData } from '../protocol/gcc/server-data.js';
import { protocolNames } from '../protocol/nego.js';
import { ENCRYPTION_LEVEL, ENCRYPTION_METHOD, SEC, encryptionLevelName, encryptionMethodName } from '../protocol/security/constants.js';
import { decodeServerCertificate, verifyProprietaryCertificate, type ServerCertificate } from '../protocol/security/proprietary-cert.js';
import type { Finding } from '../model/report.js';
import type { ServerRedirection } from '../protocol/share/redirection.js';

/**
 * The security stage's facts from the server's SC_SECURITY (method, level, certificate with the proprietary
 * signature checked against the Terminal Services key, or the X.509 chain length), as the live security step
 * files them, and the finding a bad proprietary signature gives.
 */
export function securityFacts(s: ServerData): { facts: Record<string, unknown>; findings: Finding[]; cert?: ServerCertificate; error?: DecodeError } {
  const method = s.security?.encryptionMethod ?? 0;
  const level = s.security?.encryptionLevel ?? 0;
  const facts: Record<string, unknown> = {
    encryptionMethod: encryptionMethodName(method) ?? `0x${method.toString(16)}`,
    encryptionLevel: encryptionLevelName(level) ?? String(level),
  };
  const findings: Finding[] = [];
  if (method === ENCRYPTION_METHOD.NONE || level === ENCRYPTION_LEVEL.NONE) {
    facts['exchange'] = 'none: the server chose no encryption';
    return { facts, findings };
  }
  const bytes = s.security?.serverCertificate;
  if (s.security?.serverRandom) facts['serverRandomBytes'] = s.security.serverRandom.length;
  if (!bytes || bytes.length === 0) return { facts, findings };
  try {
    const cert = decodeServerCertificate(bytes);
    if (cert.kind === 'proprietary') {
      const v = verifyProprietaryCertificate(cert);
      facts['certificate'] = { type: 'proprietary', bytes: bytes.length, bitLength: cert.bitLength, temporary: cert.temporary, signature: v.ok ? 'verified with the Terminal Services key' : `does not verify: ${v.reason}` };
      if (!v.ok) findings.push({ id: 'proprietary-cert-signature-invalid', severity: 'high', stage: 'security', message: `the server's proprietary certificate is not signed by the Terminal Services key (${v.reason}): a client cannot tell this server from one in the middle` });
    } else {
      facts['certificate'] = { type: 'x509', bytes: bytes.length, chainLength: cert.certificates.length, temporary: cert.temporary };
    }
    return { facts, findings, cert };
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    return { facts, findings, error: e };
  }
}

/** What the client's Connect-Initial says about the client (the live probe is the client, so it has no such facts). */
export function clientDataFacts(c: DecodedClientData): Record<string, unknown> {
  const f: Record<string, unknown> = {};
  if (c.core) {
    f['clientName'] = c.core.clientName;
    f['clientBuild'] = c.core.clientBuild;
    f['version'] = `0x${c.core.version.toString(16).padStart(8, '0')}`;
    f['desktop'] = `${c.core.desktopWidth}x${c.core.desktopHeight}`;
    f['keyboardLayout'] = `0x${c.core.keyboardLayout.toString(16).padStart(8, '0')}`;
    if (c.core.earlyCapabilityFlags !== undefined) f['earlyCapabilityFlags'] = clientEarlyCapabilityNames(c.core.earlyCapabilityFlags);
    if (c.core.serverSelectedProtocol !== undefined) f['serverSelectedProtocol'] = protocolNames(c.core.serverSelectedProtocol);
  }
  if (c.security) f['encryptionMethods'] = encryptionMethodNames(c.security.encryptionMethods || c.security.extEncryptionMethods);
  if (c.net) f['channels'] = c.net.channels.map((ch) => ch.name);
  if (c.net && c.net.channels.length > 0) f['channelOptions'] = Object.fromEntries(c.net.channels.map((ch) => [ch.name, channelOptionNames(ch.options)]));
  if (c.cluster) {
    f['cluster'] = { flags: `0x${c.cluster.flags.toString(16)}`, ...(c.cluster.flags & 0x02 ? { redirectedSessionId: c.cluster.redirectedSessionId } : {}) };
  }
  return f;
}

/** A licensing PDU outside standard security: a basic header with SEC_LICENSE_PKT, then a preamble of a known type. */
export function looksLikeLicensing(b: Uint8Array): boolean {
  if (b.length < 8) return false;
  const flags = b[0]! | (b[1]! << 8);
  if ((flags & SEC.LICENSE_PKT) === 0) return false;
  const type = b[4]!;
  const size = b[6]! | (b[7]! << 8);
  return [0x01, 0x02, 0x03, 0x04, 0x12, 0x13, 0x15, 0xff].includes(type) && size === b.length - 4;
}

/** Where a Server Redirection sends the client: the names in the order a client would try them. */
export function redirectionTarget(r: ServerRedirection): string | undefined {
  return r.targetFqdn ?? r.targetNetBiosName ?? r.targetNetAddress ?? r.targetNetAddresses?.[0] ?? r.loadBalanceInfoText?.trim();
}

/** The facts of a Server Redirection; a password blob is only said to have come, never kept. */
export function redirectionFacts(r: ServerRedirection): Record<string, unknown> {
  return {
    sessionId: r.sessionId,
    flags: r.redirFlagNames,
    ...(r.targetNetAddress !== undefined ? { targetNetAddress: r.targetNetAddress } : {}),
    ...(r.targetNetAddresses ? { targetNetAddresses: r.targetNetAddresses } : {}),
    ...(r.targetFqdn !== undefined ? { targetFqdn: r.targetFqdn } : {}),
    ...(r.targetNetBiosName !== undefined ? { targetNetBiosName: r.targetNetBiosName } : {}),
    ...(r.loadBalanceInfoText !== undefined ? { loadBalanceInfo: r.loadBalanceInfoText.trim() } : {}),
    ...(r.userName !== undefined ? { user: r.domain ? `${r.domain}\\${r.userName}` : r.userName } : {}),
    ...(r.password ? { passwordIncluded: true } : {}),
  };
}
