/**
 * The X.509 decoder after the speed work of issue #11 (subjectAltName and Names read straight from the asn1js
 * tree) holds every decoded fact, and every refusal, equal to the pkijs-based decoder it replaced
 * (x509-oracle.ts): over every certificate in the repository and its captures, over node-forge certificates with
 * each SAN type, and over fast-check SubjectAltName DER (well-formed, schema-breaking, BER, mutated, truncated)
 * spliced into real certificates.
 */
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as asn1js from 'asn1js';
import fc from 'fast-check';
import forge from 'node-forge';
import { concat as cat } from '../../src/protocol/codec/bytes.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_SANS, ZOO_NAMES, ZOO_VERSION, generateCert, writeCertZoo } from '../../src/lab/certs.js';
import { DecodeError } from '../../src/protocol/codec/errors.js';
import { decodeCertificate, formatIp, type CertificateFacts } from '../../src/protocol/x509.js';
import { applyMutations, describeMutations, mutationArb } from '../fuzz/mutate.js';
import { oracleDecodeCertificate } from './x509-oracle.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'x509');
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, name)));

// ---------------------------------------------------------------------------------------------------------------
// Comparing the two decoders

type Outcome =
  | { ok: CertificateFacts }
  | { error: { path: string[]; offset: number; detail: DecodeError['detail'] } }
  | { foreign: string };

function outcome(decode: (der: Uint8Array) => CertificateFacts, der: Uint8Array): Outcome {
  try {
    return { ok: decode(der) };
  } catch (e) {
    if (e instanceof DecodeError) return { error: { path: e.path, offset: e.offset, detail: e.detail } };
    return { foreign: String(e) };
  }
}

/** Both decoders on the same bytes: equal facts, or the same DecodeError (path, offset, kind, field, reason). */
function expectSame(der: Uint8Array, label: string): Outcome {
  const now = outcome(decodeCertificate, der);
  const before = outcome(oracleDecodeCertificate, der);
  expect(now, label).toEqual(before);
  expect('foreign' in now, `${label}: threw something other than a DecodeError`).toBe(false);
  return now;
}

// ---------------------------------------------------------------------------------------------------------------
// DER building


function lengthOctets(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const out: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) out.unshift(x & 0xff);
  return Uint8Array.from([0x80 | out.length, ...out]);
}

/** One TLV; `tag` is the identifier octets; `indefinite` writes BER 0x80 … 00 00 (constructed only). */
function tlv(tag: number | readonly number[], content: Uint8Array, indefinite = false): Uint8Array {
  const id = Uint8Array.from(typeof tag === 'number' ? [tag] : tag);
  if (indefinite) return cat(id, Uint8Array.of(0x80), content, Uint8Array.of(0, 0));
  return cat(id, lengthOctets(content.length), content);
}

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

function oidBody(arcs: readonly number[]): Uint8Array {
  const out: number[] = [];
  const push = (v: number): void => {
    const groups: number[] = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) groups.unshift((x & 0x7f) | 0x80);
    out.push(...groups);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return Uint8Array.from(out);
}

const oid = (dotted: string): Uint8Array => tlv(0x06, oidBody(dotted.split('.').map(Number)));

/**
 * A copy of a real certificate with its subjectAltName replaced by `sanValue` (the extension's OCTET STRING
 * contents), the other extensions kept. The signature no longer matches; both decoders only read it.
 */
function withSan(template: Uint8Array, sanValue: Uint8Array, critical = false): Uint8Array {
  const cert = asn1js.fromBER(template).result as asn1js.Sequence;
  const [tbs, sigAlg, sig] = cert.valueBlock.value as [asn1js.Sequence, asn1js.AsnType, asn1js.AsnType];
  const raw = (b: asn1js.AsnType): Uint8Array => Uint8Array.from(b.valueBeforeDecodeView);
  const kept: Uint8Array[] = [];
  let exts: Uint8Array[] = [];
  for (const item of tbs.valueBlock.value) {
    if (item.idBlock.tagClass === 3 && item.idBlock.tagNumber === 3) {
      const list = (item as asn1js.Constructed).valueBlock.value[0] as asn1js.Sequence;
      exts = list.valueBlock.value
        .filter((e) => ((e as asn1js.Sequence).valueBlock.value[0] as asn1js.ObjectIdentifier).valueBlock.toString() !== '2.5.29.17')
        .map(raw);
    } else {
      kept.push(raw(item));
    }
  }
  const san = tlv(0x30, cat(oid('2.5.29.17'), critical ? tlv(0x01, Uint8Array.of(0xff)) : new Uint8Array(0), tlv(0x04, sanValue)));
  const extensions = tlv(0xa3, tlv(0x30, cat(san, ...exts)));
  return tlv(0x30, cat(tlv(0x30, cat(...kept, extensions)), raw(sigAlg), raw(sig)));
}

