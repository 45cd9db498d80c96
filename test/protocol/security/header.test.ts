import { describe, expect, it } from 'vitest';
import {
  decodeSecurityHeader,
  encodeSecurityHeader,
  encryptedDirections,
  securityHeaderFor,
  unwrapSecured,
  wrapSecured,
} from '../../../src/protocol/security/header.js';
import { ENCRYPTION_LEVEL, ENCRYPTION_METHOD, SEC, encryptionLevelName, encryptionMethodName, encryptionMethodNames, securityFlagNames } from '../../../src/protocol/security/constants.js';
import { FipsSecurity, StandardSecurity, type SecurityLayer } from '../../../src/protocol/security/cipher.js';
import { deriveFipsKeys, deriveSessionKeys } from '../../../src/protocol/security/keys.js';
import { DecodeError, EncodeError } from '../../../src/protocol/codec/errors.js';
import { prng } from '../../helpers/prng.js';
import { decodeError } from '../../helpers/errors.js';
import { indexOf, realStdSecurity } from './real.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const rng = prng(2818);
const cr = rng.bytes(32);
const sr = rng.bytes(32);

function sides(level: number): { client?: SecurityLayer; server?: SecurityLayer } {
  if (level === ENCRYPTION_LEVEL.NONE) return {};
  if (level === ENCRYPTION_LEVEL.FIPS) return { client: new FipsSecurity(deriveFipsKeys(cr, sr)), server: new FipsSecurity(deriveFipsKeys(cr, sr, 'server')) };
  return {
    client: new StandardSecurity(deriveSessionKeys(cr, sr, ENCRYPTION_METHOD['128BIT'])),
    server: new StandardSecurity(deriveSessionKeys(cr, sr, ENCRYPTION_METHOD['128BIT'], 'server')),
  };
}

describe('names', () => {
  it('levels, methods and flags', () => {
    expect([0, 1, 2, 3, 4, 5].map(encryptionLevelName)).toEqual(['NONE', 'LOW', 'CLIENT_COMPATIBLE', 'HIGH', 'FIPS', undefined]);
    expect([0, 1, 2, 8, 0x10, 4].map(encryptionMethodName)).toEqual(['NONE', '40BIT', '128BIT', '56BIT', 'FIPS', undefined]);
    expect(encryptionMethodNames(0x1b)).toEqual(['40BIT', '128BIT', '56BIT', 'FIPS']); // mstsc 6.0 in the zeek capture
    expect(encryptionMethodNames(0x24)).toEqual(['0x24']);
    expect(securityFlagNames(0x0848)).toEqual(['SEC_ENCRYPT', 'SEC_INFO_PKT', 'SEC_SECURE_CHECKSUM']);
    expect(securityFlagNames(0x0280, 'server-to-client')).toEqual(['SEC_LICENSE_PKT', 'SEC_LICENSE_ENCRYPT_CS']);
    expect(securityFlagNames(0x0201, 'client-to-server')).toEqual(['SEC_EXCHANGE_PKT', 'SEC_LICENSE_ENCRYPT_SC']);
    expect(securityFlagNames(0x8030)).toEqual(['SEC_RESET_SEQNO', 'SEC_IGNORE_SEQNO', 'SEC_FLAGSHI_VALID']);
    expect(securityFlagNames(0x0100)).toEqual(['0x0100']);
  });
});

describe('security headers (2.2.8.1.1.2)', () => {
  it('encodes and decodes the basic, non-FIPS and FIPS forms', () => {
    const mac = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(hex(encodeSecurityHeader({ flags: SEC.LICENSE_PKT }))).toBe('80000000');
    expect(hex(encodeSecurityHeader({ flags: 0x0048, mac }))).toBe('480000000102030405060708');
    expect(hex(encodeSecurityHeader({ flags: 0x0048, mac, fipsPadLength: 3 }))).toBe('4800000010000103' + '0102030405060708');
    const basic = decodeSecurityHeader(Uint8Array.from([0x80, 0, 0, 0, 9, 9]));
    expect(basic).toMatchObject({ flags: 0x80, flagNames: ['SEC_LICENSE_PKT'], headerLength: 4 });
    expect(basic.mac).toBeUndefined();
    expect(hex(basic.payload)).toBe('0909');
    const fips = decodeSecurityHeader(Uint8Array.from([...encodeSecurityHeader({ flags: 0x48, mac, fipsPadLength: 3 }), ...new Uint8Array(8)]), {
      encryptionLevel: ENCRYPTION_LEVEL.FIPS,
    });
    expect(fips).toMatchObject({ fipsPadLength: 3, fipsVersion: 1, headerLength: 16 });
    expect(fips.mac).toEqual(mac);
    expect(() => encodeSecurityHeader({ flags: 8, mac: new Uint8Array(7) })).toThrow(EncodeError);
    expect(decodeError(() => decodeSecurityHeader(Uint8Array.from([8, 0, 0, 0, 0x11, 0, 1, 0, ...mac]), { fips: true })).message).toContain('length');
    expect(decodeError(() => decodeSecurityHeader(Uint8Array.from([8, 0, 0, 0, 0x10, 0, 1, 0, ...mac, 1, 2, 3]), { fips: true })).message).toContain('blocks');
  });

  it("reads xfreerdp's encrypted Client Info header in the xrdp capture: 0x0848, salted MAC", () => {
    const [c] = realStdSecurity('loopback/xrdp-rdp_xfreerdp-sec-rdp_std-security.pcap');
    const at = indexOf(c!.clientBytes, [0x48, 0x08, 0x00, 0x00]);
    expect(at).toBeGreaterThan(0);
    const h = decodeSecurityHeader(c!.clientBytes.subarray(at));
    expect(h.flagNames).toEqual(['SEC_ENCRYPT', 'SEC_INFO_PKT', 'SEC_SECURE_CHECKSUM']);
    expect(h.mac).toHaveLength(8);
    // without the keys it cannot be read, and says so
    expect(decodeError(() => unwrapSecured(c!.clientBytes.subarray(at))).message).toContain('no session keys');
  });

  it("reads the Windows 2003 servers' encrypted licensing PDU headers (0x0288, flagsHi left as garbage)", () => {
    for (const rel of ['public/zeek/rdp-proprietary-encryption.pcap', 'public/nDPI/rdp3.pcap']) {
      const [c] = realStdSecurity(rel);
      // MCS Send Data Indication on the I/O channel 1003, userData length 0x1c: the "valid client" licensing PDU
      const at = indexOf(c!.serverBytes, [0x68, 0x00, 0x01, 0x03, 0xeb, 0x70, 0x1c]) + 7;
      expect(at).toBeGreaterThan(7);
      const h = decodeSecurityHeader(c!.serverBytes.subarray(at, at + 0x1c), {
        encryptionLevel: c!.encryptionLevel,
        direction: 'server-to-client',
      });
      expect(h.flagNames).toEqual(['SEC_ENCRYPT', 'SEC_LICENSE_PKT', 'SEC_LICENSE_ENCRYPT_CS']);
      expect(h.flagsHi).toBe(0x0302); // not SEC_FLAGSHI_VALID, so meaningless; kept as sent
      expect(h.headerLength).toBe(12);
      expect(h.payload).toHaveLength(16); // preamble, error code, state transition, empty blob
    }
  });
});

