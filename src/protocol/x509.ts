/**
 * X.509 certificate decoding (asn1js + pkijs): turns the DER a TLS server sent into plain facts for the report
 * and for certificate findings. Pure: no fs, sockets or clock; node:crypto is used for hashing and for checking
 * a self-issued certificate's signature with its own key.
 *
 * Distinguished names are rendered RFC 4514 style: most specific RDN FIRST ("CN=host, O=Org, C=US"), i.e. the
 * reverse of the order they are encoded in; multi-valued RDNs are joined with "+", special characters escaped.
 */

import { X509Certificate, createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { DecodeError } from './codec/errors.js';
import { PDU, ATTRIBUTE_NAMES, HASH_OIDS, SIGNATURE_ALGORITHMS, KEY_TYPES, CURVES, EKU_NAMES, KEY_USAGE_BITS, EXT_SAN, EXT_EKU, EXT_KEY_USAGE, EXT_BASIC_CONSTRAINTS, hex, offsetOf, invalid, errorText, bitLength, describeKey, describeSignature, verifiesWithOwnKey, checkOuterLength } from './x509-tables.js';

export type SignatureHash = 'md5' | 'sha1' | 'sha256' | 'sha384' | 'sha512';

export interface CertificateFacts {
  /** RFC 4514 style, most specific first: "CN=localhost, O=Example". */
  subject: string;
  /** The most specific (last encoded) commonName. */
  subjectCN?: string;
  issuer: string;
  issuerCN?: string;
  /** Issuer name equals subject name. */
  selfIssued: boolean;
  /** Self-issued and the signature verifies with the certificate's own public key. */
  selfSigned: boolean;
  /** Lower-case hex of the INTEGER contents, without a leading 00 sign byte. */
  serialNumber: string;
  /** ISO 8601 (UTC). */
  notBefore: string;
  notAfter: string;
  /** subjectAltName entries: dNSName, iPAddress (IPv4 dotted, IPv6 RFC 5952), the rest as "type:value". */
  sans: { dns: string[]; ip: string[]; other: string[] };
  /** Fingerprints of the whole DER certificate: lower-case hex, no colons. */
  sha256: string;
  /** Also what Windows calls the thumbprint (certlm, SSLCertificateSHA1Hash), which it writes upper-case. */
  sha1: string;
  /** SHA-256 of the DER SubjectPublicKeyInfo (the value key pinning uses), lower-case hex. */
  spkiSha256: string;
  /** 'RSA' | 'RSA-PSS' | 'EC' | 'Ed25519' | 'Ed448' | 'DSA', else the algorithm OID. */
  keyType: 'RSA' | 'EC' | 'Ed25519' | 'DSA' | (string & {});
  /** RSA/DSA modulus size, EC curve size; absent for Ed25519/Ed448 and unparseable keys. */
  keyBits?: number;
  /** EC curve: 'P-256', 'P-384', 'P-521', 'secp256k1', brainpool names, else the OID. */
  curve?: string;
  /** 'sha256WithRSAEncryption', 'ecdsa-with-SHA256', 'RSASSA-PSS', 'Ed25519', …, else the OID. */
  signatureAlgorithm: string;
  signatureHash?: SignatureHash;
  /** Extended key usages by name ('serverAuth', 'clientAuth', …) or OID; null when the extension is absent. */
  ekus: string[] | null;
  /** keyUsage bit names ('digitalSignature', 'keyEncipherment', …); absent when the extension is absent. */
  keyUsage?: string[];
  /** basicConstraints cA. */
  isCa: boolean;
  /** 1, 2 or 3 (as people say it; the encoded field is one less). */
  version: number;
  /** The DER SubjectPublicKeyInfo, as encoded in the certificate (CredSSP pubKeyAuth needs it). */
  subjectPublicKeyInfoDer: Uint8Array;
  /** Contents of the subjectPublicKey BIT STRING (for RSA: the DER RSAPublicKey). */
  subjectPublicKey: Uint8Array;
}

/**
 * Parses the extension's inner DER; a malformed known extension is a DecodeError at the extension's offset.
 * asn1js already parsed the contents of a primitive OCTET STRING while reading the certificate and kept the tree
 * when it spanned every byte: that tree is the one a fresh parse gives (same bytes, same parser, looser limits
 * when fresh), so it is taken as it is; only when there is none is the value parsed again, for its error.
 */
function parseExtnValue(ext: Extension, field: string): asn1js.AsnType {
  const embedded = ext.extnValue.idBlock.isConstructed ? undefined : ext.extnValue.valueBlock.value;
  if (embedded?.length === 1) return embedded[0]!;
  const parsed = asn1js.fromBER(ext.extnValue.valueBlock.valueHexView);
  if (parsed.offset === -1) throw invalid(field, parsed.result.error || 'bad DER', offsetOf(ext.extnValue));
  if (parsed.offset !== ext.extnValue.valueBlock.valueHexView.byteLength) {
    throw invalid(field, 'trailing bytes inside the extension value', offsetOf(ext.extnValue));
  }
  return parsed.result;
}

// ---------------------------------------------------------------------------------------------------------------
// IP addresses (shared with the certificate findings)

/** IPv4 dotted quad, IPv6 in RFC 5952 form (lower case, longest zero run as "::", ::ffff:a.b.c.d when mapped). */
export function formatIp(bytes: Uint8Array): string | undefined {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) return undefined;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${Array.from(bytes.subarray(12)).join('.')}`;
  }
  let bestStart = -1;
  let bestLen = 1; // a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const text = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return text(groups);
  return `${text(groups.slice(0, bestStart))}::${text(groups.slice(bestStart + bestLen))}`;
}

function parseIpv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

/** Parses an IPv4 or IPv6 literal ("[::1]" and "%zone" accepted) to its 4 or 16 bytes; undefined if not an IP. */
export function parseIp(text: string): Uint8Array | undefined {
  let t = text.trim();
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  const v4 = parseIpv4(t);
  if (v4) return Uint8Array.from(v4);
  if (!t.includes(':')) return undefined;
  t = t.replace(/%.*$/, '');
  const halves = t.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const q = parseIpv4(p);
        if (!q) return undefined;
        out.push((q[0]! << 8) | q[1]!, (q[2]! << 8) | q[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    if (head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    if (head.length !== 8) return undefined;
    groups = head;
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** Canonical text of an IP literal (see formatIp), or undefined when the text is not an IP address. */
export function canonicalIp(text: string): string | undefined {
  const b = parseIp(text);
  return b ? formatIp(b) : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Names

/** RFC 4514 section 2.4 escaping of an attribute value. */
function escapeRdnValue(v: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === '\0') out += '\\00';
    else if ('"+,;<>\\'.includes(c)) out += `\\${c}`;
    else if ((i === 0 && (c === '#' || c === ' ')) || (i === v.length - 1 && c === ' ')) out += `\\${c}`;
    else out += c;
  }
  return out;
}

function attributeValueText(value: unknown): string {
  const v = value as { valueBlock?: { value?: unknown }; valueBeforeDecodeView?: Uint8Array };
  if (typeof v?.valueBlock?.value === 'string') return escapeRdnValue(v.valueBlock.value);
  return `#${v?.valueBeforeDecodeView ? hex(v.valueBeforeDecodeView) : ''}`;
}

