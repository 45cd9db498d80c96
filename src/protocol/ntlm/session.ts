/**
 * [MS-NLMP] 3.4 session security with extended session security (the only kind NTLMv2 + CredSSP uses):
 * SIGNKEY/SEALKEY (3.4.5.2, 3.4.5.3), MAC (3.4.4.2) and SEAL (3.4.3).
 */

import { EncodeError } from '../codec/errors.js';
import { bytesEqual, hmacMd5, md5 } from '../crypto/hmac.js';
import { Rc4 } from '../crypto/rc4.js';
import { NegotiateFlags, hasFlag } from './constants.js';
import { ascii, concat, u32le } from './common.js';

const F = NegotiateFlags;

/** The magic constants, NUL terminator included (the spec's strings are C strings). */
export const CLIENT_SIGNING_MAGIC = ascii('session key to client-to-server signing key magic constant\0');
export const SERVER_SIGNING_MAGIC = ascii('session key to server-to-client signing key magic constant\0');
export const CLIENT_SEALING_MAGIC = ascii('session key to client-to-server sealing key magic constant\0');
export const SERVER_SEALING_MAGIC = ascii('session key to server-to-client sealing key magic constant\0');

/** NTLMSSP_MESSAGE_SIGNATURE (2.2.2.9.1): Version u32le = 1, Checksum 8, SeqNum u32le — 16 bytes. */
export const NTLM_SIGNATURE_LENGTH = 16;

/** SIGNKEY (3.4.5.2) with extended session security: MD5(ExportedSessionKey ‖ magic). */
export function signKey(exportedSessionKey: Uint8Array, direction: 'client-to-server' | 'server-to-client'): Uint8Array {
  return md5(exportedSessionKey, direction === 'client-to-server' ? CLIENT_SIGNING_MAGIC : SERVER_SIGNING_MAGIC);
}

/**
 * SEALKEY (3.4.5.3) with extended session security: MD5(key ‖ magic) where key is the whole ExportedSessionKey
 * with NEGOTIATE_128, its first 7 bytes with NEGOTIATE_56, else its first 5 bytes.
 */
export function sealKey(
  exportedSessionKey: Uint8Array,
  flags: number,
  direction: 'client-to-server' | 'server-to-client',
): Uint8Array {
  const n = hasFlag(flags, F.NTLMSSP_NEGOTIATE_128) ? 16 : hasFlag(flags, F.NTLMSSP_NEGOTIATE_56) ? 7 : 5;
  return md5(exportedSessionKey.subarray(0, n), direction === 'client-to-server' ? CLIENT_SEALING_MAGIC : SERVER_SEALING_MAGIC);
}

export type NtlmSignatureProblem = 'bad_length' | 'bad_version' | 'bad_sequence' | 'bad_checksum';

/** A received NTLMSSP_MESSAGE_SIGNATURE does not verify. The session's RC4 state is spent: discard it. */
export class NtlmSignatureError extends Error {
  override readonly name = 'NtlmSignatureError';
  constructor(
    readonly kind: NtlmSignatureProblem,
    message: string,
  ) {
    super(message);
  }
}

export interface NtlmSessionOptions {
  /** ExportedSessionKey from the AUTHENTICATE step. */
  exportedSessionKey: Uint8Array;
  /** The negotiated flags (those sent in the AUTHENTICATE_MESSAGE). */
  flags: number;
  /** Which end we are: 'client' seals with the client-to-server keys. Default 'client'. */
  role?: 'client' | 'server';
}

interface Direction {
  signingKey: Uint8Array;
  handle: Rc4;
  seq: number;
}

/**
 * One NTLM security context after authentication: a sealing handle, signing key and sequence number per
 * direction. `seal` then `unseal` in protocol order; the RC4 handles carry state from message to message.
 */
export class NtlmSession {
  readonly clientSigningKey: Uint8Array;
  readonly serverSigningKey: Uint8Array;
  readonly clientSealingKey: Uint8Array;
  readonly serverSealingKey: Uint8Array;
  private readonly keyExch: boolean;
  private readonly out: Direction;
  private readonly in: Direction;

  constructor(opts: NtlmSessionOptions) {
    const { exportedSessionKey: key, flags } = opts;
    if (key.length !== 16) throw new EncodeError(`ExportedSessionKey must be 16 bytes, got ${key.length}`);
    if (!hasFlag(flags, F.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)) {
      throw new EncodeError('session security without NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY is not supported');
    }
    this.keyExch = hasFlag(flags, F.NTLMSSP_NEGOTIATE_KEY_EXCH);
    this.clientSigningKey = signKey(key, 'client-to-server');
    this.serverSigningKey = signKey(key, 'server-to-client');
    this.clientSealingKey = sealKey(key, flags, 'client-to-server');
    this.serverSealingKey = sealKey(key, flags, 'server-to-client');
    const client: Direction = { signingKey: this.clientSigningKey, handle: new Rc4(this.clientSealingKey), seq: 0 };
    const server: Direction = { signingKey: this.serverSigningKey, handle: new Rc4(this.serverSealingKey), seq: 0 };
    const isClient = (opts.role ?? 'client') === 'client';
    this.out = isClient ? client : server;
    this.in = isClient ? server : client;
  }

  /** Sequence number the next `seal` will use. */
  get sendSequence(): number {
    return this.out.seq;
  }
  /** Sequence number the next `unseal` expects. */
  get receiveSequence(): number {
    return this.in.seq;
  }

  /** SEAL (3.4.3): RC4 the message with the sending handle, then sign it (3.4.4.2). */
  seal(message: Uint8Array): { signature: Uint8Array; sealed: Uint8Array } {
    const d = this.out;
    const seqNum = d.seq;
    const sealed = d.handle.update(message);
    const signature = this.mac(d, seqNum, message);
    d.seq = (d.seq + 1) >>> 0;
    return { signature, sealed };
  }

  /** Decrypts with the receiving handle and verifies the signature; throws NtlmSignatureError when it fails. */
  unseal(sealed: Uint8Array, signature: Uint8Array): Uint8Array {
    const d = this.in;
    if (signature.length !== NTLM_SIGNATURE_LENGTH) {
      throw new NtlmSignatureError('bad_length', `signature is ${signature.length} bytes, expected ${NTLM_SIGNATURE_LENGTH}`);
    }
    const version = readU32le(signature, 0);
    if (version !== 1) throw new NtlmSignatureError('bad_version', `signature version ${version}, expected 1`);
    const message = d.handle.update(sealed);
    const expected = this.mac(d, d.seq, message);
    const seqNum = readU32le(signature, 12);
    if (seqNum !== d.seq) throw new NtlmSignatureError('bad_sequence', `sequence number ${seqNum}, expected ${d.seq}`);
    if (!bytesEqual(expected, signature)) throw new NtlmSignatureError('bad_checksum', 'checksum does not match the message');
    d.seq = (d.seq + 1) >>> 0;
    return message;
  }

  /** MAC (3.4.4.2): Version 1 ‖ HMAC_MD5(SigningKey, SeqNum ‖ Message)[0..7] (RC4'd with KEY_EXCH) ‖ SeqNum. */
  private mac(d: Direction, seqNum: number, message: Uint8Array): Uint8Array {
    const seq = u32le(seqNum);
    let checksum = hmacMd5(d.signingKey, seq, message).subarray(0, 8);
    if (this.keyExch) checksum = d.handle.update(checksum);
    return concat(u32le(1), checksum, seq);
  }
}

function readU32le(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}