// ---------------------------------------------------------------------------------------------------------------
// Certificates found in the repository

/** DER certificates inside capture files: a SEQUENCE { SEQUENCE … } that node:crypto (OpenSSL) accepts. */
function certificatesIn(file: string): Uint8Array[] {
  const b = readFileSync(file);
  const out: Uint8Array[] = [];
  for (let i = b.indexOf(0x30); i >= 0 && i + 8 < b.length; i = b.indexOf(0x30, i + 1)) {
    if (b[i + 1] !== 0x82 || b[i + 4] !== 0x30 || b[i + 5] !== 0x82) continue;
    const len = 4 + b.readUInt16BE(i + 2);
    if (i + len > b.length) continue;
    const der = new Uint8Array(b.subarray(i, i + len));
    try {
      new X509Certificate(der);
    } catch {
      continue;
    }
    out.push(der);
  }
  return out;
}

function captureFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...captureFiles(p));
    else if (/\.pcap(ng)?$/.test(e.name) && statSync(p).size < 20_000_000) out.push(p);
  }
  return out;
}

const corpus = new Map<string, Uint8Array>();

beforeAll(async () => {
  for (const name of readdirSync(FIXTURES).filter((n) => n.endsWith('.der'))) corpus.set(`fixture ${name}`, fixture(name));
  const zoo = await writeCertZoo(join(tmpdir(), `rdp-probe-test-certzoo-v${ZOO_VERSION}`), {
    now: new Date('2026-11-24T12:00:00Z'),
  });
  for (const n of ZOO_NAMES) {
    corpus.set(`zoo ${n}`, new Uint8Array(new X509Certificate(await readFile(zoo[n].cert, 'utf8')).raw));
  }
  for (const dir of [join(ROOT, 'captures'), join(ROOT, '..', 'shared', 'captures')]) {
    for (const file of captureFiles(dir)) {
      certificatesIn(file).forEach((der, i) => corpus.set(`${file.slice(dir.length + 1)} #${i}`, der));
    }
  }
});

// ---------------------------------------------------------------------------------------------------------------
// node-forge certificates with every SAN type forge writes

function forgeCert(altNames: object[], subject: { name?: string; shortName?: string; value: string }[]): Uint8Array {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = '0badc0de';
  cert.validity.notBefore = new Date('2026-01-01T00:00:00Z');
  cert.validity.notAfter = new Date('2027-01-01T00:00:00Z');
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([{ name: 'subjectAltName', altNames }]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()), forge.md.sha256.create());
  return new Uint8Array(Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary'));
}

// ---------------------------------------------------------------------------------------------------------------
// SubjectAltName generators

const bit = (p: number): fc.Arbitrary<boolean> => fc.integer({ min: 1, max: 1000 }).map((x) => x <= p * 1000);

const ia5Bytes = fc.oneof(
  fc.string({ maxLength: 40 }).map(ascii),
  fc.constantFrom('localhost', '*.rdp.example.test', 'ops@example.test', 'https://example.test/a?b#c', '').map(ascii),
  fc.uint8Array({ maxLength: 300 }),
);

const oidBytes = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 39 }), fc.array(fc.nat({ max: 2 ** 31 }), { maxLength: 6 })).map(
    ([a, b, rest]) => oidBody([a, b, ...rest]),
  ),
  fc.uint8Array({ maxLength: 12 }),
);

/** A string-typed (or not) attribute value, as names carry them. */
const attributeValue = fc.oneof(
  fc.tuple(fc.constantFrom(0x0c, 0x13, 0x16, 0x14, 0x1a), fc.string({ maxLength: 20 })).map(([t, s]) =>
    tlv(t, t === 0x0c ? new TextEncoder().encode(s) : ascii(s)),
  ),
  fc.string({ maxLength: 8 }).map((s) => tlv(0x1e, Uint8Array.from([...s].flatMap((c) => [0, c.charCodeAt(0) & 0xff])))),
  fc.uint8Array({ maxLength: 8 }).map((b) => tlv(0x04, b)),
  fc.nat({ max: 255 }).map((n) => tlv(0x02, Uint8Array.of(n & 0x7f))),
  fc.constantFrom(tlv(0x0c, ascii('#lead, +and; <trail> ')), tlv(0x13, ascii('rdp.example.test'))),
);

