/** A logging TCP relay for tests that look at how a probe uses its connections. */
import net from 'node:net';

export interface Leg {
  opened: number;
  closed?: number;
}

/**
 * A TCP relay on 127.0.0.1 to host:port that logs when each connection opened and closed, and holds the server's
 * bytes after the first `passBytes` of connection 1 back for `delayMs` (0: no delay).
 */
export async function relay(port: number, passBytes: number, delayMs: number, host = '127.0.0.1'): Promise<{ port: number; legs: Leg[]; close: () => Promise<void> }> {
  const legs: Leg[] = [];
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const leg: Leg = { opened: performance.now() };
    const first = legs.length === 0;
    legs.push(leg);
    open.add(client);
    const upstream = net.connect(port, host);
    let passed = 0;
    upstream.on('data', (d: Buffer) => {
      if (!first || passed + d.length <= passBytes) {
        passed += d.length;
        client.write(d);
        return;
      }
      // Connection 1 past its X.224 Confirm: hold the server's TLS flight back.
      upstream.pause();
      setTimeout(() => {
        if (!client.destroyed) client.write(d);
        upstream.resume();
      }, delayMs).unref();
      passed = Number.POSITIVE_INFINITY;
    });
    client.on('data', (d: Buffer) => upstream.write(d));
    const end = (): void => {
      leg.closed ??= performance.now();
      open.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    legs,
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
}

/** The most connections open at the same moment. */
export function peakOpen(legs: Leg[]): number {
  const ev = legs.flatMap((l) => [
    { t: l.opened, d: 1 },
    { t: l.closed ?? Number.POSITIVE_INFINITY, d: -1 },
  ]);
  ev.sort((a, b) => a.t - b.t || a.d - b.d);
  let n = 0;
  let peak = 0;
  for (const e of ev) peak = Math.max(peak, (n += e.d));
  return peak;
}
