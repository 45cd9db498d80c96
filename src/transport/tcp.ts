import net from 'node:net';
import { after } from './deadlines.js';

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
    const onAbort = (): void => fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    function cleanup(): void {
      timer.cancel();
      signal.removeEventListener('abort', onAbort);
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
    socket.once('error', fail);
    socket.once('connect', ok);
  });
}
