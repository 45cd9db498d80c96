/**
 * Ground truth for the verdict comparison, gathered with code that is neither rdp-probe's nor a peer tool's:
 * the launcher's minimal X.224 exchange (test/servers/x224.ts) for every requestedProtocols value the tools
 * use, one Connection Request without RDP_NEG_REQ (what nmap's cipher pass sends), and two plain node:tls
 * handshakes over the X.224 upgrade (modern client defaults; TLS 1.0+ at OpenSSL security level 0).
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { describeAnswer, parseConnectionConfirm, x224Exchange, type X224Answer } from '../../test/servers/x224.js';
import { logSize, serverErrorsSince } from './serverlog.js';
import { tcpConnects } from '../../test/servers/proc.js';

/** requestedProtocols values asked: RDP, SSL, HYBRID, SSL|HYBRID (nmap "CredSSP"), RDSTLS, HYBRID_EX, SSL|HYBRID|HYBRID_EX (rdp-probe, xfreerdp). */
export const TRUTH_REQUESTS = [0x0, 0x1, 0x2, 0x3, 0x4, 0x8, 0xb] as const;

export const NEG_FAILURE_NAMES: Record<number, string> = {
  1: 'SSL_REQUIRED_BY_SERVER',
  2: 'SSL_NOT_ALLOWED_BY_SERVER',
  3: 'SSL_CERT_NOT_ON_SERVER',
  4: 'INCONSISTENT_FLAGS',
  5: 'HYBRID_REQUIRED_BY_SERVER',
  6: 'SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER',
};

export type TlsCheck =
  | { ok: true; version: string; cipher: string }
  | { ok: false; error: string; code?: string; plaintextReply: boolean; timedOut: boolean };

export interface Truth {
  /** 'connected' or how the TCP connect failed ('ECONNREFUSED', 'timeout', …). */
  tcp: string;
  /** Compact X.224 answer per requestedProtocols (hex key): RDP | SSL | HYBRID | HYBRID_EX | RDSTLS | F<code> | noneg | closed | timeout | errno. */
  x224: Record<string, string>;
  /** Answer to a Connection Request that carries no RDP_NEG_REQ at all. */
  x224NoNegReq?: string;
  /** What the server logged (ERROR lines) while answering that request. */
  noNegReqServerLog?: string[];
  /** requestedProtocols used for the TLS checks (the first of 0x1, 0xb that selected SSL or HYBRID). */
  tlsRequest?: number;
  tlsModern?: TlsCheck;
  tlsLegacy?: TlsCheck;
}

export const hex = (n: number): string => `0x${n.toString(16)}`;

function answerName(a: X224Answer): string {
  const d = describeAnswer(a);
  if (a.kind === 'rsp' && a.selected === 4) return 'RDSTLS';
  return d;
}

/** One CR without RDP_NEG_REQ (TPKT + X.224 CR, LI 6), bounded by timeoutMs. */
function crWithoutNegReq(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const s: Socket = connect({ host, port });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (r: string): void => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.removeAllListeners();
      s.on('error', () => undefined);
      s.destroy();
      resolve(r);
    };
    const t = setTimeout(() => finish('timeout'), timeoutMs);
    s.once('connect', () => s.write(Buffer.from([0x03, 0x00, 0x00, 0x0b, 0x06, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00])));
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const a = parseConnectionConfirm(buf);
      if (a) finish(answerName(a));
    });
    s.once('close', () => finish('closed'));
    s.once('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
  });
}

/** X.224 with `req`, then a TLS handshake on the same socket. */
async function tlsCheck(host: string, port: number, req: number, legacy: boolean, timeoutMs: number): Promise<TlsCheck> {
  const { answer, socket } = await x224Exchange(host, port, req, timeoutMs);
  if (!socket || answer.kind !== 'rsp' || (answer.selected & 0x3) === 0) {
    socket?.destroy();
    return { ok: false, error: `X.224 answer ${answerName(answer)}`, plaintextReply: false, timedOut: false };
  }
  return new Promise((resolve) => {
    let done = false;
    const tls = tlsConnect({
      socket,
      rejectUnauthorized: false,
      ...(legacy ? { minVersion: 'TLSv1' as const, ciphers: 'DEFAULT:@SECLEVEL=0' } : {}),
    });
    const finish = (r: TlsCheck): void => {
      if (done) return;
      done = true;
      clearTimeout(t);
      tls.removeAllListeners();
      tls.on('error', () => undefined);
      tls.destroy();
      socket.destroy();
      resolve(r);
    };
    const t = setTimeout(() => finish({ ok: false, error: 'handshake timeout', plaintextReply: false, timedOut: true }), timeoutMs);
    tls.once('secureConnect', () => {
      const c = tls.getCipher();
      finish({ ok: true, version: tls.getProtocol() ?? '?', cipher: c.standardName ?? c.name });
    });
    tls.once('error', (e: NodeJS.ErrnoException) => {
      const alert = /alert ([a-z ]+?)(?::|$).*?alert number (\d+)/.exec(e.message);
      const msg = alert ? `alert ${alert[1]} (${alert[2]})` : e.message.replace(/^.*?error:[0-9A-F]+:SSL routines:[^:]*:/, '').replace(/:\.\.\/deps\/.*$/, '').trim();
      finish({
        ok: false,
        error: msg,
        ...(e.code ? { code: e.code } : {}),
        plaintextReply: /wrong version number|WRONG_VERSION_NUMBER/i.test(`${e.message} ${e.code ?? ''}`),
        timedOut: false,
      });
    });
    tls.once('close', () => finish({ ok: false, error: 'closed during handshake', plaintextReply: false, timedOut: false }));
  });
}

