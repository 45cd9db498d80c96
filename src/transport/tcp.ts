import net from 'node:net';

export class ConnectTimeout extends Error {
  override readonly name = 'ConnectTimeout';
  readonly code = 'CONNECT_TIMEOUT';
}

/** Opens a TCP connection; rejects with the socket error, a ConnectTimeout, or the signal's reason. */
export function connectTcp(address: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const socket = net.connect({ host: address, port, noDelay: true });
    const timer = setTimeout(() => fail(new ConnectTimeout(`no answer to the TCP handshake within ${timeoutMs} ms`)), timeoutMs);
    const onAbort = (): void => fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    function cleanup(): void {
      clearTimeout(timer);
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
