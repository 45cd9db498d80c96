/**
 * The real-server launcher against real servers: every xrdp scenario and every shadow mode is started on its
 * loopback address and must answer an X.224 Connection Request the way that server really does; where the
 * scenario is about TLS, one TLS handshake checks that the configuration took effect. The network-namespace
 * targets must fail the way their names say.
 */
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect, type PeerCertificate, type TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_ADDRESS,
  SHADOW_MODES,
  XRDP_SCENARIOS,
  certZoo,
  ensureXvfb,
  filteredNetns,
  isLoopback,
  listNetns,
  liveProcesses,
  realServerSuite,
  startShadow,
  startXrdp,
  stopAllServers,
  type RunningServer,
  type ServerSupport,
  type ShadowMode,
  type XrdpScenario,
} from './launcher.js';
import { describeAnswer, x224Exchange, x224Probe } from './x224.js';

const startTimes: string[] = [];
afterAll(async () => {
  await stopAllServers();
  if (startTimes.length) console.log(`server start times:\n  ${startTimes.join('\n  ')}`);
});

function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/** X.224 answers per requestedProtocols (0 RDP, 1 SSL, 2 HYBRID, 3 SSL|HYBRID). */
type Expect = Partial<Record<0 | 1 | 2 | 3, string>>;
const TLS_ONLY: Expect = { 0: 'F1', 1: 'SSL', 2: 'F1', 3: 'SSL' };
const RDP_ONLY: Expect = { 0: 'RDP', 1: 'RDP', 2: 'RDP', 3: 'RDP' };

const XRDP_X224: Record<XrdpScenario, Expect> = {
  negotiate: { 0: 'RDP', 1: 'SSL', 2: 'RDP', 3: 'SSL' },
  tls: TLS_ONLY,
  rdp: RDP_ONLY,
  nocert: { 0: 'F3', 1: 'F3', 2: 'F3', 3: 'F3' },
  'negotiate-nocert': RDP_ONLY,
  expired: TLS_ONLY,
  notyetvalid: TLS_ONLY,
  wrongcn: TLS_ONLY,
  rsa1024: TLS_ONLY,
  'rsa1024-sec0': TLS_ONLY,
  sha1: TLS_ONLY,
  casigned: TLS_ONLY,
  keymismatch: TLS_ONLY,
  tls10: TLS_ONLY,
  'tls10-broken': TLS_ONLY,
  tls12: TLS_ONLY,
  'rdp-low': RDP_ONLY,
  'rdp-high': RDP_ONLY,
  'rdp-fips': RDP_ONLY,
  'rdp-none': RDP_ONLY,
  'rdp-medium': RDP_ONLY,
};

const SHADOW_X224: Record<ShadowMode, Expect> = {
  nla: { 0: 'F5', 1: 'F5', 2: 'HYBRID', 3: 'HYBRID' },
  tls: { 0: 'F1', 1: 'SSL', 2: 'F1', 3: 'SSL' },
  rdp: { 0: 'RDP', 1: 'F2', 2: 'F2', 3: 'F2' },
  any: { 0: 'RDP', 1: 'SSL', 2: 'HYBRID', 3: 'HYBRID' },
};

async function x224Answers(s: RunningServer, expected: Expect): Promise<Expect> {
  const got: Expect = {};
  // sequential: xrdp's listen backlog is 2
  for (const k of Object.keys(expected).map(Number) as (0 | 1 | 2 | 3)[]) {
    got[k] = describeAnswer(await x224Probe(s.host, s.port, k, 3_000));
  }
  return got;
}

type TlsResult =
  | { ok: true; protocol: string | null; cert: PeerCertificate }
  | { ok: false; error: string };

/** X.224 asking for SSL, then one TLS handshake on the same socket (bounded 5 s). */
async function tlsAfterX224(
  s: RunningServer,
  requestedProtocols: number,
  opts: { minVersion?: 'TLSv1' | 'TLSv1.2'; ciphers?: string } = {},
): Promise<TlsResult> {
  const { answer, socket } = await x224Exchange(s.host, s.port, requestedProtocols, 3_000);
  if (!socket) return { ok: false, error: `x224 ${describeAnswer(answer)}` };
  return new Promise<TlsResult>((resolve) => {
    let t: TLSSocket | undefined;
    const done = (r: TlsResult): void => {
      clearTimeout(timer);
      t?.destroy();
      (socket as Socket).destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, error: 'timeout' }), 5_000);
    t = tlsConnect({
      socket,
      rejectUnauthorized: false,
      minVersion: opts.minVersion ?? 'TLSv1.2',
      ...(opts.ciphers ? { ciphers: opts.ciphers } : {}),
    });
    t.once('secureConnect', () => done({ ok: true, protocol: t!.getProtocol(), cert: t!.getPeerCertificate() }));
    t.once('error', (e: Error) => done({ ok: false, error: e.message }));
  });
}

const SECLEVEL0 = 'DEFAULT:@SECLEVEL=0';

