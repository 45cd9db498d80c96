/**
 * A scripted NLA server on loopback: answers the X.224 Connection Request with an RDP_NEG_RSP selecting HYBRID
 * or HYBRID_EX, upgrades to TLS with a generated certificate, and runs {@link CredsspServer} — a real CredSSP/
 * NTLM verifier that can be told to misbehave (errorCode values, old CredSSP versions, a bad server pubKeyAuth,
 * garbage instead of the CHALLENGE, an Early User Authorization Result of choice, a TLS alert or a close right
 * after the AUTHENTICATE). Delegated credentials that are authorized go on into a session
 * ({@link SessionServer}: MCS, licensing, a Demand Active), as on a real server.
 *
 * TLS alerts after the handshake. Node has no API to send a TLS alert of one's choosing, and what it does offer
 * does not give one (measured with Node 20 / OpenSSL 3.0, a Node TLS client on the other end):
 * - `end()` sends close_notify then FIN, `destroy()` a bare FIN: the client sees an orderly 'end' either way;
 * - a plaintext alert record written on the TCP socket after the handshake is not an alert to the client: its
 *   record layer tries to decrypt it and fails (OpenSSL reports ERR_SSL_INVALID_AAD);
 * - `renegotiate()` (TLS 1.2 only) over a JS-stream-wrapped socket trips a Node internal assertion
 *   (JSStreamSocket allows one write in flight); on a plain socket with `requestCert` it does make OpenSSL send
 *   a real encrypted internal_error — but only by accident ("session id context uninitialized", gone once a
 *   sessionIdContext is set), and never access_denied.
 * So for `alertAfterAuthenticate` the peer runs TLS 1.2 with an AES-GCM suite, reads the master secret from
 * Node's 'keylog' event and the server random from its own ServerHello (it watches the records it writes),
 * derives the server write key and IV (RFC 5246 6.3), and writes one genuinely encrypted alert record (level
 * fatal) with the next sequence number straight onto the TCP socket, then FIN, after taking the TLS engine off
 * the wire. The client's OpenSSL decrypts and authenticates it like any alert from a real server, and Node
 * reports ERR_SSL_TLSV1_ALERT_ACCESS_DENIED / ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR. Nothing on the client side is
 * simulated. (Under TLS 1.3 the same is possible in principle with SERVER_TRAFFIC_SECRET_0, but the server's
 * post-handshake NewSessionTicket records make the sequence number harder to track; not done here.)
 */
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import net from 'node:net';
import { readConnectionRequest as readCr } from './connection-request.js';
import { closeWaiter, trackConnection } from './settle.js';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { encodeConnectionConfirm } from '../protocol/x224.js';
import { encodeNegFailure, encodeNegResponse, NegFailureCode, SecurityProtocol } from '../protocol/nego.js';
import { channelBindingsHash, tlsServerEndPointAppData } from '../protocol/ntlm/ntlmv2.js';
import { decodeCertificate } from '../protocol/x509.js';
import { generateCert, LOCAL_SANS, type GeneratedCert } from './certs.js';
import { SessionServer, type SessionServerAction, type SessionServerObservations } from './session-server.js';
import { CredsspServer, type CredsspServerAction, type CredsspServerObservations, type GarbageKind, type LabUser, type NtlmServerIdentity } from './credssp-server.js';

export type TlsAlertName = 'access_denied' | 'internal_error';

/** RFC 8446 6.2 AlertDescription values. */
export const TLS_ALERT_CODES: Record<TlsAlertName, number> = { access_denied: 49, internal_error: 80 };

