import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_SANS, ZOO_NAMES, ZOO_VERSION, generateCert, writeCertZoo, type ZooName } from '../../src/lab/certs.js';
import { DecodeError } from '../../src/protocol/codec/errors.js';
import {
  canonicalIp,
  certificateFactsForReport,
  decodeCertificate,
  formatIp,
  parseIp,
  type CertificateFacts,
} from '../../src/protocol/x509.js';

const NOW = new Date('2026-11-24T12:00:00Z');
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'x509');
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, name)));

const certs = {} as Record<ZooName, { pem: string; der: Uint8Array; x: X509Certificate; facts: CertificateFacts }>;

beforeAll(async () => {
  const zoo = await writeCertZoo(join(tmpdir(), `rdp-probe-test-certzoo-v${ZOO_VERSION}`), { now: NOW });
  for (const n of ZOO_NAMES) {
    const pem = await readFile(zoo[n].cert, 'utf8');
    const x = new X509Certificate(pem);
    const der = new Uint8Array(x.raw);
    certs[n] = { pem, der, x, facts: decodeCertificate(der) };
  }
});

describe('decodeCertificate on the zoo', () => {
  it('matches OpenSSL (node:crypto) on fingerprints, public key, serial and validity for every member', () => {
    for (const n of ZOO_NAMES) {
      const { x, facts } = certs[n];
      expect(facts.sha256, n).toBe(x.fingerprint256.replace(/:/g, '').toLowerCase());
      expect(facts.sha1, n).toBe(x.fingerprint.replace(/:/g, '').toLowerCase());
      const spki = x.publicKey.export({ type: 'spki', format: 'der' });
      expect(Buffer.from(facts.subjectPublicKeyInfoDer).equals(spki), n).toBe(true);
      const pkcs1 = x.publicKey.export({ type: 'pkcs1', format: 'der' });
      expect(Buffer.from(facts.subjectPublicKey).equals(pkcs1), n).toBe(true);
      expect(facts.serialNumber.replace(/^0+/, ''), n).toBe(x.serialNumber.toLowerCase().replace(/^0+/, ''));
      expect(facts.notBefore, n).toBe(new Date(x.validFrom).toISOString());
      expect(facts.notAfter, n).toBe(new Date(x.validTo).toISOString());
      expect(facts.keyType, n).toBe('RSA');
      expect(facts.version, n).toBe(3);
      expect(facts.subject, n).toBe(x.subject.split('\n').reverse().join(', '));
      expect(facts.issuer, n).toBe(x.issuer.split('\n').reverse().join(', '));
    }
  });

  it('reads names and SANs', () => {
    const good = certs.good.facts;
    expect(good.subject).toBe('CN=localhost');
    expect(good.subjectCN).toBe('localhost');
    expect(good.issuerCN).toBe('localhost');
    expect(good.sans.dns).toEqual(['localhost']);
    expect(good.sans.ip).toEqual(LOCAL_SANS.ip);
    expect(good.sans.ip).toContain('127.0.0.5');
    expect(good.sans.ip).toContain('::1');
    expect(good.sans.other).toEqual([]);
    expect(certs.wrongcn.facts.subjectCN).toBe('wrong.example.invalid');
    expect(certs.wrongcn.facts.sans).toEqual({ dns: ['wrong.example.invalid'], ip: [], other: [] });
    expect(certs.ca.facts.subject).toBe('CN=RDP Probe Test CA');
    expect(certs.ca.facts.sans).toEqual({ dns: [], ip: [], other: [] });
    expect(certs.casigned.facts.issuer).toBe('CN=RDP Probe Test CA');
    expect(certs.casigned.facts.sans.ip).toContain('127.0.0.5');
  });

  it('reads key sizes and signature algorithms', () => {
    for (const n of ZOO_NAMES) {
      expect(certs[n].facts.keyBits, n).toBe(n === 'rsa1024' ? 1024 : 2048);
      const sha1 = n === 'sha1' || n === 'sha1ca';
      expect(certs[n].facts.signatureAlgorithm, n).toBe(sha1 ? 'sha1WithRSAEncryption' : 'sha256WithRSAEncryption');
      expect(certs[n].facts.signatureHash, n).toBe(sha1 ? 'sha1' : 'sha256');
    }
  });

  it('tells self-signed from CA-signed', () => {
    for (const n of ZOO_NAMES) {
      const caSigned = n === 'casigned' || n === 'sha1ca';
      expect(certs[n].facts.selfIssued, n).toBe(!caSigned);
      expect(certs[n].facts.selfSigned, n).toBe(!caSigned);
    }
  });

  it('reads EKU, key usage and basic constraints', () => {
    expect(certs.good.facts.ekus).toEqual(['serverAuth']);
    expect(certs.noeku.facts.ekus).toBeNull();
    expect(certs.clientonly.facts.ekus).toEqual(['clientAuth']);
    expect(certs.ca.facts.ekus).toBeNull();
    expect(certs.ca.facts.isCa).toBe(true);
    expect(certs.ca.facts.keyUsage).toEqual(['keyCertSign', 'cRLSign']);
    expect(certs.good.facts.isCa).toBe(false);
    expect(certs.good.facts.keyUsage).toBeUndefined();
  });

  it('reads the fixed validity windows', () => {
    expect(certs.expired.facts.notBefore).toBe('2020-01-01T00:00:00.000Z');
    expect(certs.expired.facts.notAfter).toBe('2021-01-01T00:00:00.000Z');
    expect(certs.notyetvalid.facts.notBefore).toBe('2035-01-01T00:00:00.000Z');
    expect(certs.notyetvalid.facts.notAfter).toBe('2036-01-01T00:00:00.000Z');
  });
});