const attributeType = fc.oneof(
  fc.constantFrom('2.5.4.3', '2.5.4.10', '2.5.4.11', '2.5.4.6', '0.9.2342.19200300.100.1.25', '1.2.840.113549.1.9.1').map(oid),
  oidBytes.map((b) => tlv(0x06, b)),
);

/** AttributeTypeAndValue, now and then off-schema (too few or extra elements, wrong type tag). */
const atv = fc
  .tuple(attributeType, attributeValue, fc.nat({ max: 19 }), bit(0.1))
  .map(([t, v, shape, indefinite]) => {
    if (shape === 0) return tlv(0x30, t, indefinite);
    if (shape === 1) return tlv(0x30, cat(t, v, v), indefinite);
    if (shape === 2) return tlv(0x30, cat(tlv(0x04, Uint8Array.of(0x55, 4, 3)), v), indefinite);
    if (shape === 3) return tlv(0x31, cat(t, v), indefinite);
    return tlv(0x30, cat(t, v), indefinite);
  });

const rdnSet = fc.tuple(fc.array(atv, { maxLength: 3 }), fc.nat({ max: 29 }), bit(0.1)).map(([atvs, shape, indef]) =>
  tlv(shape === 0 ? 0x30 : 0x31, cat(...atvs), indef),
);

/** A Name: SEQUENCE OF RelativeDistinguishedName, now and then a SET or a primitive instead. */
const nameDer = fc.tuple(fc.array(rdnSet, { maxLength: 4 }), fc.nat({ max: 29 }), bit(0.1)).map(([sets, shape, indef]) => {
  if (shape === 0) return tlv(0x31, cat(...sets));
  if (shape === 1) return tlv(0x10, new Uint8Array(0));
  return tlv(0x30, cat(...sets), indef);
});

const anyDer = fc.oneof(
  attributeValue,
  nameDer,
  fc.uint8Array({ maxLength: 6 }).map((b) => tlv(0x04, b)),
  fc.constant(tlv(0x05, new Uint8Array(0))),
);
const stringDer = fc.tuple(fc.constantFrom(0x14, 0x13, 0x1c, 0x0c, 0x1e, 0x16, 0x04), fc.string({ maxLength: 6 })).map(([t, s]) =>
  tlv(t, ascii(t === 0x1c ? s.replace(/[^]/g, '\0\0\0a') : t === 0x1e ? s.replace(/[^]/g, '\0a') : s)),
);

/** Identifier octets for [n] in context class: short form, long form (asn1js reads the same number), or hex-only. */
const contextTag = (n: number, constructed: boolean): fc.Arbitrary<number[]> =>
  fc.nat({ max: 39 }).map((k) => {
    const first = 0x80 | (constructed ? 0x20 : 0);
    if (k === 0) return [first | 0x1f, n];
    if (k === 1) return [first | 0x1f, ...new Array<number>(9).fill(0x80), n];
    if (k === 2) return [(first & ~0x80) | 0x40 | n]; // application class
    if (k === 3) return [(first ^ 0x20) | n]; // the other form
    return [first | n];
  });

