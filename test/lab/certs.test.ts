import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_SANS, ZOO_NAMES, generateCert, writeCertZoo, type ZooName } from '../../src/lab/certs.js';

const NOW = new Date('2026-11-24T12:00:00Z');
const DAY = 86_400_000;

let dir: string;
let zoo: Record<ZooName, { cert: string; key: string }>;
let coldMs = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rdp-probe-certs-'));
  const t = performance.now();
  zoo = await writeCertZoo(dir, { now: NOW });
  coldMs = performance.now() - t;
  console.log(`writeCertZoo cold: ${coldMs.toFixed(0)} ms`);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function x509(name: ZooName): Promise<X509Certificate> {
  return new X509Certificate(await readFile(zoo[name].cert));
}

describe('LOCAL_SANS', () => {
  it('covers localhost, ::1 and 127.0.0.1 .. 127.0.0.254 (every test server address)', () => {
    expect(LOCAL_SANS.dns).toEqual(['localhost']);
    expect(LOCAL_SANS.ip).toHaveLength(255);
    expect(LOCAL_SANS.ip).toContain('::1');
    expect(LOCAL_SANS.ip).toContain('127.0.0.1');
    expect(LOCAL_SANS.ip).toContain('127.0.0.143');
    expect(LOCAL_SANS.ip).toContain('127.0.0.254');
    expect(LOCAL_SANS.ip).not.toContain('127.0.0.255');
    expect(LOCAL_SANS.ip).not.toContain('127.0.1.1');
  });
});

