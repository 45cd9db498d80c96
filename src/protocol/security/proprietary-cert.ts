/**
 * The server certificate of Standard RDP Security (MS-RDPBCGR 2.2.1.4.3.1): either a proprietary
 * certificate (an RSA1 public key blob signed with the well-known Terminal Services key, 5.3.3.1) or an
 * X.509 chain (2.2.1.4.2, 5.3.3.2). Decoders are strict and total; verification is separate, so a report can
 * show a certificate whose signature is wrong.
 */

import { createHash } from 'node:crypto';
import { DecodeError, EncodeError, nested } from '../codec/errors.js';
import { ByteReader } from '../codec/reader.js';
import { ByteWriter } from '../codec/writer.js';
import { decodeCertificate } from '../x509.js';
import {
  bigFromBytesBE,
  bigFromBytesLE,
  bigToBytesLE,
  modPow,
  stripLeadingZeros,
  type RsaPublicKey,
} from './rsa.js';
import { TERMINAL_SERVICES_KEY, TERMINAL_SERVICES_KEY_LENGTH } from './terminal-services-key.js';

export const CERT_CHAIN_VERSION_1 = 1;
export const CERT_CHAIN_VERSION_2 = 2;
/** The t bit of dwVersion: the certificate is temporary (a server that has no license-server-issued one). */
export const CERT_TEMPORARY_BIT = 0x80000000;
export const SIGNATURE_ALG_RSA = 1;
export const KEY_EXCHANGE_ALG_RSA = 1;
export const BB_RSA_KEY_BLOB = 0x0006;
export const BB_RSA_SIGNATURE_BLOB = 0x0008;
/** 'RSA1' read as a little-endian 32-bit number. */
export const RSA1_MAGIC = 0x31415352;

export interface ProprietaryCertificate {
  /** Low 31 bits of dwVersion: CERT_CHAIN_VERSION_1. */
  version: number;
  temporary: boolean;
  sigAlgId: number;
  keyAlgId: number;
  publicExponent: number;
  /** Big-endian, bitLength / 8 bytes (the blob's zero padding removed). */
  modulus: Uint8Array;
  bitLength: number;
  /** keylen from the blob: modulus bytes plus padding (normally bitLength / 8 + 8). */
  keyLength: number;
  /** datalen from the blob: the most bytes of data the key can encrypt (normally bitLength / 8 - 1). */
  dataLength: number;
  /** The SignatureBlob as sent (little-endian, normally 64 bytes plus 8 zero bytes). */
  signature: Uint8Array;
  /** dwVersion through the end of PublicKeyBlob: what the signature covers (5.3.3.1.1). */
  signedBytes: Uint8Array;
}

export interface X509CertificateChain {
  temporary: boolean;
  /** DER certificates in wire order; the last is the server's own (5.3.3.2). */
  certificates: Uint8Array[];
}

export type ServerCertificate =
  | ({ kind: 'proprietary' } & ProprietaryCertificate)
  | ({ kind: 'x509' } & X509CertificateChain);

const PDU = 'Server Proprietary Certificate';

/** Decodes a whole serverCertificate field (dwVersion first) whose version is CERT_CHAIN_VERSION_1. */
export function decodeProprietaryCertificate(bytes: Uint8Array): ProprietaryCertificate {
  const r = new ByteReader(bytes, PDU);
  const dwVersion = r.u32le();
  const version = dwVersion & 0x7fffffff;
  if (version !== CERT_CHAIN_VERSION_1) {
    throw new DecodeError(PDU, 0, { kind: 'unexpected_type', got: version, expected: CERT_CHAIN_VERSION_1 });
  }
  const sigAlgId = r.u32le();
  const keyAlgId = r.u32le();
  const blobTypeAt = r.offset;
  const blobType = r.u16le();
  if (blobType !== BB_RSA_KEY_BLOB) r.fail('wPublicKeyBlobType', `0x${blobType.toString(16)} is not BB_RSA_KEY_BLOB`, blobTypeAt);
  const blobLen = r.u16le();
  const blobAt = r.offset;
  const blob = r.bytesN(blobLen);
  const key = nested(PDU, blobAt, () => decodeRsaPublicKeyBlob(blob));
  const signedBytes = bytes.subarray(0, r.offset);
  const sigTypeAt = r.offset;
  const sigType = r.u16le();
  if (sigType !== BB_RSA_SIGNATURE_BLOB) {
    r.fail('wSignatureBlobType', `0x${sigType.toString(16)} is not BB_RSA_SIGNATURE_BLOB`, sigTypeAt);
  }
  const sigLen = r.u16le();
  const signature = r.bytesN(sigLen);
  r.expectEnd();
  return {
    version,
    temporary: (dwVersion & CERT_TEMPORARY_BIT) !== 0,
    sigAlgId,
    keyAlgId,
    ...key,
    signature,
    signedBytes,
  };
}

function decodeRsaPublicKeyBlob(blob: Uint8Array): Pick<
  ProprietaryCertificate,
  'publicExponent' | 'modulus' | 'bitLength' | 'keyLength' | 'dataLength'