interface RenderedName {
  text: string;
  cn?: string;
}

/**
 * Renders a Name from its asn1js node, whose shape a schema has already checked (SEQUENCE OF SET OF
 * SEQUENCE { OID, ANY }); reading the SETs keeps multi-valued RDNs together.
 */
function renderName(name: asn1js.AsnType): RenderedName {
  const rdns: string[][] = [];
  let cn: string | undefined;
  for (const set of childrenOf(name)) {
    const parts: string[] = [];
    for (const atv of childrenOf(set)) {
      const [typeBlock, value] = childrenOf(atv);
      const type = (typeBlock as asn1js.ObjectIdentifier).valueBlock.toString();
      const label = ATTRIBUTE_NAMES[type] ?? type;
      parts.push(`${label}=${attributeValueText(value)}`);
      const plain = (value as { valueBlock?: { value?: unknown } }).valueBlock?.value;
      if (type === '2.5.4.3' && typeof plain === 'string') cn = plain;
    }
    rdns.push(parts);
  }
  const text = rdns
    .reverse()
    .map((p) => p.join('+'))
    .join(', ');
  return cn === undefined ? { text } : { text, cn };
}

function sameBytes(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Extensions

/**
 * asn1js.compareSchema's identification test: class, number, form, and a tag number asn1js could read (a tag of
 * more than 9 octets is "hex only" and matches no schema).
 */
function tagIs(block: asn1js.AsnType, tagClass: number, tagNumber: number, constructed: boolean): boolean {
  const id = block.idBlock;
  return id.tagClass === tagClass && id.tagNumber === tagNumber && id.isConstructed === constructed && !id.isHexOnly;
}

function childrenOf(block: asn1js.AsnType): asn1js.AsnType[] {
  return (block as asn1js.Constructed).valueBlock.value;
}

/**
 * Whether a Name matches pkijs's RelativeDistinguishedNames schema (SEQUENCE OF SET OF SEQUENCE { OID, ANY }),
 * judged as compareSchema judges it: empty SEQUENCEs and SETs pass, an attribute needs at least its two elements
 * (more are ignored).
 */
function isRdnSequence(seq: asn1js.AsnType): boolean {
  if (!tagIs(seq, 1, 16, true)) return false;
  for (const set of childrenOf(seq)) {
    if (!tagIs(set, 1, 17, true)) return false;
    for (const atv of childrenOf(set)) {
      if (!tagIs(atv, 1, 16, true)) return false;
      const parts = childrenOf(atv);
      if (parts.length < 2 || !tagIs(parts[0]!, 1, 6, false)) return false;
    }
  }
  return true;
}

/** pkijs GeneralName.schema() once: only the rare x400Address and ediPartyName are checked against it. */
let generalNameSchema: ReturnType<typeof pkijs.GeneralName.schema> | undefined;

/**
 * Whether one element is a GeneralName as pkijs's GeneralName schema (a CHOICE over [0]..[8], compared by
 * asn1js.compareSchema) accepts it: extra elements inside a constructed alternative are ignored, as there.
 */
function isGeneralName(gn: asn1js.AsnType): boolean {
  const id = gn.idBlock;
  if (id.tagClass !== 3 || id.isHexOnly) return false;
  switch (id.tagNumber) {
    case 0: {
      // otherName: [0] { type-id OBJECT IDENTIFIER, [0] { ANY } }
      if (!id.isConstructed) return false;
      const parts = childrenOf(gn);
      return (
        parts.length >= 2 &&
        tagIs(parts[0]!, 1, 6, false) &&
        tagIs(parts[1]!, 3, 0, true) &&
        childrenOf(parts[1]!).length >= 1
      );
    }
    case 1:
    case 2:
    case 6:
    case 7:
    case 8:
      return !id.isConstructed;
    case 4: {
      if (!id.isConstructed) return false;
      const parts = childrenOf(gn);
      return parts.length >= 1 && isRdnSequence(parts[0]!);
    }
    case 3:
    case 5:
      if (!id.isConstructed) return false;
      generalNameSchema ??= pkijs.GeneralName.schema();
      return asn1js.compareSchema(gn, gn, generalNameSchema).verified;
    default:
      return false;
  }
}

/**
 * An IMPLICIT IA5String's text: one character per byte, as asn1js's IA5String decodes it (the same call, so a
 * name too long for one call's arguments fails here as it failed in pkijs).
 */
function ia5Text(gn: asn1js.AsnType): string {
  return String.fromCharCode.apply(null, (gn as asn1js.Primitive).valueBlock.valueHexView as unknown as number[]);
}

/** An IMPLICIT OBJECT IDENTIFIER read by asn1js as a universal one (what pkijs did by re-tagging and re-parsing). */
function registeredIdText(gn: asn1js.AsnType): string {
  const body = (gn as asn1js.Primitive).valueBlock.valueHexView;
  const n = body.length;
  const lengthOctets: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) lengthOctets.unshift(x & 0xff);
  if (n >= 0x80) lengthOctets.unshift(0x80 | lengthOctets.length);
  else lengthOctets[0] = n;
  const der = new Uint8Array(1 + lengthOctets.length + n);
  der[0] = 0x06;
  der.set(lengthOctets, 1);
  der.set(body, 1 + lengthOctets.length);
  const parsed = asn1js.fromBER(der);
  if (parsed.offset === -1) {
    throw new Error("Error during parsing of ASN.1 data. Data is not correct for 'GeneralName registeredID'.");
  }
  return (parsed.result as asn1js.ObjectIdentifier).valueBlock.toString();
}