describe('wrap / unwrap at every level (5.3.1)', () => {
  it('which PDUs carry which header', () => {
    const table = [0, 1, 2, 3, 4].map((level) => [
      securityHeaderFor('info', 'client-to-server', level),
      securityHeaderFor('license', 'server-to-client', level),
      securityHeaderFor('data', 'client-to-server', level),
      securityHeaderFor('data', 'server-to-client', level),
    ]);
    expect(table).toEqual([
      ['basic', 'basic', 'none', 'none'],
      ['encrypted', 'basic', 'encrypted', 'none'],
      ['encrypted', 'basic', 'encrypted', 'encrypted'],
      ['encrypted', 'basic', 'encrypted', 'encrypted'],
      ['encrypted', 'basic', 'encrypted', 'encrypted'],
    ]);
    expect(securityHeaderFor('exchange', 'client-to-server', 3)).toBe('basic');
    expect(encryptedDirections(1)).toEqual({ clientToServer: true, serverToClient: false });
    expect(encryptedDirections(0)).toEqual({ clientToServer: false, serverToClient: false });
  });

  it('a connector sends Client Info, licensing and data and the lab reads them, and back, at each level', () => {
    for (const level of [0, 1, 2, 3, 4]) {
      const { client, server } = sides(level);
      const send = (kind: 'info' | 'license' | 'data', dir: 'client-to-server' | 'server-to-client', flags: number, data: Uint8Array): void => {
        const form = securityHeaderFor(kind, dir, level);
        const [from, to] = dir === 'client-to-server' ? [client, server] : [server, client];
        if (form === 'none') return;
        const f = form === 'encrypted' ? flags | SEC.ENCRYPT | (level === 2 ? SEC.SECURE_CHECKSUM : 0) : flags;
        const wire = wrapSecured(data, f, from);
        if (form === 'encrypted') expect(hex(wire)).not.toContain(hex(data));
        const got = unwrapSecured(wire, to, { direction: dir });
        expect(got.payload, `level ${level} ${kind}`).toEqual(data);
        expect(got.encrypted).toBe(form === 'encrypted');
        expect(got.flags).toBe(f);
      };
      send('info', 'client-to-server', SEC.INFO_PKT, rng.bytes(300));
      send('license', 'server-to-client', SEC.LICENSE_PKT, rng.bytes(41));
      for (let i = 0; i < 5; i++) {
        send('data', 'client-to-server', 0, rng.bytes(rng.int(90)));
        send('data', 'server-to-client', 0, rng.bytes(rng.int(90)));
      }
    }
  });

  it('an encrypted licensing PDU (SEC_LICENSE_ENCRYPT_CS path) is decrypted by its flags; a tampered one fails', () => {
    const { client, server } = sides(3);
    const wire = wrapSecured(rng.bytes(50), SEC.LICENSE_PKT | SEC.ENCRYPT, server);
    expect(unwrapSecured(wire, client).flagNames).toEqual(['SEC_ENCRYPT', 'SEC_LICENSE_PKT']);
    const bad = wrapSecured(rng.bytes(50), SEC.ENCRYPT, server);
    bad[20] = bad[20]! ^ 4;
    const e = decodeError(() => unwrapSecured(bad, client));
    expect(e.path[0]).toBe('Security Header');
    expect(e.message).toContain('MAC mismatch');
    expect(() => wrapSecured(new Uint8Array(1), SEC.ENCRYPT)).toThrow(EncodeError);
  });

  it('2000 random inputs to the header decoders and unwrap give a value or DecodeError', () => {
    const { client } = sides(3);
    const fips = sides(4).client;
    for (let i = 0; i < 2000; i++) {
      const input = rng.bytes(rng.int(60));
      if (input.length > 0 && i % 2 === 0) input[0] = input[0]! | SEC.ENCRYPT;
      for (const f of [
        () => decodeSecurityHeader(input),
        () => decodeSecurityHeader(input, { fips: true }),
        () => unwrapSecured(input, client),
        () => unwrapSecured(input, fips),
        () => unwrapSecured(input),
      ]) {
        try {
          expect(f()).toBeDefined();
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }
    }
  });
});
