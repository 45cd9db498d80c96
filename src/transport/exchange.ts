/**
 * The one driver loop: runs a pure connector (or the whole ProbeSequence) over a socket. It sends what it is
 * asked, feeds it what arrives, turns close, reset, TLS alerts and the deadline into connector events, and
 * performs the TLS upgrade the sequence asks for. Policy (what a handshake means, trust, the report) stays with
 * the caller.
 */
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ProbeAction, ProbeSequence } from '../connector/sequence.js';
import type { SessionAction, SessionConnector, StageOutcome } from '../connector/session-connector.js';
import type { X224Connector, X224Outcome } from '../connector/x224-connector.js';
import { after, onAbort as whenAborted } from './deadlines.js';
import { upgradeTls, type TlsHandshake } from './tls-upgrade.js';

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
    let timer = after(o.timeoutMs, onTimeout);
    function onTimeout(): void {
      if (!settled) o.tap?.({ dir: 'server', event: 'timeout' });
      handle(connector.timedOut(o.timeoutMs));
    }
    const stop = listen(o.signal, onTimeout);

    function cleanup(): void {
      timer.cancel();
      stop.cancel();
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('error', onError);
      socket.removeListener('close', onEnd);
      // A write the connector asked for last (a polite DPUm) may still fail with EPIPE after we stop listening;
      // an 'error' with no listener would end the process.
      if (socket.listenerCount('error') === 0) socket.on('error', ignoreError);
    }
    function handle(actions: A[]): void {
      for (const a of actions) {
        if (settled) return;
        if (a.type === 'send') {
          const bytes = (a as unknown as { bytes: Uint8Array }).bytes;
          o.tap?.({ dir: 'client', bytes });
          socket.write(bytes);
          if (o.deadlinePerSend) {
            timer.cancel();
            timer = after(o.timeoutMs, onTimeout);
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
    // A server that closed while nobody listened yet (its 'end' and 'close' are gone): the same as a close now.
    if (!settled && (socket.readableEnded || socket.destroyed)) onEnd();
    socket.resume();
  });
}

function ignoreError(): void {}

const NOT_LISTENING = { cancel(): void {} };
/**
 * fn on the signal's abort, later (as addEventListener would: an abort that already happened is not seen). The
 * signal is often shared by many probes (the scan's stop): joined and left in O(1), not with addEventListener.
 */
function listen(signal: AbortSignal, fn: () => void): { cancel(): void } {
  return signal.aborted ? NOT_LISTENING : whenAborted(signal, fn);
}

/** The X.224 exchange: resolves with the connector's outcome. */
export async function runX224(socket: Duplex, connector: X224Connector, timeoutMs: number, signal: AbortSignal): Promise<X224Outcome> {
  const done = await driveConnector(socket, connector, { timeoutMs, signal });
  return (done as Extract<typeof done, { type: 'done' }>).outcome;
}

/** ERR_SSL_TLSV1_ALERT_ACCESS_DENIED → 'access_denied'; SSLV3_ALERT_HANDSHAKE_FAILURE → 'handshake_failure'. */
export function alertName(code: string | undefined): string | undefined {
  const m = /^ERR_SSL_(?:TLSV1|TLSV13|SSLV3)_ALERT_([A-Z_]+)$/.exec(code ?? '');
  return m ? m[1]!.toLowerCase() : undefined;
}

/**
 * Drives the pure session connector alone (encryption enumeration: MCS up to the Connect-Response). `onStage` is
 * called as each stage ends; every request gets its own deadline. Resolves when the connector is done.
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
        // Bytes that came with the X.224 frame belong to this stage.
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

export interface SequenceDriveOptions {
  /** Deadline for each request (restarted at every send). */
  timeoutMs: number;
  signal: AbortSignal;
  /** Every action other than send, upgrade_tls and done, in order. May throw (a local failure): the drive rejects. */
  onAction: (a: Exclude<ProbeAction, { type: 'send' | 'upgrade_tls' | 'done' }>) => void;
  /**
   * The caller's reading of a TLS handshake: it calls seq.tlsEstablished() or seq.tlsFailed() and returns the
   * actions (it may open other connections first, e.g. a legacy-TLS retry).
   */
  onTls: (hs: TlsHandshake) => Promise<ProbeAction[]>;
  /** TLS key log lines of the upgrade (check --record). */
  onKeylog?: (line: Uint8Array) => void;
}

/**
 * Runs a ProbeSequence over a connected socket until it is done, upgrading to TLS when it asks. Resolves with the
 * stream the sequence ended on (the TLS socket after an upgrade) so the caller can close it; rejects only when a
 * callback throws.
 */
export async function driveSequence(socket: net.Socket, seq: ProbeSequence, o: SequenceDriveOptions): Promise<Duplex> {
  let stream: Duplex = socket;
  let first = seq.start();
  // Bounded: the sequence asks for TLS at most once.
  for (let phase = 0; phase < 3; phase++) {
    const end = await pump(stream, seq, first, o);
    if (end.type === 'done') return stream;
    const hs = await upgradeTls(socket, {
      ...(end.servername !== undefined ? { servername: end.servername } : {}),
      legacy: end.legacy,
      ...(end.ca !== undefined ? { ca: end.ca } : {}),
      timeoutMs: o.timeoutMs,
      signal: o.signal,
      leftover: end.leftover,
      ...(o.onKeylog ? { onKeylog: o.onKeylog } : {}),
    });
    if (hs.ok) stream = hs.socket;
    first = await o.onTls(hs);
  }
  throw new Error('the probe sequence asked for TLS more than once');
}

/** One stretch of the sequence over one stream: until done or until it asks for TLS. */
function pump(stream: Duplex, seq: ProbeSequence, first: ProbeAction[], o: SequenceDriveOptions): Promise<Extract<ProbeAction, { type: 'done' | 'upgrade_tls' }>> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let timer = after(o.timeoutMs, onTimeout);
    function onTimeout(): void {
      handle(() => seq.timedOut(o.timeoutMs));
    }
    const stop = listen(o.signal, onTimeout);
    function cleanup(): void {
      timer.cancel();
      stop.cancel();
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      stream.removeListener('close', onEnd);
    }
    function handle(step: () => ProbeAction[]): void {
      if (settled) return;
      try {
        for (const a of step()) {
          if (settled) return;
          if (a.type === 'send') {
            stream.write(a.bytes);
            timer.cancel();
            timer = after(o.timeoutMs, onTimeout);
          } else if (a.type === 'done' || a.type === 'upgrade_tls') {
            settled = true;
            cleanup();
            stream.pause();
            resolve(a);
          } else o.onAction(a);
        }
      } catch (e) {
        settled = true;
        cleanup();
        reject(e);
      }
    }
    function onData(chunk: Buffer): void {
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      handle(() => seq.receive(bytes));
    }
    function onEnd(): void {
      handle(() => seq.closed('eof'));
    }
    function onError(err: Error & { code?: string }): void {
      // ECONNRESET, EPIPE and the rest: the connection is gone without an orderly close.
      handle(() => seq.closed('reset', alertName(err.code), err.code));
    }
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onEnd);
    handle(() => first);
    // A server that closed while nobody listened yet (during a first import of the sequence modules, say): its
    // 'end' and 'close' are gone, and a write to a destroyed socket emits no error. The same as a close now.
    if (!settled && (stream.readableEnded || stream.destroyed)) onEnd();
    if (!settled) stream.resume();
  });
}
