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