/**
 * subjectAltName (RFC 5280 4.2.1.6) read straight from the asn1js tree. It accepts and rejects exactly what
 * pkijs's AltName did (every element checked before any is read, with its messages), at a fraction of the cost:
 * pkijs built a fresh GeneralName schema per entry and round-tripped each string through toBER/fromBER.
 */
function decodeSans(ext: Extension): CertificateFacts['sans'] {
  const out: CertificateFacts['sans'] = { dns: [], ip: [], other: [] };
  const seq = parseExtnValue(ext, 'subjectAltName');
  try {
    if (!tagIs(seq, 1, 16, true) || !childrenOf(seq).every(isGeneralName)) {
      throw new Error("Object's schema was not verified against input data for AltName");
    }
    for (const gn of childrenOf(seq)) {
      const tag = gn.idBlock.tagNumber;
      switch (tag) {
        case 1:
          out.other.push(`email:${ia5Text(gn)}`);
          break;
        case 2:
          out.dns.push(ia5Text(gn));
          break;
        case 4:
          out.other.push(`DirName:${renderName(childrenOf(gn)[0]!).text}`);
          break;
        case 6:
          out.other.push(`URI:${ia5Text(gn)}`);
          break;
        case 7: {
          const bytes = (gn as asn1js.Primitive).valueBlock.valueHexView;
          const text = formatIp(bytes);
          if (text !== undefined) out.ip.push(text);
          else out.other.push(`IP:${hex(bytes)}`);
          break;
        }
        case 8:
          out.other.push(`RID:${registeredIdText(gn)}`);
          break;
        case 0: {
          const first = childrenOf(gn)[0];
          const oid = first instanceof asn1js.ObjectIdentifier ? first.valueBlock.toString() : '';
          out.other.push(oid ? `otherName:${oid}` : 'otherName');
          break;
        }
        case 3:
          out.other.push('x400Address');
          break;
        default:
          out.other.push('ediPartyName');
      }
    }
  } catch (e) {
    throw invalid('subjectAltName', errorText(e), offsetOf(ext.extnValue));
  }
  return out;
}

