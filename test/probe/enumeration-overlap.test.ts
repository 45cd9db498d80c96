/**
 * The enumeration starts at the main connection's X.224 answer and runs beside its TLS, with at most two
 * enumeration connections open at once (the protocol questions, and the encryption methods once standard RDP
 * security is known to be allowed). Seen from a TCP relay in front of the lab that logs every connection and holds
 * the main connection's TLS answer back: the enumeration must not wait for it, and the report must be the same as
 * without the delay.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startLab, type LabServer } from '../../src/lab/server.js';
import { runProbe } from '../../src/transport/drive.js';
import type { ProbeReport } from '../../src/probe/types.js';
import { peakOpen, relay } from '../helpers/relay.js';

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
