import net from 'node:net';
import { after, onAbort as whenAborted } from './deadlines.js';

export class ConnectTimeout extends Error {
  override readonly name = 'ConnectTimeout';
  readonly code = 'CONNECT_TIMEOUT';
}

/**
 * Opens a TCP connection; rejects with the socket error, a ConnectTimeout, or the signal's reason. `onSocket` sees
 * the socket as soon as it exists, before the SYN is answered (check --record taps it there).
 */
export function connectTcp(address: string, port: number, timeoutMs: number, signal: AbortSignal, onSocket?: (s: net.Socket) => void): Promise<net.Socket> {
  return new Promise((resolve, reject) => connectTcpThen(address, port, timeoutMs, signal, onSocket, (socket, err) => (socket ? resolve(socket) : reject(err))));
}

/**
 * connectTcp without a promise: `done` is called exactly once, with the connected socket, or with undefined and
 * the error connectTcp would reject with (at once, before returning, when the signal has already fired or the
 * socket cannot even be made). What a pending connect holds is the socket and these few closures: a scan has a
 * thousand of them in flight, and every scavenge copies what they hold.
 */
export function connectTcpThen(
  address: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
  onSocket: ((s: net.Socket) => void) | undefined,
  done: (socket: net.Socket | undefined, err?: unknown) => void,
): void {
  if (signal.aborted) return done(undefined, signal.reason);
  let socket: net.Socket;
  try {
    socket = net.connect({ host: address, port, noDelay: true });
  } catch (e) {
    // A port or address net.connect refuses outright (connectTcp's promise rejected with it).
    return done(undefined, e);
  }
  try {
    onSocket?.(socket);
  } catch (e) {
    socket.destroy();
    return done(undefined, e);
  }
  const timer = after(timeoutMs, () => fail(new ConnectTimeout(`no answer to the TCP handshake within ${timeoutMs} ms`)));
  // Often the scan's one stop signal, shared by every probe connecting: leaving it must be O(1).
  const stop = whenAborted(signal, () => fail(signal.reason));
  function cleanup(): void {
    timer.cancel();
    stop.cancel();
    socket.removeListener('error', fail);
    socket.removeListener('connect', ok);
  }
  function fail(err: unknown): void {
    cleanup();
    socket.destroy();
    done(undefined, err);
  }
  function ok(): void {
    cleanup();
    done(socket);
  }
  // on, not once: cleanup() removes both either way, and once() wraps each listener in a bound function.
  socket.on('error', fail);
  socket.on('connect', ok);
}
