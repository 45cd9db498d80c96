import { expect, it } from 'vitest';
import { Slots } from '../../src/transport/slots.js';

it('never lets more than n holders in at once, serves waiters in order, and a second release gives nothing back', async () => {
  const slots = new Slots(2);
  let inside = 0;
  let peak = 0;
  const order: number[] = [];
  const job = async (i: number, ms: number): Promise<void> => {
    const release = await slots.take();
    order.push(i);
    inside++;
    peak = Math.max(peak, inside);
    await new Promise((r) => setTimeout(r, ms));
    inside--;
    release();
    release();
  };
  await Promise.all([job(0, 20), job(1, 5), job(2, 5), job(3, 5), job(4, 1), job(5, 1)]);
  expect(peak).toBe(2);
  expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  // All slots are free again (the double releases gave back nothing extra): exactly two are taken at once.
  const a = await slots.take();
  const b = await slots.take();
  let third = false;
  const c = slots.take().then((r) => {
    third = true;
    return r;
  });
  await new Promise((r) => setTimeout(r, 10));
  expect(third).toBe(false);
  a();
  (await c)();
  b();
  expect(third).toBe(true);
});

it('enumerateEncryption asks as many methods at once as it has slots (seen from the server)', async () => {
  const net = await import('node:net');
  const { enumerateEncryption } = await import('../../src/transport/enumerate-encryption.js');
  let open = 0;
  let peak = 0;
  let accepted = 0;
  // Holds each connection 60 ms, then closes it without a word: no method is accepted, every one is asked.
  const server = net.createServer((c) => {
    accepted++;
    peak = Math.max(peak, ++open);
    c.on('error', () => {});
    setTimeout(() => {
      open--;
      c.destroy();
    }, 60);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as import('node:net').AddressInfo).port;
  try {
    const o = { stageTimeoutMs: 2000, signal: new AbortController().signal, legacy: false };
    const one = await enumerateEncryption('127.0.0.1', port, o);
    expect([accepted, peak]).toEqual([5, 1]);
    expect(one.methods.map((m) => m.method)).toEqual(['NONE', '40BIT', '56BIT', '128BIT', 'FIPS']);
    expect(one.methods.every((m) => m.accepted === null && m.answer.startsWith('no standard security'))).toBe(true);
    accepted = 0;
    peak = 0;
    const two = await enumerateEncryption('127.0.0.1', port, { ...o, slots: new Slots(2) });
    expect([accepted, peak]).toEqual([5, 2]);
    expect(two.methods).toEqual(one.methods);
  } finally {
    server.close();
  }
});
