import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { probe, ProbeOptionsError, scan, STAGES, type Depth, type Severity, type VerdictId } from '../src/index.js';
import { startNlaPeer } from '../src/lab/rdp-nla-peer.js';

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

describe('library API: bad options reject, early exit stops (issue #7 item 7)', () => {
  it('probe() at depth auth without credentials rejects with ProbeOptionsError; no probe runs', async () => {
    let accepted = 0;
    const s = net.createServer((c) => {
      accepted++;
      c.destroy();
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as net.AddressInfo).port;
    try {
      const p = probe(`127.0.0.1:${port}`, { depth: 'auth' });
      await expect(p).rejects.toBeInstanceOf(ProbeOptionsError);
      await expect(p).rejects.toMatchObject({ code: 'credentials_required' });
      await expect(probe(`127.0.0.1:${port}`, { depth: 'auth', credentials: { user: '', domain: '', password: 'x' } })).rejects.toMatchObject({ code: 'invalid_credentials' });
      await expect(probe(`127.0.0.1:${port}`, { depth: 'deep' as never })).rejects.toMatchObject({ code: 'invalid_depth' });
      // A bad target string is a rejection too, never a synchronous throw.
      const bad = probe('[::1', {});
      await expect(bad).rejects.toMatchObject({ code: 'invalid_target' });
      expect(accepted).toBe(0);
    } finally {
      await new Promise<void>((r) => s.close(() => r()));
    }
  });

  it('probe() at depth auth with a user but no domain runs (domain ""), it does not kill the process', async () => {
    const peer = await startNlaPeer({ host: '127.0.0.1', users: [{ user: 'lab', domain: '', password: 'lab-password' }], credsspVersion: 6, protocol: 'hybrid_ex' });
    try {
      const creds = { user: 'lab', password: 'lab-password' } as unknown as { user: string; domain: string; password: string };
      const r = await probe(`127.0.0.1:${peer.port}`, { depth: 'auth', enumerate: false, credentials: creds, trust: { pins: [peer.fingerprint] } });
      const auth = r.stages.find((x) => x.stage === 'nla_auth')!;
      expect(auth.status).not.toBe('skipped');
      expect(auth.status).not.toBe('not_reached');
      expect(JSON.stringify(r)).not.toContain('lab-password');
    } finally {
      await peer.close();
    }
  });

  it('probe() at depth session without credentials is allowed (a server without NLA needs none)', async () => {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const r = await probe(`127.0.0.1:${port}`, { depth: 'session' });
    expect(r.verdict.id).toBe('port_closed');
  });

  it('leaving a for await over scan() early aborts the probes in flight and starts no new one', async () => {
    // 40 listeners that accept and never answer; the first target refuses at once, so a result comes first.
    const hosts = Array.from({ length: 40 }, (_, i) => `127.0.0.${60 + i}`);
    let accepts = 0;
    const open = new Set<net.Socket>();
    const servers: net.Server[] = [];
    let port = 0;
    for (const h of hosts) {
      const srv = net.createServer((c) => {
        accepts++;
        open.add(c);
        c.on('error', () => undefined);
        c.on('close', () => open.delete(c));
      });
      await new Promise<void>((r) => srv.listen(port, h, () => r()));
      port = (srv.address() as net.AddressInfo).port;
      servers.push(srv);
    }
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const closedPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    try {
      // A short stage deadline: without the fix, each slot frees in 300 ms and a new target starts.
      const targets = [`127.0.0.1:${closedPort}`, ...hosts.map((h) => `${h}:${port}`)];
      const t0 = performance.now();
      let got = 0;
      for await (const _ of scan(targets, { concurrency: 6, probe: { depth: 'x224', enumerate: false, stageTimeoutMs: 300 } })) {
        got++;
        break;
      }
      const left = performance.now() - t0;
      expect(got).toBe(1);
      expect(left).toBeLessThan(3000);
      const atBreak = accepts;
      expect(atBreak).toBeLessThanOrEqual(6);
      await new Promise((r) => setTimeout(r, 800));
      // No new connection after the break, and the ones in flight were closed by us. Counted against the first
      // wave (6 slots: the closed port and 5 listeners), not against the count at the break: a connection of that
      // wave the kernel had completed may reach the listener's accept only after it. Starting targets after the
      // break would add one a slot every 300 ms.
      expect(accepts).toBeLessThanOrEqual(5);
      expect(open.size).toBe(0);
    } finally {
      for (const s of open) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    }
  });

  it('exports the Depth, VerdictId and Severity types', () => {
    const d: Depth = 'auth';
    const v: VerdictId = 'port_closed';
    const s: Severity = 'high';
    expect([d, v, s]).toEqual(['auth', 'port_closed', 'high']);
  });
});
