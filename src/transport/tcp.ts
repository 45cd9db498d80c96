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
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const socket = net.connect({ host: address, port, noDelay: true });
    onSocket?.(socket);
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
      reject(err);
    }
    function ok(): void {
      cleanup();
      resolve(socket);
    }
    // on, not once: cleanup() removes both either way, and once() wraps each listener in a bound function.
    socket.on('error', fail);
    socket.on('connect', ok);
  });
}