/**
 * Everything above for one target. For targets whose TCP connect fails only one exchange is made.
 * Sequential, ~10 short connections; bounded by timeoutMs per exchange.
 */
export async function gatherTruth(host: string, port: number, logFile?: string, timeoutMs = 3_000): Promise<Truth> {
  const first = await x224Exchange(host, port, TRUTH_REQUESTS[0], timeoutMs);
  first.socket?.destroy();
  const firstName = answerName(first.answer);
  if (first.answer.kind === 'error' || (first.answer.kind === 'timeout' && first.answer.bytes === '' && !(await tcpConnects(host, port, timeoutMs)))) {
    return { tcp: first.answer.kind === 'timeout' ? 'timeout' : firstName, x224: {} };
  }
  const x224: Record<string, string> = { [hex(TRUTH_REQUESTS[0])]: firstName };
  for (const req of TRUTH_REQUESTS.slice(1)) {
    const { answer, socket } = await x224Exchange(host, port, req, timeoutMs);
    socket?.destroy();
    x224[hex(req)] = answerName(answer);
  }
  // the server logs the end of earlier connections asynchronously: let that settle first, so the window
  // below holds only what the request without RDP_NEG_REQ caused
  await settle();
  const before = logSize(logFile);
  const truth: Truth = { tcp: 'connected', x224, x224NoNegReq: await crWithoutNegReq(host, port, timeoutMs) };
  await settle();
  const noNegLog = serverErrorsSince(logFile, before);
  if (noNegLog.length) truth.noNegReqServerLog = noNegLog;
  const tlsReq = [0x1, 0xb].find((r) => ['SSL', 'HYBRID', 'HYBRID_EX'].includes(x224[hex(r)] ?? ''));
  if (tlsReq !== undefined) {
    truth.tlsRequest = tlsReq;
    truth.tlsModern = await tlsCheck(host, port, tlsReq, false, timeoutMs);
    truth.tlsLegacy = await tlsCheck(host, port, tlsReq, true, timeoutMs);
  }
  return truth;
}

/** Time for a server to finish logging a closed connection. */
export const settle = (ms = 300): Promise<void> => new Promise((r) => setTimeout(r, ms));


// ---------------------------------------------------------------------------------------------------------------
// Derived facts

export const isFailure = (a: string | undefined): boolean => a !== undefined && /^F\d+$/.test(a);
export const failureName = (a: string | undefined): string | undefined => (a && /^F(\d+)$/.test(a) ? (NEG_FAILURE_NAMES[Number(a.slice(1))] ?? a) : undefined);

/** The server selected HYBRID or HYBRID_EX for some request that offered it. */
export function nlaSupported(t: Truth): boolean {
  return Object.entries(t.x224).some(([req, a]) => (Number(req) & 0xa) !== 0 && (a === 'HYBRID' || a === 'HYBRID_EX'));
}

/** NLA supported and neither an RDP-only nor an SSL-only request is accepted. */
export function nlaRequired(t: Truth): boolean {
  return nlaSupported(t) && isFailure(t.x224['0x0']) && isFailure(t.x224['0x1']);
}

/** "0x0 RDP · 0x1 F1 · …" for the table. */
export function truthX224Line(t: Truth): string {
  if (t.tcp !== 'connected') return `TCP: ${t.tcp === 'timeout' ? 'SYN unanswered (timeout)' : t.tcp}`;
  const parts = TRUTH_REQUESTS.map((r) => `${r.toString(16)}:${t.x224[hex(r)] ?? '?'}`);
  return `${parts.join(' ')} · noNeg:${t.x224NoNegReq ?? '?'}`;
}

export function tlsCheckLine(c: TlsCheck | undefined): string {
  if (!c) return '–';
  if (c.ok) return `${c.version}`;
  if (c.plaintextReply) return 'plaintext reply';
  return c.timedOut ? 'timeout' : c.error;
}