> {
  const r = new ByteReader(blob, 'RSA_PUBLIC_KEY');
  const magic = r.u32le();
  if (magic !== RSA1_MAGIC) r.fail('magic', `0x${magic.toString(16)} is not 'RSA1'`, 0);
  const keyLength = r.u32le();
  const bitLengthAt = r.offset;
  const bitLength = r.u32le();
  const dataLength = r.u32le();
  const publicExponent = r.u32le();
  if (bitLength === 0 || bitLength % 8 !== 0) r.fail('bitlen', `${bitLength} is not a positive multiple of 8`, bitLengthAt);
  if (bitLength / 8 > keyLength) r.fail('bitlen', `${bitLength} bits do not fit in keylen ${keyLength}`, bitLengthAt);
  const modulusLE = r.bytesN(keyLength);
  r.expectEnd();
  const modulus = Uint8Array.from(modulusLE.subarray(0, bitLength / 8)).reverse();
  return { publicExponent, modulus, bitLength, keyLength, dataLength };
}

/** Decodes a serverCertificate field of either kind (dwVersion 1: proprietary, 2: X.509 chain). */
export function decodeServerCertificate(bytes: Uint8Array): ServerCertificate {
  const r = new ByteReader(bytes, 'Server Certificate');
  const dwVersion = r.u32le();
  const version = dwVersion & 0x7fffffff;
  if (version === CERT_CHAIN_VERSION_1) return { kind: 'proprietary', ...decodeProprietaryCertificate(bytes) };
  if (version !== CERT_CHAIN_VERSION_2) {
    throw new DecodeError('Server Certificate', 0, { kind: 'unsupported_value', name: 'dwVersion', value: version });
  }
  const countAt = r.offset;
  const count = r.u32le();
  // 2.2.1.4.2 allows 2..200 blobs; each needs at least its 4-byte length, so the loop is bounded by the input.
  if (count === 0 || count > 200) r.fail('NumCertBlobs', `${count} is outside 1..200`, countAt);
  const certificates: Uint8Array[] = [];
  for (let i = 0; i < count; i++) certificates.push(r.bytesN(r.u32le()));
  // The rest is Padding (8 + 4 * NumCertBlobs bytes by the spec); servers vary, so it is not checked.
  return { kind: 'x509', temporary: (dwVersion & CERT_TEMPORARY_BIT) !== 0, certificates };
}

/** The RSA key of the last (the server's own) certificate of an X.509 chain. Throws DecodeError if it has none. */
export function publicKeyOfChain(chain: X509CertificateChain): RsaPublicKey {
  const last = chain.certificates[chain.certificates.length - 1];
  if (last === undefined) {
    throw new DecodeError('Server Certificate', 0, { kind: 'invalid_field', field: 'NumCertBlobs', reason: 'empty chain' });
  }
  const facts = decodeCertificate(last);
  // Windows licensing chains label the key md5WithRSAEncryption (1.2.840.113549.1.1.4), not rsaEncryption.
  if (facts.keyType !== 'RSA' && !facts.keyType.startsWith('1.2.840.113549.1.1.')) {
    throw new DecodeError('X.509 Certificate', 0, { kind: 'unsupported_value', name: 'key type', value: facts.keyType });
  }
  return nested('RSAPublicKey', 0, () => decodeRsaPublicKeyDer(facts.subjectPublicKey));
}

/** One DER TLV of `tag` (definite length, at most 3 length bytes); returns its contents. */
function derTlv(r: ByteReader, tag: number): Uint8Array {
  const at = r.offset;
  const t = r.u8();
  if (t !== tag) throw new DecodeError(r.pdu, at, { kind: 'unexpected_type', got: t, expected: tag });
  let len = r.u8();
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3) r.fail('length', `${n} length bytes`, at + 1);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + r.u8();
  }
  return r.bytesN(len);
}

/** RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 A.1.1). */
function decodeRsaPublicKeyDer(der: Uint8Array): RsaPublicKey {
  const outer = new ByteReader(der, 'RSAPublicKey');
  const r = new ByteReader(derTlv(outer, 0x30), 'RSAPublicKey');
  outer.expectEnd();
  const n = stripLeadingZeros(derTlv(r, 0x02));
  const e = bigFromBytesBE(derTlv(r, 0x02));
  r.expectEnd();
  if (e < 2n || e > 0xffffffffn) r.fail('publicExponent', 'must be 2..2^32-1 for Standard RDP Security', 0);
  if (n.length < 33) r.fail('modulus', `${n.length} bytes is too short to carry a 32-byte random`, 0);
  return { publicExponent: Number(e), modulus: Uint8Array.from(n) };
}

/** The 63 bytes that are RSA-signed (5.3.3.1.2): MD5 hash, 0x00, 45 x 0xFF, 0x01 (little-endian number). */
function paddedHash(signedBytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(TERMINAL_SERVICES_KEY_LENGTH - 1).fill(0xff);
  out.set(createHash('md5').update(signedBytes).digest(), 0);
  out[16] = 0x00;
  out[out.length - 1] = 0x01;
  return out;
}

