/**
 * The lab's socket code: one listener per scenario (or one port, the scenario chosen by the X.224 cookie
 * `Cookie: mstshash=<scenario>`), each connection run through the scenario's plan (src/lab/scenarios.ts) on the
 * server side of the one protocol layer: X.224 → TLS → CredSSP (src/lab/credssp-server.ts) → MCS through
 * activation (src/lab/session-server.ts). Loopback only.
 *
 * What each connection showed is kept in `connections` (the CredSSP and session servers' observations), so a
 * test can assert what a client sent — and that it sent no password it was not asked to send.
 */
import { createHash, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import net from 'node:net';
import { readConnectionRequest as readCr } from './connection-request.js';
import { closeWaiter, trackConnection } from './settle.js';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { encodeNegFailure, encodeNegResponse, NegFailureCode, SecurityProtocol } from '../protocol/nego.js';
import { channelBindingsHash, tlsServerEndPointAppData } from '../protocol/ntlm/ntlmv2.js';
import type { RsaPrivateKey } from '../protocol/security/rsa.js';
import { encodeConnectionConfirm } from '../protocol/x224.js';
import { generateLabCerts, type GeneratedCert, type LabCertName, type LabCerts } from './certs.js';
import { CredsspServer, type CredsspServerObservations, type LabUser } from './credssp-server.js';
import { hostileCredssp, hostileX224, hugeCert, paced, serverHelloOnly } from './hostile.js';
import { isLoopback } from './rdp-nla-peer.js';
import { DEFAULT_NLA_STATUS, SCENARIOS, scenario as findScenario, type LabScenario } from './scenarios.js';
import { SessionServer, type SessionServerAction, type SessionServerObservations } from './session-server.js';

/** The lab's test account; the same as src/cli/lab-account.ts (a test holds them equal). */
export const LAB_USERS: readonly LabUser[] = Object.freeze([{ user: 'lab', domain: 'LAB', password: 'lab-password' }]);

export interface LabServerOptions {
  /** Scenario names; default every scenario. */
  scenarios?: readonly string[];
  /** A loopback address; default 127.0.0.1. */
  host?: string;
  /** One port for every scenario, chosen by the X.224 cookie (default: the first scenario). Default: a free port each. */
  port?: number;
  /** The NTSTATUS of `nla-status`. */
  nlaStatus?: number;
  users?: readonly LabUser[];
  /** A connection with no traffic for this long is destroyed; default 10 s. */
  idleTimeoutMs?: number;
}

export interface LabConnection {
  id: number;
  scenario: string;
  cookie?: string;
  requestedProtocols?: number;
  selectedProtocol?: number;
  negFailure?: number;
  tls?: { protocol: string; cipher: string };
  credssp?: CredsspServerObservations;
  session?: SessionServerObservations;
  /** How the lab ended the connection, when it did. */
  endedBy?: 'reset' | 'close' | 'idle_timeout';
  closed: boolean;
  errors: string[];
}

export interface LabServer {
  host: string;
  /** Scenario → port (all the same port in one-port mode). */
  ports: Record<string, number>;
  /** 'sha256:<hex>' of the certificate a scenario presents (for --pin). */
  fingerprint(name: string): string;
  connections: LabConnection[];
  /** Start-up: certificates and keys (ms), and the whole start (ms). */
  startup: { keysMs: number; totalMs: number };
  /** Resolves when every connection so far is closed (or after `timeoutMs`). */
  settled(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

interface LabKeys {
  certs: LabCerts;
  /** The key of the proprietary certificate under standard RDP security. */
  rsa: RsaPrivateKey;
}

let keys: Promise<LabKeys> | undefined;
/** Certificates and keys, made once per process (node:crypto key generation, in parallel). */
function labKeys(): Promise<LabKeys> {
  keys ??= (async () => {
    const certs = await generateLabCerts();
    return { certs, rsa: proprietaryKey() };
  })();
  return keys;
}

/** A 512-bit RSA key, as Windows uses for its proprietary certificate. */
function proprietaryKey(): RsaPrivateKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 512, publicExponent: 0x10001 });
  const jwk = privateKey.export({ format: 'jwk' });
  const b = (s: string | undefined): Uint8Array => new Uint8Array(Buffer.from(s ?? '', 'base64url'));
  const e = Buffer.from(jwk.e ?? '', 'base64url');
  return { publicExponent: e.readUIntBE(0, e.length), modulus: b(jwk.n), privateExponent: b(jwk.d) };
}

