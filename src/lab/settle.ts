/** The per-connection bookkeeping the lab's two servers (scenario server, NLA peer) share. */
import type net from 'node:net';

/**
 * "Every connection the lab saw has closed", as tests wait for it: `notify()` after a connection closes, and
 * `settled(ms)` resolves once all recorded connections are closed, or after `ms` at the latest.
 */
export function closeWaiter(connections: readonly { closed: boolean }[]): { notify(): void; settled(timeoutMs?: number): Promise<void> } {
  const waiters = new Set<() => void>();
  const notify = (): void => {
    if (connections.every((c) => c.closed)) for (const w of [...waiters]) w();
  };
  const settled = (timeoutMs = 2000): Promise<void> =>
    new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      waiters.add(done);
      notify();
    });
  return { notify, settled };
}

/**
 * The bookkeeping both lab servers do for each accepted socket: its errors recorded, the connection marked closed
 * (and the waiter told) when it closes, and the socket destroyed after `idleMs` without traffic.
 */
export function trackConnection(
  raw: net.Socket,
  conn: { closed: boolean; errors: string[]; endedBy?: string },
  sockets: Set<net.Socket>,
  notify: () => void,
  idleMs: number,
): void {
  sockets.add(raw);
  raw.on('error', (e: Error & { code?: string }) => conn.errors.push(`tcp: ${e.code ?? e.message}`));
  raw.on('close', () => {
    sockets.delete(raw);
    conn.closed = true;
    notify();
  });
  raw.setTimeout(idleMs, () => {
    conn.endedBy ??= 'idle_timeout';
    raw.destroy();
  });
}
