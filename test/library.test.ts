import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { probe, scan, STAGES } from '../src/index.js';

describe('library API', () => {
  it('probe() returns one report; scan() yields one per target', async () => {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const r = await probe(`127.0.0.1:${port}`);
    expect(r.verdict.id).toBe('port_closed');
    expect(r.stages.map((x) => x.stage)).toEqual([...STAGES]);
    const hosts: string[] = [];
    for await (const rep of scan(['127.0.0.1-127.0.0.3', { host: '::1', port }], { ports: [port], concurrency: 2, exclude: ['127.0.0.2'] })) hosts.push(rep.target.host);
    expect(hosts.sort()).toEqual(['127.0.0.1', '127.0.0.3', '::1']);
  });
});
