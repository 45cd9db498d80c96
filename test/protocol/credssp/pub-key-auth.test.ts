/**
 * pubKeyAuth ([MS-CSSP] 3.1.5) and a whole NLA exchange on paper: NEGOTIATE → CHALLENGE → AUTHENTICATE +
 * pubKeyAuth → server pubKeyAuth → authInfo, with a server side written here (the server recovers the
 * session key from the AUTHENTICATE message the way MS-NLMP 3.2.5.1.2 describes).
 */
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EncodeError } from '../../../src/protocol/codec/errors.js';
import {
  CLIENT_SERVER_HASH_MAGIC,
  SERVER_CLIENT_HASH_MAGIC,
  clientPubKeyAuth,
  clientServerHash,
  expectedServerPubKeyAuth,
  pubKeyAuthV2,
  sealToken,
  serverClientHash,
  unsealToken,
  verifyServerPubKeyAuth,
} from '../../../src/protocol/credssp/pub-key-auth.js';
import { decodeTsPasswordCreds, decodeTsCredentials, encodePasswordCredentials } from '../../../src/protocol/credssp/ts-credentials.js';
import { decodeTsRequest, encodeTsRequest } from '../../../src/protocol/credssp/ts-request.js';
import { ntHash } from '../../../src/protocol/crypto/md4.js';
import { rc4 } from '../../../src/protocol/crypto/rc4.js';
import { encodeNtlmAuthenticate } from '../../../src/protocol/ntlm/authenticate.js';
import { decodeNtlmChallenge, encodeNtlmChallenge } from '../../../src/protocol/ntlm/challenge.js';
import { AvId } from '../../../src/protocol/ntlm/constants.js';
import { encodeNtlmNegotiate } from '../../../src/protocol/ntlm/negotiate.js';
import { NtlmSession } from '../../../src/protocol/ntlm/session.js';
import { decodeCertificate } from '../../../src/protocol/x509.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'x509');
const cert = decodeCertificate(new Uint8Array(readFileSync(join(FIXTURES, 'win2k8r2-awakecoding.der'))));
const subjectPublicKey = cert.subjectPublicKey;
const h = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const key = Uint8Array.from({ length: 16 }, (_, i) => i * 7);
const FLAGS = 0xe2888235;
const nonce = Uint8Array.from({ length: 32 }, (_, i) => 0xf0 ^ i);

function sessions(): { client: NtlmSession; server: NtlmSession } {
  return {
    client: new NtlmSession({ exportedSessionKey: key, flags: FLAGS }),
    server: new NtlmSession({ exportedSessionKey: key, flags: FLAGS, role: 'server' }),
  };
}

describe('binding hashes (v5+)', () => {
  it('the magic strings are NUL-terminated', () => {
    expect(Buffer.from(CLIENT_SERVER_HASH_MAGIC).toString('latin1')).toBe('CredSSP Client-To-Server Binding Hash\0');
    expect(Buffer.from(SERVER_CLIENT_HASH_MAGIC).toString('latin1')).toBe('CredSSP Server-To-Client Binding Hash\0');
  });

  it('are SHA-256(magic ‖ nonce ‖ SubjectPublicKey)', () => {
    const c = createHash('sha256').update('CredSSP Client-To-Server Binding Hash\0', 'latin1').update(nonce).update(subjectPublicKey);
    const s = createHash('sha256').update('CredSSP Server-To-Client Binding Hash\0', 'latin1').update(nonce).update(subjectPublicKey);
    expect(h(clientServerHash(nonce, subjectPublicKey))).toBe(c.digest('hex'));
    expect(h(serverClientHash(nonce, subjectPublicKey))).toBe(s.digest('hex'));
  });

  it('need a 32-byte nonce', () => {
    expect(() => clientServerHash(new Uint8Array(16), subjectPublicKey)).toThrow(EncodeError);
  });
});