export interface NlaPeerOptions {
  credsspVersion: 2 | 3 | 4 | 5 | 6;
  users: LabUser[];
  /** What the RDP_NEG_RSP selects (when the client offered it). Default 'hybrid_ex' iff earlyUserAuthResult is set. */
  protocol?: 'hybrid' | 'hybrid_ex';
  /** RDP_NEG_RSP flags; default 0x1f, as Windows sends. */
  negFlags?: number;
  errorCodeAfterNegotiate?: number;
  errorCodeAfterAuthenticate?: number;
  /** Verify the AUTHENTICATE, then send this TLS alert (encrypted, TLS 1.2) instead of an answer, and close. */
  alertAfterAuthenticate?: TlsAlertName;
  /** Verify the AUTHENTICATE, then close the TLS session (close_notify, FIN) without an answer. */
  closeAfterAuthenticate?: boolean;
  badServerPubKeyAuth?: boolean;
  /** HYBRID_EX: the Early User Authorization Result sent after the TSCredentials (0 AUTHZ_SUCCESS, 5 AUTHZ_ACCESS_DENIED). */
  earlyUserAuthResult?: number;
  garbageInsteadOfChallenge?: boolean | GarbageKind;
  /** NTLM names, OS version and flags in the CHALLENGE. */
  ntlm?: Partial<NtlmServerIdentity>;
  /** Added to this machine's clock for the CHALLENGE's MsvAvTimestamp. */
  clockSkewMs?: number;
  /** Default: TLS 1.2 when an alert is scripted (required), else Node's default (TLS 1.3). */
  tlsMaxVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** A loopback address (127.0.0.0/8, ::1 or 'localhost'); default 127.0.0.1. */
  host?: string;
  /** Certificate and key; default a generated self-signed RSA certificate for localhost and the loopback addresses. */
  cert?: GeneratedCert;
  /** A connection with no traffic for this long is destroyed; default 10 s. */
  idleTimeoutMs?: number;
  /** Receives the server side's TLS secrets (NSS key log lines, from Node's 'keylog' event): tests decrypt recordings with them. */
  onKeylog?: (line: string) => void;
}

export interface NlaPeerConnection {
  id: number;
  requestedProtocols?: number;
  selectedProtocol?: number;
  /** RDP_NEG_FAILURE sent instead of a response. */
  negFailure?: number;
  tls?: { protocol: string; cipher: string };
  /** The CredSSP server's observations (live: they grow while the connection runs). */
  credssp?: CredsspServerObservations;
  /** After delegated, authorized credentials: the session server's observations (MCS to the Demand Active). */
  session?: SessionServerObservations;
  /** The alert the peer injected: description, and the TLS sequence number it was sealed with. */
  alert?: { name: TlsAlertName; code: number; seq: number; record: string };
  /** How the peer ended the connection, when it did. */
  endedBy?: 'close_notify' | 'alert' | 'gave_up' | 'idle_timeout';
  closed: boolean;
  errors: string[];
}

