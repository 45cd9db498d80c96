import type tls from 'node:tls';
import type { CredsspAction, CredsspConnector, StageOutcome } from '../connector/credssp-connector.js';

export interface TranscriptEntry {
  dir: 'client' | 'server';
  stage: string;
  tMs: number;
  hex: string;
  /** A close, reset or TLS alert from the server instead of bytes. */
  event?: 'eof' | 'reset' | 'timeout' | `alert:${string}`;
}

/**
 * Drives the pure CredSSP connector over the TLS socket: sends what it asks, feeds it the decrypted bytes,
 * turns close, reset, TLS alerts and the stage deadline into connector events. `onStage` is called as each
 * stage ends (the driver stamps its time); resolves when the connector is done. Never rejects.
 */
export function runCredssp(
  socket: tls.TLSSocket,
  connector: CredsspConnector,
  timeoutMs: number,
  signal: AbortSignal,
  onStage: (o: StageOutcome) => void,
  record?: (e: Omit<TranscriptEntry, 'tMs'>) => void,
): Promise<void> {
  return new Promise((resolve) => {
    let settled = false;
    let timer = setTimeout(onTimeout, timeoutMs);
    function onTimeout(): void {
      if (!settled) record?.({ dir: 'server', stage: connector.stage, hex: '', event: 'timeout' });
      handle(connector.timedOut(timeoutMs));
    }
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
    function handle(actions: CredsspAction[]): void {
      for (const a of actions) {
        if (settled) return;
        if (a.type === 'send') {
          record?.({ dir: 'client', stage: connector.stage, hex: Buffer.from(a.bytes).toString('hex') });
          socket.write(a.bytes);
          // Each stage gets its own deadline, from the moment we spoke.
          clearTimeout(timer);
          timer = setTimeout(onTimeout, timeoutMs);
        } else if (a.type === 'stage') onStage(a.outcome);
        else {
          settled = true;
          cleanup();
          resolve();
        }
      }
    }
    function onData(chunk: Buffer): void {
      record?.({ dir: 'server', stage: connector.stage, hex: chunk.toString('hex') });
      handle(connector.receive(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    }
    function onEnd(): void {
      if (!settled) record?.({ dir: 'server', stage: connector.stage, hex: '', event: 'eof' });
      handle(connector.closed('eof'));
    }
    function onError(err: Error & { code?: string }): void {
      const alert = alertName(err.code);
      if (!settled) record?.({ dir: 'server', stage: connector.stage, hex: '', event: alert ? `alert:${alert}` : 'reset' });
      handle(connector.closed('reset', alert));
    }
    function onClose(): void {
      if (!settled) record?.({ dir: 'server', stage: connector.stage, hex: '', event: 'eof' });
      handle(connector.closed('eof'));
    }
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
    handle(connector.start());
  });
}

/** ERR_SSL_TLSV1_ALERT_ACCESS_DENIED → 'access_denied'; SSLV3_ALERT_HANDSHAKE_FAILURE → 'handshake_failure'. */
export function alertName(code: string | undefined): string | undefined {
  const m = /^ERR_SSL_(?:TLSV1|TLSV13|SSLV3)_ALERT_([A-Z_]+)$/.exec(code ?? '');
  return m ? m[1]!.toLowerCase() : undefined;
}
