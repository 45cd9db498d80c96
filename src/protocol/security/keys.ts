/**
 * Session keys of Standard RDP Security: RC4 keys and MAC key for 40, 56 and 128-bit methods
 * (MS-RDPBCGR 5.3.5.1), the key update every 4,096 packets (5.3.7), and the FIPS 3DES / HMAC-SHA1 keys
 * (5.3.5.2).
 */

import { EncodeError } from '../codec/errors.js';
import { md5 } from '../crypto/hmac.js';
import { Rc4 } from '../crypto/rc4.js';
import { concat } from '../codec/bytes.js';
import { ENCRYPTION_METHOD } from './constants.js';
import { sha1 } from './hashes.js';

export type Rc4Method =
  | (typeof ENCRYPTION_METHOD)['40BIT']
  | (typeof ENCRYPTION_METHOD)['56BIT']
  | (typeof ENCRYPTION_METHOD)['128BIT'];

export interface SessionKeys {
  method: Rc4Method;
  /** Bytes of each key: 8 for 40 and 56-bit (salted), 16 for 128-bit. */
  keyLength: 8 | 16;
  macKey: Uint8Array;
  /** This side's initial encryption key (client view: InitialClientEncryptKey). */
  encryptKey: Uint8Array;
  decryptKey: Uint8Array;
}

export type Role = 'client' | 'server';

function checkRandoms(clientRandom: Uint8Array, serverRandom: Uint8Array): void {
  if (clientRandom.length !== 32) throw new EncodeError(`client random must be 32 bytes, got ${clientRandom.length}`);
  if (serverRandom.length !== 32) throw new EncodeError(`server random must be 32 bytes, got ${serverRandom.length}`);
}

/** SaltedHash(S, I) = MD5(S + SHA(I + S + ClientRandom + ServerRandom)), three times with I = A, BB, CCC (or X, YY, ZZZ). */
function hash48(secret: Uint8Array, letter: number, clientRandom: Uint8Array, serverRandom: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 1; i <= 3; i++) {
    const salt = new Uint8Array(i).fill(letter + i - 1);
    parts.push(md5(secret, sha1(salt, secret, clientRandom, serverRandom)));
  }
  return concat(...parts);
}

/** The 40 and 56-bit keys keep 64 bits and overwrite the first bytes with the salt 0xD1 0x26 0x9E (5.3.5.1). */
function reduce(key128: Uint8Array, method: Rc4Method): Uint8Array {
  if (method === ENCRYPTION_METHOD['128BIT']) return key128.slice(0, 16);
  const k = key128.slice(0, 8);
  k[0] = 0xd1;
  if (method === ENCRYPTION_METHOD['40BIT']) {
    k[1] = 0x26;
    k[2] = 0x9e;
  }
  return k;
}

function checkMethod(method: number): asserts method is Rc4Method {
  if (method !== ENCRYPTION_METHOD['40BIT'] && method !== ENCRYPTION_METHOD['56BIT'] && method !== ENCRYPTION_METHOD['128BIT']) {
    throw new EncodeError(`encryption method 0x${method.toString(16)} has no RC4 session keys`);
  }
}

/**
 * Session keys from the two randoms (5.3.5.1). `role` 'client' gives the client's view (encryptKey is
 * InitialClientEncryptKey); 'server' swaps the two keys.
 */