const generalName: fc.Arbitrary<Uint8Array> = fc.oneof(
  // rfc822Name, dNSName, URI: IMPLICIT IA5String
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom(1, 2, 6), ia5Bytes).chain(([n, b]) => contextTag(n, false).map((t) => tlv(t, b))) },
  // iPAddress: 4 or 16 bytes, or not
  {
    weight: 4,
    arbitrary: fc
      .oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 20 }))
      .chain((b) => contextTag(7, false).map((t) => tlv(t, b))),
  },
  // registeredID: IMPLICIT OBJECT IDENTIFIER (arcs, or any bytes)
  { weight: 2, arbitrary: oidBytes.chain((b) => contextTag(8, false).map((t) => tlv(t, b))) },
  // directoryName: EXPLICIT Name (and now and then nothing, or more than one element)
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.array(nameDer, { minLength: 0, maxLength: 2 }), bit(0.15))
      .chain(([names, indef]) => contextTag(4, true).map((t) => tlv(t, cat(...names), indef))),
  },
  // otherName: [0] { OID, [0] { ANY } } and its broken shapes
  {
    weight: 2,
    arbitrary: fc
      .tuple(oidBytes, fc.array(anyDer, { maxLength: 2 }), fc.nat({ max: 9 }), bit(0.1))
      .chain(([o, anys, shape, indef]) => {
        const inner = shape === 0 ? tlv(0x80, cat(...anys)) : tlv(0xa0, cat(...anys), indef);
        const parts = shape === 1 ? [inner] : shape === 2 ? [tlv(0x06, o)] : shape === 3 ? [inner, tlv(0x06, o)] : [tlv(0x06, o), inner];
        return contextTag(0, true).map((t) => tlv(t, cat(...parts), indef));
      }),
  },
  // x400Address: ORAddress, mostly minimal, sometimes not
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.constant(tlv(0x30, new Uint8Array(0))),
        fc.constant(cat(tlv(0x30, new Uint8Array(0)), tlv(0x30, cat(tlv(0x13, ascii('a')), tlv(0x13, ascii('b')))))),
        fc.constant(tlv(0x30, tlv(0x61, tlv(0x13, ascii('US'))))),
        fc.array(anyDer, { maxLength: 2 }).map((a) => cat(...a)),
      )
      .chain((c) => contextTag(3, true).map((t) => tlv(t, c))),
  },
  // ediPartyName: [5] { [0] DirectoryString OPTIONAL, [1] DirectoryString }
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.option(stringDer, { nil: undefined }), fc.option(stringDer, { nil: undefined }))
      .chain(([a, b]) =>
        contextTag(5, true).map((t) => tlv(t, cat(a ? tlv(0xa0, a) : new Uint8Array(0), b ? tlv(0xa1, b) : new Uint8Array(0)))),
      ),
  },
  // tags no GeneralName has, and universal elements
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.tuple(fc.integer({ min: 9, max: 30 }), fc.uint8Array({ maxLength: 4 })).map(([n, b]) => tlv(0x80 | n, b)),
      fc.uint8Array({ maxLength: 4 }).map((b) => tlv(0x04, b)),
      fc.constant(tlv(0xff, new Uint8Array(0))),
    ),
  },
);

/** GeneralNames: a SEQUENCE (DER or BER indefinite), now and then a SET, a primitive 0x10 or a context tag. */
const sanValue = fc
  .tuple(fc.array(generalName, { maxLength: 8 }), fc.nat({ max: 39 }), bit(0.1))
  .map(([names, shape, indef]) => {
    const body = cat(...names);
    if (shape === 0) return tlv(0x31, body);
    if (shape === 1) return tlv(0x10, new Uint8Array(0));
    if (shape === 2) return tlv(0xa0, body);
    return tlv(0x30, body, indef);
  });

// ---------------------------------------------------------------------------------------------------------------