describe('decodeCertificate on real and OpenSSL-made certificates', () => {
  it('reads the Windows 10 RDP certificate from nDPI rdp.pcap', () => {
    const der = fixture('office-win10-vm.der');
    const f = decodeCertificate(der);
    expect(f).toMatchObject({
      subject: 'CN=OFFICE-WIN10-VM',
      subjectCN: 'OFFICE-WIN10-VM',
      issuer: 'CN=OFFICE-WIN10-VM',
      selfIssued: true,
      selfSigned: true,
      serialNumber: '3dde271223f54fa148cca5d217d88b33',
      notBefore: '2019-03-19T10:47:11.000Z',
      notAfter: '2019-09-18T10:47:11.000Z',
      sans: { dns: [], ip: [], other: [] },
      keyType: 'RSA',
      keyBits: 2048,
      signatureAlgorithm: 'sha256WithRSAEncryption',
      signatureHash: 'sha256',
      ekus: ['serverAuth'],
      keyUsage: ['keyEncipherment', 'dataEncipherment'],
      isCa: false,
      version: 3,
      sha256: '93cb25f0e7bf324e8dfeda4e410a02e296c631ef859e615b0ec29424790b412c',
    });
    const x = new X509Certificate(der);
    expect(f.sha256).toBe(x.fingerprint256.replace(/:/g, '').toLowerCase());
    expect(Buffer.from(f.subjectPublicKeyInfoDer).equals(x.publicKey.export({ type: 'spki', format: 'der' }))).toBe(
      true,
    );
  });

  it('reads the Windows Server 2008 R2 certificate from zeek rdp-to-ssl.pcap', () => {
    const f = decodeCertificate(fixture('win2k8r2-awakecoding.der'));
    expect(f).toMatchObject({
      subjectCN: 'WIN2K8R2.awakecoding.ath.cx',
      selfSigned: true,
      notBefore: '2011-02-12T21:37:35.000Z',
      notAfter: '2021-02-12T00:00:00.000Z',
      keyBits: 2048,
      signatureAlgorithm: 'sha1WithRSAEncryption',
      signatureHash: 'sha1',
      ekus: ['serverAuth'],
    });
  });

  it('reads an EC P-256 certificate with a multi-valued RDN, escaped values and varied SANs', () => {
    const f = decodeCertificate(fixture('ec-p256-multi-rdn.der'));
    expect(f.subject).toBe('OU=Ops+CN=rdp.example.com, O=Example\\, Inc., C=US');
    expect(f.subjectCN).toBe('rdp.example.com');
    expect(f.keyType).toBe('EC');
    expect(f.curve).toBe('P-256');
    expect(f.keyBits).toBe(256);
    expect(f.signatureAlgorithm).toBe('ecdsa-with-SHA256');
    expect(f.selfSigned).toBe(true);
    expect(f.sans).toEqual({
      dns: ['rdp.example.com', '*.rdp.example.com'],
      ip: ['2001:db8::1:0:0:1', '10.0.0.5'],
      other: ['email:ops@example.com', 'URI:https://example.com/'],
    });
    expect(f.ekus).toEqual(['serverAuth', 'clientAuth', 'remoteDesktopAuth']);
    expect(f.keyUsage).toEqual(['digitalSignature']);
    const x = new X509Certificate(fixture('ec-p256-multi-rdn.der'));
    expect(Buffer.from(f.subjectPublicKeyInfoDer).equals(x.publicKey.export({ type: 'spki', format: 'der' }))).toBe(
      true,
    );
  });

  it('reads Ed25519, RSASSA-PSS and MD5 certificates', () => {
    expect(decodeCertificate(fixture('ed25519.der'))).toMatchObject({
      keyType: 'Ed25519',
      signatureAlgorithm: 'Ed25519',
      selfSigned: true,
      ekus: null,
    });
    const ed = decodeCertificate(fixture('ed25519.der'));
    expect(ed.keyBits).toBeUndefined();
    expect(ed.signatureHash).toBeUndefined();
    expect(decodeCertificate(fixture('rsa-pss-sha384.der'))).toMatchObject({
      keyType: 'RSA',
      keyBits: 2048,
      signatureAlgorithm: 'RSASSA-PSS',
      signatureHash: 'sha384',
      selfSigned: true,
    });
    expect(decodeCertificate(fixture('md5-rsa1024.der'))).toMatchObject({
      keyBits: 1024,
      signatureAlgorithm: 'md5WithRSAEncryption',
      signatureHash: 'md5',
    });
  });
});

