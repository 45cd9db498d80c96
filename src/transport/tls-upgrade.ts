import { Duplex } from 'node:stream';
import type net from 'node:net';
import tls from 'node:tls';
import { after } from './deadlines.js';

/**
 * A Duplex over the raw socket that records the first bytes the server sends during the TLS handshake, so a
 * failed handshake still has evidence (an alert record, a plaintext TPKT, a ServerHello with an old version).
 */
class TappedSocket extends Duplex {
  readonly serverBytes: Buffer[] = [];
  private tapped = 0;
  ended = false;
  reset = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly tapLimit: number,
    initial?: Uint8Array,
  ) {
    super();
    // Bytes the server sent before the ClientHello (xrdp writes its plaintext refusal at once) are part of
    // the evidence and of the TLS stream alike.
    if (initial && initial.length > 0) this.record(Buffer.from(initial));
    socket.on('data', (d: Buffer) => {
      this.record(d);
      if (!this.push(d)) socket.pause();
    });
    socket.on('end', () => {
      this.ended = true;
      this.push(null);
    });
    socket.on('error', (e: Error & { code?: string }) => {
      if (e.code === 'ECONNRESET') this.reset = true;
      this.destroy(e);
    });
    socket.on('close', () => {
      if (!this.ended) this.push(null);
    });
  }
  private record(d: Buffer): void {
    if (this.tapped >= this.tapLimit) return;
    const take = d.subarray(0, this.tapLimit - this.tapped);
    this.serverBytes.push(Buffer.from(take));
    this.tapped += take.length;
  }
  override _read(): void {
    this.socket.resume();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.socket.write(chunk, cb);
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end();
    cb();
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }
  tap(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.serverBytes));
  }
}

export interface TlsOptions {
  servername?: string;
  legacy: boolean;
  ca?: string;
  timeoutMs: number;
  signal: AbortSignal;
  /** Bytes already read past the X.224 frame (should be none). */
  leftover?: Uint8Array;
  /** Every SSLKEYLOGFILE line of this handshake (check --record); no listener, no cost, without it. */
  onKeylog?: (line: Uint8Array) => void;
}

export type TlsHandshake =
  | {
      ok: true;
      socket: tls.TLSSocket;
      protocol: string;
      cipher: tls.CipherNameAndProtocol;
      certDer?: Uint8Array;
      chainDer: Uint8Array[];
      authorized: boolean;
      authorizationError?: string;
      serverBytes: Uint8Array;
      ms: number;
    }
  | { ok: false; error: Error & { code?: string }; timedOut: boolean; closed: 'eof' | 'reset' | 'none'; serverBytes: Uint8Array; ms: number };

/**
 * Runs a TLS client handshake on the socket left by X.224. The certificate is never rejected here: trust, name
 * and expiry are judged later as findings. Security level 0 lets weak keys and old signatures through so they
 * can be reported; protocol versions stay TLS 1.2+ unless `legacy` is set, so a version mismatch is visible.
 */
export function upgradeTls(socket: net.Socket, opts: TlsOptions): Promise<TlsHandshake> {
  const started = performance.now();
  const tap = new TappedSocket(socket, 16 * 1024, opts.leftover);
  if (opts.leftover && opts.leftover.length > 0) tap.unshift(Buffer.from(opts.leftover));
  return new Promise((resolve) => {
    let done = false;
    const t = tls.connect({
      socket: tap,
      rejectUnauthorized: false,
      // `authorized` is the chain against --ca only. The name is judged by src/probe/trust.ts with the same rule
      // as the cert-name-mismatch finding (Node would check "localhost" when no servername is set, e.g. for an IP).
      checkServerIdentity: () => undefined,
      ...(opts.servername ? { servername: opts.servername } : {}),
      ...(opts.ca ? { ca: opts.ca } : {}),
      minVersion: opts.legacy ? 'TLSv1' : 'TLSv1.2',
      ciphers: 'DEFAULT:@SECLEVEL=0',
    });
    const onKeylog = opts.onKeylog;
    if (onKeylog) t.on('keylog', (line: Buffer) => onKeylog(new Uint8Array(line)));
    const timer = after(opts.timeoutMs, () => fail(Object.assign(new Error(`no TLS handshake within ${opts.timeoutMs} ms`), { code: 'TLS_TIMEOUT' }), true));
    const onAbort = (): void => fail(Object.assign(new Error('probe deadline reached during the TLS handshake'), { code: 'TLS_TIMEOUT' }), true);
    opts.signal.addEventListener('abort', onAbort, { once: true });
    function cleanup(): void {
      timer.cancel();
      opts.signal.removeEventListener('abort', onAbort);
    }
    function fail(error: Error & { code?: string }, timedOut = false): void {
      if (done) return;
      done = true;
      cleanup();
      t.destroy();
      resolve({ ok: false, error, timedOut, closed: tap.reset ? 'reset' : tap.ended ? 'eof' : 'none', serverBytes: tap.tap(), ms: performance.now() - started });
    }
    t.once('error', (e) => fail(e));
    t.once('close', () => fail(Object.assign(new Error('connection closed during the TLS handshake'), { code: tap.reset ? 'ECONNRESET' : 'TLS_EOF' })));
    t.once('secureConnect', () => {
      if (done) return;
      done = true;
      cleanup();
      const peer = t.getPeerX509Certificate();
      const chain: Uint8Array[] = [];
      let c: tls.DetailedPeerCertificate | undefined = t.getPeerCertificate(true) as tls.DetailedPeerCertificate;
      const seen = new Set<string>();
      for (let i = 0; c && c.raw && i < 10; i++) {
        if (seen.has(c.fingerprint256)) break;
        seen.add(c.fingerprint256);
        chain.push(new Uint8Array(c.raw));
        c = c.issuerCertificate;
      }
      resolve({
        ok: true,
        socket: t,
        protocol: t.getProtocol() ?? 'unknown',
        cipher: t.getCipher(),
        ...(peer ? { certDer: new Uint8Array(peer.raw) } : {}),
        chainDer: chain,
        authorized: t.authorized,
        ...(t.authorizationError ? { authorizationError: String(t.authorizationError) } : {}),
        serverBytes: tap.tap(),
        ms: performance.now() - started,
      });
    });
  });
}
