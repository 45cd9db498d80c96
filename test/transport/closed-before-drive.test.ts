/**
 * A server that accepts and closes before the driver starts listening (the probe was still importing its sequence
 * modules, or busy elsewhere): the socket's 'end' and 'close' are already gone, and a write to it emits no error.
 * Both drivers must read that as the close it is, at once, not wait out the stage deadline.
 */
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { defaultSequenceConfig, ProbeSequence, type SequenceOutcome } from '../../src/connector/sequence.js';
import { X224Connector } from '../../src/connector/x224-connector.js';
import { driveSequence, runX224 } from '../../src/transport/exchange.js';
import { connectTcp } from '../../src/transport/tcp.js';

let server: net.Server;
let port = 0;
beforeAll(async () => {
  server = net.createServer((c) => c.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** A connected socket whose server side has closed, and which has noticed it (bounded wait). */
async function closedSocket(): Promise<net.Socket> {
  const s = await connectTcp('127.0.0.1', port, 2000, new AbortController().signal, undefined);
  s.on('error', () => {});
  for (let i = 0; i < 200 && !s.destroyed; i++) await new Promise((r) => setTimeout(r, 5));
  expect(s.destroyed).toBe(true);
  return s;
}

it('runX224 on a socket the server already closed: closed after the request, not a timeout', async () => {
  const s = await closedSocket();
  const t0 = performance.now();
  const o = await runX224(s, new X224Connector({ requestedProtocols: 3, negFlags: 0 }), 3000, new AbortController().signal);
  expect(o.ok).toBe(false);
  expect(o.ok ? '' : o.error.kind).toBe('closed_after_request');
  expect(performance.now() - t0).toBeLessThan(1500);
});

it('driveSequence on a socket the server already closed: the x224 stage ends closed, not in a timeout', async () => {
  const s = await closedSocket();
  const seq = new ProbeSequence(defaultSequenceConfig({ random: (n) => new Uint8Array(n), nowMs: () => 0 }));
  const stages: SequenceOutcome[] = [];
  const t0 = performance.now();
  await driveSequence(s, seq, {
    timeoutMs: 3000,
    signal: new AbortController().signal,
    onAction: (a) => {
      if (a.type === 'stage') stages.push(a.outcome);
    },
    onTls: () => Promise.reject(new Error('no TLS here')),
  });
  expect(stages.map((x) => [x.stage, x.ok, x.error?.kind])).toEqual([['x224', false, 'closed_after_request']]);
  expect(performance.now() - t0).toBeLessThan(1500);
});
