/**
 * Whether the server certificate is trusted enough to send anything derived from the password to it. Pure: the
 * known-hosts lookup comes in as a value, and storing a first-use entry comes back as `remember`.
 *
 * Rules, in order:
 *   1. An explicit identity that does not match is a failure at every depth that runs TLS, whatever else holds:
 *      a --pin that matches neither the certificate nor its SubjectPublicKeyInfo (cert-pin-mismatch), or a
 *      known-hosts entry with another fingerprint (cert-fingerprint-changed). Both are critical.
 *   2. Trusted when one of: a pin matches; the known-hosts entry matches (or this is its first use, which is then
 *      stored); the chain verifies against --ca AND the certificate names the target (the same rule as the
 *      cert-name-mismatch finding: IP SANs for an address, DNS names for a name); --insecure.
 *   Pins and known-hosts identify the certificate by fingerprint, so its names do not matter there.
 *   3. Otherwise not trusted. Below --depth auth that is only a finding (nothing secret is sent); at auth it
 *      keeps the credentials home.
 */
import { certificateMatchesHost } from './cert-findings.js';
import type { CertificateFacts } from '../protocol/x509.js';
import type { Finding } from './types.js';

export interface TrustInput {
  cert: Pick<CertificateFacts, 'sha256' | 'spkiSha256' | 'sans' | 'subjectCN'>;
  /** The name or address the user targeted (what the certificate must name). */
  host: string;
  /** host:port as stored in known-hosts. */
  hostPort: string;
  /** --ca was given. */
  caGiven: boolean;
  /** The chain verified against --ca (chain only: the name is checked here). */
  chainTrusted: boolean;
  chainError?: string;
  pins?: string[];
  /** What known-hosts holds for hostPort: undefined = no entry; absent store = null. */
  known?: string | null;
  insecure?: boolean;
}

export interface TrustDecision {
  trusted: boolean;
  /** An explicit identity (pin, stored fingerprint) contradicts the certificate: fail the TLS stage itself. */
  mismatch: boolean;
  /** Why not trusted, one sentence (absent when trusted). */
  why?: string;
  /** How it is trusted, when it is. */
  how?: 'pin' | 'known_hosts' | 'first_use' | 'ca' | 'insecure';
  findings: Finding[];
  /** Store this fingerprint for hostPort (trust on first use). */
  remember?: string;
}

/** 'sha256:<64 hex>' from any of "sha256:AB:CD…", "SHA256:abcd…", "abcd…". */
export function normalizePin(p: string): string {
  const hex = p.trim().toLowerCase().replace(/^sha256:?/, '').replace(/[^0-9a-f]/g, '');
  return `sha256:${hex}`;
}

export function decideTrust(t: TrustInput): TrustDecision {
  const fp = `sha256:${t.cert.sha256}`;
  const spki = `sha256:${t.cert.spkiSha256}`;
  const findings: Finding[] = [];
  const pins = (t.pins ?? []).map(normalizePin);
  const fail = (why: string, mismatch: boolean): TrustDecision => ({ trusted: false, mismatch, why, findings });

  if (pins.length > 0 && !pins.includes(fp) && !pins.includes(spki)) {
    findings.push({ id: 'cert-pin-mismatch', severity: 'critical', stage: 'tls', message: `the server certificate (${fp}) matches none of the pins given`, evidence: { fingerprint: fp } });
    return fail(`the server certificate ${fp} matches no --pin`, true);
  }
  let remember: string | undefined;
  let knownOk = false;
  if (t.known !== undefined && t.known !== null) {
    if (t.known !== fp) {
      findings.push({
        id: 'cert-fingerprint-changed',
        severity: 'critical',
        stage: 'tls',
        message: `the certificate of ${t.hostPort} CHANGED since it was stored (${t.known} then, ${fp} now): a re-issued certificate, or someone in the middle`,
        evidence: { stored: t.known, now: fp },
      });
      return fail(`the server certificate changed since first use (${t.known} → ${fp})`, true);
    }
    knownOk = true;
  } else if (t.known === undefined) {
    remember = fp;
    findings.push({ id: 'cert-first-use', severity: 'info', stage: 'tls', message: `first connection to ${t.hostPort}: its certificate ${fp} was stored as trusted (trust on first use)`, evidence: { fingerprint: fp } });
  }
  const ok = (how: NonNullable<TrustDecision['how']>): TrustDecision => ({ trusted: true, mismatch: false, how, findings, ...(remember ? { remember } : {}) });
  if (pins.length > 0) return ok('pin');
  if (knownOk) return ok('known_hosts');
  if (remember) return ok('first_use');
  const named = certificateMatchesHost(t.cert as CertificateFacts, t.host);
  if (t.caGiven && t.chainTrusted && named) return ok('ca');
  // The caller adds the nla-auth-insecure finding when credentials actually go out.
  if (t.insecure) return ok('insecure');
  if (t.caGiven && t.chainTrusted) return fail(`the server certificate verifies against --ca but is not valid for ${t.host} (see cert-name-mismatch)`, false);
  if (t.caGiven) return fail(`the server certificate is not trusted by --ca (${t.chainError ?? 'untrusted'})`, false);
  return fail('the server certificate is not verified', false);
}

/** The advice that follows an untrusted certificate at --depth auth. */
export function trustAdvice(fp: string): string {
  return `trust it with --ca FILE, --pin ${fp}, --known-hosts FILE (trust on first use) or --insecure`;
}
