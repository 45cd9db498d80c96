/**
 * The lab's hostile servers: the socket side of the scenarios whose server misbehaves on purpose (src/lab/
 * scenarios.ts, `server.hostile`): an answer one byte a second, a TPKT header that lies about its length, data
 * without end, a TLS server that stops after its ServerHello, a certificate of a megabyte, TSRequests a decoder
 * must refuse (nesting far past any real one, a DER length of 0x7fffffff, an NTLM CHALLENGE whose buffers point
 * outside it). Each is there to show the probe ends in a named verdict within its deadline with memory bounded.
 *
 * What it writes without end is paced and obeys backpressure, and stops when the client leaves or after
 * MAX_STREAM_MS, so the lab itself stays bounded in memory and time.
 */
import { Duplex } from 'node:stream';
import type net from 'node:net';
import tls from 'node:tls';
import { encodeTsRequest } from '../protocol/credssp/ts-request.js';
import { MAX_DER_FRAME_LENGTH } from '../protocol/credssp/der.js';
import { encodeNtlmChallenge } from '../protocol/ntlm/challenge.js';
import { AvId, NegotiateFlags } from '../protocol/ntlm/constants.js';
import { generateCert, LOCAL_SANS, type GeneratedCert } from './certs.js';
import type { HostilePlan } from './scenarios.js';

/** A stream the lab writes without end stops after this long even if the client stays. */
export const MAX_STREAM_MS = 30_000;

/**
 * Writes `next(n)` every `tickMs` (n = the bytes a tick may carry at `bytesPerSecond`), the first at once, until
 * `next` returns undefined, the stream closes, or `maxMs` passes; a write the peer does not read waits for 'drain'.
 */
export function paced(sock: Duplex, next: (n: number) => Uint8Array | undefined, o: { bytesPerSecond: number; tickMs?: number; maxMs?: number }): void {
  const tickMs = o.tickMs ?? 50;
  const perTick = Math.max(1, Math.round((o.bytesPerSecond * tickMs) / 1000));
  const until = performance.now() + (o.maxMs ?? MAX_STREAM_MS);
  let waiting = false;
  let timer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };
  const tick = (): void => {
    if (waiting) return;
    if (sock.destroyed || sock.writableEnded || performance.now() > until) return stop();
    const bytes = next(perTick);
    if (bytes === undefined) return stop();
    if (!sock.write(bytes)) {
      waiting = true;
      sock.once('drain', () => (waiting = false));
    }
  };
  sock.once('close', stop);
  sock.once('error', stop);
  timer = setInterval(tick, tickMs);
  tick();
}

/** `bytes`, a piece at a time (the dribble). */
function pieces(bytes: Uint8Array): (n: number) => Uint8Array | undefined {
  let at = 0;
  return (n) => {
    if (at >= bytes.length) return undefined;
    const out = bytes.subarray(at, at + n);
    at += n;
    return out;
  };
}

/** `fill` without end, in pieces of the size asked. */
function endless(fill: number): (n: number) => Uint8Array {
  let block = new Uint8Array(0);
  return (n) => {
    if (block.length !== n) block = new Uint8Array(n).fill(fill);
    return block;
  };
}

/** Reads what comes and drops it, so the client's writes never block. */
function drain(sock: Duplex): void {
  sock.on('data', () => undefined);
  sock.resume();
}

/**
 * X.224: `cc` is the Connection Confirm a well-behaved lab would send (selecting TLS); the plan decides what
 * goes on the wire instead. The lab never goes past X.224 on these connections.
 */
