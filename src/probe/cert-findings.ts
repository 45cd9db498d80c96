/**
 * Findings about the server certificate seen in the TLS stage. Pure: the clock comes in through ctx.now.
 *
 * Finding ids (public API) and severities:
 *   cert-expired (high), cert-not-yet-valid (high), cert-expires-soon (medium), cert-self-signed (info),
 *   cert-untrusted (medium), cert-name-mismatch (medium), cert-weak-key (high),
 *   cert-sha1-signature (medium; low on a self-signed certificate), cert-md5-signature (high; low on a
 *   self-signed certificate), cert-no-server-auth-eku (medium; low when only the Microsoft Remote Desktop
 *   Authentication EKU stands in for serverAuth).
 */

import type { Finding, Severity } from './types.js';
import { type CertificateFacts, canonicalIp } from '../protocol/x509.js';

export interface CertificateFindingContext {
  now: Date;
  /** Warn when the certificate expires within this many days. */
  warnDays: number;
  /** The name or IP address the user targeted. */
  host: string;
  /** Result of chain verification against the user's CA; undefined when no CA was given. */
  chainTrusted?: boolean;
  /** Why the chain did not verify, e.g. Node's authorizationError code. */
  chainError?: string;
  caGiven: boolean;
}

const DAY_MS = 86_400_000;
/** At most this many names are listed in a message (the evidence carries them all). */
const MAX_LISTED = 4;

type Evidence = NonNullable<Finding['evidence']>;

function finding(id: string, severity: Severity, message: string, evidence: Evidence): Finding {
  return { id, severity, stage: 'tls', message, evidence };
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

function day(iso: string): string {
  return iso.slice(0, 10);
}

function allNames(cert: CertificateFacts): string[] {
  return [...cert.sans.dns.map((d) => `DNS:${d}`), ...cert.sans.ip.map((i) => `IP:${i}`)];
}

function listForMessage(names: string[]): string {
  if (names.length <= MAX_LISTED) return names.join(', ');
  return `${names.slice(0, MAX_LISTED).join(', ')} and ${names.length - MAX_LISTED} more`;
}

/** DNS name match with a single-label wildcard in the leftmost position ("*.example.com"). */
export function dnsNameMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '');
  const h = host.toLowerCase().replace(/\.$/, '');
  if (p === h) return true;
  if (!p.startsWith('*.')) return false;
  const suffix = p.slice(1); // ".example.com"
  if (!suffix.slice(1).includes('.')) return false; // no "*.com"
  if (!h.endsWith(suffix)) return false;
  const label = h.slice(0, h.length - suffix.length);
  return label.length > 0 && !label.includes('.');
}

/** Whether the certificate names the host: IP SANs for an address, DNS SANs (else the CN) for a name. */
export function certificateMatchesHost(cert: CertificateFacts, host: string): boolean {
  const h = host.trim().replace(/^\[(.*)\]$/, '$1');
  const ip = canonicalIp(h);
  if (ip !== undefined) return cert.sans.ip.some((s) => canonicalIp(s) === ip);
  if (cert.sans.dns.length > 0) return cert.sans.dns.some((d) => dnsNameMatches(d, h));
  return cert.subjectCN !== undefined && dnsNameMatches(cert.subjectCN, h);
}

