/**
 * The security exchange (MS-RDPBCGR 2.2.1.10, 5.3.4): the client random, encrypted with the server's
 * public key by raw RSA on little-endian numbers, sent in a TS_SECURITY_PACKET under a basic security header
 * with SEC_EXCHANGE_PKT.
 */

import { DecodeError, EncodeError } from '../codec/errors.js';
import { ByteReader } from '../codec/reader.js';
import { ByteWriter } from '../codec/writer.js';
import { SEC } from './constants.js';
import {
  bigFromBytesBE,
  bigFromBytesLE,
  bigToBytesLE,
  modPow,
  rawRsaLE,
  stripLeadingZeros,
  type RsaPrivateKey,
  type RsaPublicKey,
} from './rsa.js';

export const CLIENT_RANDOM_LENGTH = 32;
/** The zero bytes that follow the encrypted random on the wire (2.2.1.10.1, 5.3.4.1). */
export const EXCHANGE_PADDING_LENGTH = 8;

/**
 * Encrypts the 32-byte client random: m^e mod n, with m and the result little-endian. The result is as long
 * as the modulus; the PDU encoder adds the 8 zero bytes.
 */
export function encryptClientRandom(random32: Uint8Array, key: RsaPublicKey): Uint8Array {
  if (random32.length !== CLIENT_RANDOM_LENGTH) {
    throw new EncodeError(`client random must be 32 bytes, got ${random32.length}`);
  }
  if (stripLeadingZeros(key.modulus).length <= CLIENT_RANDOM_LENGTH) {
    throw new EncodeError('RSA modulus too short for a 32-byte random');
  }
  return rawRsaLE(random32, BigInt(key.publicExponent), key.modulus);
}

/**
 * The lab side of encryptClientRandom. Accepts the value with or without its trailing zero padding (as
 * high-order bytes of a little-endian number they do not change it). Throws DecodeError when the value is
 * not below the modulus or does not decrypt to 32 bytes.
 */
export function decryptClientRandom(encrypted: Uint8Array, privateKey: RsaPrivateKey): Uint8Array {
  const n = bigFromBytesBE(privateKey.modulus);
  const c = bigFromBytesLE(encrypted);
  if (n < 2n || c >= n) {
    throw badRandom('not smaller than the modulus');
  }
  const m = modPow(c, bigFromBytesBE(privateKey.privateExponent), n);
  if (m >> 256n !== 0n) {
    throw badRandom('does not decrypt to 32 bytes');
  }
  return bigToBytesLE(m, CLIENT_RANDOM_LENGTH);
}

function badRandom(reason: string): DecodeError {
  return new DecodeError('Client Random', 0, { kind: 'invalid_field', field: 'encryptedClientRandom', reason });
}

export interface SecurityExchangePdu {
  /** The basic security header flags: SEC_EXCHANGE_PKT, perhaps SEC_LICENSE_ENCRYPT_SC. */
  flags: number;
  flagsHi: number;
  /** encryptedClientRandom exactly as long as `length` says, padding included. */
  encryptedClientRandom: Uint8Array;
}

export interface EncodeSecurityExchangeOptions {
  /** Extra flags besides SEC_EXCHANGE_PKT (e.g. SEC.LICENSE_ENCRYPT: the client can take encrypted licensing). */
  extraFlags?: number;
}

/** TS_SECURITY_PACKET: basic header, length, the encrypted random and its 8 zero bytes. */
export function encodeSecurityExchangePdu(encrypted: Uint8Array, opts: EncodeSecurityExchangeOptions = {}): Uint8Array {
  const w = new ByteWriter(16 + encrypted.length);
  w.u16le(SEC.EXCHANGE_PKT | (opts.extraFlags ?? 0)).u16le(0);
  w.u32le(encrypted.length + EXCHANGE_PADDING_LENGTH);
  w.bytes(encrypted).bytes(new Uint8Array(EXCHANGE_PADDING_LENGTH));
  return w.finish();
}

/** Decodes a TS_SECURITY_PACKET (the userData of the MCS Send Data Request). Strict: no bytes after it. */
export function decodeSecurityExchangePdu(bytes: Uint8Array): SecurityExchangePdu {
  const r = new ByteReader(bytes, 'Security Exchange PDU');
  const flags = r.u16le();
  if ((flags & SEC.EXCHANGE_PKT) === 0) r.fail('flags', `0x${flags.toString(16)} lacks SEC_EXCHANGE_PKT`, 0);
  const flagsHi = r.u16le();
  const length = r.u32le();
  const encryptedClientRandom = r.bytesN(length);
  r.expectEnd();
  return { flags, flagsHi, encryptedClientRandom };
}
