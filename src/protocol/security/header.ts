/**
 * Security headers (MS-RDPBCGR 2.2.8.1.1.2): the basic header (flags, flagsHi), the non-FIPS header (plus an
 * 8-byte MAC) and the FIPS header (plus length 0x10, version 1, padlen and the MAC); and wrap/unwrap of a
 * PDU under Standard RDP Security. Which header a PDU carries depends on its kind, its direction and the
 * encryption level (5.3.1), which `securityHeaderFor` answers.
 */

import { DecodeError, EncodeError } from '../codec/errors.js';
import { ByteReader } from '../codec/reader.js';
import { ByteWriter } from '../codec/writer.js';
import { concat } from '../codec/bytes.js';
import { ENCRYPTION_LEVEL, SEC, securityFlagNames } from './constants.js';
import { FIPS_BLOCK, MAC_LENGTH, type SecurityLayer } from './cipher.js';

export const TSFIPS_VERSION1 = 1;
/** The FIPS header's own length field value: the 16-byte header. */
export const FIPS_HEADER_LENGTH = 0x10;

export type Direction = 'client-to-server' | 'server-to-client';

export interface SecurityHeader {
  flags: number;
  flagsHi: number;
  flagNames: string[];
  /** Present when SEC_ENCRYPT is set. */
  mac?: Uint8Array;
  /** FIPS header only. */
  fipsPadLength?: number;
  fipsVersion?: number;
  /** Bytes of header before the payload: 4, 12 or 16. */
  headerLength: number;
  payload: Uint8Array;
}

export interface DecodeSecurityHeaderOptions {
  /** The header of an encrypted PDU is the FIPS form. Defaults to encryptionLevel === FIPS. */
  fips?: boolean;
  encryptionLevel?: number;
  /** For flag names only (0x0200 is SEC_LICENSE_ENCRYPT_CS from the server, _SC from the client). */
  direction?: Direction;
}

/** Decodes the security header in front of a PDU: basic unless SEC_ENCRYPT, then non-FIPS or FIPS. */
export function decodeSecurityHeader(bytes: Uint8Array, opts: DecodeSecurityHeaderOptions = {}): SecurityHeader {
  const fips = opts.fips ?? opts.encryptionLevel === ENCRYPTION_LEVEL.FIPS;
  const r = new ByteReader(bytes, 'Security Header');
  const flags = r.u16le();
  const flagsHi = r.u16le();
  const flagNames = securityFlagNames(flags, opts.direction);
  if ((flags & SEC.ENCRYPT) === 0) return { flags, flagsHi, flagNames, headerLength: 4, payload: r.rest() };
  if (!fips) {
    const mac = r.bytesN(MAC_LENGTH);
    return { flags, flagsHi, flagNames, mac, headerLength: 12, payload: r.rest() };
  }
  const lengthAt = r.offset;
  const length = r.u16le();
  if (length !== FIPS_HEADER_LENGTH) r.fail('length', `${length} is not 0x10`, lengthAt);
  const versionAt = r.offset;
  const fipsVersion = r.u8();
  if (fipsVersion !== TSFIPS_VERSION1) r.fail('version', `${fipsVersion} is not TSFIPS_VERSION1`, versionAt);
  const padAt = r.offset;
  const fipsPadLength = r.u8();
  if (fipsPadLength >= FIPS_BLOCK) r.fail('padlen', `${fipsPadLength} is not below 8`, padAt);
  const mac = r.bytesN(MAC_LENGTH);
  const payload = r.rest();
  if (payload.length % FIPS_BLOCK !== 0 || payload.length < fipsPadLength) {
    r.fail('payload', `${payload.length} encrypted bytes are not whole 8-byte blocks holding ${fipsPadLength} pad bytes`, 16);
  }
  return { flags, flagsHi, flagNames, mac, fipsPadLength, fipsVersion, headerLength: 16, payload };
}

export interface EncodeSecurityHeaderFields {
  flags: number;
  flagsHi?: number;
  /** Given: a non-FIPS header (or FIPS with fipsPadLength). */
  mac?: Uint8Array;
  fipsPadLength?: number;
}

/** The header bytes alone. */
export function encodeSecurityHeader(h: EncodeSecurityHeaderFields): Uint8Array {
  const w = new ByteWriter(16);
  w.u16le(h.flags).u16le(h.flagsHi ?? 0);
  if (h.mac === undefined) {
    if (h.fipsPadLength !== undefined) throw new EncodeError('a FIPS header needs a MAC');
    return w.finish();
  }
  if (h.mac.length !== MAC_LENGTH) throw new EncodeError(`MAC must be 8 bytes, got ${h.mac.length}`);
  if (h.fipsPadLength !== undefined) {
    if (!Number.isInteger(h.fipsPadLength) || h.fipsPadLength < 0 || h.fipsPadLength >= FIPS_BLOCK) {
      throw new EncodeError(`padlen ${h.fipsPadLength} is not 0..7`);
    }
    w.u16le(FIPS_HEADER_LENGTH).u8(TSFIPS_VERSION1).u8(h.fipsPadLength);
  }
  w.bytes(h.mac);
  return w.finish();
}