/** Polls the server log for `re` (xrdp logs the TLS failure right after the handshake dies), bounded 2 s. */
async function logSays(s: RunningServer, re: RegExp): Promise<boolean> {
  for (let i = 0; i < 20; i++) {
    if (re.test(readFileSync(s.logFile, 'utf8'))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** Scenario-specific TLS checks: proves the rendered config (cert, protocols, ciphers) took effect. */
const XRDP_TLS_CHECKS: Partial<Record<XrdpScenario, (s: RunningServer) => Promise<void>>> = {
  negotiate: async (s) => {
    const r = await tlsAfterX224(s, 1);
    expect(r.ok && r.protocol).toBe('TLSv1.3');
  },
  tls: async (s) => {
    const r = await tlsAfterX224(s, 3);
    expect(r.ok && r.cert.subject.CN).toBe('localhost');
  },
  expired: async (s) => {
    const r = await tlsAfterX224(s, 1);
    expect(r.ok && Date.parse(r.cert.valid_to) < Date.now()).toBe(true);
  },
  notyetvalid: async (s) => {
    const r = await tlsAfterX224(s, 1);
    expect(r.ok && Date.parse(r.cert.valid_from) > Date.now()).toBe(true);
  },
  wrongcn: async (s) => {
    const r = await tlsAfterX224(s, 1);
    expect(r.ok && r.cert.subject.CN).toBe('wrong.example.invalid');
  },
  rsa1024: async (s) => {
    // server-side TLS setup failure: xrdp answers the ClientHello with plaintext
    const r = await tlsAfterX224(s, 1, { ciphers: SECLEVEL0 });
    expect(r.ok ? 'handshake ok' : r.error).toMatch(/wrong version number|packet length too long|ECONNRESET|socket disconnected/i);
    expect(await logSays(s, /ee key too small/)).toBe(true);
  },
  'rsa1024-sec0': async (s) => {
    const r = await tlsAfterX224(s, 1, { ciphers: SECLEVEL0 });
    expect(r.ok && r.cert.bits).toBe(1024);
  },
  casigned: async (s) => {
    const r = await tlsAfterX224(s, 1);
    expect(r.ok && r.cert.issuer.CN).toBe('RDP Probe Test CA');
  },
  keymismatch: async (s) => {
    const r = await tlsAfterX224(s, 1, { ciphers: SECLEVEL0 });
    expect(r.ok ? 'handshake ok' : r.error).toMatch(/wrong version number|packet length too long|ECONNRESET|socket disconnected/i);
    expect(await logSays(s, /do not match/)).toBe(true);
  },
  tls10: async (s) => {
    const r = await tlsAfterX224(s, 1, { minVersion: 'TLSv1', ciphers: SECLEVEL0 });
    expect(r.ok && r.protocol).toBe('TLSv1');
  },
  'tls10-broken': async (s) => {
    const r = await tlsAfterX224(s, 1, { minVersion: 'TLSv1', ciphers: SECLEVEL0 });
    expect(r.ok ? 'handshake ok' : r.error).toMatch(/internal error/i);
  },
  tls12: async (s) => {
    const r = await tlsAfterX224(s, 1);
    expect(r.ok && r.protocol).toBe('TLSv1.2');
  },
};

async function runAndCheck(
  start: () => Promise<RunningServer>,
  expected: Expect,
  extra?: (s: RunningServer) => Promise<void>,
): Promise<void> {
  const s = await start();
  startTimes.push(`${s.name.padEnd(22)} ${s.host.padEnd(12)} :${s.port}  ${s.startMs} ms`);
  try {
    expect(isLoopback(s.host)).toBe(true);
    expect(await x224Answers(s, expected), `${s.name} X.224 answers (log: ${s.logFile})`).toEqual(expected);
    if (extra) await extra(s);
  } finally {
    await s.stop();
  }
  expect(pidGone(s.pid), `${s.name} pid ${s.pid} still alive after stop()`).toBe(true);
}

describe('skip policy', () => {
  const none: ServerSupport = { xrdp: false, shadow: false, xvfb: false, netns: false, reasons: ['xrdp: xrdp not installed (apt-get install xrdp)'] };
  const all: ServerSupport = { xrdp: true, shadow: true, xvfb: true, netns: true, reasons: [] };

  it('runs when everything is there, skips with a notice locally, fails in CI', () => {
    const saved = process.env.CI;
    try {
      process.env.CI = 'true';
      expect(realServerSuite(['xrdp'], 'x', all)).toEqual({ skip: false });
      expect(() => realServerSuite(['xrdp'], 'x', none)).toThrow(/xrdp not installed/);
      delete process.env.CI;
      const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
      try {
        expect(realServerSuite(['xrdp'], 'x', none)).toEqual({ skip: true });
        expect(String(spy.mock.calls[0]?.[0])).toMatch(/SKIPPING real-server suite "x": xrdp not installed \(apt-get install xrdp\)/);
      } finally {
        spy.mockRestore();
      }
    } finally {
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
    }
  });

  it('refuses non-loopback addresses before starting anything', async () => {
    await expect(startXrdp('tls', { host: '192.0.2.1' })).rejects.toThrow(/loopback only/);
    await expect(startShadow('tls', { host: '10.0.0.1' })).rejects.toThrow(/loopback only/);
  });
});

describe.skipIf(realServerSuite(['xrdp'], 'launcher: xrdp').skip)('xrdp scenarios', () => {
  it('scenario table: distinct 127.0.0.N per scenario', () => {
    const addrs: string[] = [...Object.values(DEFAULT_ADDRESS.xrdp), ...Object.values(DEFAULT_ADDRESS.shadow)];
    expect(new Set(addrs).size).toBe(addrs.length);
    expect(addrs.every((a) => isLoopback(a) && a !== '127.0.0.1')).toBe(true);
  });

  it('prepares the certificate zoo', async () => {
    await certZoo();
  }, 120_000);

  for (const scenario of XRDP_SCENARIOS) {
    it(`xrdp ${scenario}`, async () => {
      await runAndCheck(() => startXrdp(scenario), XRDP_X224[scenario], XRDP_TLS_CHECKS[scenario]);
    });
  }

  it('xrdp tls on [::1] (default IPv6 port 13000 + N)', async () => {
    await runAndCheck(() => startXrdp('tls', { host: '::1' }), { 0: 'F1', 1: 'SSL' }, async (s) => {
      expect(s.port).toBe(13112);
    });
  });

  it('xrdp negotiate on a non-default port', async () => {
    await runAndCheck(() => startXrdp('negotiate', { host: '127.0.0.1', port: 13389 }), { 0: 'RDP', 1: 'SSL' });
  });
});

describe.skipIf(realServerSuite(['shadow'], 'launcher: freerdp-shadow').skip)('shadow modes', () => {
  it('shared Xvfb starts once', async () => {
    const a = await ensureXvfb();
    const b = await ensureXvfb();
    expect(b).toBe(a);
    expect(a.display).toMatch(/^:\d+$/);
    startTimes.push(`${'Xvfb'.padEnd(22)} ${a.display.padEnd(12)}        ${a.startMs} ms`);
  });

  for (const mode of SHADOW_MODES) {
    it(`shadow ${mode}`, async () => {
      await runAndCheck(() => startShadow(mode), SHADOW_X224[mode]);
    });
  }

  it('shadow tls on [::1]', async () => {
    await runAndCheck(() => startShadow('tls', { host: '::1' }), { 0: 'F1', 1: 'SSL' }, async (s) => {
      const r = await tlsAfterX224(s, 1);
      expect(r.ok && r.cert.subject.CN).toBe('localhost');
    });
  });

  it('stopAllServers leaves nothing running (Xvfb included)', async () => {
    await stopAllServers();
    expect(liveProcesses()).toEqual([]);
  });
});

/** TCP connect outcome within `timeoutMs`: 'connected' | 'timeout' | errno code. */
function connectOutcome(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host, port });
    const done = (r: string): void => {
      clearTimeout(t);
      s.removeAllListeners();
      s.on('error', () => undefined);
      s.destroy();
      resolve(r);
    };
    const t = setTimeout(() => done('timeout'), timeoutMs);
    s.once('connect', () => done('connected'));
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

describe.skipIf(realServerSuite(['netns'], 'launcher: netns').skip)('filtered network namespace', () => {
  it('filtered / refused / unreachable targets, then down() removes the namespace', async () => {
    const ns = await filteredNetns();
    try {
      expect(await filteredNetns()).toBe(ns); // idempotent while up
      expect((await listNetns()).includes(ns.name)).toBe(true);
      for (const t of [ns.filtered, ns.closedRst, ns.icmpRefused, ns.adminProhibited, ns.noArpHost]) {
        expect(t.host.startsWith(ns.subnet.replace(/0\/29$/, ''))).toBe(true);
      }
      const t0 = Date.now();
      const [filtered, closed, refused, prohibited, noArp] = await Promise.all([
        connectOutcome(ns.filtered.host, ns.filtered.port, 1_500),
        connectOutcome(ns.closedRst.host, ns.closedRst.port, 5_000),
        connectOutcome(ns.icmpRefused.host, ns.icmpRefused.port, 5_000),
        connectOutcome(ns.adminProhibited.host, ns.adminProhibited.port, 5_000),
        connectOutcome(ns.noArpHost.host, ns.noArpHost.port, 8_000),
      ]);
      expect({ filtered, closed, refused, prohibited, noArp }).toEqual({
        filtered: 'timeout',
        closed: 'ECONNREFUSED',
        refused: 'ECONNREFUSED',
        prohibited: 'EHOSTUNREACH',
        noArp: 'EHOSTUNREACH',
      });
      expect(Date.now() - t0).toBeLessThan(9_000);
    } finally {
      await ns.down();
    }
    expect((await listNetns()).includes(ns.name)).toBe(false);
    await ns.down(); // idempotent
  }, 30_000);
});
