import type net from 'node:net';
import type { X224Action, X224Connector, X224Outcome } from '../connector/x224-connector.js';

/**
 * Drives the pure X.224 connector over a socket until it is done: sends what it asks, feeds it what arrives,
 * and turns close, reset and the stage deadline into connector events. Resolves with the outcome; never rejects
 * for anything the peer does.
 */
export function runX224(socket: net.Socket, connector: X224Connector, timeoutMs: number, signal: AbortSignal): Promise<X224Outcome> {
  return new Promise((resolve) => {
    let settled = false;
    const timer = setTimeout(() => handle(connector.timedOut(timeoutMs)), timeoutMs);
    const onAbort = (): void => handle(connector.timedOut(timeoutMs));
    signal.addEventListener('abort', onAbort, { once: true });

    function cleanup(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
    }
    function handle(actions: X224Action[]): void {
      for (const a of actions) {
        if (settled) return;
        if (a.type === 'send') socket.write(a.bytes);
        else if (a.type === 'done') {
          settled = true;
          cleanup();
          socket.pause();
          resolve(a.outcome);
        }
      }
    }
    function onData(chunk: Buffer): void {
      handle(connector.receive(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    }
    function onEnd(): void {
      handle(connector.closed('eof'));
    }
    function onError(): void {
      // ECONNRESET, EPIPE and the rest: the connection is gone without an orderly close.
      handle(connector.closed('reset'));
    }
    function onClose(): void {
      handle(connector.closed('eof'));
    }
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
    handle(connector.start());
    socket.resume();
  });
}