export function hostileX224(raw: net.Socket, plan: Extract<HostilePlan, { at: 'x224' }>, cc: Uint8Array): void {
  drain(raw);
  switch (plan.kind) {
    case 'dribble':
      paced(raw, pieces(cc), { bytesPerSecond: plan.bytesPerSecond, tickMs: Math.max(50, Math.round(1000 / plan.bytesPerSecond)) });
      return;
    case 'tpkt-length': {
      // The header lies about the frame's length; the body is the real Connection Confirm's, then nothing.
      const lie = cc.slice();
      lie[2] = (plan.length >> 8) & 0xff;
      lie[3] = plan.length & 0xff;
      raw.write(lie);
      return;
    }
    case 'endless':
      paced(raw, endless(plan.fill), { bytesPerSecond: plan.bytesPerSecond });
      return;
  }
}

/**
 * A Duplex over the raw socket that passes the TLS server's first record (the ServerHello) and swallows every
 * byte after it: a handshake that never finishes, made by a real TLS server.
 */
class FirstRecordOnly extends Duplex {
  private header = new Uint8Array(0);
  private left: number | undefined;
  private shut = false;

  constructor(private readonly raw: net.Socket) {
    super();
    raw.on('data', (d: Buffer) => {
      if (!this.push(d)) raw.pause();
    });
    raw.on('end', () => this.push(null));
    raw.on('close', () => this.destroy());
    raw.on('error', () => this.destroy());
  }
  override _read(): void {
    this.raw.resume();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    let c = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (!this.shut && c.length > 0) {
      if (this.left === undefined) {
        // Collect the 5-byte record header, then pass the record it announces.
        const need = 5 - this.header.length;
        const h = new Uint8Array(this.header.length + Math.min(need, c.length));
        h.set(this.header);
        h.set(c.subarray(0, Math.min(need, c.length)), this.header.length);
        this.header = h;
        c = c.subarray(Math.min(need, c.length));
        if (this.header.length < 5) break;
        this.raw.write(this.header);
        this.left = (this.header[3]! << 8) | this.header[4]!;
      }
      const take = c.subarray(0, this.left);
      if (take.length > 0) this.raw.write(take);
      this.left -= take.length;
      c = c.subarray(take.length);
      if (this.left === 0) this.shut = true;
    }
    cb();
  }
  override _final(cb: (err?: Error | null) => void): void {
    cb();
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.raw.destroy();
    cb(err);
  }
}

/** TLS that sends its ServerHello and then nothing; the ClientHello's followers are read and dropped. */
export function serverHelloOnly(raw: net.Socket, cert: GeneratedCert, onError: (e: Error & { code?: string }) => void): tls.TLSSocket {
  const t = new tls.TLSSocket(new FirstRecordOnly(raw), { isServer: true, cert: cert.certPem, key: cert.keyPem });
  t.on('error', onError);
  return t;
}

let huge: { bytes: number; cert: GeneratedCert } | undefined;

/** The huge certificate this process made, if a lab served cert-1mb (for tests). */
export function madeHugeCert(): GeneratedCert | undefined {
  return huge?.cert;
}

/**
 * A leaf certificate of about `bytes` from the lab CA with the good leaf's key: localhost and the loopback
 * addresses, then enough made-up DNS subjectAltNames to reach the size. Made once per process (about half a
 * second of node-forge encoding for a megabyte), only when a scenario needs it.
 */
export function hugeCert(bytes: number, issuer: GeneratedCert, leaf: GeneratedCert): GeneratedCert {
  if (huge?.bytes === bytes) return huge.cert;
  // Each name "hNNNNNN.hostile-lab.invalid" is 26 bytes plus a 2-byte header.
  const count = Math.ceil(bytes / 28);
  const dns = ['localhost', ...Array.from({ length: count }, (_, i) => `h${String(i).padStart(6, '0')}.hostile-lab.invalid`)];
  const cert = generateCert({ commonName: 'localhost', sans: { dns, ip: LOCAL_SANS.ip }, keyPem: leaf.keyPem, issuer: { certPem: issuer.certPem, keyPem: issuer.keyPem } });
  huge = { bytes, cert };
  return cert;
}

