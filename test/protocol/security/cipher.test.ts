import { createDecipheriv, createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveFipsKeys, deriveSessionKeys, expandDesKey, updateSessionKey } from '../../../src/protocol/security/keys.js';
import { FIPS_IV, FipsSecurity, KEY_UPDATE_INTERVAL, StandardSecurity } from '../../../src/protocol/security/cipher.js';
import { ENCRYPTION_METHOD } from '../../../src/protocol/security/constants.js';
import { Rc4 } from '../../../src/protocol/crypto/rc4.js';
import { DecodeError, EncodeError } from '../../../src/protocol/codec/errors.js';
import { prng } from '../../helpers/prng.js';
import { decodeError } from '../../helpers/errors.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const H = (alg: string, ...parts: (Uint8Array | string)[]): Buffer => {
  const h = createHash(alg);
  for (const p of parts) h.update(typeof p === 'string' ? Buffer.from(p, 'latin1') : p);
  return h.digest();
};

/**
 * MS-RDPBCGR 5.3.5.1 transcribed line by line, as an oracle that shares no code with keys.ts:
 *   PreMasterSecret = First192Bits(ClientRandom) + First192Bits(ServerRandom)
 *   SaltedHash(S, I) = MD5(S + SHA(I + S + ClientRandom + ServerRandom))
 *   MasterSecret = PreMasterHash('A') + PreMasterHash('BB') + PreMasterHash('CCC')
 *   SessionKeyBlob = MasterHash('X') + MasterHash('YY') + MasterHash('ZZZ')
 *   MACKey128 = First128Bits(SessionKeyBlob); FinalHash(K) = MD5(K + ClientRandom + ServerRandom)
 *   InitialClientDecryptKey128 = FinalHash(Second128Bits), InitialClientEncryptKey128 = FinalHash(Third128Bits)
 */
function specKeys(cr: Uint8Array, sr: Uint8Array): { mac: Buffer; enc: Buffer; dec: Buffer } {
  const salted = (s: Buffer, i: string): Buffer => H('md5', s, H('sha1', i, s, cr, sr));
  const pre = Buffer.concat([cr.subarray(0, 24), sr.subarray(0, 24)]);
  const master = Buffer.concat(['A', 'BB', 'CCC'].map((i) => salted(pre, i)));
  const blob = Buffer.concat(['X', 'YY', 'ZZZ'].map((i) => salted(master, i)));
  const fin = (k: Buffer): Buffer => H('md5', k, cr, sr);
  return { mac: blob.subarray(0, 16), dec: fin(blob.subarray(16, 32)), enc: fin(blob.subarray(32, 48)) };
}

const rng = prng(5312);
const cr = rng.bytes(32);
const sr = rng.bytes(32);
const METHODS = [ENCRYPTION_METHOD['40BIT'], ENCRYPTION_METHOD['56BIT'], ENCRYPTION_METHOD['128BIT']] as const;

describe('session keys (5.3.5.1)', () => {
  it('128-bit keys are the spec formulas; the server view swaps encrypt and decrypt', () => {
    const spec = specKeys(cr, sr);
    const k = deriveSessionKeys(cr, sr, ENCRYPTION_METHOD['128BIT']);
    expect(k.keyLength).toBe(16);
    expect(hex(k.macKey)).toBe(spec.mac.toString('hex'));
    expect(hex(k.encryptKey)).toBe(spec.enc.toString('hex'));
    expect(hex(k.decryptKey)).toBe(spec.dec.toString('hex'));
    const s = deriveSessionKeys(cr, sr, ENCRYPTION_METHOD['128BIT'], 'server');
    expect(s.encryptKey).toEqual(k.decryptKey);
    expect(s.decryptKey).toEqual(k.encryptKey);
    expect(s.macKey).toEqual(k.macKey);
  });

  it('40-bit keys are 0xD1269E + bytes 3..7, 56-bit keys 0xD1 + bytes 1..7', () => {
    const spec = specKeys(cr, sr);
    const k40 = deriveSessionKeys(cr, sr, ENCRYPTION_METHOD['40BIT']);
    const k56 = deriveSessionKeys(cr, sr, ENCRYPTION_METHOD['56BIT']);
    for (const [k, prefix] of [
      [k40, 'd1269e'],
      [k56, 'd1'],
    ] as const) {
      expect(k.keyLength).toBe(8);
      const n = prefix.length / 2;
      expect(hex(k.macKey)).toBe(prefix + spec.mac.subarray(n, 8).toString('hex'));
      expect(hex(k.encryptKey)).toBe(prefix + spec.enc.subarray(n, 8).toString('hex'));
      expect(hex(k.decryptKey)).toBe(prefix + spec.dec.subarray(n, 8).toString('hex'));
    }
  });

  it('refuses NONE, FIPS and wrong-length randoms', () => {
    expect(() => deriveSessionKeys(cr, sr, 0)).toThrow(EncodeError);
    expect(() => deriveSessionKeys(cr, sr, ENCRYPTION_METHOD.FIPS)).toThrow(EncodeError);
    expect(() => deriveSessionKeys(cr.subarray(1), sr, 2)).toThrow(EncodeError);
  });
});