describe('decodeCertificate equals the pkijs-based decoder it replaced', () => {
  it('on every certificate in the fixtures, the certificate zoo and the captures', () => {
    expect(corpus.size).toBeGreaterThanOrEqual(6 + ZOO_NAMES.length);
    let withSans = 0;
    for (const [label, der] of corpus) {
      const r = expectSame(der, label);
      expect('ok' in r, `${label} decodes`).toBe(true);
      if ('ok' in r && r.ok.sans.dns.length + r.ok.sans.ip.length + r.ok.sans.other.length > 0) withSans++;
      // A view into a larger buffer and a Buffer decode the same.
      const big = new Uint8Array(der.length + 9);
      big.set(der, 5);
      expect(outcome(decodeCertificate, big.subarray(5, 5 + der.length)), `${label} (view)`).toEqual(r);
      expect(outcome(decodeCertificate, Buffer.from(der)), `${label} (Buffer)`).toEqual(r);
    }
    expect(withSans).toBeGreaterThan(5);
  });

  it('on the lab certificate with its 256 SANs', () => {
    const c = generateCert({ commonName: 'localhost', sans: LOCAL_SANS, bits: 1024, keyName: 'x509-sans-test' });
    const r = expectSame(c.certDer, 'lab');
    expect('ok' in r && r.ok.sans.ip.length).toBe(LOCAL_SANS.ip.length);
  });

  it('on node-forge certificates with email, DNS, URI, IPv4 and IPv6 SANs and a multi-attribute name (forge cannot write a registeredID)', () => {
    const der = forgeCert(
      [
        { type: 1, value: 'ops@example.test' },
        { type: 2, value: 'rdp.example.test' },
        { type: 6, value: 'https://rdp.example.test/' },
        { type: 7, ip: '10.0.0.5' },
        { type: 7, ip: '2001:db8::1' },
        { type: 2, value: '' },
      ],
      [
        { shortName: 'CN', value: 'rdp.example.test' },
        { shortName: 'O', value: 'Example, Inc.' },
        { shortName: 'OU', value: '#ops ' },
        { shortName: 'C', value: 'US' },
      ],
    );
    const r = expectSame(der, 'forge');
    expect(r).toMatchObject({
      ok: {
        sans: {
          dns: ['rdp.example.test', ''],
          ip: ['10.0.0.5', '2001:db8::1'],
          other: ['email:ops@example.test', 'URI:https://rdp.example.test/'],
        },
        subjectCN: 'rdp.example.test',
        subject: 'C=US, OU=\\#ops\\ , O=Example\\, Inc., CN=rdp.example.test',
        selfSigned: true,
      },
    });
  });

  it('on hand-made SANs of every GeneralName type, and their refusals', () => {
    const template = fixture('office-win10-vm.der');
    const name = tlv(0x30, cat(tlv(0x31, tlv(0x30, cat(oid('2.5.4.3'), tlv(0x0c, ascii('dir, name')))))));
    const cases: [string, Uint8Array, string | RegExp][] = [
      ['otherName', tlv(0xa0, cat(oid('1.3.6.1.4.1.311.20.2.3'), tlv(0xa0, tlv(0x0c, ascii('u@x'))))), 'otherName:1.3.6.1.4.1.311.20.2.3'],
      ['x400Address', tlv(0xa3, tlv(0x30, new Uint8Array(0))), 'x400Address'],
      ['directoryName', tlv(0xa4, name), 'DirName:CN=dir\\, name'],
      ['ediPartyName', tlv(0xa5, tlv(0xa1, tlv(0x13, ascii('party')))), 'ediPartyName'],
      ['registeredID', tlv(0x88, oidBody([1, 2, 840, 113549])), 'RID:1.2.840.113549'],
      ['registeredID over 127 bytes', tlv(0x88, oidBody([1, 3, ...new Array<number>(40).fill(2 ** 31)])), `RID:1.3${'.2147483648'.repeat(40)}`],
      ['odd-length iPAddress', tlv(0x87, Uint8Array.of(1, 2, 3)), 'IP:010203'],
      ['dNSName constructed', tlv(0xa2, tlv(0x16, ascii('x'))), /schema was not verified .* AltName/],
      ['directoryName primitive', tlv(0x84, name), /schema was not verified .* AltName/],
      ['directoryName a SET', tlv(0xa4, tlv(0x31, new Uint8Array(0))), /schema was not verified .* AltName/],
      ['otherName without its value', tlv(0xa0, oid('1.2.3')), /schema was not verified .* AltName/],
      ['x400Address empty', tlv(0xa3, new Uint8Array(0)), /schema was not verified .* AltName/],
      ['ediPartyName without partyName', tlv(0xa5, tlv(0xa0, tlv(0x13, ascii('a')))), /schema was not verified .* AltName/],
      ['universal element', tlv(0x16, ascii('x')), /schema was not verified .* AltName/],
      ['tag [9]', tlv(0x89, ascii('x')), /schema was not verified .* AltName/],
      ['registeredID unterminated', tlv(0x88, Uint8Array.of(0x81)), /GeneralName registeredID/],
    ];
    for (const [label, gn, expected] of cases) {
      const der = withSan(template, tlv(0x30, cat(tlv(0x82, ascii('first.example.test')), gn)));
      const r = expectSame(der, label);
      if (typeof expected === 'string') {
        expect('ok' in r && r.ok.sans.other.at(-1), label).toBe(expected);
      } else {
        expect('error' in r && r.error.detail, label).toMatchObject({ kind: 'invalid_field', field: 'subjectAltName' });
        expect('error' in r && r.error.detail.kind === 'invalid_field' && r.error.detail.reason, label).toMatch(expected);
      }
    }
    // Not a SEQUENCE, a primitive 0x10, and a SAN in BER indefinite form.
    for (const v of [tlv(0x31, new Uint8Array(0)), Uint8Array.of(0x10, 0), tlv(0x30, tlv(0x82, ascii('a')), true)]) {
      expectSame(withSan(template, v), `outer ${Buffer.from(v).toString('hex')}`);
    }
  });

  it('on SANs nested near asn1js depth limit, read inside the certificate or only on their own', () => {
    const template = fixture('office-win10-vm.der');
    const outcomes = new Set<string>();
    for (const depth of [10, 90, 94, 95, 96, 97, 98, 99, 100, 101, 120]) {
      let any = tlv(0x05, new Uint8Array(0));
      for (let i = 0; i < depth; i++) any = tlv(0x30, any);
      const der = withSan(template, tlv(0x30, tlv(0xa0, cat(oid('1.2.3.4'), tlv(0xa0, any)))));
      const r = expectSame(der, `depth ${depth}`);
      outcomes.add('ok' in r ? r.ok.sans.other.join() : JSON.stringify('error' in r && r.error.detail));
    }
    // Some decode, some are refused as too deep.
    expect([...outcomes].some((o) => o === 'otherName:1.2.3.4')).toBe(true);
    expect([...outcomes].some((o) => o.includes('depth'))).toBe(true);
  });

  it('on a dNSName too long for one String.fromCharCode call, as before', () => {
    const template = fixture('office-win10-vm.der');
    for (const n of [70_000, 400_000]) expectSame(withSan(template, tlv(0x30, tlv(0x82, new Uint8Array(n).fill(0x61)))), `${n} bytes`);
  });

  it('on fast-check SubjectAltName DER spliced into real certificates', () => {
    const templates = [fixture('office-win10-vm.der'), fixture('ec-p256-multi-rdn.der')];
    const seen = { ok: 0, refused: 0 };
    fc.assert(
      fc.property(sanValue, fc.nat({ max: 1 }), bit(0.2), (san, t, critical) => {
        const r = expectSame(withSan(templates[t]!, san, critical), Buffer.from(san).toString('hex'));
        if ('ok' in r) seen.ok++;
        else seen.refused++;
      }),
      { numRuns: 600, seed: 0x11_5a45 },
    );
    // Not vacuous: both sides of the schema get exercised.
    expect(seen.ok).toBeGreaterThan(100);
    expect(seen.refused).toBeGreaterThan(100);
  });

  it('on mutated and truncated SubjectAltName DER and whole certificates', () => {
    const template = fixture('office-win10-vm.der');
    const real = [fixture('ec-p256-multi-rdn.der'), template];
    fc.assert(
      fc.property(sanValue, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), fc.boolean(), (san, ms, whole) => {
        const der = whole ? applyMutations(withSan(template, san), ms, real) : withSan(template, applyMutations(san, ms, real));
        expectSame(der, `${Buffer.from(san).toString('hex')} ${whole ? 'cert' : 'san'} ${describeMutations(ms)}`);
      }),
      { numRuns: 400, seed: 0x11_0b7e },
    );
    // Every truncation of a SAN with each type inside.
    const all = forgeCert(
      [{ type: 1, value: 'a@b' }, { type: 2, value: 'c' }, { type: 6, value: 'u:' }, { type: 7, ip: '::1' }],
      [{ shortName: 'CN', value: 'x' }],
    );
    for (let len = 0; len < all.length; len += 1) expectSame(all.subarray(0, len), `forge[0,${len})`);
  });
});