describe('writeCertZoo', () => {
  it('writes every zoo member as absolute .pem/.key paths, keys mode 0600, PKCS#8', async () => {
    expect(Object.keys(zoo).sort()).toEqual([...ZOO_NAMES].sort());
    for (const n of ZOO_NAMES) {
      expect(isAbsolute(zoo[n].cert)).toBe(true);
      expect(zoo[n].cert).toBe(join(dir, `${n}.pem`));
      expect(zoo[n].key).toBe(join(dir, `${n}.key`));
      const st = await stat(zoo[n].key);
      expect(st.mode & 0o777).toBe(0o600);
      const keyPem = await readFile(zoo[n].key, 'utf8');
      expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\r?\n/);
      expect((await readFile(zoo[n].cert, 'utf8')).startsWith('-----BEGIN CERTIFICATE-----')).toBe(true);
    }
    expect((await stat(join(dir, '.complete'))).isFile()).toBe(true);
  });

  it('produces certificates and keys OpenSSL (node:crypto) accepts; only keymismatch has the wrong key', async () => {
    for (const n of ZOO_NAMES) {
      const cert = await x509(n);
      const key = createPrivateKey(await readFile(zoo[n].key));
      expect(key.asymmetricKeyType).toBe('rsa');
      expect(cert.checkPrivateKey(key), n).toBe(n !== 'keymismatch');
    }
    const good = await x509('good');
    const mismatch = await x509('keymismatch');
    expect(mismatch.subject).toBe(good.subject);
    expect(mismatch.subjectAltName).toBe(good.subjectAltName);
  });

  it('makes the documented validity windows, names and signatures', async () => {
    const good = await x509('good');
    expect(good.subject).toBe('CN=localhost');
    expect(good.issuer).toBe('CN=localhost');
    expect(new Date(good.validFrom).getTime()).toBeLessThanOrEqual(NOW.getTime());
    expect(new Date(good.validTo).getTime()).toBe(Math.floor((NOW.getTime() + 365 * DAY) / 1000) * 1000);
    expect(good.checkHost('localhost')).toBe('localhost');
    expect(good.checkIP('127.0.0.5')).toBe('127.0.0.5');
    expect(good.checkIP('::1')).toBe('::1');
    expect(good.checkIP('127.0.1.1')).toBeUndefined();
    expect(good.ca).toBe(false);
    expect(good.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);

    const expired = await x509('expired');
    expect(new Date(expired.validFrom).toISOString()).toBe('2020-01-01T00:00:00.000Z');
    expect(new Date(expired.validTo).toISOString()).toBe('2021-01-01T00:00:00.000Z');
    const nyv = await x509('notyetvalid');
    expect(new Date(nyv.validFrom).toISOString()).toBe('2035-01-01T00:00:00.000Z');
    expect(new Date(nyv.validTo).toISOString()).toBe('2036-01-01T00:00:00.000Z');

    const wrong = await x509('wrongcn');
    expect(wrong.subject).toBe('CN=wrong.example.invalid');
    expect(wrong.subjectAltName).toBe('DNS:wrong.example.invalid');
    expect(wrong.checkHost('localhost')).toBeUndefined();

    expect((await x509('rsa1024')).publicKey.asymmetricKeyDetails?.modulusLength).toBe(1024);
    expect(good.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);

    const ca = await x509('ca');
    expect(ca.subject).toBe('CN=RDP Probe Test CA');
    expect(ca.ca).toBe(true);
    expect(ca.keyUsage).toBeUndefined(); // node reports EKU here; the CA has none
    for (const n of ['casigned', 'sha1ca'] as const) {
      const leaf = await x509(n);
      expect(leaf.checkIssued(ca), n).toBe(true);
      expect(leaf.verify(ca.publicKey), n).toBe(true);
      expect(leaf.issuer).toBe('CN=RDP Probe Test CA');
      expect(leaf.checkIP('127.0.0.5')).toBe('127.0.0.5');
    }
    expect((await x509('noeku')).keyUsage).toBeUndefined();
    expect((await x509('clientonly')).keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(good.verify(good.publicKey)).toBe(true);
  });

  it('reuses a complete directory (warm call) and rebuilds when the now-relative certificates would be stale', async () => {
    const before = await readFile(zoo.good.cert, 'utf8');
    const mtime = (await stat(zoo.good.cert)).mtimeMs;
    const t = performance.now();
    const again = await writeCertZoo(dir, { now: NOW });
    const warmMs = performance.now() - t;
    console.log(`writeCertZoo warm: ${warmMs.toFixed(1)} ms (cold ${coldMs.toFixed(0)} ms)`);
    expect(again).toEqual(zoo);
    expect(warmMs).toBeLessThan(500);
    expect(await readFile(zoo.good.cert, 'utf8')).toBe(before);
    expect((await stat(zoo.good.cert)).mtimeMs).toBe(mtime);

    // 400 days later "good" would have expired: the zoo is rebuilt around the new now.
    const later = new Date(NOW.getTime() + 400 * DAY);
    await writeCertZoo(dir, { now: later });
    const rebuilt = await x509('good');
    expect(new Date(rebuilt.validTo).getTime()).toBeGreaterThan(later.getTime());
    // And back: the original now is outside the rebuilt window, so it is rebuilt again.
    await writeCertZoo(dir, { now: NOW });
    expect(new Date((await x509('good')).validFrom).getTime()).toBeLessThanOrEqual(NOW.getTime());
  });

  it('rebuilds a directory whose marker is missing or from another version', async () => {
    const other = await mkdtemp(join(tmpdir(), 'rdp-probe-certs-'));
    try {
      await writeCertZoo(other, { now: NOW });
      const first = await readFile(join(other, 'good.pem'), 'utf8');
      await rm(join(other, '.complete'));
      await writeCertZoo(other, { now: NOW });
      expect(await readFile(join(other, 'good.pem'), 'utf8')).not.toBe(first); // new serial
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

describe('generateCert', () => {
  it('honours serial, validity, SANs, hash, EKU and CA flags', () => {
    const c = generateCert({
      commonName: 'host.example',
      sans: { dns: ['host.example', '*.host.example'], ip: ['10.1.2.3', '2001:db8::7'] },
      notBefore: new Date('2026-01-01T00:00:00Z'),
      notAfter: new Date('2026-02-01T00:00:00Z'),
      serial: '8badf00d',
      hash: 'sha1',
      eku: ['serverAuth', 'clientAuth'],
      bits: 1024,
    });
    const x = new X509Certificate(c.certPem);
    expect(Buffer.from(c.certDer).equals(x.raw)).toBe(true);
    expect(x.serialNumber.toLowerCase().replace(/^0+/, '')).toBe('8badf00d');
    expect(new Date(x.validFrom).toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(new Date(x.validTo).toISOString()).toBe('2026-02-01T00:00:00.000Z');
    expect(x.subjectAltName).toBe(
      'DNS:host.example, DNS:*.host.example, IP Address:10.1.2.3, IP Address:2001:DB8:0:0:0:0:0:7',
    );
    expect(x.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(x.checkPrivateKey(createPrivateKey(c.keyPem))).toBe(true);
    expect(x.verify(x.publicKey)).toBe(true);
  });

  it('shares a cached key per keyName, certifies a given keyPem, and otherwise makes fresh keys', () => {
    const a = generateCert({ commonName: 'a', keyName: 'shared-test', bits: 1024 });
    const b = generateCert({ commonName: 'b', keyName: 'shared-test', bits: 1024 });
    const c = generateCert({ commonName: 'c', bits: 1024 });
    const d = generateCert({ commonName: 'd', keyPem: c.keyPem });
    const pub = (pem: string): string =>
      new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }).toString('hex');
    expect(pub(a.certPem)).toBe(pub(b.certPem));
    expect(pub(c.certPem)).not.toBe(pub(a.certPem));
    expect(pub(d.certPem)).toBe(pub(c.certPem));
  });

  it('signs with a given issuer and sets CA constraints', () => {
    const ca = generateCert({ commonName: 'Unit CA', isCa: true, eku: null, bits: 1024, keyName: 'unit-ca' });
    const leaf = generateCert({ commonName: 'leaf', issuer: ca, bits: 1024 });
    const caX = new X509Certificate(ca.certPem);
    const leafX = new X509Certificate(leaf.certPem);
    expect(caX.ca).toBe(true);
    expect(leafX.ca).toBe(false);
    expect(leafX.checkIssued(caX)).toBe(true);
    expect(leafX.verify(caX.publicKey)).toBe(true);
    expect(leafX.verify(leafX.publicKey)).toBe(false);
  });
});

describe('the zoo in a real TLS handshake', () => {
  // Built around the real clock (the other tests use a fixed NOW), so OpenSSL's validity check passes.
  let live: Record<ZooName, { cert: string; key: string }>;
  let liveDir: string;
  beforeAll(async () => {
    liveDir = await mkdtemp(join(tmpdir(), 'rdp-probe-certs-live-'));
    live = await writeCertZoo(liveDir);
  });
  afterAll(async () => {
    await rm(liveDir, { recursive: true, force: true });
  });

  async function handshake(
    certName: ZooName,
    caName: ZooName,
    host: string,
  ): Promise<{ authorized: boolean; error: string | undefined; identity: string | undefined }> {
    const [cert, key, ca] = await Promise.all([
      readFile(live[certName].cert),
      readFile(live[certName].key),
      readFile(live[caName].cert),
    ]);
    const server = createServer({ cert, key }, (s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const sock: TLSSocket = connect({
        host: '127.0.0.1',
        port,
        ca,
        rejectUnauthorized: false,
        ...(/^[\d.]+$/.test(host) ? {} : { servername: host }),
      });
      await new Promise<void>((resolve, reject) => {
        sock.once('secureConnect', resolve);
        sock.once('error', reject);
      });
      const identity = (await import('node:tls')).checkServerIdentity(host, sock.getPeerCertificate())?.message;
      const out = {
        authorized: sock.authorized,
        error: sock.authorizationError ? String(sock.authorizationError) : undefined,
        identity,
      };
      sock.destroy();
      return out;
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  }

  it('good verifies when trusted directly, for localhost and 127.0.0.5-style addresses', async () => {
    expect(await handshake('good', 'good', 'localhost')).toEqual({
      authorized: true,
      error: undefined,
      identity: undefined,
    });
    expect((await handshake('good', 'good', '127.0.0.1')).identity).toBeUndefined();
  });

  it('casigned verifies against ca; good does not', async () => {
    expect((await handshake('casigned', 'ca', 'localhost')).authorized).toBe(true);
    const r = await handshake('good', 'ca', 'localhost');
    expect(r.authorized).toBe(false);
    expect(r.error).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
  });
});
