import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ZOO_NAMES, ZOO_VERSION, generateCert, writeCertZoo, type ZooName } from '../../src/lab/certs.js';
import {
  certificateFindings,
  certificateMatchesHost,
  dnsNameMatches,
  type CertificateFindingContext,
} from '../../src/probe/cert-findings.js';
import type { Finding } from '../../src/probe/types.js';
import { decodeCertificate, type CertificateFacts } from '../../src/protocol/x509.js';

const NOW = new Date('2026-11-24T12:00:00Z');
const DAY = 86_400_000;
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'x509');
const fixture = (name: string): CertificateFacts => decodeCertificate(readFileSync(join(FIXTURES, name)));

const facts = {} as Record<ZooName, CertificateFacts>;

beforeAll(async () => {
  const zoo = await writeCertZoo(join(tmpdir(), `rdp-probe-test-certzoo-v${ZOO_VERSION}`), { now: NOW });
  for (const n of ZOO_NAMES) {
    facts[n] = decodeCertificate(new Uint8Array(new X509Certificate(await readFile(zoo[n].cert)).raw));
  }
});

function run(cert: CertificateFacts, ctx: Partial<CertificateFindingContext> = {}): Finding[] {
  return certificateFindings(cert, { now: NOW, warnDays: 30, host: 'localhost', caGiven: false, ...ctx });
}
const ids = (fs: Finding[]): string[] => fs.map((f) => `${f.id}:${f.severity}`).sort();
const byId = (fs: Finding[], id: string): Finding => {
  const f = fs.find((x) => x.id === id);
  if (!f) throw new Error(`no ${id} in ${ids(fs).join(' ')}`);
  return f;
};