/** A certificate's TBSCertificate elements, signature algorithm and signature, as DER. */
function partsOf(der: Uint8Array): { tbs: Uint8Array[]; sigAlg: Uint8Array; sig: Uint8Array } {
  const cert = asn1js.fromBER(der).result as asn1js.Sequence;
  const [tbs, sigAlg, sig] = cert.valueBlock.value as [asn1js.Sequence, asn1js.AsnType, asn1js.AsnType];
  const raw = (b: asn1js.AsnType): Uint8Array => Uint8Array.from(b.valueBeforeDecodeView);
  return { tbs: tbs.valueBlock.value.map(raw), sigAlg: raw(sigAlg), sig: raw(sig) };
}

const none = new Uint8Array(0);
const ext = (id: string, value: Uint8Array, critical?: Uint8Array): Uint8Array =>
  tlv(0x30, cat(oid(id), critical ?? none, tlv(0x04, value)));

/** Elements a TBSCertificate may, or must not, hold: optional fields, Times, extension lists of odd shapes. */
const TBS_POOL: Uint8Array[] = [
  tlv(0x81, Uint8Array.of(0, 1)), // issuerUniqueID
  tlv(0x82, Uint8Array.of(0, 2)), // subjectUniqueID
  tlv(0xa1, tlv(0x03, Uint8Array.of(0, 1))), // constructed [1]
  tlv(0xa0, tlv(0x02, Uint8Array.of(2))), // version v3
  tlv(0xa0, tlv(0x02, Uint8Array.of(0))), // version v1, written
  tlv(0xa0, tlv(0x01, Uint8Array.of(0xff))), // version not an INTEGER
  tlv(0x80, Uint8Array.of(2)), // version primitive
  tlv(0x02, Uint8Array.of(0x01, 0x02)),
  tlv(0x05, none),
  tlv(0x30, none),
  tlv(0x30, cat(tlv(0x17, ascii('260101000000Z')), tlv(0x18, ascii('20270101000000.5Z')))), // validity
  tlv(0x30, cat(tlv(0x18, ascii('20260101000000Z')), tlv(0x17, ascii('991231235959Z')), tlv(0x05, none))),
  tlv(0x30, tlv(0x17, ascii('260101000000Z'))), // validity with one Time
  tlv(0xa3, none),
  tlv(0xa3, tlv(0x30, none)),
  tlv(0xa3, tlv(0x31, none)),
  tlv(0xa3, cat(tlv(0x30, ext('2.5.29.17', tlv(0x30, tlv(0x82, ascii('a.test'))))), tlv(0x30, ext('2.5.29.17', tlv(0x30, none))))),
  tlv(0xa3, tlv(0x30, ext('2.5.29.17', tlv(0x30, tlv(0x82, ascii('crit.test'))), tlv(0x01, Uint8Array.of(0xff))))),
  tlv(0xa3, tlv(0x30, ext('2.5.29.19', tlv(0x30, tlv(0x01, Uint8Array.of(0xff))), tlv(0x01, Uint8Array.of(0))))),
  tlv(0xa3, tlv(0x30, cat(ext('2.5.29.37', tlv(0x30, oid('1.3.6.1.5.5.7.3.1'))), ext('2.5.29.37', tlv(0x30, oid('1.3.6.1.5.5.7.3.2')))))),
  tlv(0xa3, tlv(0x30, tlv(0x30, cat(oid('2.5.29.15'), tlv(0x03, Uint8Array.of(7, 0x80)), tlv(0x04, none))))), // KU with a BIT STRING where BOOLEAN goes
  tlv(0xa3, tlv(0x30, tlv(0x30, cat(oid('2.5.29.17'), tlv(0x24, tlv(0x04, tlv(0x30, none))))))), // constructed OCTET STRING
  tlv(0xa3, tlv(0x30, tlv(0x30, cat(oid('2.5.29.17'), tlv(0x04, tlv(0x30, tlv(0x82, ascii('x')))), tlv(0x05, none))))), // extra element
  tlv(0xa3, tlv(0x30, tlv(0x30, oid('2.5.29.17')))), // no extnValue
  tlv(0xa3, tlv(0x30, tlv(0x30, cat(tlv(0x01, Uint8Array.of(0xff)), tlv(0x04, none))))), // no extnID
];