describe('pubKeyAuth v2–4', () => {
  it('the client seals the SubjectPublicKey; the server echoes it with the first byte + 1', () => {
    const { client, server } = sessions();
    const token = pubKeyAuthV2(client, subjectPublicKey);
    expect(token.length).toBe(16 + subjectPublicKey.length);
    expect(h(unsealToken(server, token))).toBe(h(subjectPublicKey));
    const echo = subjectPublicKey.slice();
    echo[0] = (echo[0]! + 1) & 0xff;
    expect(verifyServerPubKeyAuth(client, 3, subjectPublicKey, sealToken(server, echo))).toEqual({ ok: true });
  });

  it('an echo without the +1 is a mismatch (result, not exception)', () => {
    const { client, server } = sessions();
    unsealToken(server, pubKeyAuthV2(client, subjectPublicKey));
    const r = verifyServerPubKeyAuth(client, 2, subjectPublicKey, sealToken(server, subjectPublicKey));
    expect(r).toMatchObject({ ok: false, reason: 'mismatch' });
  });

  it('a tampered or short reply is a bad signature', () => {
    const { client, server } = sessions();
    const echo = expectedServerPubKeyAuth(4, subjectPublicKey);
    const reply = sealToken(server, echo);
    reply[20] = reply[20]! ^ 1;
    expect(verifyServerPubKeyAuth(client, 4, subjectPublicKey, reply)).toMatchObject({ ok: false, reason: 'bad_signature', kind: 'bad_checksum' });
    expect(verifyServerPubKeyAuth(client, 4, subjectPublicKey, new Uint8Array(10))).toMatchObject({ ok: false, reason: 'bad_signature', kind: 'bad_length' });
  });

  it('wraps the first byte 0xff to 0x00', () => {
    expect(expectedServerPubKeyAuth(2, Uint8Array.of(0xff, 1))).toEqual(Uint8Array.of(0x00, 1));
  });
});

describe('pubKeyAuth v5+', () => {
  it('client hash out, server hash back', () => {
    const { client, server } = sessions();
    const token = clientPubKeyAuth(client, 6, subjectPublicKey, nonce);
    expect(h(unsealToken(server, token))).toBe(h(clientServerHash(nonce, subjectPublicKey)));
    const reply = sealToken(server, serverClientHash(nonce, subjectPublicKey));
    expect(verifyServerPubKeyAuth(client, 6, subjectPublicKey, reply, nonce)).toEqual({ ok: true });
  });

  it('a reply for another key or nonce is a mismatch', () => {
    const { client, server } = sessions();
    unsealToken(server, clientPubKeyAuth(client, 6, subjectPublicKey, nonce));
    const other = new Uint8Array(32);
    const reply = sealToken(server, serverClientHash(other, subjectPublicKey));
    expect(verifyServerPubKeyAuth(client, 6, subjectPublicKey, reply, nonce)).toMatchObject({ ok: false, reason: 'mismatch' });
  });

  it('a v2-style echo sent to a v6 client is a mismatch', () => {
    const { client, server } = sessions();
    const reply = sealToken(server, expectedServerPubKeyAuth(3, subjectPublicKey));
    expect(verifyServerPubKeyAuth(client, 6, subjectPublicKey, reply, nonce)).toMatchObject({ ok: false, reason: 'mismatch' });
  });

  it('needs the nonce', () => {
    const { client } = sessions();
    expect(() => clientPubKeyAuth(client, 5, subjectPublicKey)).toThrow(EncodeError);
  });
});