function pair(method: number): { client: StandardSecurity; server: StandardSecurity } {
  return {
    client: new StandardSecurity(deriveSessionKeys(cr, sr, method, 'client')),
    server: new StandardSecurity(deriveSessionKeys(cr, sr, method, 'server')),
  };
}

describe('RC4 with MAC (5.3.6.1)', () => {
  it('what one side encrypts the other decrypts, both directions, plain and salted MAC', () => {
    for (const method of METHODS) {
      const { client, server } = pair(method);
      for (let i = 0; i < 20; i++) {
        const salted = i % 3 === 0;
        const data = rng.bytes(rng.int(300));
        const [from, to] = i % 2 === 0 ? [client, server] : [server, client];
        const { mac, ciphertext } = from.encrypt(data, { salted });
        expect(mac).toHaveLength(8);
        if (data.length > 8) expect(hex(ciphertext)).not.toBe(hex(data));
        expect(to.decrypt(mac, ciphertext, { salted })).toEqual(data);
      }
      expect(client.encryptCount).toBe(10);
      expect(server.decryptCount).toBe(10);
    }
  });

  it('the MAC is First64Bits(MD5(MACKey + pad2 + SHA(MACKey + pad1 + length + data))); salted adds the count', () => {
    const keys = deriveSessionKeys(cr, sr, ENCRYPTION_METHOD['128BIT']);
    const sec = new StandardSecurity(keys);
    const data = new TextEncoder().encode('client info');
    const len = Buffer.from([data.length, 0, 0, 0]);
    const pad1 = Buffer.alloc(40, 0x36);
    const pad2 = Buffer.alloc(48, 0x5c);
    const plainMac = H('md5', keys.macKey, pad2, H('sha1', keys.macKey, pad1, len, data)).subarray(0, 8);
    expect(hex(sec.encrypt(data).mac)).toBe(plainMac.toString('hex'));
    const count1 = Buffer.from([1, 0, 0, 0]); // one packet already sent
    const saltedMac = H('md5', keys.macKey, pad2, H('sha1', keys.macKey, pad1, len, data, count1)).subarray(0, 8);
    expect(hex(sec.encrypt(data, { salted: true }).mac)).toBe(saltedMac.toString('hex'));
    // and the first packet's ciphertext is RC4(InitialClientEncryptKey) of the data
    expect(hex(new StandardSecurity(keys).encrypt(data).ciphertext)).toBe(hex(new Rc4(keys.encryptKey).update(data)));
  });

  it('a flipped ciphertext or MAC byte, or the wrong salting, fails with DecodeError "MAC mismatch"', () => {
    for (const tamper of ['ciphertext', 'mac', 'salting'] as const) {
      const { client, server } = pair(ENCRYPTION_METHOD['128BIT']);
      const e = client.encrypt(rng.bytes(40), { salted: true });
      if (tamper === 'ciphertext') e.ciphertext[7] = e.ciphertext[7]! ^ 0x01;
      if (tamper === 'mac') e.mac[0] = e.mac[0]! ^ 0x80;
      const err = decodeError(() => server.decrypt(e.mac, e.ciphertext, { salted: tamper !== 'salting' }));
      expect(err.message).toContain('MAC mismatch');
    }
  });
});

describe('key update after 4,096 packets (5.3.7)', () => {
  /** 5.3.7 transcribed: SHA(Initial + Pad1 + Current), MD5(Initial + Pad2 + that), RC4 with itself, salt. */
  function specUpdate(initial: Uint8Array, current: Uint8Array, method: number): Uint8Array {
    const n = initial.length;
    const temp = H('md5', initial, Buffer.alloc(48, 0x5c), H('sha1', initial, Buffer.alloc(40, 0x36), current)).subarray(0, n);
    const next = new Rc4(temp).update(temp);
    if (method === 1) next.set([0xd1, 0x26, 0x9e]);
    if (method === 8) next[0] = 0xd1;
    return next;
  }

  it('packet 4,097 uses the updated key, 8,193 the one after; the peer keeps decrypting', () => {
    for (const method of METHODS) {
      const keys = deriveSessionKeys(cr, sr, method);
      const { client, server } = pair(method);
      const data = new Uint8Array(16).fill(0x42);
      for (let i = 0; i < KEY_UPDATE_INTERVAL; i++) {
        const e = client.encrypt(data, { salted: true });
        expect(server.decrypt(e.mac, e.ciphertext, { salted: true })).toEqual(data);
      }
      expect(client.currentEncryptKey).toEqual(keys.encryptKey);
      const k1 = specUpdate(keys.encryptKey, keys.encryptKey, method);
      expect(updateSessionKey(keys.encryptKey, keys.encryptKey, method)).toEqual(k1);
      const e4097 = client.encrypt(data);
      expect(client.currentEncryptKey).toEqual(k1);
      expect(hex(e4097.ciphertext)).toBe(hex(new Rc4(k1).update(data))); // fresh RC4 state on the new key
      expect(server.decrypt(e4097.mac, e4097.ciphertext)).toEqual(data);
      expect(server.currentDecryptKey).toEqual(k1);
      for (let i = 1; i < KEY_UPDATE_INTERVAL; i++) client.encrypt(data);
      client.encrypt(data);
      expect(client.currentEncryptKey).toEqual(specUpdate(keys.encryptKey, k1, method));
      // the salted MAC's count is not reset by the updates
      expect(client.encryptCount).toBe(2 * KEY_UPDATE_INTERVAL + 1);
    }
  });
});

