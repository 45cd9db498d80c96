/**
 * Test/lab certificate generator (node-forge). Builds single certificates on demand and the "certificate zoo"
 * that mirrors shared/servers/gen-certs.sh, so TLS tests and lab servers can run without the openssl CLI.
 *
 * RSA keys come from forge's key generator, which hands the work to node:crypto when it is available and is
 * then fast; generated keys are still cached per process under a name (see CertSpec.keyName) so the zoo can be
 * rebuilt cheaply, and writeCertZoo() reuses a directory it completed before.
 */

import { constants as cryptoConstants, createPrivateKey, generateKeyPair, privateEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { mkdir, readFile, rename, rm, stat, writeFile, chmod, open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import forge from 'node-forge';

export interface CertSpec {
  commonName: string;
  sans?: { dns?: string[]; ip?: string[] };
  /** RSA modulus size; default 2048. */
  bits?: number;
  /** Signature hash; default sha256. */
  hash?: 'sha256' | 'sha1';
  /** Default: one hour before now (tolerates a little clock skew). */
  notBefore?: Date;
  /** Default: 365 days from now. */
  notAfter?: Date;
  /** Signing CA; absent = self-signed. */
  issuer?: { certPem: string; keyPem: string };
  /** basicConstraints CA:TRUE (critical) and keyUsage keyCertSign, cRLSign. Default false (CA:FALSE). */
  isCa?: boolean;
  /** Extended key usage; null = no EKU extension at all. Default ['serverAuth']. */
  eku?: ('serverAuth' | 'clientAuth')[] | null;
  /** Serial number as hex; default 16 random bytes (positive). */
  serial?: string;
  /** Certify this existing private key (PEM, PKCS#1 or PKCS#8) instead of generating one. */
  keyPem?: string;
  /**
   * Name of a per-process cached key: certificates built with the same keyName and bits share one key, and the
   * key is generated only once per process. Absent (and no keyPem) = a fresh key for this certificate.
   */
  keyName?: string;
}

export interface GeneratedCert {
  certPem: string;
  /** Unencrypted PKCS#8 ("BEGIN PRIVATE KEY"). */
  keyPem: string;
  certDer: Uint8Array;
}

/** localhost, ::1, 127.0.0.1 .. 127.0.0.254: every loopback address the test servers listen on (test/servers/addresses.ts). */
export const LOCAL_SANS: { dns: string[]; ip: string[] } = {
  dns: ['localhost'],
  ip: ['::1', ...Array.from({ length: 254 }, (_, i) => `127.0.0.${i + 1}`)],
};

const DAY_MS = 86_400_000;
const keyCache = new Map<string, forge.pki.rsa.KeyPair>();

function cachedKey(name: string, bits: number): forge.pki.rsa.KeyPair {
  const id = `${name}/${bits}`;
  let kp = keyCache.get(id);
  if (!kp) {
    kp = newKey(bits);
    keyCache.set(id, kp);
  }
  return kp;
}

function newKey(bits: number): forge.pki.rsa.KeyPair {
  return forge.pki.rsa.generateKeyPair({ bits, e: 0x10001 });
}

const generateKeyPairAsync = promisify(generateKeyPair);

/** Fills the key cache for these names in parallel (node:crypto on the libuv pool); used by writeCertZoo. */
async function prefetchKeys(wanted: { name: string; bits: number }[]): Promise<void> {
  await Promise.all(
    wanted
      .filter((w) => !keyCache.has(`${w.name}/${w.bits}`))
      .map(async (w) => {
        const { privateKey } = await generateKeyPairAsync('rsa', {
          modulusLength: w.bits,
          publicExponent: 0x10001,
          privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
          publicKeyEncoding: { type: 'spki', format: 'pem' },
        });
        keyCache.set(`${w.name}/${w.bits}`, keyPairFromPem(privateKey));
      }),
  );
}

function keyPairFromPem(pem: string): forge.pki.rsa.KeyPair {
  const privateKey = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
  const publicKey = forge.pki.setRsaPublicKey(privateKey.n, privateKey.e);
  return { privateKey, publicKey };
}

function keyToPkcs8Pem(key: forge.pki.rsa.PrivateKey): string {
  return forge.pki.privateKeyInfoToPem(forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(key)));
}

/** DER DigestInfo prefixes (RFC 8017 9.2 note 1) for the hashes generateCert signs with. */
const DIGEST_INFO: Record<string, string> = {
  sha256: '3031300d060960864801650304020105000420',
  sha1: '3021300906052b0e03021a05000414',
};
const signingKeys = new Map<string, KeyObject>();

/** A stand-in for forge's private key whose sign() is PKCS#1 v1.5 by node:crypto over forge's digest. */
function nativeSigner(pem: string): { sign(md: forge.md.MessageDigest): string } {
  let key = signingKeys.get(pem);
  if (!key) {
    key = createPrivateKey(pem);
    signingKeys.set(pem, key);
  }
  const k = key;
  return {
    sign(md) {
      const prefix = DIGEST_INFO[md.algorithm];
      if (prefix === undefined) throw new Error(`no DigestInfo for ${md.algorithm}`);
      const info = Buffer.concat([Buffer.from(prefix, 'hex'), Buffer.from(md.digest().getBytes(), 'binary')]);
      return privateEncrypt({ key: k, padding: cryptoConstants.RSA_PKCS1_PADDING }, info).toString('binary');
    },
  };
}

/** Positive INTEGER hex for forge (which writes the hex bytes as they are, so a set top bit would go negative). */
function serialHex(serial: string | undefined): string {
  if (serial === undefined) {
    const b = randomBytes(16);
    b[0] = (b[0]! & 0x7f) | 0x01;
    return b.toString('hex');
  }
  let hex = serial.replace(/^0x/i, '').replace(/:/g, '').toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex)) throw new Error(`serial must be hex: ${serial}`);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  if (parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
  return hex;
}