describe('certificateFindings on the zoo (now 2026-11-24, warnDays 30, host localhost)', () => {
  const expected: Record<ZooName, string[]> = {
    good: ['cert-self-signed:info'],
    expired: ['cert-expired:high', 'cert-self-signed:info'],
    notyetvalid: ['cert-not-yet-valid:high', 'cert-self-signed:info'],
    wrongcn: ['cert-name-mismatch:medium', 'cert-self-signed:info'],
    rsa1024: ['cert-self-signed:info', 'cert-weak-key:high'],
    sha1: ['cert-self-signed:info', 'cert-sha1-signature:low'],
    ca: ['cert-name-mismatch:medium', 'cert-self-signed:info'],
    casigned: [],
    sha1ca: ['cert-sha1-signature:medium'],
    noeku: ['cert-self-signed:info'],
    clientonly: ['cert-no-server-auth-eku:medium', 'cert-self-signed:info'],
    keymismatch: ['cert-self-signed:info'],
  };
  for (const n of ZOO_NAMES) {
    it(`${n}: ${expected[n].join(', ') || 'nothing'}`, () => {
      expect(ids(run(facts[n]))).toEqual([...expected[n]].sort());
    });
  }

  it('every finding is a tls finding with one plain lower-case sentence and primitive evidence', () => {
    const all = ZOO_NAMES.flatMap((n) => run(facts[n], { caGiven: true, chainTrusted: false, chainError: 'X' }));
    expect(all.length).toBeGreaterThan(10);
    for (const f of all) {
      expect(f.stage).toBe('tls');
      expect(f.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(f.message).toMatch(/^[a-z]/);
      expect(f.message).not.toMatch(/\.$/);
      expect(f.message).not.toMatch(/\n/);
      expect(f.evidence?.fingerprint).toMatch(/^[0-9a-f]{64}$/);
      for (const v of Object.values(f.evidence ?? {})) {
        expect(v === null || ['string', 'number', 'boolean'].includes(typeof v)).toBe(true);
      }
    }
  });
});

describe('validity', () => {
  it('expired carries notAfter and how long ago', () => {
    const f = byId(run(facts.expired), 'cert-expired');
    expect(f.evidence).toMatchObject({ notAfter: '2021-01-01T00:00:00.000Z', daysAgo: 2153 });
    expect(f.message).toContain('2021-01-01');
    expect(run(facts.expired).some((x) => x.id === 'cert-expires-soon')).toBe(false);
  });

  it('not-yet-valid names the start date', () => {
    const f = byId(run(facts.notyetvalid), 'cert-not-yet-valid');
    expect(f.message).toContain('2035-01-01');
    expect(f.evidence).toMatchObject({ notBefore: '2035-01-01T00:00:00.000Z' });
  });

  it('expires-soon for a certificate 10 days from its end, with daysLeft 10', () => {
    const soon = generateCert({
      commonName: 'localhost',
      sans: { dns: ['localhost'] },
      notBefore: new Date(NOW.getTime() - 355 * DAY),
      notAfter: new Date(NOW.getTime() + 10 * DAY),
      keyName: 'findings-test',
    });
    const cert = decodeCertificate(soon.certDer);
    const fs = run(cert);
    expect(ids(fs)).toEqual(['cert-expires-soon:medium', 'cert-self-signed:info']);
    const f = byId(fs, 'cert-expires-soon');
    expect(f.evidence).toMatchObject({ daysLeft: 10, notAfter: cert.notAfter, warnDays: 30 });
    expect(f.message).toContain('10 days');
    expect(run(cert, { warnDays: 10 }).some((x) => x.id === 'cert-expires-soon')).toBe(true);
    expect(run(cert, { warnDays: 9 }).some((x) => x.id === 'cert-expires-soon')).toBe(false);
    // One day later: 9 days left.
    expect(byId(run(cert, { now: new Date(NOW.getTime() + DAY) }), 'cert-expires-soon').evidence?.daysLeft).toBe(9);
    // Past notAfter it is expired, not expiring.
    expect(ids(run(cert, { now: new Date(NOW.getTime() + 11 * DAY) }))).toEqual([
      'cert-expired:high',
      'cert-self-signed:info',
    ]);
  });
});

describe('trust', () => {
  it('self-signed explains it is normal for RDP and how clients react', () => {
    const f = byId(run(facts.good), 'cert-self-signed');
    expect(f.message).toMatch(/normal for RDP hosts/);
    expect(f.message).toMatch(/auto-generated/);
    expect(f.message).toMatch(/fingerprint is pinned or trusted/);
    expect(f.evidence?.fingerprint).toBe(facts.good.sha256);
  });

  it('untrusted only when a CA was given and the chain did not verify', () => {
    expect(run(facts.casigned, { caGiven: false }).some((f) => f.id === 'cert-untrusted')).toBe(false);
    expect(run(facts.casigned, { caGiven: true, chainTrusted: true })).toEqual([]);
    const fs = run(facts.good, { caGiven: true, chainTrusted: false, chainError: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    const f = byId(fs, 'cert-untrusted');
    expect(f.severity).toBe('medium');
    expect(f.message).toContain('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(f.evidence).toMatchObject({ chainError: 'DEPTH_ZERO_SELF_SIGNED_CERT', issuer: 'CN=localhost' });
    expect(byId(run(facts.good, { caGiven: true }), 'cert-untrusted').evidence?.chainError).toBeNull();
  });
});

describe('names', () => {
  it('matches IP SANs, IPv6 in any spelling', () => {
    for (const host of ['127.0.0.1', '127.0.0.5', '127.0.0.63', '::1', '[::1]', '0:0:0:0:0:0:0:1', '0::0:1']) {
      expect(run(facts.good, { host }).some((f) => f.id === 'cert-name-mismatch'), host).toBe(false);
    }
    for (const host of ['127.0.1.64', '::2', '10.0.0.1']) {
      const f = byId(run(facts.good, { host }), 'cert-name-mismatch');
      expect(f.message).toContain(`the address ${host}`);
      expect(f.message).toMatch(/and \d+ more/);
    }
  });

  it('matches DNS names case-insensitively and reports what the certificate names', () => {
    expect(run(facts.good, { host: 'LOCALHOST.' }).some((f) => f.id === 'cert-name-mismatch')).toBe(false);
    expect(run(facts.wrongcn, { host: 'wrong.example.invalid' })).toHaveLength(1);
    const f = byId(run(facts.wrongcn), 'cert-name-mismatch');
    expect(f.message).toBe('the certificate is not valid for the name localhost: it names DNS:wrong.example.invalid');
    expect(f.evidence).toMatchObject({ host: 'localhost', sans: 'DNS:wrong.example.invalid' });
  });

  it('falls back to the CN only without DNS SANs, and never for IP addresses', () => {
    const win = fixture('office-win10-vm.der');
    expect(certificateMatchesHost(win, 'office-win10-vm')).toBe(true);
    expect(certificateMatchesHost(win, 'office-win10-vm.corp.example')).toBe(false);
    expect(certificateMatchesHost(win, '192.168.2.142')).toBe(false);
    expect(byId(run(win, { host: '192.168.2.142' }), 'cert-name-mismatch').message).toContain(
      'it has no subjectAltName and its CN is OFFICE-WIN10-VM',
    );
    const ec = fixture('ec-p256-multi-rdn.der');
    expect(certificateMatchesHost(ec, 'rdp.example.com')).toBe(true);
    expect(certificateMatchesHost(ec, 'host1.rdp.example.com')).toBe(true);
    expect(certificateMatchesHost(ec, '2001:db8:0:0:1::1')).toBe(true);
    expect(certificateMatchesHost({ ...ec, subjectCN: 'other.example' }, 'other.example')).toBe(false);
  });

  it('wildcards cover exactly one leftmost label', () => {
    expect(dnsNameMatches('*.example.com', 'a.example.com')).toBe(true);
    expect(dnsNameMatches('*.example.com', 'A.EXAMPLE.COM')).toBe(true);
    expect(dnsNameMatches('*.example.com', 'example.com')).toBe(false);
    expect(dnsNameMatches('*.example.com', 'a.b.example.com')).toBe(false);
    expect(dnsNameMatches('*.com', 'example.com')).toBe(false);
    expect(dnsNameMatches('a*.example.com', 'ab.example.com')).toBe(false);
    expect(dnsNameMatches('host.example.com.', 'host.example.com')).toBe(true);
  });
});

describe('keys, signatures and usages', () => {
  it('weak RSA key carries keyBits', () => {
    const f = byId(run(facts.rsa1024), 'cert-weak-key');
    expect(f.evidence).toMatchObject({ keyType: 'RSA', keyBits: 1024, minimumBits: 2048 });
    expect(f.message).toContain('1024-bit RSA');
  });

  it('EC keys are weak below 256 bits', () => {
    const ec = fixture('ec-p256-multi-rdn.der');
    expect(run(ec, { host: 'rdp.example.com' }).some((f) => f.id === 'cert-weak-key')).toBe(false);
    const small: CertificateFacts = { ...ec, keyBits: 224, curve: 'P-224' };
    expect(byId(run(small, { host: 'rdp.example.com' }), 'cert-weak-key').severity).toBe('high');
  });

  it('SHA-1: low on a self-signed certificate (and says why), medium when CA-issued', () => {
    const self = byId(run(facts.sha1), 'cert-sha1-signature');
    expect(self.severity).toBe('low');
    expect(self.message).toMatch(/self-signed/);
    expect(self.message).toMatch(/do not check/);
    expect(self.evidence).toMatchObject({ signatureAlgorithm: 'sha1WithRSAEncryption', selfSigned: true });
    const ca = byId(run(facts.sha1ca), 'cert-sha1-signature');
    expect(ca.severity).toBe('medium');
    expect(ca.evidence).toMatchObject({ signatureAlgorithm: 'sha1WithRSAEncryption', selfSigned: false });
  });

  it('MD5: high when CA-issued, low when self-signed', () => {
    const md5 = fixture('md5-rsa1024.der');
    const host = 'md5.example';
    expect(ids(run(md5, { host }))).toEqual([
      'cert-md5-signature:low',
      'cert-self-signed:info',
      'cert-weak-key:high',
    ]);
    const issued: CertificateFacts = { ...md5, selfSigned: false, selfIssued: false, keyBits: 2048 };
    expect(ids(run(issued, { host }))).toEqual(['cert-md5-signature:high']);
  });

  it('EKU: clientAuth-only is flagged, absent EKU and anyExtendedKeyUsage are fine, RDP-only EKU is low', () => {
    const f = byId(run(facts.clientonly), 'cert-no-server-auth-eku');
    expect(f.evidence).toMatchObject({ ekus: 'clientAuth' });
    expect(f.message).toContain('clientAuth');
    expect(run({ ...facts.clientonly, ekus: ['anyExtendedKeyUsage'] }).some((x) => x.id.includes('eku'))).toBe(false);
    expect(run(facts.noeku).some((x) => x.id.includes('eku'))).toBe(false);
    const rdp = byId(run({ ...facts.clientonly, ekus: ['remoteDesktopAuth'] }), 'cert-no-server-auth-eku');
    expect(rdp.severity).toBe('low');
  });

  it('the real Windows certificates: expired and self-signed, SHA-1 on the 2008 R2 one only at low', () => {
    expect(ids(run(fixture('office-win10-vm.der'), { host: 'OFFICE-WIN10-VM' }))).toEqual([
      'cert-expired:high',
      'cert-self-signed:info',
    ]);
    expect(ids(run(fixture('win2k8r2-awakecoding.der'), { host: 'win2k8r2.awakecoding.ath.cx' }))).toEqual([
      'cert-expired:high',
      'cert-self-signed:info',
      'cert-sha1-signature:low',
    ]);
  });
});