/**
 * The answer to the client's first TSRequest (the NTLM NEGOTIATE) on an NLA connection: bytes a CredSSP client
 * must refuse. After it the lab reads and drops what comes (der-huge-length keeps sending).
 */
export function hostileCredssp(t: Duplex, plan: Extract<HostilePlan, { at: 'credssp' }>): void {
  t.once('data', () => {
    switch (plan.kind) {
      case 'der-deep':
        t.write(deepSequence(MAX_DER_FRAME_LENGTH));
        break;
      case 'der-huge-length':
        // A SEQUENCE that claims 0x7fffffff bytes of content, and then content without end.
        t.write(Uint8Array.of(0x30, 0x84, 0x7f, 0xff, 0xff, 0xff));
        paced(t, endless(0x00), { bytesPerSecond: plan.bytesPerSecond });
        break;
      case 'ntlm-bad-offsets':
        t.write(encodeTsRequest({ version: 6, negoTokens: [badOffsetsChallenge()] }));
        break;
    }
    drain(t);
  });
}

/**
 * DER SEQUENCEs nested as deep as fit in `limit` bytes (about 16,000 levels in 64 KiB): every length right, so a
 * framing check passes it and only a depth limit in the decoder stops the walk. Built from the inside out.
 */
export function deepSequence(limit: number): Uint8Array {
  const headers: number[] = [];
  let size = 2; // the innermost empty SEQUENCE, 30 00
  for (;;) {
    const h = size < 0x80 ? 2 : size < 0x100 ? 3 : size < 0x10000 ? 4 : 5;
    if (size + h > limit || size >= 0x1000000) break;
    headers.push(size);
    size += h;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (let i = headers.length - 1; i >= 0; i--) {
    const len = headers[i]!;
    out[at++] = 0x30;
    if (len < 0x80) out[at++] = len;
    else if (len < 0x100) {
      out[at++] = 0x81;
      out[at++] = len;
    } else if (len < 0x10000) {
      out[at++] = 0x82;
      out[at++] = len >> 8;
      out[at++] = len & 0xff;
    } else {
      out[at++] = 0x83;
      out[at++] = len >> 16;
      out[at++] = (len >> 8) & 0xff;
      out[at++] = len & 0xff;
    }
  }
  out[at++] = 0x30;
  out[at++] = 0x00;
  return out;
}

/** How many SEQUENCE levels deepSequence(limit) holds. */
export function deepSequenceLevels(bytes: Uint8Array): number {
  let levels = 0;
  for (let at = 0; at < bytes.length && bytes[at] === 0x30; levels++) {
    const l = bytes[at + 1]!;
    at += l < 0x80 ? 2 : 2 + (l & 0x7f);
  }
  return levels;
}

/**
 * An NTLM CHALLENGE whose TargetName buffer points far outside the message (offset 0x7ffffff0) and whose
 * TargetInfo holds an AV_PAIR claiming 0xffff bytes, past the message's end.
 */
export function badOffsetsChallenge(): Uint8Array {
  const F = NegotiateFlags;
  const good = encodeNtlmChallenge({
    negotiateFlags: F.NTLMSSP_NEGOTIATE_UNICODE | F.NTLMSSP_REQUEST_TARGET | F.NTLMSSP_NEGOTIATE_NTLM | F.NTLMSSP_NEGOTIATE_TARGET_INFO | F.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
    targetName: 'LAB',
    serverChallenge: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
    targetInfo: [{ id: AvId.MsvAvNbComputerName, value: new Uint8Array([0x52, 0, 0x44, 0, 0x53, 0]) }],
  });
  const bad = good.slice();
  const v = new DataView(bad.buffer);
  v.setUint32(16, 0x7ffffff0, true); // TargetNameBufferOffset
  const info = v.getUint32(44, true); // TargetInfoBufferOffset: the first AV_PAIR's AvLen follows its AvId
  v.setUint16(info + 2, 0xffff, true);
  return bad;
}
