import { describe, expect, it } from 'vitest';
import {
  CERT_CHAIN_VERSION_1,
  decodeProprietaryCertificate,
  decodeServerCertificate,
  encodeProprietaryCertificate,
  publicKeyOfChain,
  verifyProprietaryCertificate,
} from '../../../src/protocol/security/proprietary-cert.js';
import { TERMINAL_SERVICES_KEY } from '../../../src/protocol/security/terminal-services-key.js';
import { bigFromBytesBE, modPow } from '../../../src/protocol/security/rsa.js';
import { DecodeError } from '../../../src/protocol/codec/errors.js';
import { prng } from '../../helpers/prng.js';
import { decodeError } from '../../helpers/errors.js';
import { realStdSecurity } from './real.js';

const windows2003 = [
  ...realStdSecurity('public/zeek/rdp-proprietary-encryption.pcap'),
  ...realStdSecurity('public/nDPI/rdp3.pcap'),
];
const xrdp = realStdSecurity('loopback/xrdp-rdp_xfreerdp-sec-rdp_std-security.pcap');

describe('Terminal Services signing key (MS-RDPBCGR 5.3.3.1.1)', () => {
  it('is a consistent 512-bit RSA pair: (m^d)^e = m', () => {
    const n = bigFromBytesBE(TERMINAL_SERVICES_KEY.modulus);
    const d = bigFromBytesBE(TERMINAL_SERVICES_KEY.privateExponent);
    const e = BigInt(TERMINAL_SERVICES_KEY.publicExponent);
    expect(n.toString(2)).toHaveLength(512);
    const rng = prng(12);
    for (let i = 0; i < 5; i++) {
      const m = bigFromBytesBE(rng.bytes(63));
      expect(modPow(modPow(m, d, n), e, n)).toBe(m);
    }
    // 65537 is not its public exponent (a common mistake): it does not invert d.
    expect(modPow(modPow(12345n, d, n), 65537n, n)).not.toBe(12345n);
  });
});

describe('proprietary certificates in real captures', () => {
  it('finds the Windows Server 2003 certificate in both public captures and xrdp\'s in the loopback one', () => {
    expect(windows2003).toHaveLength(2);
    expect(xrdp).toHaveLength(1);
    for (const c of windows2003) {
      expect(c.encryptionMethod).toBe(0x02); // 128-bit RC4, as the MANIFEST says
      expect(c.serverCertificate).toHaveLength(184);
    }
    expect(windows2003.map((c) => c.encryptionLevel)).toEqual([3, 2]); // HIGH (zeek), CLIENT_COMPATIBLE (nDPI)
  });

  it('decodes the Windows certificates: RSA1 512-bit key, exponent 65537, 72-byte signature', () => {
    for (const c of windows2003) {
      const cert = decodeProprietaryCertificate(c.serverCertificate);
      expect(cert.version).toBe(CERT_CHAIN_VERSION_1);
      expect(cert.sigAlgId).toBe(1);
      expect(cert.keyAlgId).toBe(1);
      expect(cert.bitLength).toBe(512);
      expect(cert.keyLength).toBe(72);
      expect(cert.dataLength).toBe(63);
      expect(cert.publicExponent).toBe(65537);
      expect(cert.modulus).toHaveLength(64);
      expect(cert.modulus[0]! & 0x80).toBe(0x80); // a full 512-bit modulus, big-endian
      expect(cert.signature).toHaveLength(72);
      expect(cert.signedBytes).toHaveLength(16 + 92);
    }
  });

  it("verifies every real signature against the well-known key (Windows 2003 and xrdp's 2048-bit key)", () => {
    for (const c of [...windows2003, ...xrdp]) {
      const cert = decodeProprietaryCertificate(c.serverCertificate);
      expect(verifyProprietaryCertificate(cert), c.name).toEqual({ ok: true });
    }
    expect(decodeProprietaryCertificate(xrdp[0]!.serverCertificate).bitLength).toBe(2048);
  });

  it('re-encodes and re-signs a real certificate byte for byte (the signer is what Windows uses)', () => {
    for (const c of [...windows2003, ...xrdp]) {
      const cert = decodeProprietaryCertificate(c.serverCertificate);
      const again = encodeProprietaryCertificate(cert, true, { temporary: cert.temporary });
      expect(Buffer.from(again).toString('hex'), c.name).toBe(Buffer.from(c.serverCertificate).toString('hex'));
    }
  });

  it('rejects a flipped byte in the signed part, in the signature, and an unsigned certificate', () => {
    const real = windows2003[0]!.serverCertificate;
    const key = Uint8Array.from(real);
    key[100] = key[100]! ^ 0x01; // inside the modulus
    expect(verifyProprietaryCertificate(decodeProprietaryCertificate(key))).toEqual({
      ok: false,
      reason: 'MD5 hash in the signature does not match the certificate',
    });
    const sig = Uint8Array.from(real);
    sig[120] = sig[120]! ^ 0x80;
    expect(verifyProprietaryCertificate(decodeProprietaryCertificate(sig)).ok).toBe(false);
    const cert = decodeProprietaryCertificate(real);
    const unsigned = decodeProprietaryCertificate(encodeProprietaryCertificate(cert, false));
    expect(verifyProprietaryCertificate(unsigned).ok).toBe(false);
    expect(verifyProprietaryCertificate({ ...cert, sigAlgId: 2 })).toEqual({ ok: false, reason: 'dwSigAlgId 2 is not SIGNATURE_ALG_RSA' });
  });

  it('decodeServerCertificate tells the kinds apart; the zeek X.509 capture yields a chain with an RSA key', () => {
    const prop = decodeServerCertificate(windows2003[0]!.serverCertificate);
    expect(prop.kind).toBe('proprietary');
    const x509 = realStdSecurity('public/zeek/rdp-x509.pcap');
    expect(x509).toHaveLength(1);
    const chain = decodeServerCertificate(x509[0]!.serverCertificate);
    expect(chain.kind).toBe('x509');
    if (chain.kind !== 'x509') return;
    expect(chain.certificates.length).toBeGreaterThanOrEqual(2);
    for (const der of chain.certificates) expect(der[0]).toBe(0x30);
    const key = publicKeyOfChain(chain);
    expect(key.modulus.length).toBeGreaterThanOrEqual(64);
    expect(key.modulus[0]).not.toBe(0);
    expect(key.publicExponent).toBeGreaterThan(1);
  });
});

