/**
 * Per-direction encryption state of Standard RDP Security: RC4 with the MAC of 5.3.6.1 (and the salted MAC
 * of 5.3.6.1.1), the key update every 4,096 packets (5.3.7), and FIPS 3DES-CBC with an HMAC-SHA1 MAC (5.3.6.2).
 * Pure state machines: no clock, no I/O. One object per connection side; a client and a server built from
 * the same randoms decrypt what the other encrypts.
 */

import { createCipheriv, createDecipheriv, type Cipher, type Decipher } from 'node:crypto';
import { DecodeError, EncodeError } from '../codec/errors.js';
import { bytesEqual, md5 } from '../crypto/hmac.js';
import { Rc4 } from '../crypto/rc4.js';
import { hmacSha1, sha1, u32le } from './hashes.js';
import { updateSessionKey, type FipsKeys, type SessionKeys } from './keys.js';

/** Packets per key: after this many, the next packet uses an updated key (5.3.7). */
export const KEY_UPDATE_INTERVAL = 4096;
export const MAC_LENGTH = 8;

const PAD1 = new Uint8Array(40).fill(0x36);
const PAD2 = new Uint8Array(48).fill(0x5c);

/**
 * MACSignature = First64Bits(MD5(MACKey + pad2 + SHA(MACKey + pad1 + length + data [+ count]))), the count
 * present for the salted MAC (SEC_SECURE_CHECKSUM).
 */
export function rc4MacSignature(macKey: Uint8Array, data: Uint8Array, count?: number): Uint8Array {
  const tail = count === undefined ? [] : [u32le(count)];
  const inner = sha1(macKey, PAD1, u32le(data.length), data, ...tail);
  return md5(macKey, PAD2, inner).slice(0, MAC_LENGTH);
}

function macMismatch(pdu: string): DecodeError {
  return new DecodeError(pdu, 0, { kind: 'invalid_field', field: 'dataSignature', reason: 'MAC mismatch' });
}

class Rc4Direction {
  private rc4: Rc4;
  private current: Uint8Array;
  /** Packets through the current key; the update comes before the packet that would be number 4,097. */
  private useCount = 0;
  /** Packets in this direction so far: the salted MAC's count (never reset by key updates). */
  total = 0;
  constructor(
    private readonly initial: Uint8Array,
    private readonly method: number,
  ) {
    this.current = initial.slice();
    this.rc4 = new Rc4(this.current);
  }
  get key(): Uint8Array {
    return this.current.slice();
  }
  apply(data: Uint8Array): Uint8Array {
    if (this.useCount === KEY_UPDATE_INTERVAL) {
      this.current = updateSessionKey(this.initial, this.current, this.method);
      this.rc4 = new Rc4(this.current);
      this.useCount = 0;
    }
    this.useCount++;
    this.total++;
    return this.rc4.update(data);
  }
}

export interface EncryptOptions {
  /** Salted MAC (SEC_SECURE_CHECKSUM): the packet count goes into the MAC. */
  salted?: boolean;
}

export interface Encrypted {
  mac: Uint8Array;
  ciphertext: Uint8Array;
}

/** RC4 Standard RDP Security for one side: encrypts what it sends, decrypts what it receives. */
export class StandardSecurity {
  readonly kind = 'rc4' as const;
  private readonly out: Rc4Direction;
  private readonly in: Rc4Direction;
  constructor(readonly keys: SessionKeys) {
    this.out = new Rc4Direction(keys.encryptKey, keys.method);
    this.in = new Rc4Direction(keys.decryptKey, keys.method);
  }

  /** Packets encrypted / decrypted so far. */
  get encryptCount(): number {
    return this.out.total;
  }
  get decryptCount(): number {
    return this.in.total;
  }
  /** The RC4 keys now in use (they change every 4,096 packets). */
  get currentEncryptKey(): Uint8Array {
    return this.out.key;
  }
  get currentDecryptKey(): Uint8Array {
    return this.in.key;
  }

