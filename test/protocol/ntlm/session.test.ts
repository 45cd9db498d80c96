/** NtlmSession ([MS-NLMP] 3.4): both directions, sequence numbers, tampering, key-strength flags. */
import { describe, expect, it } from 'vitest';
import { EncodeError } from '../../../src/protocol/codec/errors.js';
import { NegotiateFlags } from '../../../src/protocol/ntlm/constants.js';
import { NtlmSession, NtlmSignatureError, sealKey, signKey } from '../../../src/protocol/ntlm/session.js';

const key = Uint8Array.from({ length: 16 }, (_, i) => 0x30 + i);
const FLAGS = 0xe2888235;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function pair(flags = FLAGS): { client: NtlmSession; server: NtlmSession } {
  return {
    client: new NtlmSession({ exportedSessionKey: key, flags }),
    server: new NtlmSession({ exportedSessionKey: key, flags, role: 'server' }),
  };
}

function signatureError(fn: () => unknown): NtlmSignatureError {
  try {
    fn();
  } catch (e) {
    if (e instanceof NtlmSignatureError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('NtlmSession', () => {
  it('client → server and server → client, several messages each, in order', () => {
    const { client, server } = pair();
    for (let i = 0; i < 5; i++) {
      const m = text(`client message ${i}`);
      const { signature, sealed } = client.seal(m);
      expect(signature.length).toBe(16);
      expect(Array.from(signature.subarray(0, 4))).toEqual([1, 0, 0, 0]);
      expect(new DataView(signature.buffer).getUint32(12, true)).toBe(i);
      expect(Buffer.from(sealed).equals(Buffer.from(m))).toBe(false);
      expect(new TextDecoder().decode(server.unseal(sealed, signature))).toBe(`client message ${i}`);
      const r = server.seal(text(`reply ${i}`));
      expect(new TextDecoder().decode(client.unseal(r.sealed, r.signature))).toBe(`reply ${i}`);
    }
    expect(client.sendSequence).toBe(5);
    expect(client.receiveSequence).toBe(5);
    expect(server.sendSequence).toBe(5);
  });

  it('directions use different keys', () => {
    const { client } = pair();
    expect(Buffer.from(client.clientSealingKey).equals(Buffer.from(client.serverSealingKey))).toBe(false);
    expect(Buffer.from(client.clientSigningKey).equals(Buffer.from(client.serverSigningKey))).toBe(false);
    expect(client.serverSigningKey).toEqual(signKey(key, 'server-to-client'));
    expect(client.serverSealingKey).toEqual(sealKey(key, FLAGS, 'server-to-client'));
  });

  it('a flipped bit in the sealed data fails with bad_checksum', () => {
    const { client, server } = pair();
    const { signature, sealed } = client.seal(text('hello'));
    sealed[0] = sealed[0]! ^ 1;
    expect(signatureError(() => server.unseal(sealed, signature)).kind).toBe('bad_checksum');
  });

  it('a flipped bit in the checksum fails with bad_checksum', () => {
    const { client, server } = pair();
    const { signature, sealed } = client.seal(text('hello'));
    signature[5] = signature[5]! ^ 0x80;
    expect(signatureError(() => server.unseal(sealed, signature)).kind).toBe('bad_checksum');
  });

  it('a message out of order fails with bad_sequence', () => {
    const { client, server } = pair();
    client.seal(text('first, lost'));
    const second = client.seal(text('second'));
    expect(signatureError(() => server.unseal(second.sealed, second.signature)).kind).toBe('bad_sequence');
  });

  it('a wrong signature version or length fails', () => {
    const { client, server } = pair();
    const { signature, sealed } = client.seal(text('x'));
    const v2 = signature.slice();
    v2[0] = 2;
    expect(signatureError(() => server.unseal(sealed, v2)).kind).toBe('bad_version');
    expect(signatureError(() => server.unseal(sealed, signature.subarray(0, 15))).kind).toBe('bad_length');
  });

  it('a session with the wrong key cannot verify', () => {
    const client = new NtlmSession({ exportedSessionKey: key, flags: FLAGS });
    const other = new NtlmSession({ exportedSessionKey: new Uint8Array(16), flags: FLAGS, role: 'server' });
    const { signature, sealed } = client.seal(text('secret'));
    expect(() => other.unseal(sealed, signature)).toThrow(NtlmSignatureError);
  });

  it('without KEY_EXCH the checksum is not encrypted (plain HMAC prefix), and it still round-trips', () => {
    const flags = (FLAGS & ~NegotiateFlags.NTLMSSP_NEGOTIATE_KEY_EXCH) >>> 0;
    const { client, server } = pair(flags);
    const a = client.seal(text('abc'));
    expect(new TextDecoder().decode(server.unseal(a.sealed, a.signature))).toBe('abc');
    const withKeyExch = new NtlmSession({ exportedSessionKey: key, flags: FLAGS }).seal(text('abc'));
    expect(Buffer.from(a.sealed).equals(Buffer.from(withKeyExch.sealed))).toBe(true);
    expect(Buffer.from(a.signature).equals(Buffer.from(withKeyExch.signature))).toBe(false);
  });

  it('56- and 40-bit sessions round-trip', () => {
    for (const drop of [NegotiateFlags.NTLMSSP_NEGOTIATE_128, NegotiateFlags.NTLMSSP_NEGOTIATE_128 | NegotiateFlags.NTLMSSP_NEGOTIATE_56]) {
      const { client, server } = pair((FLAGS & ~drop) >>> 0);
      const a = client.seal(text('weak'));
      expect(new TextDecoder().decode(server.unseal(a.sealed, a.signature))).toBe('weak');
    }
  });

  it('refuses sessions without extended session security, or a key that is not 16 bytes', () => {
    const noEss = (FLAGS & ~NegotiateFlags.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY) >>> 0;
    expect(() => new NtlmSession({ exportedSessionKey: key, flags: noEss })).toThrow(EncodeError);
    expect(() => new NtlmSession({ exportedSessionKey: key.subarray(0, 8), flags: FLAGS })).toThrow(EncodeError);
  });
});