describe('encodeProprietaryCertificate', () => {
  it('round-trips any key and verifies when signed', () => {
    const rng = prng(7);
    for (const len of [64, 128, 256]) {
      const modulus = rng.bytes(len);
      modulus[0] = modulus[0]! | 0x80;
      const bytes = encodeProprietaryCertificate({ publicExponent: 3, modulus }, true, { temporary: true });
      const cert = decodeProprietaryCertificate(bytes);
      expect(cert.temporary).toBe(true);
      expect(cert.publicExponent).toBe(3);
      expect(cert.modulus).toEqual(modulus);
      expect(cert.bitLength).toBe(len * 8);
      expect(verifyProprietaryCertificate(cert)).toEqual({ ok: true });
    }
  });
});

describe('decoders are total', () => {
  it('2000 random inputs give a value or DecodeError', () => {
    const rng = prng(2024);
    const seed = windows2003[0]!.serverCertificate;
    for (let i = 0; i < 2000; i++) {
      let input: Uint8Array;
      if (i % 2 === 0) input = rng.bytes(rng.int(300));
      else {
        input = Uint8Array.from(seed.subarray(0, rng.int(seed.length + 1)));
        for (let k = 0; k < 3; k++) if (input.length > 0) input[rng.int(input.length)] = rng.int(256);
      }
      for (const decode of [decodeProprietaryCertificate, decodeServerCertificate]) {
        try {
          const v = decode(input);
          expect(v).toBeDefined();
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }
    }
  });

  it('names the field that is wrong', () => {
    const bad = Uint8Array.from(windows2003[0]!.serverCertificate);
    bad[16] = 0x52; // 'RSA1' -> 'RSR1'... any other magic
    bad[17] = 0x52;
    const e = decodeError(() => decodeProprietaryCertificate(bad));
    expect(e.path).toEqual(['Server Proprietary Certificate', 'RSA_PUBLIC_KEY']);
    expect(e.message).toContain('magic');
    expect(decodeError(() => decodeProprietaryCertificate(windows2003[0]!.serverCertificate.subarray(0, 183))).detail.kind).toBe(
      'not_enough_bytes',
    );
  });
});