describe('a whole CredSSP v6 exchange over NTLM', () => {
  it('server recovers the session key, checks pubKeyAuth, and reads the delegated credentials', () => {
    const password = 'Passw0rd!';
    const creds = { user: 'tester', domain: 'LAB', password };
    // 1. client → NEGOTIATE in a TSRequest
    const negotiate = encodeNtlmNegotiate();
    const req1 = decodeTsRequest(encodeTsRequest({ version: 6, negoTokens: [negotiate] }));
    // 2. server → CHALLENGE (with a timestamp, as Windows sends)
    const serverChallenge = Uint8Array.of(9, 8, 7, 6, 5, 4, 3, 2);
    const u16 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf16le'));
    const challengeMsg = encodeNtlmChallenge({
      negotiateFlags: 0xe28a8235,
      targetName: 'LAB',
      serverChallenge,
      targetInfo: [
        { id: AvId.MsvAvNbDomainName, value: u16('LAB') },
        { id: AvId.MsvAvNbComputerName, value: u16('SRV') },
        { id: AvId.MsvAvTimestamp, value: Uint8Array.of(0, 0x80, 0x3e, 0xd5, 0xde, 0xb1, 0x9d, 0x01) },
      ],
      version: { major: 10, minor: 0, build: 17763, ntlmRevision: 15 },
    });
    const resp1 = decodeTsRequest(encodeTsRequest({ version: 6, negoTokens: [challengeMsg] }));
    const challenge = decodeNtlmChallenge(resp1.negoTokens![0]!);
    expect(challenge.version?.windowsName).toBe('Windows Server 2019 / Windows 10 1809');
    // 3. client → AUTHENTICATE + pubKeyAuth + clientNonce
    const auth = encodeNtlmAuthenticate({
      negotiateMessage: req1.negoTokens![0]!,
      challenge,
      credentials: creds,
      clientChallenge: Uint8Array.of(1, 1, 2, 3, 5, 8, 13, 21),
      randomSessionKey: Uint8Array.from({ length: 16 }, (_, i) => 0x40 + i),
      targetName: 'TERMSRV/srv.lab.test',
    });
    const client = new NtlmSession({ exportedSessionKey: auth.exportedSessionKey, flags: auth.flags });
    const req2 = decodeTsRequest(
      encodeTsRequest({ version: 6, negoTokens: [auth.message], pubKeyAuth: clientPubKeyAuth(client, 6, subjectPublicKey, nonce), clientNonce: nonce }),
    );

    // Server side, from the wire bytes only.
    const msg = req2.negoTokens![0]!;
    const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
    const fieldAt = (at: number): Uint8Array => msg.subarray(dv.getUint32(at + 4, true), dv.getUint32(at + 4, true) + dv.getUint16(at, true));
    const nt = fieldAt(20);
    const user = Buffer.from(fieldAt(36)).toString('utf16le');
    const domain = Buffer.from(fieldAt(28)).toString('utf16le');
    const responseKeyNT = createHmac('md5', ntHash(password)).update(Buffer.from(user.toUpperCase() + domain, 'utf16le')).digest();
    const proof = createHmac('md5', responseKeyNT).update(serverChallenge).update(nt.subarray(16)).digest();
    expect(h(nt.subarray(0, 16))).toBe(proof.toString('hex'));
    const sessionBaseKey = createHmac('md5', responseKeyNT).update(proof).digest();
    const exported = rc4(sessionBaseKey, fieldAt(52));
    const mic = createHmac('md5', exported).update(negotiate).update(challengeMsg).update(Buffer.concat([msg.subarray(0, 72), Buffer.alloc(16), msg.subarray(88)])).digest();
    expect(h(msg.subarray(72, 88))).toBe(mic.toString('hex'));
    const server = new NtlmSession({ exportedSessionKey: exported, flags: dv.getUint32(60, true), role: 'server' });
    expect(h(unsealToken(server, req2.pubKeyAuth!))).toBe(h(clientServerHash(req2.clientNonce!, subjectPublicKey)));

    // 4. server → pubKeyAuth; client verifies
    const resp2 = decodeTsRequest(encodeTsRequest({ version: 6, pubKeyAuth: sealToken(server, serverClientHash(nonce, subjectPublicKey)) }));
    expect(verifyServerPubKeyAuth(client, 6, subjectPublicKey, resp2.pubKeyAuth!, nonce)).toEqual({ ok: true });

    // 5. client → authInfo (explicit opt-in delegation); server reads it
    const authInfo = sealToken(client, encodePasswordCredentials({ domainName: 'LAB', userName: 'tester', password }));
    const req3 = decodeTsRequest(encodeTsRequest({ version: 6, authInfo }));
    const tsCreds = decodeTsCredentials(unsealToken(server, req3.authInfo!));
    expect(decodeTsPasswordCreds(tsCreds.credentials)).toEqual({ domainName: 'LAB', userName: 'tester', password });
    expect(client.sendSequence).toBe(2);
    expect(server.sendSequence).toBe(1);
  });
});
