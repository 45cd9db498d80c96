/**
 * The enumeration starts at the main connection's X.224 answer and runs beside its TLS, with at most two
 * enumeration connections open at once (the protocol questions, and the encryption methods once standard RDP
 * security is known to be allowed). Seen from a TCP relay in front of the lab that logs every connection and holds
 * the main connection's TLS answer back: the enumeration must not wait for it, and the report must be the same as
 * without the delay.
 */
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startLab, type LabServer } from '../../src/lab/server.js';
import { runProbe } from '../../src/transport/drive.js';
import type { ProbeReport } from '../../src/probe/types.js';

interface Leg {
  opened: number;
  closed?: number;
}

/** A relay to `port` that logs each connection and delays server bytes after the first `passBytes` of connection 1. */
async function relay(port: number, passBytes: number, delayMs: number): Promise<{ port: number; legs: Leg[]; close: () => Promise<void> }> {
  const legs: Leg[] = [];
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const leg: Leg = { opened: performance.now() };
    const first = legs.length === 0;
    legs.push(leg);
    open.add(client);
    const upstream = net.connect(port, '127.0.0.1');
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
function peakOpen(legs: Leg[]): number {
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

const strip = (r: ProbeReport): unknown =>
  JSON.parse(
    JSON.stringify(r, (k, v: unknown) => (['startedAt', 'durationMs', 'startMs', 'localPort', 'handshakeMs', 'port'].includes(k) ? 0 : v)),
  );

let lab: LabServer;
beforeAll(async () => {
  lab = await startLab({ scenarios: ['connects'] });
}, 30_000);
afterAll(async () => {
  await lab.close();
});

it('asks the enumeration questions while the main connection waits for its TLS answer, two at most at once', async () => {
  const port = lab.ports['connects']!;
  // X.224 Connection Confirm with RDP_NEG_RSP is 19 bytes: everything after it on the main connection is TLS.
  const r = await relay(port, 19, 400);
  try {
    const opts = { stageTimeoutMs: 3000, targetTimeoutMs: 15_000 } as const;
    const delayed = await runProbe({ host: '127.0.0.1', port: r.port }, opts);
    await lab.settled();
    const legs = r.legs.slice();
    const main = legs[0]!;
    expect(delayed.enumeration?.connections).toBeGreaterThan(0);
    expect(legs.length).toBeGreaterThan(1);
    // The first enumeration connection opened while the main connection still waited for its held-back TLS answer
    // (well before it closed, not in the same instant as its close, as when the enumeration followed it).
    expect(legs[1]!.opened).toBeLessThan(main.closed! - 200);
    expect(peakOpen(legs)).toBeLessThanOrEqual(3);
    expect(peakOpen(legs)).toBeGreaterThanOrEqual(2);
    // The same report as a probe straight to the lab, but for times and ports.
    const direct = await runProbe({ host: '127.0.0.1', port }, opts);
    await lab.settled();
    expect(strip(delayed)).toEqual(strip(direct));
  } finally {
    await r.close();
  }
}, 60_000);