type TbsOp =
  | { op: 'delete'; at: number }
  | { op: 'duplicate'; at: number }
  | { op: 'swap'; at: number }
  | { op: 'insert'; at: number; pool: number }
  | { op: 'append'; pool: number }
  | { op: 'replace'; at: number; pool: number }
  | { op: 'retag'; at: number; tag: number };

const tbsOp: fc.Arbitrary<TbsOp> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), at: fc.nat({ max: 11 }) }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat({ max: 11 }) }),
  fc.record({ op: fc.constant('swap' as const), at: fc.nat({ max: 11 }) }),
  { weight: 3, arbitrary: fc.record({ op: fc.constant('insert' as const), at: fc.nat({ max: 11 }), pool: fc.nat({ max: TBS_POOL.length - 1 }) }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('append' as const), pool: fc.nat({ max: TBS_POOL.length - 1 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('replace' as const), at: fc.nat({ max: 11 }), pool: fc.nat({ max: TBS_POOL.length - 1 }) }) },
  fc.record({ op: fc.constant('retag' as const), at: fc.nat({ max: 11 }), tag: fc.constantFrom(0x30, 0x31, 0x02, 0x17, 0x18, 0xa0, 0xa3, 0x81, 0x10, 0x13) }),
);

function applyTbsOps(items: readonly Uint8Array[], ops: readonly TbsOp[]): Uint8Array[] {
  const out = [...items];
  for (const o of ops) {
    if (o.op === 'append') {
      out.push(TBS_POOL[o.pool]!);
      continue;
    }
    const at = out.length === 0 ? 0 : o.at % out.length;
    if (o.op === 'delete') out.splice(at, 1);
    else if (o.op === 'duplicate' && out[at]) out.splice(at, 0, out[at]!);
    else if (o.op === 'swap' && at + 1 < out.length) [out[at], out[at + 1]] = [out[at + 1]!, out[at]!];
    else if (o.op === 'insert') out.splice(o.at % (out.length + 1), 0, TBS_POOL[o.pool]!);
    else if (o.op === 'replace') out.splice(at, 1, TBS_POOL[o.pool]!);
    else if (o.op === 'retag' && out[at]) {
      const b = Uint8Array.from(out[at]!);
      b[0] = o.tag;
      out[at] = b;
    }
  }
  return out;
}

