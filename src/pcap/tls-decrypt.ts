/**
 * Decrypts the records of one captured TLS connection with secrets from a key log: TLS 1.3 (AES-128-GCM,
 * AES-256-GCM, ChaCha20-Poly1305; RFC 8446 7) and TLS 1.2 AEAD suites (AES-GCM, RFC 5288; key block from the
 * master secret, RFC 5246 5 and 6.3) and TLS 1.2 AES-CBC with HMAC-SHA1/SHA256/SHA384 (RFC 5246 6.2.3.2, MAC-then-encrypt,
 * or encrypt-then-MAC when the ServerHello carries encrypt_then_mac, RFC 7366). Pure node:crypto; bytes in, the application data of each direction out,
 * with a map from plaintext offsets back to record offsets so the replay can name frames and times.
 * A record that does not authenticate stops that direction: wrong keys never yield garbage plaintext.
 */
import { createDecipheriv, createHmac } from 'node:crypto';
import { plaintextHandshakeMessages, TLS_ALERTS, type TlsRecord } from '../protocol/tls-records.js';
import type { KeyLog, TlsSecrets } from './keylog.js';
import { concat } from '../protocol/codec/bytes.js';

interface Suite {
  cipher: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305' | 'aes-128-cbc' | 'aes-256-cbc';
  keyLen: number;
  /** The PRF / HKDF hash. */
  hash: 'sha256' | 'sha384';
  tls13: boolean;
  /** CBC suites: the record MAC (HMAC with this hash). */
  mac?: 'sha1' | 'sha256' | 'sha384';
}

const MAC_LEN = { sha1: 20, sha256: 32, sha384: 48 } as const;
/** ServerHello extension encrypt_then_mac (RFC 7366). */
const EXT_ENCRYPT_THEN_MAC = 22;

const SUITES: Record<number, Suite> = {
  0x1301: { cipher: 'aes-128-gcm', keyLen: 16, hash: 'sha256', tls13: true },
  0x1302: { cipher: 'aes-256-gcm', keyLen: 32, hash: 'sha384', tls13: true },
  0x1303: { cipher: 'chacha20-poly1305', keyLen: 32, hash: 'sha256', tls13: true },
  0x009c: { cipher: 'aes-128-gcm', keyLen: 16, hash: 'sha256', tls13: false },
  0x009d: { cipher: 'aes-256-gcm', keyLen: 32, hash: 'sha384', tls13: false },
  0x009e: { cipher: 'aes-128-gcm', keyLen: 16, hash: 'sha256', tls13: false },
  0x009f: { cipher: 'aes-256-gcm', keyLen: 32, hash: 'sha384', tls13: false },
  0xc02b: { cipher: 'aes-128-gcm', keyLen: 16, hash: 'sha256', tls13: false },
  0xc02c: { cipher: 'aes-256-gcm', keyLen: 32, hash: 'sha384', tls13: false },
  0xc02f: { cipher: 'aes-128-gcm', keyLen: 16, hash: 'sha256', tls13: false },
  0xc030: { cipher: 'aes-256-gcm', keyLen: 32, hash: 'sha384', tls13: false },
  // CBC with HMAC: RSA key exchange (RFC 5246 A.5) and ECDHE (RFC 4492, RFC 5289).
  0x002f: { cipher: 'aes-128-cbc', keyLen: 16, hash: 'sha256', tls13: false, mac: 'sha1' },
  0x0035: { cipher: 'aes-256-cbc', keyLen: 32, hash: 'sha256', tls13: false, mac: 'sha1' },
  0x003c: { cipher: 'aes-128-cbc', keyLen: 16, hash: 'sha256', tls13: false, mac: 'sha256' },
  0x003d: { cipher: 'aes-256-cbc', keyLen: 32, hash: 'sha256', tls13: false, mac: 'sha256' },
  0xc009: { cipher: 'aes-128-cbc', keyLen: 16, hash: 'sha256', tls13: false, mac: 'sha1' },
  0xc00a: { cipher: 'aes-256-cbc', keyLen: 32, hash: 'sha256', tls13: false, mac: 'sha1' },
  0xc013: { cipher: 'aes-128-cbc', keyLen: 16, hash: 'sha256', tls13: false, mac: 'sha1' },
  0xc014: { cipher: 'aes-256-cbc', keyLen: 32, hash: 'sha256', tls13: false, mac: 'sha1' },
  0xc023: { cipher: 'aes-128-cbc', keyLen: 16, hash: 'sha256', tls13: false, mac: 'sha256' },
  0xc024: { cipher: 'aes-256-cbc', keyLen: 32, hash: 'sha384', tls13: false, mac: 'sha384' },
  0xc027: { cipher: 'aes-128-cbc', keyLen: 16, hash: 'sha256', tls13: false, mac: 'sha256' },
  0xc028: { cipher: 'aes-256-cbc', keyLen: 32, hash: 'sha384', tls13: false, mac: 'sha384' },
};