export function certificateFindings(cert: CertificateFacts, ctx: CertificateFindingContext): Finding[] {
  const out: Finding[] = [];
  const now = ctx.now.getTime();
  const notBefore = Date.parse(cert.notBefore);
  const notAfter = Date.parse(cert.notAfter);
  const fingerprint = cert.sha256;

  // Validity period.
  if (now > notAfter) {
    const daysAgo = Math.floor((now - notAfter) / DAY_MS);
    out.push(
      finding(
        'cert-expired',
        'high',
        `the certificate expired on ${day(cert.notAfter)}, ${daysAgo < 1 ? 'less than a day' : plural(daysAgo, 'day')} ago`,
        { notBefore: cert.notBefore, notAfter: cert.notAfter, daysAgo, fingerprint },
      ),
    );
  } else {
    const daysLeft = Math.floor((notAfter - now) / DAY_MS);
    if (daysLeft <= ctx.warnDays) {
      out.push(
        finding(
          'cert-expires-soon',
          'medium',
          `the certificate expires in ${daysLeft < 1 ? 'less than a day' : plural(daysLeft, 'day')}, on ${day(cert.notAfter)}`,
          { notAfter: cert.notAfter, daysLeft, warnDays: ctx.warnDays, fingerprint },
        ),
      );
    }
  }
  if (now < notBefore) {
    const daysUntil = Math.floor((notBefore - now) / DAY_MS);
    out.push(
      finding(
        'cert-not-yet-valid',
        'high',
        `the certificate is not valid before ${day(cert.notBefore)}, so either it was issued for the future or one of the clocks is wrong`,
        { notBefore: cert.notBefore, notAfter: cert.notAfter, daysUntil, fingerprint },
      ),
    );
  }

  // Trust.
  if (cert.selfSigned) {
    out.push(
      finding(
        'cert-self-signed',
        'info',
        'the certificate is self-signed, which is normal for RDP hosts that use the auto-generated certificate, and clients will warn about it unless its fingerprint is pinned or trusted',
        { subject: cert.subject, fingerprint },
      ),
    );
  }
  if (ctx.caGiven && ctx.chainTrusted !== true) {
    const why = ctx.chainError ? ` (${ctx.chainError})` : '';
    out.push(
      finding('cert-untrusted', 'medium', `the certificate chain does not verify against the given CA${why}`, {
        chainError: ctx.chainError ?? null,
        issuer: cert.issuer,
        fingerprint,
      }),
    );
  }

  // Name.
  if (!certificateMatchesHost(cert, ctx.host)) {
    const names = allNames(cert);
    const isIp = canonicalIp(ctx.host.trim().replace(/^\[(.*)\]$/, '$1')) !== undefined;
    const covers =
      names.length > 0
        ? `it names ${listForMessage(names)}`
        : cert.subjectCN !== undefined
          ? `it has no subjectAltName and its CN is ${cert.subjectCN}`
          : 'it names no host at all';
    out.push(
      finding(
        'cert-name-mismatch',
        'medium',
        `the certificate is not valid for ${isIp ? 'the address' : 'the name'} ${ctx.host}: ${covers}`,
        { host: ctx.host, subjectCN: cert.subjectCN ?? null, sans: names.join(', '), fingerprint },
      ),
    );
  }

  // Key strength.
  const bits = cert.keyBits;
  if (bits !== undefined) {
    const minimum =
      cert.keyType === 'RSA' || cert.keyType === 'RSA-PSS' || cert.keyType === 'DSA'
        ? 2048
        : cert.keyType === 'EC'
          ? 256
          : undefined;
    if (minimum !== undefined && bits < minimum) {
      out.push(
        finding(
          'cert-weak-key',
          'high',
          `the certificate has a ${bits}-bit ${cert.keyType} key, below the ${minimum}-bit minimum that current clients and policies expect`,
          { keyType: cert.keyType, keyBits: bits, minimumBits: minimum, fingerprint },
        ),
      );
    }
  }

  // Signature hash.
  const weakHash =
    cert.signatureHash === 'sha1'
      ? 'SHA-1'
      : cert.signatureHash === 'md5'
        ? 'MD5'
        : cert.signatureAlgorithm.startsWith('md2')
          ? 'MD2'
          : undefined;
  if (weakHash !== undefined) {
    const id = weakHash === 'SHA-1' ? 'cert-sha1-signature' : 'cert-md5-signature';
    const evidence: Evidence = {
      signatureAlgorithm: cert.signatureAlgorithm,
      selfSigned: cert.selfSigned,
      fingerprint,
    };
    if (cert.selfSigned) {
      out.push(
        finding(
          id,
          'low',
          `the certificate is signed with ${weakHash}, which matters little here because it is self-signed and clients do not check the signature of a self-signed certificate`,
          evidence,
        ),
      );
    } else {
      out.push(
        finding(
          id,
          weakHash === 'SHA-1' ? 'medium' : 'high',
          `the certificate is signed with ${weakHash}, which current clients reject or warn about in a CA-issued certificate`,
          evidence,
        ),
      );
    }
  }

  // Extended key usage (absent = any usage is fine).
  if (cert.ekus !== null && !cert.ekus.includes('serverAuth') && !cert.ekus.includes('anyExtendedKeyUsage')) {
    const evidence: Evidence = { ekus: cert.ekus.join(', '), fingerprint };
    if (cert.ekus.includes('remoteDesktopAuth')) {
      out.push(
        finding(
          'cert-no-server-auth-eku',
          'low',
          'the certificate allows Remote Desktop Authentication but not TLS server authentication, which Windows clients accept and other clients may reject',
          evidence,
        ),
      );
    } else {
      out.push(
        finding(
          'cert-no-server-auth-eku',
          'medium',
          `the certificate's extended key usage (${cert.ekus.join(', ') || 'empty'}) does not allow TLS server authentication, so strict clients reject it`,
          evidence,
        ),
      );
    }
  }

  return out;
}
