/**
 * The X.509 decoder's tables (attribute, algorithm, key, curve, EKU and key-usage names by OID), its small
 * helpers and the parts the speed work left as they were (key and signature description, the self-signature and
 * outer-length checks), in a module of their own so that the decoder and its test oracle (test/protocol/x509-oracle.ts, the
 * decoder as it was before the speed work) read the same tables instead of two copies.
 */
import { X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { DecodeError } from './codec/errors.js';
import type { CertificateFacts, SignatureHash } from './x509.js';

export const PDU = 'X.509 Certificate';

// ---------------------------------------------------------------------------------------------------------------
// OID tables

export const ATTRIBUTE_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'STREET',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.42': 'GN',
  '2.5.4.43': 'initials',
  '2.5.4.46': 'dnQualifier',
  '2.5.4.65': 'pseudonym',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

export const HASH_OIDS: Record<string, SignatureHash> = {
  '1.2.840.113549.2.5': 'md5',
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

export const SIGNATURE_ALGORITHMS: Record<string, { name: string; hash?: SignatureHash }> = {
  '1.2.840.113549.1.1.2': { name: 'md2WithRSAEncryption' },
  '1.2.840.113549.1.1.4': { name: 'md5WithRSAEncryption', hash: 'md5' },
  '1.2.840.113549.1.1.5': { name: 'sha1WithRSAEncryption', hash: 'sha1' },
  '1.3.14.3.2.29': { name: 'sha1WithRSAEncryption', hash: 'sha1' },
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', hash: 'sha512' },
  '1.2.840.113549.1.1.14': { name: 'sha224WithRSAEncryption' },
  '1.2.840.113549.1.1.10': { name: 'RSASSA-PSS' },
  '1.2.840.10045.4.1': { name: 'ecdsa-with-SHA1', hash: 'sha1' },
  '1.2.840.10045.4.3.1': { name: 'ecdsa-with-SHA224' },
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', hash: 'sha512' },
  '1.3.101.112': { name: 'Ed25519' },
  '1.3.101.113': { name: 'Ed448' },
  '1.2.840.10040.4.3': { name: 'dsa-with-SHA1', hash: 'sha1' },
  '2.16.840.1.101.3.4.3.2': { name: 'dsa-with-SHA256', hash: 'sha256' },
};

export const KEY_TYPES: Record<string, string> = {
  '1.2.840.113549.1.1.1': 'RSA',
  '1.2.840.113549.1.1.10': 'RSA-PSS',
  '1.2.840.10045.2.1': 'EC',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
  '1.2.840.10040.4.1': 'DSA',
};

export const CURVES: Record<string, { name: string; bits: number }> = {
  '1.2.840.10045.3.1.7': { name: 'P-256', bits: 256 },
  '1.3.132.0.34': { name: 'P-384', bits: 384 },
  '1.3.132.0.35': { name: 'P-521', bits: 521 },
  '1.2.840.10045.3.1.1': { name: 'P-192', bits: 192 },
  '1.3.132.0.33': { name: 'P-224', bits: 224 },
  '1.3.132.0.10': { name: 'secp256k1', bits: 256 },
  '1.3.36.3.3.2.8.1.1.7': { name: 'brainpoolP256r1', bits: 256 },
  '1.3.36.3.3.2.8.1.1.11': { name: 'brainpoolP384r1', bits: 384 },
  '1.3.36.3.3.2.8.1.1.13': { name: 'brainpoolP512r1', bits: 512 },
};

export const EKU_NAMES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
  '2.5.29.37.0': 'anyExtendedKeyUsage',
  // Microsoft "Remote Desktop Authentication", used by RDS certificate templates.
  '1.3.6.1.4.1.311.54.1.2': 'remoteDesktopAuth',
  '1.3.6.1.4.1.311.10.3.3': 'serverGatedCrypto',
  '2.16.840.1.113730.4.1': 'nsSGC',
};

export const KEY_USAGE_BITS = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
];

export const EXT_SAN = '2.5.29.17';
export const EXT_EKU = '2.5.29.37';
export const EXT_KEY_USAGE = '2.5.29.15';
export const EXT_BASIC_CONSTRAINTS = '2.5.29.19';

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Offset of a decoded asn1js block in the input (asn1js decodes a copy that starts at 0). */
export function offsetOf(block: { valueBeforeDecodeView?: Uint8Array } | undefined): number {
  return block?.valueBeforeDecodeView?.byteOffset ?? 0;
}