describe('decodeCertificate input handling', () => {
  it('decodes a view into a larger buffer the same as a standalone copy', () => {
    const der = fixture('office-win10-vm.der');
    const big = new Uint8Array(der.length + 100);
    big.set(der, 37);
    const view = big.subarray(37, 37 + der.length);
    const a = decodeCertificate(view);
    const b = decodeCertificate(der);
    expect(certificateFactsForReport(a)).toEqual(certificateFactsForReport(b));
    expect(Buffer.from(a.subjectPublicKeyInfoDer).equals(Buffer.from(b.subjectPublicKeyInfoDer))).toBe(true);
  });

  it('escapes RFC 4514 special characters in names', () => {
    const c = generateCert({ commonName: '#a+b,c;<d> "e"\\ ', bits: 1024, keyName: 'x509-escape-test' });
    const f = decodeCertificate(c.certDer);
    expect(f.subject).toBe('CN=\\#a\\+b\\,c\\;\\<d\\> \\"e\\"\\\\\\ ');
    expect(f.subjectCN).toBe('#a+b,c;<d> "e"\\ ');
  });
});

describe('certificateFactsForReport', () => {
  it('drops the key byte arrays and survives JSON', () => {
    const f = certs.good.facts;
    const r = certificateFactsForReport(f);
    expect(r).not.toHaveProperty('subjectPublicKeyInfoDer');
    expect(r).not.toHaveProperty('subjectPublicKey');
    expect(r).toMatchObject({ subjectCN: 'localhost', sha256: f.sha256, spkiSha256: f.spkiSha256, keyBits: 2048 });
    const json = JSON.stringify(r);
    expect(JSON.parse(json)).toEqual(r);
    expect(json.length).toBeLessThan(8000); // 255 IP SANs in the lab certificate, no key bytes
    // The facts themselves still hold the bytes.
    expect(f.subjectPublicKeyInfoDer.length).toBeGreaterThan(256);
  });
});

