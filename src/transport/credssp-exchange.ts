import type tls from 'node:tls';
import type { CredsspAction, CredsspConnector, StageOutcome } from '../connector/credssp-connector.js';
import { driveConnector } from './exchange.js';

export interface TranscriptEntry {
  dir: 'client' | 'server';
  stage: string;
  tMs: number;
  hex: string;
  /** A close, reset or TLS alert from the server instead of bytes. */
  event?: 'eof' | 'reset' | 'timeout' | `alert:${string}`;
}

/**
 * Drives the pure CredSSP connector over the TLS socket. `onStage` is called as each stage ends (the driver
 * stamps its time); every request gets its own deadline. Resolves when the connector is done; never rejects.
 */
export async function runCredssp(
  socket: tls.TLSSocket,
  connector: CredsspConnector,
  timeoutMs: number,
  signal: AbortSignal,
  onStage: (o: StageOutcome) => void,
  record?: (e: Omit<TranscriptEntry, 'tMs'>) => void,
): Promise<void> {
  await driveConnector<CredsspAction>(socket, connector, {
    timeoutMs,
    signal,
    deadlinePerSend: true,
    alertOf: alertName,
    onAction: (a) => {
      if (a.type === 'stage') onStage(a.outcome);
    },
    ...(record
      ? { tap: (e) => record({ dir: e.dir, stage: connector.stage, hex: e.bytes ? Buffer.from(e.bytes).toString('hex') : '', ...(e.event ? { event: e.event } : {}) }) }
      : {}),
  });
}

/** ERR_SSL_TLSV1_ALERT_ACCESS_DENIED → 'access_denied'; SSLV3_ALERT_HANDSHAKE_FAILURE → 'handshake_failure'. */
export function alertName(code: string | undefined): string | undefined {
  const m = /^ERR_SSL_(?:TLSV1|TLSV13|SSLV3)_ALERT_([A-Z_]+)$/.exec(code ?? '');
  return m ? m[1]!.toLowerCase() : undefined;
}
