import { constants, createPublicKey, generateKeyPairSync, publicEncrypt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decodeSecurityExchangePdu,
  decryptClientRandom,
  encodeSecurityExchangePdu,
  encryptClientRandom,
} from '../../../src/protocol/security/exchange.js';
import { decodeServerCertificate, publicKeyOfChain } from '../../../src/protocol/security/proprietary-cert.js';
import { bigFromBytesBE, bigFromBytesLE, type RsaPrivateKey } from '../../../src/protocol/security/rsa.js';
import { DecodeError, EncodeError } from '../../../src/protocol/codec/errors.js';
import { prng } from '../../helpers/prng.js';
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
import { findSecurityExchange, realStdSecurity, REAL_CAPTURES } from './real.js';

function rsaKey(bits: number): RsaPrivateKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const jwk = privateKey.export({ format: 'jwk' });
  const b = (s: string | undefined): Uint8Array => new Uint8Array(Buffer.from(s ?? '', 'base64url'));
  return { publicExponent: Number(bigFromBytesBE(b(jwk.e))), modulus: b(jwk.n), privateExponent: b(jwk.d) };
}

describe('client random encryption (5.3.4)', () => {
  const key = rsaKey(512);

  it('is raw little-endian RSA: matches OpenSSL RSA_NO_PADDING on the byte-reversed numbers', () => {
    const rng = prng(1);
    for (let i = 0; i < 5; i++) {
      const random = rng.bytes(32);
      const ours = encryptClientRandom(random, key);
      expect(ours).toHaveLength(64);
      expect(key.publicExponent).toBe(65537);
      const pub = createPublicKey({ key: { kty: 'RSA', n: Buffer.from(key.modulus).toString('base64url'), e: 'AQAB' }, format: 'jwk' });
      const block = new Uint8Array(64);
      block.set(Uint8Array.from(random).reverse(), 32); // big-endian, left-padded
      const oracle = publicEncrypt({ key: pub, padding: constants.RSA_NO_PADDING }, block);
      expect(hex(ours)).toBe(hex(Uint8Array.from(oracle).reverse()));
    }
  });

  it('the lab decrypts what the client encrypts, with or without the 8 padding bytes', () => {
    const rng = prng(2);
    for (const k of [key, rsaKey(1024), rsaKey(2048)]) {
      const random = rng.bytes(32);
      const enc = encryptClientRandom(random, k);
      expect(decryptClientRandom(enc, k)).toEqual(random);
      const pdu = decodeSecurityExchangePdu(encodeSecurityExchangePdu(enc));
      expect(pdu.encryptedClientRandom).toHaveLength(enc.length + 8);
      expect(decryptClientRandom(pdu.encryptedClientRandom, k)).toEqual(random);
    }
  });

  it('refuses bad inputs', () => {
    expect(() => encryptClientRandom(new Uint8Array(31), key)).toThrow(EncodeError);
    expect(() => encryptClientRandom(new Uint8Array(32), { publicExponent: 3, modulus: new Uint8Array(32).fill(0xff) })).toThrow(EncodeError);
    const tooBig = Uint8Array.from(key.modulus).reverse(); // = n itself, little-endian
    expect(() => decryptClientRandom(tooBig, key)).toThrow(DecodeError);
  });
});

describe('Security Exchange PDU (2.2.1.10)', () => {
  it('encodes flags, length including the padding, the value and 8 zero bytes', () => {
    const enc = Uint8Array.from({ length: 64 }, (_, i) => i + 1);
    const pdu = encodeSecurityExchangePdu(enc, { extraFlags: 0x0200 });
    expect(hex(pdu.subarray(0, 8))).toBe('0102000048000000');
    expect(pdu.subarray(8, 72)).toEqual(enc);
    expect(hex(pdu.subarray(72))).toBe('0000000000000000');
    expect(decodeSecurityExchangePdu(pdu)).toEqual({ flags: 0x0201, flagsHi: 0, encryptedClientRandom: pdu.subarray(8) });
  });

  it("decodes the real clients' PDUs (mstsc 6.0, Windows XP, xfreerdp), each encrypted to its server's key", () => {
    let seen = 0;
    for (const rel of REAL_CAPTURES) {
      for (const c of realStdSecurity(rel)) {
        const cert = decodeServerCertificate(c.serverCertificate);
        const key = cert.kind === 'proprietary' ? cert : publicKeyOfChain(cert);
        const keylen = cert.kind === 'proprietary' ? cert.keyLength : key.modulus.length + 8;
        const bytes = findSecurityExchange(c.clientBytes, keylen);
        if (bytes === undefined) continue; // the zeek X.509 capture is cut before the exchange
        const pdu = decodeSecurityExchangePdu(bytes);
        expect(pdu.flags & 0x0001).toBe(1);
        expect(pdu.encryptedClientRandom).toHaveLength(keylen);
        expect(hex(pdu.encryptedClientRandom.subarray(keylen - 8))).toBe('0000000000000000');
        expect(bigFromBytesLE(pdu.encryptedClientRandom) < bigFromBytesBE(key.modulus)).toBe(true);
        seen++;
      }
    }
    expect(seen).toBe(3);
  });

  it('2000 random inputs give a value or DecodeError', () => {
    const rng = prng(99);
    for (let i = 0; i < 2000; i++) {
      const input = i % 2 === 0 ? rng.bytes(rng.int(100)) : encodeSecurityExchangePdu(rng.bytes(rng.int(80))).subarray(0, rng.int(100));
      try {
        expect(decodeSecurityExchangePdu(input).flags & 1).toBe(1);
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeError);
      }
    }
  });
});
