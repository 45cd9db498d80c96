/**
 * Findings that more than one path reaches (the live probe and the offline analysis), as pure functions of the
 * facts, so both say the same thing in the same words.
 */
import { protocolNames } from '../protocol/nego.js';
import { isDeprecatedTls, tlsVersionLabel } from './tls-version.js';
import type { Enumeration, Finding } from './types.js';

/** The server picked standard RDP security (0) although the client asked for something else. */
export function standardRdpSecuritySelected(requested: number, selected: number, legacy: boolean): Finding | undefined {
  if (legacy || selected !== 0 || requested === 0) return undefined;
  return {
    id: 'standard-rdp-security-selected',
    severity: 'medium',
    stage: 'x224',
    message: `the server chose standard RDP security (RC4, no server authentication) although the client offered ${protocolNames(requested)}`,
    evidence: { requested, selected },
  };
}

/** A negotiated TLS version older than 1.2 (RFC 8996); `version` in any form tlsVersionLabel reads. */
export function tlsLegacyVersion(version: string | number): Finding | undefined {
  if (!isDeprecatedTls(version)) return undefined;
  const label = tlsVersionLabel(version);
  return { id: 'tls-legacy-version', severity: 'high', stage: 'tls', message: `the server negotiated ${label}, which is deprecated (RFC 8996)`, evidence: { version: label } };
}

export function enumerationFindings(en: Enumeration): Finding[] {
  const out: Finding[] = [];
  if (en.nla === 'offered') out.push({ id: 'nla-not-required', severity: 'medium', stage: 'x224', message: 'network level authentication is offered but not required: clients can reach the logon screen without authenticating first' });
  if (en.nla === 'not_supported') out.push({ id: 'nla-not-supported', severity: 'medium', stage: 'x224', message: 'the server does not support network level authentication (CredSSP)' });
  if (en.standardRdpSecurity === 'allowed') out.push({ id: 'standard-rdp-security-allowed', severity: 'medium', stage: 'x224', message: 'standard RDP security (RC4, no server authentication) is accepted' });
  const accepted = (en.encryptionMethods ?? []).filter((m) => m.accepted === true).map((m) => m.method);
  if (accepted.includes('NONE')) out.push({ id: 'rdp-encryption-none-accepted', severity: 'critical', stage: 'security', message: 'the server accepts standard RDP security with no encryption at all: a client offering none gets a session in the clear', evidence: { accepted: accepted.join(',') } });
  const weak = accepted.filter((m) => m === '40BIT' || m === '56BIT');
  if (weak.length > 0) out.push({ id: 'rdp-encryption-weak-accepted', severity: 'high', stage: 'security', message: `the server accepts ${weak.join(' and ')} RC4 from a client that offers only that, which can be broken`, evidence: { accepted: accepted.join(',') } });
  const ignored = (en.encryptionMethods ?? []).filter((m) => m.accepted === false && m.method !== 'NONE' && /^chose /.test(m.answer));
  if (ignored.length > 0) out.push({ id: 'rdp-encryption-offer-ignored', severity: 'info', stage: 'security', message: `the server chose a method the client did not offer (asked for ${ignored.map((m) => m.method).join(', ')} alone: ${ignored[0]!.answer}); clients that offer only strong methods may still get a weak one`, evidence: { answers: ignored.map((m) => `${m.method}: ${m.answer}`).join('; ') } });
  if (en.encryptionLevel === 'LOW') out.push({ id: 'rdp-encryption-client-to-server-only', severity: 'high', stage: 'security', message: 'encryption level LOW: only client-to-server data is encrypted; the screen and everything the server sends cross in the clear' });
  return out;
}

export function credsspFindings(f: Record<string, unknown>): Finding[] {
  const out: Finding[] = [];
  const v = Number(f['serverVersion']);
  if (v > 0 && v < 5) {
    out.push({
      id: 'credssp-not-updated',
      severity: 'high',
      stage: 'credssp',
      message: `the server speaks CredSSP ${v}, without the CVE-2018-0886 fix: updated clients set to "Force Updated Clients" or "Mitigated" refuse it with the "encryption oracle remediation" error`,
      evidence: { serverVersion: v },
    });
  }
  const n = (f['ntlm'] ?? {}) as Record<string, unknown>;
  const skew = n['clockSkewSeconds'];
  if (typeof skew === 'number' && Math.abs(skew) > 300) {
    out.push({
      id: 'clock-skew',
      severity: Math.abs(skew) > 3600 ? 'high' : 'medium',
      stage: 'credssp',
      message: `the server clock is ${Math.abs(skew)} s ${skew > 0 ? 'ahead of' : 'behind'} this machine: Kerberos allows 5 minutes, and large skews break NLA with STATUS_TIME_DIFFERENCE_AT_DC`,
      evidence: { clockSkewSeconds: skew, serverTime: String(n['serverTime'] ?? '') },
    });
  }
  return out;
}