export interface CertificateVerification {
  ok: boolean;
  reason?: string;
}

/** Checks the signature against the well-known Terminal Services public key. */
export function verifyProprietaryCertificate(
  cert: Pick<ProprietaryCertificate, 'signature' | 'signedBytes' | 'sigAlgId' | 'keyAlgId'>,
): CertificateVerification {
  if (cert.sigAlgId !== SIGNATURE_ALG_RSA) return { ok: false, reason: `dwSigAlgId ${cert.sigAlgId} is not SIGNATURE_ALG_RSA` };
  if (cert.keyAlgId !== KEY_EXCHANGE_ALG_RSA) return { ok: false, reason: `dwKeyAlgId ${cert.keyAlgId} is not KEY_EXCHANGE_ALG_RSA` };
  const n = bigFromBytesBE(TERMINAL_SERVICES_KEY.modulus);
  if (cert.signature.length < TERMINAL_SERVICES_KEY_LENGTH) {
    return { ok: false, reason: `signature is ${cert.signature.length} bytes, shorter than the 64-byte key` };
  }
  // Bytes beyond the key length are the 8 bytes of padding; as high-order bytes of a little-endian number
  // they must be zero for the value to be below the modulus.
  const s = bigFromBytesLE(cert.signature);
  if (s >= n) return { ok: false, reason: 'signature is not smaller than the Terminal Services modulus' };
  const m = bigToBytesLE(modPow(s, BigInt(TERMINAL_SERVICES_KEY.publicExponent), n), TERMINAL_SERVICES_KEY_LENGTH);
  const expected = paddedHash(cert.signedBytes);
  for (let i = 0; i < 16; i++) {
    if (m[i] !== expected[i]) return { ok: false, reason: 'MD5 hash in the signature does not match the certificate' };
  }
  for (let i = 16; i < TERMINAL_SERVICES_KEY_LENGTH; i++) {
    if (m[i] !== (expected[i] ?? 0)) return { ok: false, reason: 'signature padding is not 00 FF…FF 01' };
  }
  return { ok: true };
}

export interface EncodeProprietaryCertificateOptions {
  temporary?: boolean;
}

/**
 * A proprietary certificate for `key`, signed with the well-known private key when `sign` (as Windows
 * sends it); unsigned, the signature is zeros, for a lab server that presents a bad certificate.
 */
export function encodeProprietaryCertificate(
  key: RsaPublicKey,
  sign = true,
  opts: EncodeProprietaryCertificateOptions = {},
): Uint8Array {
  const modulus = stripLeadingZeros(key.modulus);
  if (modulus.length < 8 || modulus.length > 0xffff - 28) throw new EncodeError(`modulus of ${modulus.length} bytes`);
  const w = new ByteWriter(128 + modulus.length * 2);
  w.u32le((opts.temporary === true ? CERT_TEMPORARY_BIT : 0) + CERT_CHAIN_VERSION_1);
  w.u32le(SIGNATURE_ALG_RSA).u32le(KEY_EXCHANGE_ALG_RSA);
  w.u16le(BB_RSA_KEY_BLOB).u16le(20 + modulus.length + 8);
  w.u32le(RSA1_MAGIC).u32le(modulus.length + 8).u32le(modulus.length * 8).u32le(modulus.length - 1);
  w.u32le(key.publicExponent);
  w.bytes(Uint8Array.from(modulus).reverse()).bytes(new Uint8Array(8));
  const signedBytes = w.finish();
  const sig = sign
    ? bigToBytesLE(
        modPow(
          bigFromBytesLE(paddedHash(signedBytes)),
          bigFromBytesBE(TERMINAL_SERVICES_KEY.privateExponent),
          bigFromBytesBE(TERMINAL_SERVICES_KEY.modulus),
        ),
        TERMINAL_SERVICES_KEY_LENGTH,
      )
    : new Uint8Array(TERMINAL_SERVICES_KEY_LENGTH);
  w.u16le(BB_RSA_SIGNATURE_BLOB).u16le(sig.length + 8).bytes(sig).bytes(new Uint8Array(8));
  return w.finish();
}

/** An X.509 chain as Windows sends it (2.2.1.4.3.1.2): certificates in order, then 8 + 4 * count zero bytes of padding. */
export function encodeX509CertificateChain(certificates: Uint8Array[], temporary = false): Uint8Array {
  if (certificates.length < 1 || certificates.length > 200) throw new EncodeError(`${certificates.length} certificates in a chain (1..200)`);
  const w = new ByteWriter(64);
  w.u32le(((temporary ? CERT_TEMPORARY_BIT : 0) + CERT_CHAIN_VERSION_2) >>> 0).u32le(certificates.length);
  for (const c of certificates) w.u32le(c.length).bytes(c);
  w.bytes(new Uint8Array(8 + 4 * certificates.length));
  return w.finish();
}