export function generateCert(spec: CertSpec): GeneratedCert {
  const bits = spec.bits ?? 2048;
  const keys = spec.keyPem
    ? keyPairFromPem(spec.keyPem)
    : spec.keyName !== undefined
      ? cachedKey(spec.keyName, bits)
      : newKey(bits);

  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialHex(spec.serial);
  const now = Date.now();
  cert.validity.notBefore = spec.notBefore ?? new Date(now - 3_600_000);
  cert.validity.notAfter = spec.notAfter ?? new Date(now + 365 * DAY_MS);

  const subject = [{ name: 'commonName', value: spec.commonName }];
  cert.setSubject(subject);

  const ownPem = spec.keyPem?.includes('BEGIN PRIVATE KEY') ? spec.keyPem : keyToPkcs8Pem(keys.privateKey);
  let signingPem = ownPem;
  let issuerCert: forge.pki.Certificate | undefined;
  if (spec.issuer) {
    issuerCert = forge.pki.certificateFromPem(spec.issuer.certPem);
    signingPem = spec.issuer.keyPem;
    cert.setIssuer(issuerCert.subject.attributes);
  } else {
    cert.setIssuer(subject);
  }

  const extensions: object[] = [];
  if (spec.isCa) {
    extensions.push({ name: 'basicConstraints', cA: true, critical: true });
    extensions.push({ name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true });
  } else {
    extensions.push({ name: 'basicConstraints', cA: false });
  }
  extensions.push({ name: 'subjectKeyIdentifier' });
  extensions.push({
    name: 'authorityKeyIdentifier',
    keyIdentifier: issuerCert ? issuerCert.generateSubjectKeyIdentifier().getBytes() : true,
  });
  const eku = spec.eku === undefined ? ['serverAuth'] : spec.eku;
  if (eku !== null) {
    const ext: Record<string, unknown> = { name: 'extKeyUsage' };
    for (const u of eku) ext[u] = true;
    extensions.push(ext);
  }
  const altNames = [
    ...(spec.sans?.dns ?? []).map((value) => ({ type: 2, value })),
    ...(spec.sans?.ip ?? []).map((ip) => ({ type: 7, ip })),
  ];
  if (altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames });
  cert.setExtensions(extensions);

  const md = spec.hash === 'sha1' ? forge.md.sha1.create() : forge.md.sha256.create();
  // forge builds and digests the TBSCertificate; the RSA operation itself is node:crypto's (native, not JS).
  cert.sign(nativeSigner(signingPem) as unknown as forge.pki.rsa.PrivateKey, md);

  const derBinary = forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes();
  return {
    certPem: forge.pki.certificateToPem(cert),
    keyPem: ownPem,
    certDer: new Uint8Array(Buffer.from(derBinary, 'binary')),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The zoo

export const ZOO_NAMES = [
  'good',
  'expired',
  'notyetvalid',
  'wrongcn',
  'rsa1024',
  'sha1',
  'ca',
  'casigned',
  'sha1ca',
  'noeku',
  'clientonly',
  'keymismatch',
] as const;
export type ZooName = (typeof ZOO_NAMES)[number];

/** Bump when the zoo's contents change, so directories written by an older version are rebuilt. */
export const ZOO_VERSION = 2;

const MARKER = '.complete';
/** A reused zoo must leave its "now-relative" certificates valid for at least this long. */
const MIN_REMAINING_MS = 30 * DAY_MS;

interface Marker {
  version: number;
  /** Validity of the certificates made relative to `now` (good, wrongcn, …). */
  notBefore: string;
  notAfter: string;
}

function buildZoo(now: Date): Record<ZooName, GeneratedCert> {
  const notBefore = new Date(now.getTime() - 3_600_000);
  const notAfter = new Date(now.getTime() + 365 * DAY_MS);
  const local = { dns: LOCAL_SANS.dns, ip: LOCAL_SANS.ip };
  const leaf = (name: string, extra: Partial<CertSpec> = {}): GeneratedCert =>
    generateCert({ commonName: 'localhost', sans: local, notBefore, notAfter, keyName: `zoo-${name}`, ...extra });

  const ca = generateCert({
    commonName: 'RDP Probe Test CA',
    isCa: true,
    eku: null,
    notBefore,
    notAfter: new Date(now.getTime() + 3650 * DAY_MS),
    keyName: 'zoo-ca',
  });
  const issuer = { certPem: ca.certPem, keyPem: ca.keyPem };
  const mismatchCert = leaf('keymismatch');
  const otherKeyPem = keyToPkcs8Pem(cachedKey('zoo-keymismatch-other', 2048).privateKey);

  return {
    good: leaf('good'),
    expired: leaf('expired', {
      notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2021-01-01T00:00:00Z'),
    }),
    notyetvalid: leaf('notyetvalid', {
      notBefore: new Date('2035-01-01T00:00:00Z'),
      notAfter: new Date('2036-01-01T00:00:00Z'),
    }),
    wrongcn: leaf('wrongcn', { commonName: 'wrong.example.invalid', sans: { dns: ['wrong.example.invalid'] } }),
    rsa1024: leaf('rsa1024', { bits: 1024 }),
    sha1: leaf('sha1', { hash: 'sha1' }),
    ca,
    casigned: leaf('casigned', { issuer }),
    sha1ca: leaf('sha1ca', { issuer, hash: 'sha1' }),
    noeku: leaf('noeku', { eku: null }),
    clientonly: leaf('clientonly', { eku: ['clientAuth'] }),
    keymismatch: { ...mismatchCert, keyPem: otherKeyPem },
  };
}

function zooPaths(dir: string): Record<ZooName, { cert: string; key: string }> {
  const out = {} as Record<ZooName, { cert: string; key: string }>;
  for (const n of ZOO_NAMES) out[n] = { cert: join(dir, `${n}.pem`), key: join(dir, `${n}.key`) };
  return out;
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function reusable(dir: string, now: Date): Promise<boolean> {
  let marker: Marker;
  try {
    marker = JSON.parse(await readFile(join(dir, MARKER), 'utf8')) as Marker;
  } catch {
    return false;
  }
  if (marker.version !== ZOO_VERSION) return false;
  const t = now.getTime();
  const nb = Date.parse(marker.notBefore);
  const na = Date.parse(marker.notAfter);
  if (!(t >= nb && t <= na - MIN_REMAINING_MS)) return false;
  const paths = zooPaths(dir);
  for (const n of ZOO_NAMES) {
    if (!(await exists(paths[n].cert)) || !(await exists(paths[n].key))) return false;
  }
  return true;
}

async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

/** Cross-process lock (an O_EXCL file), so two processes never interleave the pairs they write. */
async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(dir, '.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      const fh = await open(lock, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        const st = await stat(lock);
        if (Date.now() - st.mtimeMs > 60_000) await rm(lock, { force: true }); // stale
      } catch {
        /* vanished meanwhile */
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}

/**
 * Writes the zoo as <dir>/<name>.pem and <dir>/<name>.key (keys mode 0600) and returns absolute paths.
 * Idempotent: a directory holding a complete zoo of the same ZOO_VERSION whose now-relative certificates are
 * valid at `now` for at least 30 more days is reused as it is. `now` (default: the clock) anchors the
 * now-relative certificates (good, wrongcn, rsa1024, sha1, casigned, sha1ca, noeku, clientonly, keymismatch:
 * one hour before now .. 365 days after; ca: 3650 days).
 */
export async function writeCertZoo(
  dir: string,
  opts: { now?: Date } = {},
): Promise<Record<ZooName, { cert: string; key: string }>> {
  const abs = resolve(dir);
  const now = opts.now ?? new Date();
  const paths = zooPaths(abs);
  await mkdir(abs, { recursive: true });
  if (await reusable(abs, now)) return paths;

  return withLock(abs, async () => {
    if (await reusable(abs, now)) return paths; // another process finished it while we waited
    await rm(join(abs, MARKER), { force: true });
    await prefetchKeys([
      ...ZOO_NAMES.map((n) => ({ name: `zoo-${n}`, bits: n === 'rsa1024' ? 1024 : 2048 })),
      { name: 'zoo-keymismatch-other', bits: 2048 },
    ]);
    const zoo = buildZoo(now);
    for (const n of ZOO_NAMES) {
      await writeAtomic(paths[n].cert, zoo[n].certPem, 0o644);
      await writeAtomic(paths[n].key, zoo[n].keyPem, 0o600);
    }
    const marker: Marker = {
      version: ZOO_VERSION,
      notBefore: new Date(now.getTime() - 3_600_000).toISOString(),
      notAfter: new Date(now.getTime() + 365 * DAY_MS).toISOString(),
    };
    await writeAtomic(join(abs, MARKER), `${JSON.stringify(marker)}\n`, 0o644);
    return paths;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The lab's certificates

/** The certificates the lab's scenarios present (see src/lab/scenarios.ts). */
export const LAB_CERT_NAMES = ['good', 'expired', 'not-yet-valid', 'wrong-name', 'self-signed', 'sha1', 'rsa1024'] as const;
export type LabCertName = (typeof LAB_CERT_NAMES)[number];

export interface LabCerts {
  /** The lab CA that issues every certificate but 'self-signed' (so only that one reads as self-signed). */
  ca: GeneratedCert;
  certs: Record<LabCertName, GeneratedCert>;
  /** Start-up cost, ms (key generation with node:crypto, then signing). */
  ms: number;
}

async function rsaPem(bits: number): Promise<string> {
  const { privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: bits,
    publicExponent: 0x10001,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return privateKey;
}

/**
 * Makes the lab's certificates at start-up: three RSA keys from node:crypto (generated in parallel on the libuv
 * pool, never by JS key generation), one 2048-bit key shared by the leaves (the key is not what these scenarios
 * are about), a 1024-bit key for 'rsa1024', and the CA's. Validity is relative to `now`, except the fixed past
 * and future windows of 'expired' and 'not-yet-valid'.
 */
export async function generateLabCerts(now: Date = new Date(), cacheDir: string | null = defaultLabCacheDir()): Promise<LabCerts> {
  const t = performance.now();
  const cached = cacheDir === null ? undefined : await readLabCache(cacheDir, now);
  if (cached) return { ...cached, ms: performance.now() - t };
  const made = await makeLabCerts(now);
  if (cacheDir !== null) await writeLabCache(cacheDir, now, made).catch(() => undefined);
  return { ...made, ms: performance.now() - t };
}

/**
 * The lab's certificates are kept on disk between runs (issue #11: making them, three RSA keys and eight
 * certificates with 255 addresses each, was most of `check --lab`'s start-up): in a directory of this user's
 * only (mode 0700, owned by us, else not used), one file per LAB_CACHE_VERSION, reused while its now-relative
 * certificates have more than 358 of their 365 days left. Lab keys only: they protect nothing but the lab.
 */
const LAB_CACHE_VERSION = 1;
const LAB_CACHE_DAYS = 7;

function defaultLabCacheDir(): string {
  return join(tmpdir(), `rdp-probe-lab-${process.getuid?.() ?? 'user'}`);
}

interface LabCacheFile {
  version: number;
  sans: number;
  madeAt: string;
  ca: GeneratedCert;
  certs: Record<string, GeneratedCert>;
}

const certToJson = (c: GeneratedCert) => ({ certPem: c.certPem, keyPem: c.keyPem, certDer: Buffer.from(c.certDer).toString('base64') });
const certFromJson = (c: { certPem: string; keyPem: string; certDer: string }): GeneratedCert => ({ certPem: c.certPem, keyPem: c.keyPem, certDer: new Uint8Array(Buffer.from(c.certDer, 'base64')) });

async function readLabCache(dir: string, now: Date): Promise<Omit<LabCerts, 'ms'> | undefined> {
  try {
    const st = await stat(dir);
    if (!st.isDirectory() || (process.getuid && st.uid !== process.getuid()) || (st.mode & 0o077) !== 0) return undefined;
    const f = JSON.parse(await readFile(join(dir, `lab-certs-v${LAB_CACHE_VERSION}.json`), 'utf8')) as LabCacheFile & { ca: never; certs: never };
    const age = now.getTime() - Date.parse(f.madeAt);
    if (f.version !== LAB_CACHE_VERSION || f.sans !== LOCAL_SANS.ip.length || !(age >= 0 && age < LAB_CACHE_DAYS * DAY_MS)) return undefined;
    const certs = {} as Record<LabCertName, GeneratedCert>;
    for (const n of LAB_CERT_NAMES) {
      const c = (f.certs as Record<string, { certPem: string; keyPem: string; certDer: string } | undefined>)[n];
      if (!c) return undefined;
      certs[n] = certFromJson(c);
    }
    return { ca: certFromJson(f.ca), certs };
  } catch {
    return undefined;
  }
}

async function writeLabCache(dir: string, now: Date, made: Omit<LabCerts, 'ms'>): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await stat(dir);
  if ((process.getuid && st.uid !== process.getuid()) || (st.mode & 0o077) !== 0) return;
  const body = { version: LAB_CACHE_VERSION, sans: LOCAL_SANS.ip.length, madeAt: now.toISOString(), ca: certToJson(made.ca), certs: Object.fromEntries(LAB_CERT_NAMES.map((n) => [n, certToJson(made.certs[n])])) };
  await writeAtomic(join(dir, `lab-certs-v${LAB_CACHE_VERSION}.json`), JSON.stringify(body), 0o600);
}

async function makeLabCerts(now: Date): Promise<Omit<LabCerts, 'ms'>> {
  const [caKey, leafKey, smallKey] = await Promise.all([rsaPem(2048), rsaPem(2048), rsaPem(1024)]);
  const notBefore = new Date(now.getTime() - 3_600_000);
  const notAfter = new Date(now.getTime() + 365 * DAY_MS);
  const ca = generateCert({ commonName: 'rdp-probe lab CA', isCa: true, eku: null, notBefore, notAfter: new Date(now.getTime() + 3650 * DAY_MS), keyPem: caKey });
  const issuer = { certPem: ca.certPem, keyPem: ca.keyPem };
  const leaf = (extra: Partial<CertSpec> = {}): GeneratedCert => generateCert({ commonName: 'localhost', sans: LOCAL_SANS, notBefore, notAfter, keyPem: leafKey, issuer, ...extra });
  const certs: Record<LabCertName, GeneratedCert> = {
    good: leaf(),
    expired: leaf({ notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2021-01-01T00:00:00Z') }),
    'not-yet-valid': leaf({ notBefore: new Date('2035-01-01T00:00:00Z'), notAfter: new Date('2036-01-01T00:00:00Z') }),
    'wrong-name': leaf({ commonName: 'wrong.example.invalid', sans: { dns: ['wrong.example.invalid'] } }),
    'self-signed': generateCert({ commonName: 'localhost', sans: LOCAL_SANS, notBefore, notAfter, keyPem: leafKey }),
    sha1: leaf({ hash: 'sha1' }),
    rsa1024: leaf({ keyPem: smallKey }),
  };
  return { ca, certs };
}