export interface DecryptedDirection {
  /** The application data, concatenated. */
  data: Uint8Array;
  /** For each decrypted application-data record: where its plaintext starts, and the record's stream offset. */
  map: { plain: number; record: number }[];
  /** Alerts sent under encryption, by name, with the record offset. */
  alerts: { name: string; level: number; record: number }[];
  /** Why decryption of this direction stopped early, when it did. */
  stopped?: string;
}

export type DecryptResult =
  | { ok: true; version: 'TLS 1.2' | 'TLS 1.3'; cipherSuite: number; client: DecryptedDirection; server: DecryptedDirection }
  | { ok: false; reason: string };

/** The record offset that holds plaintext byte `offset` of a direction. */
export function recordOf(d: DecryptedDirection, offset: number): number | undefined {
  let lo = 0;
  let hi = d.map.length - 1;
  let best: number | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (d.map[mid]!.plain <= offset) {
      best = d.map[mid]!.record;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

/** Decrypts one connection; `client` and `server` are the records of each direction from the ClientHello on. */
export function decryptTls(client: TlsRecord[], server: TlsRecord[], keys: KeyLog): DecryptResult {
  const ch = plaintextHandshakeMessages(client).find((m) => m.type === 1);
  const sh = plaintextHandshakeMessages(server).find((m) => m.type === 2);
  if (!ch || ch.body.length < 34) return { ok: false, reason: 'no ClientHello in the capture' };
  if (!sh || sh.body.length < 38) return { ok: false, reason: 'no ServerHello in the capture' };
  const clientRandom = ch.body.subarray(2, 34);
  const serverRandom = sh.body.subarray(2, 34);
  const sidLen = sh.body[34]!;
  if (sh.body.length < 35 + sidLen + 3) return { ok: false, reason: 'the ServerHello is truncated' };
  const suiteId = (sh.body[35 + sidLen]! << 8) | sh.body[36 + sidLen]!;
  const tls13 = serverExtension(sh.body, 38 + sidLen, 43) === 0x0304;
  const suite = SUITES[suiteId];
  if (!suite || suite.tls13 !== tls13) return { ok: false, reason: `cipher suite 0x${suiteId.toString(16).padStart(4, '0')} is not one this version decrypts (TLS 1.3 AEAD; TLS 1.2 AES-GCM and AES-CBC with HMAC)` };
  const legacyVersion = (sh.body[0]! << 8) | sh.body[1]!;
  if (!tls13 && legacyVersion !== 0x0303) return { ok: false, reason: `the server chose ${legacyVersion === 0x0302 ? 'TLS 1.1' : legacyVersion === 0x0301 ? 'TLS 1.0' : `version 0x${legacyVersion.toString(16)}`}: only TLS 1.2 and 1.3 are decrypted` };
  const secrets = keys.get(clientRandom);
  if (!secrets) return { ok: false, reason: `the key log has no secrets for this connection (client random ${Buffer.from(clientRandom).toString('hex').slice(0, 16)}…)` };
  if (tls13) {
    if (!secrets.serverTraffic0 || !secrets.clientTraffic0) return { ok: false, reason: 'the key log lacks CLIENT_TRAFFIC_SECRET_0 / SERVER_TRAFFIC_SECRET_0 for this connection' };
    return {
      ok: true,
      version: 'TLS 1.3',
      cipherSuite: suiteId,
      client: decrypt13(client, suite, [secrets.clientHandshake, secrets.clientTraffic0]),
      server: decrypt13(server, suite, [secrets.serverHandshake, secrets.serverTraffic0]),
    };
  }
  if (!secrets.masterSecret) return { ok: false, reason: 'the key log lacks the CLIENT_RANDOM master secret for this connection' };
  if (suite.mac) {
    // RFC 5246 6.3: client MAC key, server MAC key, client key, server key (TLS 1.2 CBC IVs travel in each record).
    const m = MAC_LEN[suite.mac];
    const kb = prf(suite.hash, secrets.masterSecret, 'key expansion', concat(serverRandom, clientRandom), 2 * m + 2 * suite.keyLen);
    const etm = serverExtension(sh.body, 38 + sidLen, EXT_ENCRYPT_THEN_MAC) !== undefined;
    const dir = (macAt: number, keyAt: number): CbcKeys => ({ mac: kb.subarray(macAt, macAt + m), key: kb.subarray(keyAt, keyAt + suite.keyLen), etm });
    return {
      ok: true,
      version: 'TLS 1.2',
      cipherSuite: suiteId,
      client: decryptCbc(client, suite, dir(0, 2 * m)),
      server: decryptCbc(server, suite, dir(m, 2 * m + suite.keyLen)),
    };
  }
  const kb = prf(suite.hash, secrets.masterSecret, 'key expansion', concat(serverRandom, clientRandom), 2 * suite.keyLen + 8);
  const ck = kb.subarray(0, suite.keyLen);
  const sk = kb.subarray(suite.keyLen, 2 * suite.keyLen);
  const civ = kb.subarray(2 * suite.keyLen, 2 * suite.keyLen + 4);
  const siv = kb.subarray(2 * suite.keyLen + 4, 2 * suite.keyLen + 8);
  return { ok: true, version: 'TLS 1.2', cipherSuite: suiteId, client: decrypt12(client, suite, ck, civ), server: decrypt12(server, suite, sk, siv) };
}

/**
 * A ServerHello extension: supported_versions (43) gives its 2-byte value (0x0304 for TLS 1.3); any other
 * present extension gives its length; undefined when absent.
 */
function serverExtension(body: Uint8Array, extAt: number, wanted: number): number | undefined {
  if (body.length < extAt + 2) return undefined;
  const end = Math.min(body.length, extAt + 2 + ((body[extAt]! << 8) | body[extAt + 1]!));
  for (let p = extAt + 2; p + 4 <= end; ) {
    const type = (body[p]! << 8) | body[p + 1]!;
    const len = (body[p + 2]! << 8) | body[p + 3]!;
    if (type === wanted) {
      if (wanted !== 43) return len;
      if (len === 2 && p + 6 <= end) return (body[p + 4]! << 8) | body[p + 5]!;
    }
    p += 4 + len;
  }
  return undefined;
}

function decrypt13(records: TlsRecord[], suite: Suite, secrets: (Uint8Array | undefined)[]): DecryptedDirection {
  const out = new Collector();
  const keys = secrets.map((s) => (s ? { key: expandLabel(suite.hash, s, 'key', suite.keyLen), iv: expandLabel(suite.hash, s, 'iv', 12) } : undefined));
  // Start with the handshake key when the log has it; without it, the first records that fail are skipped.
  let k = keys[0] ? 0 : 1;
  let seq = 0n;
  const open = (i: number, sq: bigint, r: TlsRecord): Uint8Array | undefined => {
    const kk = keys[i];
    return kk ? aead(suite.cipher, kk.key, nonce(kk.iv, sq), header(23, r.version, r.fragment.length), r.fragment) : undefined;
  };
  for (const r of records) {
    if (r.type !== 23) continue;
    let plain = open(k, seq, r);
    if (plain === undefined && k + 1 < keys.length) {
      // The handshake epoch is over: the next key starts its own sequence at 0.
      plain = open(k + 1, 0n, r);
      if (plain !== undefined) {
        k++;
        seq = 0n;
      }
    }
    if (plain === undefined) {
      // Without the handshake secret, the encrypted handshake records are passed over until the first that opens.
      if (!keys[0] && out.map.length === 0 && seq === 0n) continue;
      out.stopped = `a record at stream offset ${r.offset} does not authenticate with the logged secrets`;
      break;
    }
    seq++;
    let end = plain.length;
    while (end > 0 && plain[end - 1] === 0) end--;
    if (end === 0) continue;
    const type = plain[end - 1]!;
    out.take(type, plain.subarray(0, end - 1), r.offset);
  }
  return out.done();
}

function decrypt12(records: TlsRecord[], suite: Suite, key: Uint8Array, salt: Uint8Array): DecryptedDirection {
  const out = new Collector();
  let encrypted = false;
  let seq = 0n;
  for (const r of records) {
    if (r.type === 20) {
      encrypted = true;
      continue;
    }
    if (!encrypted) continue;
    if (r.fragment.length < 8 + 16) {
      out.stopped = `a record at stream offset ${r.offset} is too short for AES-GCM`;
      break;
    }
    const explicit = r.fragment.subarray(0, 8);
    const body = r.fragment.subarray(8);
    const plain = aead(suite.cipher, key, concat(salt, explicit), header(r.type, r.version, body.length - 16, seq), body);
    if (plain === undefined) {
      out.stopped = `a record at stream offset ${r.offset} does not authenticate with the logged master secret`;
      break;
    }
    seq++;
    out.take(r.type, plain, r.offset);
  }
  return out.done();
}

interface CbcKeys {
  mac: Uint8Array;
  key: Uint8Array;
  etm: boolean;
}

/**
 * TLS 1.2 CBC records: IV (one block) + ciphertext. MAC-then-encrypt: the plaintext ends with its HMAC and the
 * padding (padding_length + 1 bytes, each padding_length). Encrypt-then-MAC: the HMAC follows the ciphertext and
 * covers IV + ciphertext. The MAC covers seq_num, type, version and length (RFC 5246 6.2.3.1).
 */
function decryptCbc(records: TlsRecord[], suite: Suite, k: CbcKeys): DecryptedDirection {
  const out = new Collector();
  const macName = suite.mac!;
  const m = MAC_LEN[macName];
  let encrypted = false;
  let seq = 0n;
  const hmac = (type: number, version: number, content: Uint8Array): Buffer => createHmac(macName, k.mac).update(header(type, version, content.length, seq)).update(content).digest();
  for (const r of records) {
    if (r.type === 20) {
      encrypted = true;
      continue;
    }
    if (!encrypted) continue;
    const fail = (why: string): void => {
      out.stopped = `a record at stream offset ${r.offset} ${why}`;
    };
    let sealed = r.fragment;
    if (k.etm) {
      if (sealed.length < 16 + 16 + m) {
        fail('is too short for AES-CBC with encrypt-then-MAC');
        break;
      }
      const body = sealed.subarray(0, sealed.length - m);
      if (!hmac(r.type, r.version, body).equals(sealed.subarray(sealed.length - m))) {
        fail('does not authenticate with the logged master secret');
        break;
      }
      sealed = body;
    }
    if (sealed.length < 32 || sealed.length % 16 !== 0) {
      fail('is not a whole number of AES blocks');
      break;
    }
    let plain: Buffer;
    try {
      const d = createDecipheriv(suite.cipher, k.key, sealed.subarray(0, 16)).setAutoPadding(false);
      plain = Buffer.concat([d.update(sealed.subarray(16)), d.final()]);
    } catch {
      fail('does not decrypt with the logged master secret');
      break;
    }
    const pad = plain[plain.length - 1]!;
    let content: Buffer | undefined;
    if (pad + 1 <= plain.length && plain.subarray(plain.length - 1 - pad).every((b) => b === pad)) {
      const unpadded = plain.subarray(0, plain.length - 1 - pad);
      if (k.etm) content = unpadded;
      else if (unpadded.length >= m) {
        const c = unpadded.subarray(0, unpadded.length - m);
        if (hmac(r.type, r.version, c).equals(unpadded.subarray(unpadded.length - m))) content = c;
      }
    }
    if (content === undefined) {
      fail('does not authenticate with the logged master secret (bad padding or MAC)');
      break;
    }
    seq++;
    out.take(r.type, new Uint8Array(content), r.offset);
  }
  return out.done();
}

class Collector {
  private readonly parts: Uint8Array[] = [];
  private length = 0;
  readonly map: { plain: number; record: number }[] = [];
  readonly alerts: { name: string; level: number; record: number }[] = [];
  stopped?: string;

  take(type: number, plain: Uint8Array, record: number): void {
    if (type === 23 && plain.length > 0) {
      this.map.push({ plain: this.length, record });
      this.parts.push(plain);
      this.length += plain.length;
    } else if (type === 21 && plain.length >= 2) {
      this.alerts.push({ name: TLS_ALERTS[plain[1]!] ?? `alert ${plain[1]}`, level: plain[0]!, record });
    }
  }

  done(): DecryptedDirection {
    const data = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      data.set(p, at);
      at += p.length;
    }
    return { data, map: this.map, alerts: this.alerts, ...(this.stopped ? { stopped: this.stopped } : {}) };
  }
}

function aead(cipher: Suite['cipher'], key: Uint8Array, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  if (sealed.length < 16) return undefined;
  try {
    const d = createDecipheriv(cipher, key, iv, { authTagLength: 16 } as never) as import('node:crypto').DecipherGCM;
    d.setAAD(aad, { plaintextLength: sealed.length - 16 });
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    const a = d.update(sealed.subarray(0, sealed.length - 16));
    const b = d.final();
    return new Uint8Array(Buffer.concat([a, b]));
  } catch {
    return undefined;
  }
}

/** TLS 1.3: the 5-byte record header; TLS 1.2: seq_num, type, version, length (RFC 5246 6.2.3.3). */
function header(type: number, version: number, length: number, seq?: bigint): Uint8Array {
  const h = Uint8Array.of(type, version >> 8, version & 0xff, length >> 8, length & 0xff);
  if (seq === undefined) return h;
  const s = new Uint8Array(8);
  new DataView(s.buffer).setBigUint64(0, seq);
  return concat(s, h);
}

function nonce(iv: Uint8Array, seq: bigint): Uint8Array {
  const n = Uint8Array.from(iv);
  for (let i = 0; i < 8; i++) n[n.length - 1 - i]! ^= Number((seq >> BigInt(8 * i)) & 0xffn);
  return n;
}

/** RFC 8446 7.1 HKDF-Expand-Label with an empty context; one HMAC block covers every key and IV length here. */
function expandLabel(hash: Suite['hash'], secret: Uint8Array, label: string, length: number): Uint8Array {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = concat(Uint8Array.of(length >> 8, length & 0xff, full.length), full, Uint8Array.of(0));
  return new Uint8Array(createHmac(hash, secret).update(info).update(Uint8Array.of(1)).digest()).subarray(0, length);
}

/** RFC 5246 5: P_hash(secret, label + seed). */
function prf(hash: Suite['hash'], secret: Uint8Array, label: string, seed: Uint8Array, length: number): Uint8Array {
  const s = concat(Buffer.from(label, 'latin1'), seed);
  const out = new Uint8Array(length);
  let a: Uint8Array = s;
  for (let at = 0; at < length; ) {
    a = new Uint8Array(createHmac(hash, secret).update(a).digest());
    const block = createHmac(hash, secret).update(a).update(s).digest();
    out.set(block.subarray(0, Math.min(block.length, length - at)), at);
    at += block.length;
  }
  return out;
}

export type { TlsSecrets };
