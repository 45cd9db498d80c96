import type { Duplex } from 'node:stream';
import type { X224Connector, X224Outcome } from '../connector/x224-connector.js';

/** What every pure connector offers a driver. */
export interface DrivenConnector<A extends { type: string }> {
  start(): A[];
  receive(chunk: Uint8Array): A[];
  closed(how: 'eof' | 'reset', alert?: string, errorCode?: string): A[];
  timedOut(ms: number): A[];
}

export interface DriveOptions<A> {
  timeoutMs: number;
  signal: AbortSignal;
  /** Restart the deadline whenever we send (each request gets its own). */
  deadlinePerSend?: boolean;
  /** Actions other than send/done. */
  onAction?: (a: A) => void;
  /** Names a TLS alert from a socket error code, when the socket is TLS. */
  alertOf?: (code: string | undefined) => string | undefined;
  /** Sees every event at the connector boundary, in order. */
  tap?: (e: { dir: 'client' | 'server'; bytes?: Uint8Array; event?: 'eof' | 'reset' | 'timeout' | `alert:${string}` }) => void;
}

/**
 * Drives a pure connector over a stream until it is done: sends what it asks, feeds it what arrives, and turns
 * close, reset, TLS alerts and the deadline into connector events. Resolves with the 'done' action; never
 * rejects for anything the peer does.
 */
export function driveConnector<A extends { type: string }>(socket: Duplex, connector: DrivenConnector<A>, o: DriveOptions<A>): Promise<A> {
  return new Promise((resolve) => {
    let settled = false;
    let timer = setTimeout(onTimeout, o.timeoutMs);
    function onTimeout(): void {
      if (!settled) o.tap?.({ dir: 'server', event: 'timeout' });
      handle(connector.timedOut(o.timeoutMs));
    }
    const onAbort = (): void => onTimeout();
    o.signal.addEventListener('abort', onAbort, { once: true });

    function cleanup(): void {
      clearTimeout(timer);
      o.signal.removeEventListener('abort', onAbort);
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('error', onError);
      socket.removeListener('close', onEnd);
    }
    function handle(actions: A[]): void {
      for (const a of actions) {
        if (settled) return;
        if (a.type === 'send') {
          const bytes = (a as unknown as { bytes: Uint8Array }).bytes;
          o.tap?.({ dir: 'client', bytes });
          socket.write(bytes);
          if (o.deadlinePerSend) {
            clearTimeout(timer);
            timer = setTimeout(onTimeout, o.timeoutMs);
          }
        } else if (a.type === 'done') {
          settled = true;
          cleanup();
          socket.pause();
          resolve(a);
        } else o.onAction?.(a);
      }
    }
    function onData(chunk: Buffer): void {
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      o.tap?.({ dir: 'server', bytes });
      handle(connector.receive(bytes));
    }
    function onEnd(): void {
      if (!settled) o.tap?.({ dir: 'server', event: 'eof' });
      handle(connector.closed('eof'));
    }
    function onError(err: Error & { code?: string }): void {
      // ECONNRESET, EPIPE and the rest: the connection is gone without an orderly close.
      const alert = o.alertOf?.(err.code);
      if (!settled) o.tap?.({ dir: 'server', event: alert ? `alert:${alert}` : 'reset' });
      handle(connector.closed('reset', alert, err.code));
    }
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onEnd);
    handle(connector.start());
    socket.resume();
  });
}

/** The X.224 exchange: resolves with the connector's outcome. */
export async function runX224(socket: Duplex, connector: X224Connector, timeoutMs: number, signal: AbortSignal): Promise<X224Outcome> {
  const done = await driveConnector(socket, connector, { timeoutMs, signal });
  return (done as Extract<typeof done, { type: 'done' }>).outcome;
}