const NEG_RSP_FLAGS = 0x1f;

export async function startLab(options: LabServerOptions = {}): Promise<LabServer> {
  const t0 = performance.now();
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host)) throw new Error(`the lab listens on loopback only (127.0.0.0/8, ::1), not on ${host}`);
  const names = options.scenarios && options.scenarios.length > 0 ? [...options.scenarios] : SCENARIOS.map((s) => s.name);
  const chosen: LabScenario[] = [];
  for (const n of names) {
    const s = findScenario(n);
    if (!s) throw new Error(`unknown lab scenario ${JSON.stringify(n)} (rdp-probe lab --list names them)`);
    if (!chosen.includes(s)) chosen.push(s);
  }
  const k = await labKeys();
  const keysMs = k.certs.ms;
  const users = options.users ?? LAB_USERS;
  const idleMs = options.idleTimeoutMs ?? 10_000;
  // A hostile certificate is made only when its scenario is served (it takes about half a second).
  const hugePlans = chosen.map((s) => s.server.hostile).filter((h) => h?.at === 'tls' && h.kind === 'huge-cert');
  const huge = hugePlans[0]?.kind === 'huge-cert' ? hugeCert(hugePlans[0].bytes, k.certs.ca, k.certs.certs.good) : undefined;
  const certOf = (s: LabScenario): GeneratedCert => (s.server.hostile?.kind === 'huge-cert' && huge ? huge : k.certs.certs[s.server.tls?.cert ?? 'good']);
  const bindings = new Map<LabCertName, { spk: Uint8Array; cb: Uint8Array }>();
  const bindingOf = (name: LabCertName): { spk: Uint8Array; cb: Uint8Array } => {
    let b = bindings.get(name);
    if (!b) {
      const c = k.certs.certs[name];
      // node:crypto's X.509 parser, not ours: decoding the lab leaf's 255 addresses with pkijs was a fifth of
      // `check --lab`'s start-up. The RSA subjectPublicKey is the PKCS#1 RSAPublicKey; the lab signs only with
      // SHA-256 and SHA-1, for which RFC 5929 binds with SHA-256.
      const spk = new Uint8Array(new X509Certificate(c.certDer).publicKey.export({ type: 'pkcs1', format: 'der' }));
      b = { spk, cb: channelBindingsHash(tlsServerEndPointAppData(new Uint8Array(createHash('sha256').update(c.certDer).digest()))) };
      bindings.set(name, b);
    }
    return b;
  };

  const connections: LabConnection[] = [];
  const sockets = new Set<net.Socket>();
  const { notify, settled } = closeWaiter(connections);

  const accept = (raw: net.Socket, fixed: LabScenario | undefined): void => {
    const conn: LabConnection = { id: connections.length + 1, scenario: fixed?.name ?? chosen[0]!.name, closed: false, errors: [] };
    connections.push(conn);
    trackConnection(raw, conn, sockets, notify, idleMs);
    readConnectionRequest(raw, conn, (cr) => {
      // One port for many: the cookie names the scenario (mstsc and FreeRDP send the user name there).
      const s = fixed ?? chosen.find((x) => x.name === cr.cookie) ?? chosen[0]!;
      conn.scenario = s.name;
      answer(raw, conn, s, cr.requested);
    });
  };

  const answer = (raw: net.Socket, conn: LabConnection, s: LabScenario, requested: number | undefined): void => {
    const x = s.server.x224;
    const cc = (neg?: Uint8Array): Buffer => Buffer.from(encodeConnectionConfirm({ dstRef: 0, srcRef: 0x1234, classOption: 0, ...(neg ? { neg } : {}) }));
    const refuse = (code: number): void => {
      conn.negFailure = code;
      raw.end(cc(encodeNegFailure({ flags: 0, failureCode: code })));
    };
    switch (x.kind) {
      case 'reset':
        conn.endedBy = 'reset';
        raw.resetAndDestroy();
        return;
      case 'hang':
        raw.on('data', () => undefined);
        raw.resume();
        return;
      case 'neg-failure':
        refuse(x.code);
        return;
      case 'legacy':
        raw.write(cc());
        conn.selectedProtocol = 0;
        session(raw, conn, s, 0, undefined);
        return;
      case 'select':
        break;
    }
    const req = requested ?? 0;
    const P = SecurityProtocol;
    let selected: number;
    if (x.protocol === 'nla') {
      if (x.hybridEx && req & P.PROTOCOL_HYBRID_EX) selected = P.PROTOCOL_HYBRID_EX;
      else if (req & P.PROTOCOL_HYBRID) selected = P.PROTOCOL_HYBRID;
      else return refuse(NegFailureCode.HYBRID_REQUIRED_BY_SERVER);
    } else if (x.protocol === 'tls') {
      if (req & P.PROTOCOL_SSL) selected = P.PROTOCOL_SSL;
      else return refuse(NegFailureCode.SSL_REQUIRED_BY_SERVER);
    } else {
      // A server set to standard RDP security refuses a client that asks for TLS (MS-RDPBCGR 3.3.5.3.1).
      if (req !== 0) return refuse(NegFailureCode.SSL_NOT_ALLOWED_BY_SERVER);
      selected = P.PROTOCOL_RDP;
    }
    conn.selectedProtocol = selected;
    const confirm = cc(encodeNegResponse({ flags: NEG_RSP_FLAGS, selectedProtocol: selected }));
    if (s.server.hostile?.at === 'x224') {
      hostileX224(raw, s.server.hostile, u8(confirm));
      return;
    }
    raw.write(confirm);
    if (selected === P.PROTOCOL_RDP) session(raw, conn, s, selected, req);
    else upgrade(raw, conn, s, selected, req);
  };

  const upgrade = (raw: net.Socket, conn: LabConnection, s: LabScenario, selected: number, requested: number): void => {
    const plan = s.server.tls ?? {};
    if (plan.resetAfterClientHello) {
      // Take the ClientHello, answer nothing, reset: what a listener with a broken certificate binding does.
      raw.once('data', () => {
        conn.endedBy = 'reset';
        raw.resetAndDestroy();
      });
      raw.resume();
      return;
    }
    const certName = plan.cert ?? 'good';
    const c = certOf(s);
    if (s.server.hostile?.kind === 'server-hello-only') {
      serverHelloOnly(raw, c, (e: Error & { code?: string }) => conn.errors.push(`tls: ${e.code ?? e.message}`));
      return;
    }
    const old = plan.versions === 'tls1.0-only';
    const weak = old || certName === 'rsa1024' || certName === 'sha1';
    const t = new tls.TLSSocket(raw, {
      isServer: true,
      cert: c.certPem,
      key: c.keyPem,
      ...(old ? { minVersion: 'TLSv1' as const, maxVersion: 'TLSv1' as const } : {}),
      // OpenSSL's default security level refuses a 1024-bit key, SHA-1 and TLS 1.0: this server is that old.
      ...(weak ? { ciphers: 'DEFAULT:@SECLEVEL=0' } : {}),
    });
    t.on('error', (e: Error & { code?: string }) => conn.errors.push(`tls: ${e.code ?? e.message}`));
    t.on('close', () => raw.destroy());
    t.once('secure', () => {
      const cipher = t.getCipher();
      conn.tls = { protocol: t.getProtocol() ?? 'unknown', cipher: cipher.standardName ?? cipher.name };
      if ((selected & (SecurityProtocol.PROTOCOL_HYBRID | SecurityProtocol.PROTOCOL_HYBRID_EX)) === 0) {
        session(t, conn, s, selected, requested);
        return;
      }
      if (s.server.hostile?.at === 'credssp') {
        hostileCredssp(t, s.server.hostile);
        return;
      }
      const cp = s.server.credssp ?? { version: 6 as const };
      const b = bindingOf(certName);
      const status = s.name === 'nla-status' ? (options.nlaStatus ?? DEFAULT_NLA_STATUS) : cp.errorCodeAfterAuthenticate;
      const credssp = new CredsspServer({
        version: cp.version,
        users,
        subjectPublicKey: b.spk,
        expectedChannelBindings: b.cb,
        hybridEx: selected === SecurityProtocol.PROTOCOL_HYBRID_EX,
        nowMs: Date.now(),
        serverChallenge: new Uint8Array(randomBytes(8)),
        ...(status !== undefined ? { errorCodeAfterAuthenticate: status } : {}),
        ...(cp.earlyUserAuthResult !== undefined ? { earlyUserAuthResult: cp.earlyUserAuthResult } : {}),
        ...(cp.closeOnLogonFailure ? { closeOnLogonFailure: true } : {}),
      });
      conn.credssp = credssp.observed;
      const onData = (d: Buffer): void => {
        for (const a of credssp.receive(u8(d))) {
          if (a.type === 'send') t.write(a.bytes);
          else if (a.type === 'close') {
            conn.endedBy = 'close';
            t.end();
          }
        }
        if (credssp.sessionMayFollow && s.server.session) {
          t.off('data', onData);
          session(t, conn, s, selected, requested, credssp.takeLeftover());
        }
      };
      t.on('data', onData);
    });
  };

  const session = (sock: Duplex, conn: LabConnection, s: LabScenario, selected: number, requested: number | undefined, leftover?: Uint8Array): void => {
    if (!s.server.session) {
      // The scenario ends before the session: whatever comes is read and dropped until the client leaves.
      sock.on('data', () => undefined);
      return;
    }
    const server = new SessionServer({
      selectedProtocol: selected,
      ...(requested !== undefined ? { requestedProtocols: requested } : {}),
      script: s.server.session,
      ...(selected === 0 ? { serverRandom: new Uint8Array(randomBytes(32)), rsaKey: k.rsa } : {}),
      users,
    });
    conn.session = server.observed;
    const act = (actions: SessionServerAction[]): void => {
      for (const a of actions) {
        if (a.type === 'send') sock.write(a.bytes);
        else if (a.type === 'repeat') {
          // A flood: as many copies a tick as the rate allows, until the client leaves.
          const per = a.bytes.length;
          paced(sock, (n) => {
            const k = Math.max(1, Math.floor(n / per));
            const batch = new Uint8Array(k * per);
            for (let i = 0; i < k; i++) batch.set(a.bytes, i * per);
            return batch;
          }, { bytesPerSecond: a.bytesPerSecond, tickMs: 10 });
        } else {
          conn.endedBy ??= 'close';
          sock.end();
        }
      }
    };
    sock.on('data', (d: Buffer) => act(server.receive(u8(d))));
    if (leftover && leftover.length > 0) act(server.receive(leftover));
  };

  const servers: net.Server[] = [];
  const ports: Record<string, number> = {};
  const listen = async (port: number, fixed: LabScenario | undefined): Promise<number> => {
    const server = net.createServer((raw) => accept(raw, fixed));
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as net.AddressInfo).port;
  };
  try {
    if (options.port !== undefined) {
      const p = await listen(options.port, chosen.length === 1 ? chosen[0] : undefined);
      for (const s of chosen) ports[s.name] = p;
    } else {
      for (const s of chosen) ports[s.name] = await listen(0, s);
    }
  } catch (e) {
    await Promise.all(servers.map((sv) => new Promise<void>((r) => sv.close(() => r()))));
    throw e;
  }
  const totalMs = performance.now() - t0;
  return {
    host,
    ports,
    fingerprint: (name) => {
      const s = findScenario(name);
      const c = s ? certOf(s) : k.certs.certs.good;
      return `sha256:${createHash('sha256').update(c.certDer).digest('hex')}`;
    },
    connections,
    startup: { keysMs: Math.round(keysMs), totalMs: Math.round(totalMs) },
    settled,
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((sv) => new Promise<void>((r) => sv.close(() => r()))));
    },
  };
}

/** Reads the X.224 Connection Request, then hands on its cookie and requestedProtocols. */
function readConnectionRequest(raw: net.Socket, conn: LabConnection, then: (cr: { cookie?: string; requested?: number }) => void): void {
  readCr(raw, conn.errors, (pdu) => {
    if (pdu.cookie !== undefined) conn.cookie = pdu.cookie;
    if (pdu.neg) conn.requestedProtocols = pdu.neg.requestedProtocols;
    then({ ...(pdu.cookie !== undefined ? { cookie: pdu.cookie } : {}), ...(pdu.neg ? { requested: pdu.neg.requestedProtocols } : {}) });
    raw.resume();
  });
}

function u8(d: Buffer): Uint8Array {
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}
