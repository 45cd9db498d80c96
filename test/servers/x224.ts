/**
 * A minimal, self-contained X.224 Connection Request / Confirm exchange over node:net, used to check that a
 * launched server really is what its scenario claims (independent of the project's own protocol code).
 */
import { connect, type Socket } from 'node:net';

export const PROTOCOL_RDP = 0x0;
export const PROTOCOL_SSL = 0x1;
export const PROTOCOL_HYBRID = 0x2;

export type X224Answer =
  | { kind: 'rsp'; selected: number; flags: number }
  | { kind: 'failure'; code: number }
  | { kind: 'noneg' }
  | { kind: 'closed'; bytes: string }
  | { kind: 'timeout'; bytes: string }
  | { kind: 'error'; code: string };

/** TPKT + X.224 CR (no cookie) + RDP_NEG_REQ asking for `requestedProtocols`. */
export function connectionRequest(requestedProtocols: number): Buffer {
  const b = Buffer.from([
    0x03, 0x00, 0x00, 0x13, // TPKT v3, length 19
    0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, // X.224 CR, LI 14, dst/src ref 0, class 0
    0x01, 0x00, 0x08, 0x00, 0, 0, 0, 0, // RDP_NEG_REQ type 1, flags 0, length 8, requestedProtocols
  ]);
  b.writeUInt32LE(requestedProtocols >>> 0, 15);
  return b;
}

/** Parses a TPKT-framed X.224 Connection Confirm; null while incomplete. */
export function parseConnectionConfirm(buf: Buffer): X224Answer | null {
  if (buf.length < 4) return null;
  if (buf[0] !== 0x03) return { kind: 'closed', bytes: buf.toString('hex') };
  const len = buf.readUInt16BE(2);
  if (buf.length < len) return null;
  if (len < 11 || (buf[5]! & 0xf0) !== 0xd0) return { kind: 'closed', bytes: buf.subarray(0, len).toString('hex') };
  if (len < 19) return { kind: 'noneg' };
  const type = buf[11]!;
  const value = buf.readUInt32LE(15);
  if (type === 0x02) return { kind: 'rsp', selected: value, flags: buf[12]! };
  if (type === 0x03) return { kind: 'failure', code: value };
  return { kind: 'closed', bytes: buf.subarray(0, len).toString('hex') };
}

/**
 * Sends one CR and waits (bounded by `timeoutMs`) for the CC. With `keepSocket`, the connected socket is
 * returned for a follow-up (e.g. TLS); otherwise it is destroyed.
 */
export function x224Exchange(
  host: string,
  port: number,
  requestedProtocols: number,
  timeoutMs = 3_000,
): Promise<{ answer: X224Answer; socket: Socket | null }> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    let buf = Buffer.alloc(0);
    let settled = false;
    const finish = (answer: X224Answer, keep: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(t);
      s.removeAllListeners('data');
      s.removeAllListeners('close');
      s.removeAllListeners('error');
      s.on('error', () => undefined);
      if (!keep) s.destroy();
      resolve({ answer, socket: keep ? s : null });
    };
    const t = setTimeout(() => finish({ kind: 'timeout', bytes: buf.toString('hex') }, false), timeoutMs);
    s.once('connect', () => s.write(connectionRequest(requestedProtocols)));
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const a = parseConnectionConfirm(buf);
      if (a) finish(a, true);
    });
    s.once('close', () => finish({ kind: 'closed', bytes: buf.toString('hex') }, false));
    s.once('error', (e: NodeJS.ErrnoException) => finish({ kind: 'error', code: e.code ?? e.message }, false));
  });
}

/** One X.224 exchange, socket closed afterwards. */
export async function x224Probe(
  host: string,
  port: number,
  requestedProtocols: number,
  timeoutMs = 3_000,
): Promise<X224Answer> {
  const { answer, socket } = await x224Exchange(host, port, requestedProtocols, timeoutMs);
  socket?.destroy();
  return answer;
}

/** Compact form used in tests: 'RDP' | 'SSL' | 'HYBRID' | 'F<code>' | 'noneg' | 'closed' | 'timeout' | errno. */
export function describeAnswer(a: X224Answer): string {
  switch (a.kind) {
    case 'rsp':
      return ({ 0: 'RDP', 1: 'SSL', 2: 'HYBRID', 8: 'HYBRID_EX' } as Record<number, string>)[a.selected] ?? `sel${a.selected}`;
    case 'failure':
      return `F${a.code}`;
    case 'error':
      return a.code;
    default:
      return a.kind;
  }
}