  encrypt(data: Uint8Array, opts: EncryptOptions = {}): Encrypted {
    const mac = rc4MacSignature(this.keys.macKey, data, opts.salted === true ? this.out.total : undefined);
    return { mac, ciphertext: this.out.apply(data) };
  }

  /**
   * Decrypts and checks the MAC; throws DecodeError 'MAC mismatch'. The keystream has moved on either way,
   * as on a real connection, which cannot continue after a bad MAC.
   */
  decrypt(mac: Uint8Array, ciphertext: Uint8Array, opts: EncryptOptions = {}): Uint8Array {
    const count = this.in.total;
    const plain = this.in.apply(ciphertext);
    const expected = rc4MacSignature(this.keys.macKey, plain, opts.salted === true ? count : undefined);
    if (!bytesEqual(expected, mac)) throw macMismatch('Standard RDP Security');
    return plain;
  }
}

/** The fixed CBC initialization vector of FIPS mode (5.3.6.2). */
export const FIPS_IV = Uint8Array.of(0x12, 0x34, 0x56, 0x78, 0x90, 0xab, 0xcd, 0xef);
export const FIPS_BLOCK = 8;

export interface FipsEncrypted extends Encrypted {
  /** Bytes of zero padding added to reach a multiple of 8 (the FIPS header's padlen). */
  padLength: number;
}

/**
 * FIPS Standard RDP Security: 3DES-CBC whose chain runs on across packets from the fixed IV, and a MAC of the
 * first 8 bytes of HMAC-SHA1(key, data + count).
 */
export class FipsSecurity {
  readonly kind = 'fips' as const;
  private readonly enc: Cipher;
  private readonly dec: Decipher;
  private sent = 0;
  private received = 0;
  constructor(readonly keys: FipsKeys) {
    if (keys.encryptKey.length !== 24 || keys.decryptKey.length !== 24) throw new EncodeError('3DES keys must be 24 bytes');
    this.enc = createCipheriv('des-ede3-cbc', keys.encryptKey, FIPS_IV).setAutoPadding(false);
    this.dec = createDecipheriv('des-ede3-cbc', keys.decryptKey, FIPS_IV).setAutoPadding(false);
  }
  get encryptCount(): number {
    return this.sent;
  }
  get decryptCount(): number {
    return this.received;
  }

  encrypt(data: Uint8Array): FipsEncrypted {
    const padLength = (FIPS_BLOCK - (data.length % FIPS_BLOCK)) % FIPS_BLOCK;
    const mac = hmacSha1(this.keys.hmacKey, data, u32le(this.sent)).slice(0, MAC_LENGTH);
    const padded = new Uint8Array(data.length + padLength);
    padded.set(data);
    const ciphertext = new Uint8Array(this.enc.update(padded));
    this.sent++;
    return { mac, ciphertext, padLength };
  }

  /** Throws DecodeError for a length that is not whole blocks, a bad padlen, or 'MAC mismatch'. */
  decrypt(mac: Uint8Array, ciphertext: Uint8Array, padLength: number): Uint8Array {
    if (ciphertext.length % FIPS_BLOCK !== 0) {
      const reason = `${ciphertext.length} bytes is not a multiple of 8`;
      throw new DecodeError('FIPS Security', 0, { kind: 'invalid_field', field: 'ciphertext', reason });
    }
    if (padLength >= FIPS_BLOCK || padLength > ciphertext.length) {
      const reason = `${padLength} for ${ciphertext.length} bytes`;
      throw new DecodeError('FIPS Security', 0, { kind: 'invalid_field', field: 'padlen', reason });
    }
    const padded = new Uint8Array(this.dec.update(ciphertext));
    const plain = padded.slice(0, padded.length - padLength);
    const expected = hmacSha1(this.keys.hmacKey, plain, u32le(this.received)).slice(0, MAC_LENGTH);
    this.received++;
    if (!bytesEqual(expected, mac)) throw macMismatch('FIPS Security');
    return plain;
  }
}

export type SecurityLayer = StandardSecurity | FipsSecurity;