describe('IP helpers', () => {
  it('formats IPv6 per RFC 5952 and IPv4 dotted', () => {
    expect(formatIp(Uint8Array.from([127, 0, 0, 1]))).toBe('127.0.0.1');
    expect(canonicalIp('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalIp('[::1]')).toBe('::1');
    expect(canonicalIp('2001:DB8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(canonicalIp('fe80::1%eth0')).toBe('fe80::1');
    expect(canonicalIp('::')).toBe('::');
    expect(canonicalIp('::ffff:10.0.0.1')).toBe('::ffff:10.0.0.1');
    expect(canonicalIp('1:0:0:2:0:0:0:3')).toBe('1:0:0:2::3');
    expect(formatIp(new Uint8Array(5))).toBeUndefined();
  });

  it('rejects non-addresses', () => {
    for (const s of ['localhost', '256.0.0.1', '1.2.3', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', '', '1.2.3.4.5']) {
      expect(parseIp(s), s).toBeUndefined();
    }
  });
});

describe('decodeCertificate robustness', () => {
  function expectDecodeError(der: Uint8Array, label: string): DecodeError {
    try {
      decodeCertificate(der);
    } catch (e) {
      expect(e, label).toBeInstanceOf(DecodeError);
      return e as DecodeError;
    }
    throw new Error(`${label}: decoded without an error`);
  }

  it('reports truncation, trailing bytes and a wrong outer tag', () => {
    const der = fixture('office-win10-vm.der');
    const e = expectDecodeError(der.subarray(0, 600), 'truncated');
    expect(e.detail).toEqual({ kind: 'not_enough_bytes', received: 600, expected: 742 });
    expect(e.path).toEqual(['X.509 Certificate']);
    const t = expectDecodeError(Uint8Array.from([...der, 0]), 'trailing');
    expect(t.detail).toEqual({ kind: 'trailing_bytes', count: 1 });
    expect(t.offset).toBe(742);
    expect(expectDecodeError(Uint8Array.from([0x31, ...der.subarray(1)]), 'tag').detail.kind).toBe(
      'unexpected_type',
    );
    expect(expectDecodeError(new Uint8Array(0), 'empty').detail.kind).toBe('not_enough_bytes');
  });

  it('throws only DecodeError for every truncation', () => {
    for (const name of ['office-win10-vm.der', 'ec-p256-multi-rdn.der']) {
      const der = fixture(name);
      for (let len = 0; len < der.length; len++) expectDecodeError(der.subarray(0, len), `${name}[0,${len})`);
    }
  });

  it('throws only DecodeError (or decodes) for seeded random mutations', () => {
    let seed = 0x5eed1234;
    const rand = (): number => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const bases = [
      fixture('office-win10-vm.der'),
      fixture('ec-p256-multi-rdn.der'),
      fixture('rsa-pss-sha384.der'),
      certs.good.der,
    ];
    let decoded = 0;
    let failed = 0;
    for (let i = 0; i < 600; i++) {
      const base = bases[i % bases.length]!;
      const m = Uint8Array.from(base);
      const edits = 1 + Math.floor(rand() * 4);
      for (let k = 0; k < edits; k++) {
        const at = Math.floor(rand() * m.length);
        const kind = rand();
        if (kind < 0.6) m[at] = Math.floor(rand() * 256);
        else if (kind < 0.8) m[at] = m[at]! ^ (1 << Math.floor(rand() * 8));
        else m[at] = [0x00, 0x80, 0xff, 0x30, 0x81, 0x82][Math.floor(rand() * 6)]!;
      }
      try {
        const f = decodeCertificate(m);
        expect(typeof f.sha256).toBe('string');
        decoded++;
      } catch (e) {
        if (!(e instanceof DecodeError)) throw new Error(`mutation ${i} threw ${String(e)}`);
        failed++;
      }
    }
    expect(decoded + failed).toBe(600);
    expect(failed).toBeGreaterThan(0);
  });
});