export interface NlaPeer {
  host: string;
  port: number;
  certDer: Uint8Array;
  /** 'sha256:<hex>' of the certificate, for --pin. */
  fingerprint: string;
  subjectPublicKey: Uint8Array;
  connections: NlaPeerConnection[];
  /** Resolves when every connection so far is closed (or after `timeoutMs`). */
  settled(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_HOST = '127.0.0.1';

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  if (net.isIPv6(host)) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}

export async function startNlaPeer(options: NlaPeerOptions): Promise<NlaPeer> {
  const host = options.host ?? DEFAULT_HOST;
  if (!isLoopback(host)) throw new Error(`the NLA test peer listens on loopback only, not on ${host}`);
  if (options.alertAfterAuthenticate && options.tlsMaxVersion === 'TLSv1.3') {
    throw new Error('alertAfterAuthenticate needs TLS 1.2: the peer seals the alert itself with TLS 1.2 AES-GCM record keys');
  }
  if (options.alertAfterAuthenticate && options.closeAfterAuthenticate) throw new Error('alertAfterAuthenticate and closeAfterAuthenticate exclude each other');
  const cert = options.cert ?? generateCert({ commonName: 'localhost', sans: LOCAL_SANS, keyName: 'rdp-nla-peer' });
  const facts = decodeCertificate(cert.certDer);
  const hashName = facts.signatureHash === 'sha384' || facts.signatureHash === 'sha512' ? facts.signatureHash : 'sha256';
  const expectedChannelBindings = channelBindingsHash(tlsServerEndPointAppData(new Uint8Array(createHash(hashName).update(cert.certDer).digest())));
  const idleMs = options.idleTimeoutMs ?? 10_000;

  const connections: NlaPeerConnection[] = [];
  const sockets = new Set<net.Socket>();
  const { notify, settled } = closeWaiter(connections);

  const server = net.createServer((raw) => {
    const conn: NlaPeerConnection = { id: connections.length + 1, closed: false, errors: [] };
    connections.push(conn);
    trackConnection(raw, conn, sockets, notify, idleMs);
    readConnectionRequest(raw, conn, options, (selected) => upgrade(raw, conn, selected));
  });

  function upgrade(raw: net.Socket, conn: NlaPeerConnection, selected: number): void {
    const alert = options.alertAfterAuthenticate;
    const maxVersion = options.tlsMaxVersion ?? (alert ? 'TLSv1.2' : undefined);
    // With an alert scripted, the TLS engine writes through a tap that sees every record (for the sequence number
    // and the server random); otherwise it sits on the TCP socket directly.
    const tap = alert ? new RecordTap(raw) : undefined;
    const t = new tls.TLSSocket(tap ?? raw, {
      isServer: true,
      cert: cert.certPem,
      key: cert.keyPem,
      ...(maxVersion ? { maxVersion } : {}),
      ...(alert ? { ciphers: Object.keys(GCM_SUITES).join(':') } : {}),
    });
    let keylog: string | undefined;
    if (alert) t.on('keylog', (line: Buffer) => (keylog = line.toString('latin1')));
    const onKeylog = options.onKeylog;
    if (onKeylog) t.on('keylog', (line: Buffer) => onKeylog(line.toString('latin1')));
    t.on('error', (e: Error & { code?: string }) => conn.errors.push(`tls: ${e.code ?? e.message}`));
    // After an injected alert the TCP socket is ending on its own (alert, then FIN): destroying it here could
    // discard the alert or turn the FIN into a reset.
    t.on('close', () => {
      if (conn.endedBy !== 'alert') raw.destroy();
    });
    t.once('secure', () => {
      const cipher = t.getCipher();
      conn.tls = { protocol: t.getProtocol() ?? 'unknown', cipher: cipher.standardName ?? cipher.name };
      const credssp = new CredsspServer({
        version: options.credsspVersion,
        users: options.users,
        subjectPublicKey: facts.subjectPublicKey,
        expectedChannelBindings,
        hybridEx: selected === SecurityProtocol.PROTOCOL_HYBRID_EX,
        ...(options.ntlm ? { ntlm: options.ntlm } : {}),
        nowMs: Date.now() + (options.clockSkewMs ?? 0),
        serverChallenge: new Uint8Array(randomBytes(8)),
        ...(options.errorCodeAfterNegotiate !== undefined ? { errorCodeAfterNegotiate: options.errorCodeAfterNegotiate } : {}),
        ...(options.errorCodeAfterAuthenticate !== undefined ? { errorCodeAfterAuthenticate: options.errorCodeAfterAuthenticate } : {}),
        ...(options.badServerPubKeyAuth ? { badServerPubKeyAuth: true } : {}),
        ...(options.earlyUserAuthResult !== undefined ? { earlyUserAuthResult: options.earlyUserAuthResult } : {}),
        ...(options.garbageInsteadOfChallenge ? { garbageInsteadOfChallenge: options.garbageInsteadOfChallenge } : {}),
        haltAfterAuthenticate: Boolean(alert || options.closeAfterAuthenticate),
      });
      conn.credssp = credssp.observed;
      const act = (actions: CredsspServerAction[]): void => {
        for (const a of actions) {
          if (a.type === 'send') t.write(a.bytes);
          else if (a.type === 'close') {
            conn.endedBy = 'gave_up';
            t.end();
          } else if (a.type === 'halt') {
            if (alert && tap) {
              try {
                const seq = tap.sequence;
                const record = encryptedAlert({ keylog, serverRandom: tap.serverRandom, cipher: cipher.name, seq, description: TLS_ALERT_CODES[alert] });
                conn.alert = { name: alert, code: TLS_ALERT_CODES[alert], seq, record: Buffer.from(record).toString('hex') };
                conn.endedBy = 'alert';
                // Take the TLS engine off the wire first: nothing it does afterwards may reach the client.
                tap.detach();
                raw.end(record);
                t.destroy();
              } catch (e) {
                conn.errors.push(`alert: ${e instanceof Error ? e.message : String(e)}`);
                raw.destroy();
              }
            } else if (options.closeAfterAuthenticate) {
              conn.endedBy = 'close_notify';
              t.end();
            }
          }
        }
      };
      const onData = (d: Buffer): void => {
        act(credssp.receive(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)));
        // Delegated and authorized: the session follows on the same TLS socket, up to a Demand Active.
        if (credssp.sessionMayFollow && !alert && !options.closeAfterAuthenticate) {
          t.off('data', onData);
          const session = new SessionServer({ selectedProtocol: selected, ...(conn.requestedProtocols !== undefined ? { requestedProtocols: conn.requestedProtocols } : {}), script: {}, users: options.users });
          conn.session = session.observed;
          const run = (actions: SessionServerAction[]): void => {
            for (const a of actions) {
              if (a.type === 'send') t.write(a.bytes);
              else t.end();
            }
          };
          t.on('data', (b: Buffer) => run(session.receive(new Uint8Array(b.buffer, b.byteOffset, b.byteLength))));
          const rest = credssp.takeLeftover();
          if (rest.length > 0) run(session.receive(rest));
        }
      };
      t.on('data', onData);
    });
    if (!tap) raw.resume();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;
  return {
    host: address.address,
    port: address.port,
    certDer: cert.certDer,
    fingerprint: `sha256:${createHash('sha256').update(cert.certDer).digest('hex')}`,
    subjectPublicKey: facts.subjectPublicKey,
    connections,
    settled,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Reads the X.224 CR, answers RDP_NEG_RSP (or RDP_NEG_FAILURE), then hands the socket on. */
function readConnectionRequest(raw: net.Socket, conn: NlaPeerConnection, options: NlaPeerOptions, then: (selected: number) => void): void {
  readCr(raw, conn.errors, (pdu) => {
    const requested = pdu.neg?.requestedProtocols ?? 0;
    conn.requestedProtocols = requested;
    const wantEx = (options.protocol ?? (options.earlyUserAuthResult !== undefined ? 'hybrid_ex' : 'hybrid')) === 'hybrid_ex';
    const selected =
      wantEx && requested & SecurityProtocol.PROTOCOL_HYBRID_EX
        ? SecurityProtocol.PROTOCOL_HYBRID_EX
        : requested & SecurityProtocol.PROTOCOL_HYBRID
          ? SecurityProtocol.PROTOCOL_HYBRID
          : undefined;
    const cc = (neg: Uint8Array): Buffer => Buffer.from(encodeConnectionConfirm({ dstRef: 0, srcRef: 0x1234, classOption: 0, neg }));
    if (selected === undefined) {
      // This server requires NLA: a client that does not offer CredSSP is refused, as Windows does.
      conn.negFailure = NegFailureCode.HYBRID_REQUIRED_BY_SERVER;
      raw.end(cc(encodeNegFailure({ flags: 0, failureCode: NegFailureCode.HYBRID_REQUIRED_BY_SERVER })));
      return;
    }
    conn.selectedProtocol = selected;
    raw.write(cc(encodeNegResponse({ flags: options.negFlags ?? 0x1f, selectedProtocol: selected })));
    then(selected);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The encrypted alert

/** TLS 1.2 AEAD suites the peer can seal a record for: key length, PRF hash, cipher. */
const GCM_SUITES: Record<string, { keyLength: number; prfHash: 'sha256' | 'sha384'; cipher: 'aes-128-gcm' | 'aes-256-gcm' }> = {
  'ECDHE-RSA-AES128-GCM-SHA256': { keyLength: 16, prfHash: 'sha256', cipher: 'aes-128-gcm' },
  'ECDHE-RSA-AES256-GCM-SHA384': { keyLength: 32, prfHash: 'sha384', cipher: 'aes-256-gcm' },
};

/** The TLS 1.2 PRF: P_hash(secret, label ‖ seed) (RFC 5246 5). */
export function tls12Prf(hash: 'sha256' | 'sha384', secret: Uint8Array, label: string, seed: Uint8Array, length: number): Uint8Array {
  const labelSeed = Buffer.concat([Buffer.from(label, 'latin1'), seed]);
  let a: Buffer = labelSeed;
  const out: Buffer[] = [];
  let have = 0;
  for (let guard = 0; have < length && guard < 64; guard++) {
    a = createHmac(hash, secret).update(a).digest();
    const block = createHmac(hash, secret).update(a).update(labelSeed).digest();
    out.push(block);
    have += block.length;
  }
  return new Uint8Array(Buffer.concat(out).subarray(0, length));
}

/**
 * One TLS 1.2 alert record (level fatal) sealed with the server write key: AES-GCM, nonce = server_write_IV ‖
 * explicit nonce (the sequence number), AAD = seq ‖ type 21 ‖ version 0x0303 ‖ length 2 (RFC 5246 6.2.3.3,
 * RFC 5288 3). `keylog` is the NSS key log line Node emitted ('CLIENT_RANDOM <client random> <master secret>').
 */
export function encryptedAlert(i: { keylog: string | undefined; serverRandom: Uint8Array | undefined; cipher: string; seq: number; description: number }): Uint8Array {
  const suite = GCM_SUITES[i.cipher];
  if (!suite) throw new Error(`cannot seal an alert for cipher ${i.cipher}`);
  const m = /^CLIENT_RANDOM ([0-9a-f]{64}) ([0-9a-f]{96})\s*$/i.exec(i.keylog ?? '');
  if (!m) throw new Error('no TLS 1.2 master secret in the key log');
  if (!i.serverRandom) throw new Error('the ServerHello was not seen');
  const clientRandom = Buffer.from(m[1]!, 'hex');
  const master = Buffer.from(m[2]!, 'hex');
  const k = suite.keyLength;
  // key_block = client_write_key ‖ server_write_key ‖ client_write_IV (4) ‖ server_write_IV (4); no MAC keys for AEAD.
  const block = tls12Prf(suite.prfHash, master, 'key expansion', Buffer.concat([i.serverRandom, clientRandom]), 2 * k + 8);
  const key = block.subarray(k, 2 * k);
  const salt = block.subarray(2 * k + 4, 2 * k + 8);
  const seq = Buffer.alloc(8);
  seq.writeBigUInt64BE(BigInt(i.seq));
  const c = createCipheriv(suite.cipher, key, Buffer.concat([salt, seq]));
  c.setAAD(Buffer.concat([seq, Buffer.from([21, 0x03, 0x03, 0x00, 0x02])]));
  const sealed = Buffer.concat([c.update(Buffer.from([2, i.description])), c.final(), c.getAuthTag()]);
  const body = Buffer.concat([seq, sealed]);
  return new Uint8Array(Buffer.concat([Buffer.from([21, 0x03, 0x03, body.length >> 8, body.length & 0xff]), body]));
}

/**
 * A Duplex between the server's TLS engine and the TCP socket that reads the TLS records the engine writes:
 * the server random (from the ServerHello) and how many records went out since the last ChangeCipherSpec (the
 * sequence number of the next record under the current keys: the Finished is 0). `detach()` takes the engine
 * off the wire (writes are dropped, reads stop) so the peer can write its own record.
 */
class RecordTap extends Duplex {
  serverRandom?: Uint8Array;
  /** Records written since the last ChangeCipherSpec. */
  sequence = 0;
  private pending = Buffer.alloc(0);
  private detached = false;
  private readonly onData = (d: Buffer): void => {
    if (!this.push(d)) this.raw.pause();
  };
  private readonly onEnd = (): void => {
    this.push(null);
  };
  private readonly onError = (e: Error): void => {
    this.destroy(e);
  };
  private readonly onClose = (): void => {
    if (!this.detached) this.push(null);
  };

  constructor(private readonly raw: net.Socket) {
    super();
    raw.on('data', this.onData);
    raw.on('end', this.onEnd);
    raw.on('error', this.onError);
    raw.on('close', this.onClose);
  }

  detach(): void {
    this.detached = true;
    this.raw.off('data', this.onData);
    this.raw.off('end', this.onEnd);
    this.raw.off('error', this.onError);
    this.raw.off('close', this.onClose);
    // Whatever the client still sends is read and dropped, so its FIN arrives and the socket closes.
    this.raw.on('data', () => undefined);
    this.raw.resume();
  }

  override _read(): void {
    if (!this.detached) this.raw.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.detached) {
      cb();
      return;
    }
    this.watch(chunk);
    this.raw.write(chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.detached) this.raw.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.detached) this.raw.destroy();
    cb(err);
  }

  private watch(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    // Each pass consumes one whole record (at least 5 bytes), so this ends.
    while (this.pending.length >= 5) {
      const len = this.pending.readUInt16BE(3);
      if (this.pending.length < 5 + len) break;
      const type = this.pending[0]!;
      if (type === 22 && this.serverRandom === undefined && this.pending[5] === 2 && len >= 38) {
        // Handshake record starting with ServerHello: type 1, length 3, version 2, random 32.
        this.serverRandom = new Uint8Array(this.pending.subarray(11, 43));
      }
      if (type === 20) this.sequence = 0;
      else this.sequence++;
      this.pending = this.pending.subarray(5 + len);
    }
  }
}