/**
 * Header plus payload. With SEC_ENCRYPT in `flags` the payload is encrypted by `security` (salted MAC when
 * SEC_SECURE_CHECKSUM is set too); without it, a basic header and the payload in the clear.
 */
export function wrapSecured(payload: Uint8Array, flags: number, security?: SecurityLayer, flagsHi = 0): Uint8Array {
  if ((flags & SEC.ENCRYPT) === 0) return concat(encodeSecurityHeader({ flags, flagsHi }), payload);
  if (security === undefined) throw new EncodeError('SEC_ENCRYPT needs session keys');
  if (security.kind === 'fips') {
    const e = security.encrypt(payload);
    return concat(encodeSecurityHeader({ flags, flagsHi, mac: e.mac, fipsPadLength: e.padLength }), e.ciphertext);
  }
  const e = security.encrypt(payload, { salted: (flags & SEC.SECURE_CHECKSUM) !== 0 });
  return concat(encodeSecurityHeader({ flags, flagsHi, mac: e.mac }), e.ciphertext);
}

export interface Unwrapped {
  flags: number;
  flagsHi: number;
  flagNames: string[];
  /** The PDU was encrypted (and its MAC checked). */
  encrypted: boolean;
  /** The plaintext after the header. */
  payload: Uint8Array;
}

export interface UnwrapOptions {
  direction?: Direction;
}

/**
 * Reads the header and, when SEC_ENCRYPT is set, decrypts and checks the MAC with `security`. Throws
 * DecodeError for a malformed header, an encrypted PDU with no keys, or 'MAC mismatch'.
 */
export function unwrapSecured(bytes: Uint8Array, security?: SecurityLayer, opts: UnwrapOptions = {}): Unwrapped {
  const h = decodeSecurityHeader(bytes, {
    fips: security?.kind === 'fips',
    ...(opts.direction !== undefined ? { direction: opts.direction } : {}),
  });
  const base = { flags: h.flags, flagsHi: h.flagsHi, flagNames: h.flagNames };
  if (h.mac === undefined) return { ...base, encrypted: false, payload: h.payload };
  if (security === undefined) {
    const reason = 'SEC_ENCRYPT set but no session keys';
    throw new DecodeError('Security Header', 0, { kind: 'invalid_field', field: 'flags', reason });
  }
  try {
    const payload =
      security.kind === 'fips'
        ? security.decrypt(h.mac, h.payload, h.fipsPadLength ?? 0)
        : security.decrypt(h.mac, h.payload, { salted: (h.flags & SEC.SECURE_CHECKSUM) !== 0 });
    return { ...base, encrypted: true, payload };
  } catch (e) {
    if (e instanceof DecodeError) throw e.within('Security Header', h.headerLength);
    throw e;
  }
}

/** What a PDU carries in front of its data. */
export type HeaderForm = 'none' | 'basic' | 'encrypted';

/**
 * The security header a PDU carries under Standard RDP Security (5.3.1, 2.2.1.11, 2.2.1.12, 2.2.8.1.1.2):
 * - 'exchange' (Security Exchange PDU): basic, always;
 * - 'info' (Client Info PDU): basic at level NONE, encrypted at every other level;
 * - 'license': basic (a licensing PDU is encrypted only when its sender chooses to, which it says with
 *   SEC_ENCRYPT; clients do so only after the server sent SEC_LICENSE_ENCRYPT_CS); receivers follow the flags;
 * - 'data' (share control/data, channel and redirection PDUs): none at NONE; at LOW encrypted from the
 *   client and none from the server; encrypted both ways at CLIENT_COMPATIBLE, HIGH and FIPS.
 * Under Enhanced RDP Security (TLS) there is no exchange and only Client Info and licensing PDUs carry a
 * (basic) header; that case is the caller's.
 */
export function securityHeaderFor(
  kind: 'exchange' | 'info' | 'license' | 'data',
  direction: Direction,
  encryptionLevel: number,
): HeaderForm {
  if (kind === 'exchange' || kind === 'license') return 'basic';
  if (kind === 'info') return encryptionLevel === ENCRYPTION_LEVEL.NONE ? 'basic' : 'encrypted';
  if (encryptionLevel === ENCRYPTION_LEVEL.NONE) return 'none';
  if (encryptionLevel === ENCRYPTION_LEVEL.LOW) return direction === 'client-to-server' ? 'encrypted' : 'none';
  return 'encrypted';
}

/** Which directions a level encrypts (5.3.1): LOW protects only client-to-server traffic. */
export function encryptedDirections(encryptionLevel: number): { clientToServer: boolean; serverToClient: boolean } {
  return {
    clientToServer: encryptionLevel !== ENCRYPTION_LEVEL.NONE,
    serverToClient: encryptionLevel >= ENCRYPTION_LEVEL.CLIENT_COMPATIBLE,
  };
}