describe('the Certificate schema, read without a pkijs object per part', () => {
  it('accepts and refuses TBSCertificates of every shape as pkijs.Certificate did', () => {
    const real = [fixture('office-win10-vm.der'), fixture('ec-p256-multi-rdn.der'), fixture('win2k8r2-awakecoding.der')].map(partsOf);
    // Each also without its extensions, so what is appended lands in the optional slots after the key.
    const templates = [...real, ...real.map((p) => ({ ...p, tbs: p.tbs.filter((e) => e[0] !== 0xa3) }))];
    // Every validity of the pool in place of each template's own (UTCTime and GeneralizedTime, fractions, a
    // year before 1950 or after 2049 by UTCTime's rule, a Time too many or too few).
    const times: string[] = [];
    for (const { tbs, sigAlg, sig } of real) {
      const at = tbs[0]![0] === 0xa0 ? 4 : 3;
      for (const validity of TBS_POOL.filter((e) => e[0] === 0x30 && e.length > 2)) {
        const items = [...tbs];
        items[at] = validity;
        const r = expectSame(tlv(0x30, cat(tlv(0x30, cat(...items)), sigAlg, sig)), `validity ${Buffer.from(validity).toString('hex')}`);
        if ('ok' in r) times.push(`${r.ok.notBefore} ${r.ok.notAfter}`);
      }
    }
    expect(times).toContain('2026-01-01T00:00:00.000Z 2027-01-01T00:00:00.500Z');
    expect(times).toContain('2026-01-01T00:00:00.000Z 1999-12-31T23:59:59.000Z');
    const seen = { ok: 0, refused: 0 };
    fc.assert(
      fc.property(
        fc.nat({ max: templates.length - 1 }),
        fc.array(tbsOp, { minLength: 1, maxLength: 3 }),
        fc.nat({ max: 5 }),
        (t, ops, outer) => {
          const { tbs, sigAlg, sig } = templates[t]!;
          const body = tlv(0x30, cat(...applyTbsOps(tbs, ops)));
          // The outer SEQUENCE: as it is, with an extra element, with parameters dropped or added, or a signature of the wrong type.
          const alg = outer === 2 ? tlv(0x30, oid('1.2.840.113549.1.1.11')) : outer === 3 ? tlv(0x30, cat(oid('1.2.840.113549.1.1.10'), tlv(0x30, none))) : sigAlg;
          const tail = outer === 1 ? tlv(0x05, none) : none;
          const sigValue = outer === 4 ? tlv(0x04, sig.subarray(2)) : sig;
          const r = expectSame(tlv(0x30, cat(body, alg, sigValue, tail)), JSON.stringify({ t, ops, outer }));
          if ('ok' in r) seen.ok++;
          else seen.refused++;
        },
      ),
      { numRuns: 800, seed: 0x11_7b5 },
    );
    expect(seen.ok).toBeGreaterThan(100);
    expect(seen.refused).toBeGreaterThan(100);
  });
});

describe('formatIp (which the oracle shares)', () => {
  it('writes IPv4 as the four bytes joined with dots, as it did', () => {
    for (let v = 0; v < 256; v++) {
      for (const at of [0, 1, 2, 3]) {
        const b = Uint8Array.of(1, 22, 133, 254);
        b[at] = v;
        expect(formatIp(b)).toBe(Array.from(b).join('.'));
      }
    }
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (b) => formatIp(b) === Array.from(b).join('.')),
      { numRuns: 2000, seed: 0x11_19 },
    );
  });
});

describe('decodeCertificate cost', () => {
  /** Best of `runs` timings of `n` decodes (the best is the least disturbed by other work on the machine). */
  function best(decode: (der: Uint8Array) => unknown, der: Uint8Array, n: number, runs: number): number {
    let min = Infinity;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) decode(der);
      min = Math.min(min, performance.now() - t0);
    }
    return min;
  }

  it('grows with the SAN count about linearly, and reads a 256-SAN certificate several times faster than before', () => {
    const template = fixture('office-win10-vm.der');
    const ips = (k: number): Uint8Array =>
      tlv(0x30, cat(...Array.from({ length: k }, (_, i) => tlv(0x87, Uint8Array.of(10, (i >> 16) & 255, (i >> 8) & 255, i & 255)))));
    const small = withSan(template, ips(256));
    const large = withSan(template, ips(4096));
    expectSame(large, '4096 SANs');
    best(decodeCertificate, small, 20, 1);
    const tSmall = best(decodeCertificate, small, 16, 5);
    const tLarge = best(decodeCertificate, large, 1, 5);
    // 16x the entries for 1/16 of the calls: equal work if linear; allow 4x for noise and the per-entry constant.
    expect(tLarge).toBeLessThan(4 * tSmall);
    const tBefore = best(oracleDecodeCertificate, small, 8, 3) * 2;
    expect(tSmall * 3).toBeLessThan(tBefore);
  });
});