describe('FIPS (5.3.5.2, 5.3.6.2)', () => {
  it('keys: SHA-1 of the random halves, expanded with odd parity; HMAC key SHA1(decT + encT)', () => {
    const k = deriveFipsKeys(cr, sr);
    const encT = H('sha1', cr.subarray(16), sr.subarray(16));
    const decT = H('sha1', cr.subarray(0, 16), sr.subarray(0, 16));
    expect(hex(k.hmacKey)).toBe(H('sha1', decT, encT).toString('hex'));
    expect(k.encryptKey).toEqual(expandDesKey(Buffer.concat([encT, encT.subarray(0, 1)])));
    expect(k.decryptKey).toEqual(expandDesKey(Buffer.concat([decT, decT.subarray(0, 1)])));
    for (const b of [...k.encryptKey, ...k.decryptKey]) {
      let ones = 0;
      for (let j = 0; j < 8; j++) ones += (b >> j) & 1;
      expect(ones % 2).toBe(1);
    }
    const s = deriveFipsKeys(cr, sr, 'server');
    expect(s.encryptKey).toEqual(k.decryptKey);
    expect(s.decryptKey).toEqual(k.encryptKey);
  });

  it('expandDesKey places 7 key bits, least significant first, in each byte', () => {
    expect(hex(expandDesKey(new Uint8Array(21)))).toBe('01'.repeat(24));
    expect(hex(expandDesKey(new Uint8Array(21).fill(0xff)))).toBe('7f'.repeat(24)); // 6 data bits + parity
    const one = new Uint8Array(21);
    one[0] = 0x02; // key bit 1 -> byte 0 bit 1
    expect(hex(expandDesKey(one).subarray(0, 2))).toBe('0201');
    one[0] = 0x80; // key bit 7 -> byte 1 bit 0, which parity overwrites
    expect(hex(expandDesKey(one).subarray(0, 2))).toBe('0101');
    expect(() => expandDesKey(new Uint8Array(20))).toThrow(EncodeError);
  });

  it('round-trips both ways with padding, chains CBC across packets, and fails on a flipped byte', () => {
    const client = new FipsSecurity(deriveFipsKeys(cr, sr, 'client'));
    const server = new FipsSecurity(deriveFipsKeys(cr, sr, 'server'));
    const sent: Uint8Array[] = [];
    const padded: Uint8Array[] = [];
    for (let i = 0; i < 30; i++) {
      const data = rng.bytes(i === 0 ? 0 : rng.int(200));
      const e = client.encrypt(data);
      expect(e.padLength).toBe((8 - (data.length % 8)) % 8);
      expect(e.ciphertext.length % 8).toBe(0);
      sent.push(e.ciphertext);
      const p = new Uint8Array(data.length + e.padLength);
      p.set(data);
      padded.push(p);
      expect(server.decrypt(e.mac, e.ciphertext, e.padLength)).toEqual(data);
      const back = server.encrypt(data);
      expect(client.decrypt(back.mac, back.ciphertext, back.padLength)).toEqual(data);
    }
    // one fresh 3DES-CBC decipher over all the packets in a row gives all the padded plaintexts: the chain
    // runs on from the fixed IV instead of restarting per packet
    const oracle = createDecipheriv('des-ede3-cbc', deriveFipsKeys(cr, sr).encryptKey, FIPS_IV).setAutoPadding(false);
    expect(hex(oracle.update(Buffer.concat(sent)))).toBe(hex(Buffer.concat(padded)));
    // the same plaintext twice encrypts differently
    const a = client.encrypt(new Uint8Array(16));
    const b = client.encrypt(new Uint8Array(16));
    expect(hex(a.ciphertext)).not.toBe(hex(b.ciphertext));
    server.decrypt(a.mac, a.ciphertext, a.padLength);
    b.ciphertext[3] = b.ciphertext[3]! ^ 1;
    expect(decodeError(() => server.decrypt(b.mac, b.ciphertext, b.padLength)).message).toContain('MAC mismatch');
    expect(() => server.decrypt(b.mac, b.ciphertext.subarray(1), 0)).toThrow(DecodeError);
    expect(() => server.decrypt(b.mac, b.ciphertext, 8)).toThrow(DecodeError);
  });
});
