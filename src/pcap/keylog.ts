/**
 * NSS key log (SSLKEYLOGFILE) lines, as browsers, curl, OpenSSL, Node (--tls-keylog, the 'keylog' event) and
 * Wireshark write them, and the same text inside a pcapng Decryption Secrets Block (secrets type 0x544c534b).
 * Only the labels decryption needs are kept; everything is keyed by the ClientHello random (hex, lower case).
 */

/** pcapng Decryption Secrets Block type for TLS key logs ('TLSK'). */
export const DSB_TLS_KEY_LOG = 0x544c534b;

export interface TlsSecrets {
  /** TLS 1.2 and older: CLIENT_RANDOM <random> <48-byte master secret>. */
  masterSecret?: Uint8Array;
  clientHandshake?: Uint8Array;
  serverHandshake?: Uint8Array;
  clientTraffic0?: Uint8Array;
  serverTraffic0?: Uint8Array;
}

const LABELS: Record<string, keyof TlsSecrets> = {
  CLIENT_RANDOM: 'masterSecret',
  CLIENT_HANDSHAKE_TRAFFIC_SECRET: 'clientHandshake',
  SERVER_HANDSHAKE_TRAFFIC_SECRET: 'serverHandshake',
  CLIENT_TRAFFIC_SECRET_0: 'clientTraffic0',
  SERVER_TRAFFIC_SECRET_0: 'serverTraffic0',
};

/** At most this many lines are read from one key log: a bound, not a limit anyone meets. */
export const MAX_KEYLOG_LINES = 1_000_000;

export class KeyLog {
  private readonly byRandom = new Map<string, TlsSecrets>();
  /** Lines that were not comments, not blank and not understood. */
  ignored = 0;

  /** Adds the lines of `text`; unknown labels (EXPORTER_SECRET, EARLY_*) and malformed lines are counted and skipped. */
  add(text: string): this {
    let n = 0;
    for (const raw of text.split(/\r?\n/)) {
      if (++n > MAX_KEYLOG_LINES) break;
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const [label, random, secret, extra] = line.split(/\s+/);
      const key = label === undefined ? undefined : LABELS[label];
      if (!key || !random || !secret || extra !== undefined || !/^[0-9a-fA-F]{64}$/.test(random) || !/^(?:[0-9a-fA-F]{2}){32,64}$/.test(secret)) {
        this.ignored++;
        continue;
      }
      const r = random.toLowerCase();
      const entry = this.byRandom.get(r) ?? {};
      entry[key] = Uint8Array.from(Buffer.from(secret, 'hex'));
      this.byRandom.set(r, entry);
    }
    return this;
  }

  /** A key log with the entries of both; for one client random, `b`'s secrets add to (and override) `a`'s. */
  static merge(a: KeyLog, b: KeyLog): KeyLog {
    const out = new KeyLog();
    for (const src of [a, b]) for (const [r, e] of src.byRandom) out.byRandom.set(r, { ...out.byRandom.get(r), ...e });
    out.ignored = a.ignored + b.ignored;
    return out;
  }

  get(clientRandom: Uint8Array): TlsSecrets | undefined {
    return this.byRandom.get(Buffer.from(clientRandom).toString('hex'));
  }

  get size(): number {
    return this.byRandom.size;
  }
}
