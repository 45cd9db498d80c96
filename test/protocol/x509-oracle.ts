/**
 * Reference oracle for the X.509 decoder's equivalence tests: a verbatim copy of src/protocol/x509.ts as it was
 * before the speed work of issue #11 (pkijs AltName/GeneralName for subjectAltName, pkijs AttributeTypeAndValue
 * per name attribute), trimmed to the decode path. The IP helpers are unchanged and come from src.
 * Not a test file itself; test/protocol/x509-sans.test.ts holds the new decoder equal to it.
 */

import { X509Certificate, createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { DecodeError } from '../../src/protocol/codec/errors.js';
import { formatIp, type CertificateFacts, type SignatureHash } from '../../src/protocol/x509.js';
// The tables and small helpers are shared with the decoder (they did not change); the logic below is the old one.
import { PDU, ATTRIBUTE_NAMES, HASH_OIDS, SIGNATURE_ALGORITHMS, KEY_TYPES, CURVES, EKU_NAMES, KEY_USAGE_BITS, EXT_SAN, EXT_EKU, EXT_KEY_USAGE, EXT_BASIC_CONSTRAINTS, hex, offsetOf, invalid, errorText, bitLength, describeKey, describeSignature, verifiesWithOwnKey, checkOuterLength } from '../../src/protocol/x509-tables.js';


/** Parses the extension's inner DER; a malformed known extension is a DecodeError at the extension's offset. */
function parseExtnValue(ext: pkijs.Extension, field: string): asn1js.AsnType {
  const parsed = asn1js.fromBER(ext.extnValue.valueBlock.valueHexView);
  if (parsed.offset === -1) throw invalid(field, parsed.result.error || 'bad DER', offsetOf(ext.extnValue));
  if (parsed.offset !== ext.extnValue.valueBlock.valueHexView.byteLength) {
    throw invalid(field, 'trailing bytes inside the extension value', offsetOf(ext.extnValue));
  }
  return parsed.result;
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

/** Renders a Name; RDN membership is taken from the raw SET structure so multi-valued RDNs stay together. */
function renderName(name: pkijs.RelativeDistinguishedNames): RenderedName {
  const raw = asn1js.fromBER(name.valueBeforeDecode);
  const rdns: string[][] = [];
  let cn: string | undefined;
  const seq = raw.offset === -1 ? undefined : (raw.result as asn1js.Sequence);
  const sets = seq?.valueBlock?.value;
  if (Array.isArray(sets) && sets.length > 0) {
    for (const set of sets) {
      const parts: string[] = [];
      for (const atv of (set as asn1js.Set).valueBlock.value) {
        const t = new pkijs.AttributeTypeAndValue({ schema: atv });
        const label = ATTRIBUTE_NAMES[t.type] ?? t.type;
        parts.push(`${label}=${attributeValueText(t.value)}`);
        const plain = (t.value as { valueBlock?: { value?: unknown } }).valueBlock?.value;
        if (t.type === '2.5.4.3' && typeof plain === 'string') cn = plain;
      }
      rdns.push(parts);
    }
  }
  const text = rdns
    .reverse()
    .map((p) => p.join('+'))
    .join(', ');
  return cn === undefined ? { text } : { text, cn };
}

function sameBytes(a: ArrayBuffer, b: ArrayBuffer): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Extensions

function decodeSans(ext: pkijs.Extension): CertificateFacts['sans'] {
  const out: CertificateFacts['sans'] = { dns: [], ip: [], other: [] };
  const schema = parseExtnValue(ext, 'subjectAltName');
  let alt: pkijs.AltName;
  try {
    alt = new pkijs.AltName({ schema });
  } catch (e) {
    throw invalid('subjectAltName', errorText(e), offsetOf(ext.extnValue));
  }
  for (const gn of alt.altNames) {
    const v: unknown = gn.value;
    switch (gn.type) {
      case 1:
        out.other.push(`email:${String(v)}`);
        break;
      case 2:
        out.dns.push(String(v));
        break;
      case 4:
        out.other.push(`DirName:${renderName(v as pkijs.RelativeDistinguishedNames).text}`);
        break;
      case 6:
        out.other.push(`URI:${String(v)}`);
        break;
      case 7: {
        const bytes = (v as asn1js.OctetString).valueBlock.valueHexView;
        const text = formatIp(bytes);
        if (text !== undefined) out.ip.push(text);
        else out.other.push(`IP:${hex(bytes)}`);
        break;
      }
      case 8:
        out.other.push(`RID:${String(v)}`);
        break;
      case 0: {
        const first = (v as asn1js.Constructed | undefined)?.valueBlock?.value?.[0];
        const oid = first instanceof asn1js.ObjectIdentifier ? first.valueBlock.toString() : '';
        out.other.push(oid ? `otherName:${oid}` : 'otherName');
        break;
      }
      case 3:
        out.other.push('x400Address');
        break;
      case 5:
        out.other.push('ediPartyName');
        break;
      default:
        out.other.push(`type${gn.type}`);
    }
  }
  return out;
}

function decodeEku(ext: pkijs.Extension): string[] {
  const schema = parseExtnValue(ext, 'extendedKeyUsage');
  let eku: pkijs.ExtKeyUsage;
  try {
    eku = new pkijs.ExtKeyUsage({ schema });
  } catch (e) {
    throw invalid('extendedKeyUsage', errorText(e), offsetOf(ext.extnValue));
  }
  return eku.keyPurposes.map((oid) => EKU_NAMES[oid] ?? oid);
}

function decodeKeyUsage(ext: pkijs.Extension): string[] {
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

function decodeIsCa(ext: pkijs.Extension): boolean {
  const schema = parseExtnValue(ext, 'basicConstraints');
  try {
    return new pkijs.BasicConstraints({ schema }).cA;
  } catch (e) {
    throw invalid('basicConstraints', errorText(e), offsetOf(ext.extnValue));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Keys and signature

// ---------------------------------------------------------------------------------------------------------------
// Outer structure

function decode(der: Uint8Array): CertificateFacts {
  checkOuterLength(der);
  const parsed = asn1js.fromBER(der);
  if (parsed.offset === -1) throw invalid('DER', parsed.result.error || 'malformed', 0);

  let cert: pkijs.Certificate;
  try {
    cert = new pkijs.Certificate({ schema: parsed.result });
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
    sameBytes(cert.subject.valueBeforeDecode, cert.issuer.valueBeforeDecode) ||
    (subject.text.length > 0 && subject.text.toLowerCase() === issuer.text.toLowerCase());

  let serial = cert.serialNumber.valueBlock.valueHexView;
  if (serial.length > 1 && serial[0] === 0) serial = serial.subarray(1);

  const find = (oid: string): pkijs.Extension | undefined => cert.extensions?.find((e) => e.extnID === oid);
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
    notBefore: cert.notBefore.value.toISOString(),
    notAfter: cert.notAfter.value.toISOString(),
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
export function oracleDecodeCertificate(der: Uint8Array): CertificateFacts {
  try {
    return decode(der);
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw invalid('Certificate', errorText(e), 0);
  }
}

