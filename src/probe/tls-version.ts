/** TLS versions as people write them ("TLS 1.2"), from OpenSSL's names ("TLSv1.2") or wire values (0x0303). Pure. */

const BY_WIRE: Record<number, string> = { 0x0300: 'SSL 3.0', 0x0301: 'TLS 1.0', 0x0302: 'TLS 1.1', 0x0303: 'TLS 1.2', 0x0304: 'TLS 1.3' };
const BY_OPENSSL: Record<string, string> = { SSLv3: 'SSL 3.0', TLSv1: 'TLS 1.0', 'TLSv1.0': 'TLS 1.0', 'TLSv1.1': 'TLS 1.1', 'TLSv1.2': 'TLS 1.2', 'TLSv1.3': 'TLS 1.3' };

/** 'TLS 1.0' for 'TLSv1' or 0x0301; an unknown wire value as 'TLS 0x0305'; an unknown name unchanged. */
export function tlsVersionLabel(v: string | number): string {
  if (typeof v === 'number') return BY_WIRE[v] ?? `TLS 0x${v.toString(16).padStart(4, '0')}`;
  return BY_OPENSSL[v] ?? v;
}

/** Versions older than TLS 1.2 (deprecated by RFC 8996). */
export function isDeprecatedTls(v: string | number): boolean {
  const l = tlsVersionLabel(v);
  return l === 'SSL 3.0' || l === 'TLS 1.0' || l === 'TLS 1.1';
}
