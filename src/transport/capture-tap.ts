/**
 * Opt-in recording of a connection's bytes as the socket layer sees them (for `check --record`): what the kernel
 * handed us and what we handed it, with wall-clock times, plus the connection's opening and closing. It neither
 * reads nor consumes anything itself: received chunks are seen as the socket pushes them into its readable
 * buffer and writes as the stream hands them to the socket, so adding a tap changes no flow control.
 */
import type net from 'node:net';

/** Microseconds since the epoch, sub-millisecond where the clock allows. */
export const wallUs = (): number => (performance.timeOrigin + performance.now()) * 1000;

/** What a recorder keeps of one TCP connection attempt. */
export interface ConnectionLog {
  /** The handshake completed (SYN, SYN-ACK, ACK) with this local endpoint. */
  connected(localAddress: string, localPort: number, tUs: number): void;
  sent(bytes: Uint8Array, tUs: number): void;
  received(bytes: Uint8Array, tUs: number): void;
  /** The server closed its side (FIN) or reset the connection; 'refused' is a reset answering the SYN. */
  serverClosed(how: 'fin' | 'rst' | 'refused', tUs: number): void;
  /** Our side closed (the socket was ended or destroyed). */
  clientClosed(tUs: number): void;
}

/** A recorder of a whole probe: one log per connection, and the TLS key log lines of every TLS socket. */
export interface ProbeCapture {
  /** `label` says why the probe opened it (main, legacy-tls retry, enumeration …). Called as the SYN goes out. */
  connection(label: string, address: string, port: number, tUs: number): ConnectionLog;
  /** One SSLKEYLOGFILE line (with its newline), from a TLS socket's 'keylog' event. */
  keylog(line: Uint8Array): void;
}

type Writer = (this: net.Socket, ...args: never[]) => void;

/** Wires a socket just created by net.connect to a log. */
export function tapSocket(socket: net.Socket, log: ConnectionLog): void {
  let serverDone = false;
  let clientDone = false;
  socket.once('connect', () => log.connected(socket.localAddress ?? '', socket.localPort ?? 0, wallUs()));
  const push = socket.push.bind(socket);
  socket.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (chunk === null) {
      if (!serverDone) log.serverClosed('fin', wallUs());
      serverDone = true;
    } else if (chunk instanceof Uint8Array && chunk.length > 0) log.received(new Uint8Array(chunk), wallUs());
    return push(chunk, encoding);
  };
  const write = socket._write as unknown as Writer;
  socket._write = function (chunk: Buffer, encoding: BufferEncoding, cb: (e?: Error | null) => void): void {
    log.sent(new Uint8Array(chunk), wallUs());
    (write as unknown as (c: Buffer, e: BufferEncoding, cb: (e?: Error | null) => void) => void).call(this, chunk, encoding, cb);
  };
  const writev = socket._writev;
  if (writev) {
    socket._writev = function (chunks: { chunk: Buffer; encoding: BufferEncoding }[], cb: (e?: Error | null) => void): void {
      const t = wallUs();
      for (const c of chunks) log.sent(new Uint8Array(c.chunk), t);
      writev.call(this, chunks, cb);
    };
  }
  // A listener only observes: every caller of connectTcp has its own 'error' handling.
  socket.on('error', (e: Error & { code?: string }) => {
    if (serverDone) return;
    if (e.code === 'ECONNREFUSED') log.serverClosed('refused', wallUs());
    else if (e.code === 'ECONNRESET' || e.code === 'EPIPE') log.serverClosed('rst', wallUs());
    else return;
    serverDone = true;
  });
  socket.once('close', () => {
    if (clientDone) return;
    clientDone = true;
    log.clientClosed(wallUs());
  });
}

/** The hook connectTcp takes, or undefined when nothing records. */
export function captureHook(capture: ProbeCapture | undefined, label: string, address: string, port: number): ((s: net.Socket) => void) | undefined {
  if (!capture) return undefined;
  return (s) => tapSocket(s, capture.connection(label, address, port, wallUs()));
}