export function invalid(field: string, reason: string, offset: number): DecodeError {
  return new DecodeError(PDU, offset, { kind: 'invalid_field', field, reason });
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function bitLength(unsigned: Uint8Array): number {
  let i = 0;
  while (i < unsigned.length && unsigned[i] === 0) i++;
  if (i === unsigned.length) return 0;
  return (unsigned.length - i - 1) * 8 + (32 - Math.clz32(unsigned[i]!));
}

export function describeKey(spki: pkijs.PublicKeyInfo): Pick<CertificateFacts, 'keyType' | 'keyBits' | 'curve'> {
  const oid = spki.algorithm.algorithmId;
  const keyType = KEY_TYPES[oid] ?? oid;
  const out: Pick<CertificateFacts, 'keyType' | 'keyBits' | 'curve'> = { keyType };
  if (keyType === 'RSA' || keyType === 'RSA-PSS') {
    const key = spki.parsedKey;
    if (key instanceof pkijs.RSAPublicKey) out.keyBits = bitLength(key.modulus.valueBlock.valueHexView);
  } else if (keyType === 'EC') {
    const params: unknown = spki.algorithm.algorithmParams;
    if (params instanceof asn1js.ObjectIdentifier) {
      const curveOid = params.valueBlock.toString();
      const known = CURVES[curveOid];
      out.curve = known?.name ?? curveOid;
      if (known) out.keyBits = known.bits;
    }
    if (out.keyBits === undefined) {
      const point = spki.subjectPublicKey.valueBlock.valueHexView;
      if (point[0] === 0x04 && point.length > 1) out.keyBits = ((point.length - 1) / 2) * 8;
    }
  } else if (keyType === 'Ed25519' || keyType === 'Ed448') {
    out.curve = keyType;
  } else if (keyType === 'DSA') {
    const params: unknown = spki.algorithm.algorithmParams;
    if (params instanceof asn1js.Sequence) {
      const p = params.valueBlock.value[0];
      if (p instanceof asn1js.Integer) out.keyBits = bitLength(p.valueBlock.valueHexView);
    }
  }
  return out;
}

export function describeSignature(alg: pkijs.AlgorithmIdentifier): { name: string; hash?: SignatureHash } {
  const oid = alg.algorithmId;
  const known = SIGNATURE_ALGORITHMS[oid];
  if (!known) return { name: oid };
  if (known.name !== 'RSASSA-PSS') return known;
  // RSASSA-PSS: the hash is in the parameters, SHA-1 when absent (RFC 4055).
  let hash: SignatureHash | undefined = 'sha1';
  const params: unknown = alg.algorithmParams;
  if (params instanceof asn1js.Sequence) {
    try {
      const pss = new pkijs.RSASSAPSSParams({ schema: params });
      hash = HASH_OIDS[pss.hashAlgorithm.algorithmId];
    } catch {
      hash = undefined;
    }
  }
  return hash ? { name: known.name, hash } : { name: known.name };
}

export function verifiesWithOwnKey(der: Uint8Array): boolean {
  try {
    const x = new X509Certificate(der);
    return x.verify(x.publicKey);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Outer structure

/** Checks the outer SEQUENCE header against the buffer, so truncation and trailing bytes get precise errors. */
export function checkOuterLength(der: Uint8Array): void {
  if (der.length < 2) throw new DecodeError(PDU, 0, { kind: 'not_enough_bytes', received: der.length, expected: 2 });
  if (der[0] !== 0x30) throw new DecodeError(PDU, 0, { kind: 'unexpected_type', got: der[0]!, expected: 0x30 });
  const first = der[1]!;
  let header = 2;
  let length = first;
  if (first === 0x80) throw invalid('length', 'indefinite length is not DER', 1);
  if (first > 0x80) {
    const n = first & 0x7f;
    if (n > 4) throw invalid('length', `${n} length octets`, 1);
    if (der.length < 2 + n) {
      throw new DecodeError(PDU, 2, { kind: 'not_enough_bytes', received: der.length, expected: 2 + n });
    }
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[2 + i]!;
    header = 2 + n;
  }
  const total = header + length;
  if (der.length < total) {
    throw new DecodeError(PDU, header, { kind: 'not_enough_bytes', received: der.length, expected: total });
  }
  if (der.length > total) throw new DecodeError(PDU, total, { kind: 'trailing_bytes', count: der.length - total });
}
