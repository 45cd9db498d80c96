/** decideTrust as a table: what each combination of --ca, names, --pin, --known-hosts and --insecure decides. */
import { describe, expect, it } from 'vitest';
import { decideTrust, normalizePin, type TrustInput } from '../../src/probe/trust.js';

const SHA = 'aa'.repeat(32);
const SPKI = 'bb'.repeat(32);
const OTHER = `sha256:${'cc'.repeat(32)}`;
const cert = (sans: { dns?: string[]; ip?: string[] }, subjectCN?: string): TrustInput['cert'] => ({
  sha256: SHA,
  spkiSha256: SPKI,
  // `other` (otherName etc.) exists in newer CertificateFacts; the trust rule reads only dns and ip.
  sans: { dns: sans.dns ?? [], ip: sans.ip ?? [], other: [] } as unknown as TrustInput['cert']['sans'],
  ...(subjectCN ? { subjectCN } : {}),
});
const base = (over: Partial<TrustInput>): TrustInput => ({
  cert: cert({ dns: ['rdp.example.test'], ip: ['192.0.2.7'] }),
  host: '192.0.2.7',
  hostPort: '192.0.2.7:3389',
  caGiven: false,
  chainTrusted: false,
  known: null,
  ...over,
});

const ROWS: { name: string; input: Partial<TrustInput>; trusted: boolean; mismatch?: boolean; how?: string; finding?: string; why?: RegExp }[] = [
  { name: 'nothing given: not verified', input: {}, trusted: false, why: /not verified/ },
  { name: '--ca, chain ok, IP target in the IP SANs', input: { caGiven: true, chainTrusted: true }, trusted: true, how: 'ca' },
  { name: '--ca, chain ok, name target in the DNS SANs', input: { caGiven: true, chainTrusted: true, host: 'rdp.example.test' }, trusted: true, how: 'ca' },
  { name: '--ca, chain ok, IP target only named by DNS (as "localhost" was checked before)', input: { caGiven: true, chainTrusted: true, cert: cert({ dns: ['localhost'] }), host: '127.0.0.1' }, trusted: false, why: /not valid for 127\.0\.0\.1/ },
  { name: '--ca, chain ok, another name', input: { caGiven: true, chainTrusted: true, host: 'other.example.test' }, trusted: false, why: /cert-name-mismatch/ },
  { name: '--ca, chain ok, the address only in the CN is not an IP SAN', input: { caGiven: true, chainTrusted: true, cert: cert({}, '192.0.2.7') }, trusted: false },
  { name: '--ca, chain not ok', input: { caGiven: true, chainTrusted: false, chainError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, trusted: false, why: /UNABLE_TO_VERIFY_LEAF_SIGNATURE/ },
  { name: '--ca, name mismatch, --insecure', input: { caGiven: true, chainTrusted: true, host: 'other.example.test', insecure: true }, trusted: true, how: 'insecure' },
  { name: 'pin of the certificate', input: { pins: [`SHA256:${SHA.toUpperCase().replace(/(..)/g, '$1:').slice(0, -1)}`] }, trusted: true, how: 'pin' },
  { name: 'pin of the SubjectPublicKeyInfo', input: { pins: [`sha256:${SPKI}`] }, trusted: true, how: 'pin' },
  { name: 'pin that matches nothing', input: { pins: [OTHER] }, trusted: false, mismatch: true, finding: 'cert-pin-mismatch' },
  { name: 'pin that matches nothing wins over a trusted --ca', input: { pins: [OTHER], caGiven: true, chainTrusted: true }, trusted: false, mismatch: true, finding: 'cert-pin-mismatch' },
  { name: 'pin that matches nothing wins over --insecure', input: { pins: [OTHER], insecure: true }, trusted: false, mismatch: true },
  { name: 'known-hosts: first use', input: { known: undefined }, trusted: true, how: 'first_use', finding: 'cert-first-use' },
  { name: 'known-hosts: same fingerprint', input: { known: `sha256:${SHA}` }, trusted: true, how: 'known_hosts' },
  { name: 'known-hosts: changed', input: { known: OTHER }, trusted: false, mismatch: true, finding: 'cert-fingerprint-changed' },
  { name: 'known-hosts changed wins over --insecure', input: { known: OTHER, insecure: true }, trusted: false, mismatch: true },
  { name: '--insecure alone', input: { insecure: true }, trusted: true, how: 'insecure' },
];

describe('decideTrust', () => {
  it.each(ROWS)('$name', (row) => {
    const d = decideTrust(base(row.input));
    expect(d.trusted).toBe(row.trusted);
    expect(d.mismatch).toBe(row.mismatch ?? false);
    if (row.how) expect(d.how).toBe(row.how);
    if (row.finding) expect(d.findings.map((f) => f.id)).toContain(row.finding);
    if (row.why) expect(d.why).toMatch(row.why);
    if (!row.trusted) expect(d.why).toBeDefined();
    for (const f of d.findings) if (f.id === 'cert-pin-mismatch' || f.id === 'cert-fingerprint-changed') expect(f.severity).toBe('critical');
  });

  it('asks to remember only a first use, and only the certificate fingerprint', () => {
    expect(decideTrust(base({ known: undefined })).remember).toBe(`sha256:${SHA}`);
    expect(decideTrust(base({ known: `sha256:${SHA}` })).remember).toBeUndefined();
    expect(decideTrust(base({ known: null })).remember).toBeUndefined();
    expect(decideTrust(base({ known: undefined, pins: [OTHER] })).remember).toBeUndefined();
  });

  it('normalizes pins', () => {
    expect(normalizePin('SHA256:AB:CD')).toBe('sha256:abcd');
    expect(normalizePin(' abcd ')).toBe('sha256:abcd');
  });
});