export function deriveSessionKeys(
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  encryptionMethod: number,
  role: Role = 'client',
): SessionKeys {
  checkRandoms(clientRandom, serverRandom);
  checkMethod(encryptionMethod);
  const preMaster = concat(clientRandom.subarray(0, 24), serverRandom.subarray(0, 24));
  const master = hash48(preMaster, 0x41, clientRandom, serverRandom);
  const blob = hash48(master, 0x58, clientRandom, serverRandom);
  const finalHash = (k: Uint8Array): Uint8Array => md5(k, clientRandom, serverRandom);
  const clientDecrypt = finalHash(blob.subarray(16, 32));
  const clientEncrypt = finalHash(blob.subarray(32, 48));
  const method = encryptionMethod;
  const keyLength = method === ENCRYPTION_METHOD['128BIT'] ? 16 : 8;
  const encryptKey = reduce(role === 'client' ? clientEncrypt : clientDecrypt, method);
  const decryptKey = reduce(role === 'client' ? clientDecrypt : clientEncrypt, method);
  return { method, keyLength, macKey: reduce(blob.subarray(0, 16), method), encryptKey, decryptKey };
}

const PAD1 = new Uint8Array(40).fill(0x36);
const PAD2 = new Uint8Array(48).fill(0x5c);

/**
 * The key that replaces `currentKey` after 4,096 packets (5.3.7): hashed with the initial key, then RC4
 * encrypted with itself; 40 and 56-bit keys are salted again.
 */
export function updateSessionKey(initialKey: Uint8Array, currentKey: Uint8Array, method: number): Uint8Array {
  checkMethod(method);
  const n = initialKey.length;
  const temp = md5(initialKey, PAD2, sha1(initialKey, PAD1, currentKey)).slice(0, n);
  const next = new Rc4(temp).update(temp);
  return method === ENCRYPTION_METHOD['128BIT'] ? next : reduce(next, method);
}

export interface FipsKeys {
  /** 24-byte 3DES keys (168 bits with a parity bit after every 7). */
  encryptKey: Uint8Array;
  decryptKey: Uint8Array;
  /** 20-byte HMAC-SHA1 key. */
  hmacKey: Uint8Array;
}

/**
 * FIPS keys (5.3.5.2): ClientEncryptKeyT = SHA1(last 128 bits of ClientRandom + last 128 bits of
 * ServerRandom), ClientDecryptKeyT from the first 128 bits; each 160-bit hash plus a copy of its first byte
 * is the 168-bit 3DES key; the HMAC key is SHA1(ClientDecryptKeyT + ClientEncryptKeyT).
 */
export function deriveFipsKeys(clientRandom: Uint8Array, serverRandom: Uint8Array, role: Role = 'client'): FipsKeys {
  checkRandoms(clientRandom, serverRandom);
  const encT = sha1(clientRandom.subarray(16, 32), serverRandom.subarray(16, 32));
  const decT = sha1(clientRandom.subarray(0, 16), serverRandom.subarray(0, 16));
  const hmacKey = sha1(decT, encT);
  const clientEncrypt = expandDesKey(concat(encT, encT.subarray(0, 1)));
  const clientDecrypt = expandDesKey(concat(decT, decT.subarray(0, 1)));
  return role === 'client'
    ? { encryptKey: clientEncrypt, decryptKey: clientDecrypt, hmacKey }
    : { encryptKey: clientDecrypt, decryptKey: clientEncrypt, hmacKey };
}

/**
 * 21 bytes to 24. The key bits are read least significant bit first, seven to a key byte, placed in
 * that byte's low bits; the low bit is then set for odd parity. This is the bit order FreeRDP and xrdp use
 * with Windows (one data bit per byte is overwritten by the parity bit, which DES ignores).
 */
export function expandDesKey(key21: Uint8Array): Uint8Array {
  if (key21.length !== 21) throw new EncodeError(`3DES key material must be 21 bytes, got ${key21.length}`);
  const bit = (i: number): number => (key21[i >> 3]! >> (i & 7)) & 1;
  const out = new Uint8Array(24);
  for (let i = 0; i < 24; i++) {
    let v = 0;
    for (let j = 0; j < 7; j++) v |= bit(7 * i + j) << j;
    v &= 0xfe;
    let ones = 0;
    for (let j = 1; j < 8; j++) ones += (v >> j) & 1;
    out[i] = v | (ones % 2 === 0 ? 1 : 0);
  }
  return out;
}
