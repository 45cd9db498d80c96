import type { Duplex } from 'node:stream';
import type { SessionAction, SessionConnector, StageOutcome } from '../connector/session-connector.js';
import { alertName } from './credssp-exchange.js';
import { driveConnector } from './exchange.js';

/**
 * Drives the pure session connector (MCS through activation) over the socket the earlier stages left: the TLS
 * socket, or the raw TCP socket under standard RDP security. `onStage` is called as each stage ends and
 * `onFinding` for each finding; every request gets its own deadline. Resolves when the connector is done.
 */
export async function runSession(
  socket: Duplex,
  connector: SessionConnector,
  timeoutMs: number,
  signal: AbortSignal,
  onStage: (o: StageOutcome) => void,
  onFinding: (f: Extract<SessionAction, { type: 'finding' }>['finding']) => void,
  leftover?: Uint8Array,
): Promise<void> {
  await driveConnector<SessionAction>(
    socket,
    {
      start: () => {
        const first = connector.start();
        // Bytes that came with the previous stage's last frame belong to this one.
        return leftover && leftover.length > 0 ? [...first, ...connector.receive(leftover)] : first;
      },
      receive: (c) => connector.receive(c),
      closed: (how, alert) => connector.closed(how, alert),
      timedOut: (ms) => connector.timedOut(ms),
    },
    {
      timeoutMs,
      signal,
      deadlinePerSend: true,
      alertOf: alertName,
      onAction: (a) => {
        if (a.type === 'stage') onStage(a.outcome);
        else if (a.type === 'finding') onFinding(a.finding);
      },
    },
  );
}