function decodeEku(ext: Extension): string[] {
  const schema = parseExtnValue(ext, 'extendedKeyUsage');
  let eku: pkijs.ExtKeyUsage;
  try {
    eku = new pkijs.ExtKeyUsage({ schema });
  } catch (e) {
    throw invalid('extendedKeyUsage', errorText(e), offsetOf(ext.extnValue));
  }
  return eku.keyPurposes.map((oid) => EKU_NAMES[oid] ?? oid);
}

function decodeKeyUsage(ext: Extension): string[] {
  const schema = parseExtnValue(ext, 'keyUsage');
  if (!(schema instanceof asn1js.BitString)) throw invalid('keyUsage', 'not a BIT STRING', offsetOf(ext.extnValue));
  const bits = schema.valueBlock.valueHexView;
  const names: string[] = [];
  KEY_USAGE_BITS.forEach((name, i) => {
    const byte = bits[i >> 3];
    if (byte !== undefined && (byte >> (7 - (i & 7))) & 1) names.push(name);
  });
  return names;
}

function decodeIsCa(ext: Extension): boolean {
  const schema = parseExtnValue(ext, 'basicConstraints');
  try {
    return new pkijs.BasicConstraints({ schema }).cA;
  } catch (e) {
    throw invalid('basicConstraints', errorText(e), offsetOf(ext.extnValue));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Keys and signature

/** An extension as pkijs's Extension reads it: the extnID and the OCTET STRING node. */
interface Extension {
  extnID: string;
  extnValue: asn1js.OctetString;
}

/** The parts of a certificate decode() reads, found where pkijs's Certificate schema finds them. */
interface CertificateParts {
  version: number;
  serialNumber: asn1js.Integer;
  issuer: asn1js.AsnType;
  subject: asn1js.AsnType;
  notBefore: Date;
  notAfter: Date;
  subjectPublicKeyInfo: pkijs.PublicKeyInfo;
  extensions: Extension[] | undefined;
  signatureAlgorithm: pkijs.AlgorithmIdentifier;
}

/** The names pkijs's Certificate.fromSchema gives its schema, so the matched parts land under the same keys. */
const CERTIFICATE_SCHEMA_NAMES = {
  names: { tbsCertificate: { names: { extensions: { names: { extensions: 'tbsCertificate.extensions' } } } } },
};
let certificateSchema: ReturnType<typeof pkijs.Certificate.schema> | undefined;

/**
 * Matches the certificate against pkijs's own Certificate schema, built once (compareSchema only writes its
 * results into the input tree and re-reads the schema's tags idempotently, so a schema serves every call), and
 * reads the parts as pkijs.Certificate.fromSchema does. It skips what that constructor also did and decode()
 * never read: a pkijs object with a schema of its own for every Name, attribute, Time and extension, each
 * matched again, and the schema built afresh per certificate. PublicKeyInfo and the signature's
 * AlgorithmIdentifier stay pkijs objects (their parsed key and parameters are read).
 */
function readCertificate(root: asn1js.AsnType): CertificateParts {
  certificateSchema ??= pkijs.Certificate.schema(CERTIFICATE_SCHEMA_NAMES);
  const asn1 = asn1js.compareSchema(root, root, certificateSchema);
  if (!asn1.verified) throw new Error("Object's schema was not verified against input data for Certificate");
  const got = asn1.result as Record<string, unknown>;
  const node = (key: string): asn1js.AsnType => got[key] as asn1js.AsnType;
  // Time: UTCTime or GeneralizedTime, both read with toDate() (pkijs Time.fromSchema).
  const time = (key: string): Date => (got[key] as asn1js.UTCTime | asn1js.GeneralizedTime).toDate();
  const extensionNodes = got['tbsCertificate.extensions'] as asn1js.Sequence[] | undefined;
  return {
    version: 'tbsCertificate.version' in got ? (node('tbsCertificate.version') as asn1js.Integer).valueBlock.valueDec : 0,
    serialNumber: node('tbsCertificate.serialNumber') as asn1js.Integer,
    issuer: node('tbsCertificate.issuer'),
    subject: node('tbsCertificate.subject'),
    notBefore: time('tbsCertificate.notBefore'),
    notAfter: time('tbsCertificate.notAfter'),
    subjectPublicKeyInfo: new pkijs.PublicKeyInfo({ schema: node('tbsCertificate.subjectPublicKeyInfo') }),
    // Extension ::= SEQUENCE { extnID OID, critical BOOLEAN OPTIONAL, extnValue OCTET STRING } (schema-checked).
    extensions: extensionNodes?.map((e) => {
      const [id, second, third] = childrenOf(e);
      const critical = tagIs(second!, 1, 1, false);
      return {
        extnID: (id as asn1js.ObjectIdentifier).valueBlock.toString(),
        extnValue: (critical ? third : second) as asn1js.OctetString,
      };
    }),
    signatureAlgorithm: new pkijs.AlgorithmIdentifier({ schema: node('signatureAlgorithm') }),
  };
}

function decode(der: Uint8Array): CertificateFacts {
  checkOuterLength(der);
  const parsed = asn1js.fromBER(der);
  if (parsed.offset === -1) throw invalid('DER', parsed.result.error || 'malformed', 0);

  let cert: CertificateParts;
  try {
    cert = readCertificate(parsed.result);
  } catch (e) {
    throw invalid('Certificate', errorText(e), 0);
  }

  // Locate the SubjectPublicKeyInfo element to keep its exact encoding.
  const tbs = (parsed.result as asn1js.Sequence).valueBlock.value[0] as asn1js.Sequence;
  const items = tbs.valueBlock.value;
  const first = items[0];
  const hasVersion = first !== undefined && first.idBlock.tagClass === 3 && first.idBlock.tagNumber === 0;
  const spkiBlock = items[(hasVersion ? 1 : 0) + 5];
  if (!spkiBlock) throw invalid('subjectPublicKeyInfo', 'missing', offsetOf(tbs));
  const spkiDer = Uint8Array.from(spkiBlock.valueBeforeDecodeView);

  const subject = renderName(cert.subject);
  const issuer = renderName(cert.issuer);
  const selfIssued =
    sameBytes(cert.subject.valueBeforeDecodeView, cert.issuer.valueBeforeDecodeView) ||
    (subject.text.length > 0 && subject.text.toLowerCase() === issuer.text.toLowerCase());

  let serial = cert.serialNumber.valueBlock.valueHexView;
  if (serial.length > 1 && serial[0] === 0) serial = serial.subarray(1);

  const find = (oid: string): Extension | undefined => cert.extensions?.find((e) => e.extnID === oid);
  const sanExt = find(EXT_SAN);
  const ekuExt = find(EXT_EKU);
  const kuExt = find(EXT_KEY_USAGE);
  const bcExt = find(EXT_BASIC_CONSTRAINTS);

  const sig = describeSignature(cert.signatureAlgorithm);
  return {
    subject: subject.text,
    ...(subject.cn !== undefined ? { subjectCN: subject.cn } : {}),
    issuer: issuer.text,
    ...(issuer.cn !== undefined ? { issuerCN: issuer.cn } : {}),
    selfIssued,
    selfSigned: selfIssued && verifiesWithOwnKey(der),
    serialNumber: hex(serial),
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    sans: sanExt ? decodeSans(sanExt) : { dns: [], ip: [], other: [] },
    sha256: createHash('sha256').update(der).digest('hex'),
    sha1: createHash('sha1').update(der).digest('hex'),
    spkiSha256: createHash('sha256').update(spkiDer).digest('hex'),
    ...describeKey(cert.subjectPublicKeyInfo),
    signatureAlgorithm: sig.name,
    ...(sig.hash ? { signatureHash: sig.hash } : {}),
    ekus: ekuExt ? decodeEku(ekuExt) : null,
    ...(kuExt ? { keyUsage: decodeKeyUsage(kuExt) } : {}),
    isCa: bcExt ? decodeIsCa(bcExt) : false,
    version: cert.version + 1,
    subjectPublicKeyInfoDer: spkiDer,
    subjectPublicKey: Uint8Array.from(cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView),
  };
}

/**
 * Decodes one DER X.509 certificate. Throws DecodeError('X.509 Certificate', …) for anything malformed
 * (truncated, trailing bytes, schema mismatch, malformed subjectAltName/EKU/keyUsage/basicConstraints),
 * and nothing else.
 */
export function decodeCertificate(der: Uint8Array): CertificateFacts {
  try {
    return decode(der);
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw invalid('Certificate', errorText(e), 0);
  }
}

/** The facts as plain JSON for the report: the two key byte arrays are left out (spkiSha256 identifies the key). */
export function certificateFactsForReport(f: CertificateFacts): Record<string, unknown> {
  const { subjectPublicKeyInfoDer: _spki, subjectPublicKey: _key, ...rest } = f;
  return { ...rest, sans: { dns: [...f.sans.dns], ip: [...f.sans.ip], other: [...f.sans.other] } };
}
