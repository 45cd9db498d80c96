/**
 * Decryption with a key log: real TLS (Node's OpenSSL, TLS 1.3 and TLS 1.2 AES-GCM) between two loopback
 * sockets, recorded byte for byte by a relay in between and written as a pcap; inside the TLS, the real RDP
 * frames of the shadow /sec:rdp capture in their original order. analyze with the 'keylog' lines Node emitted
 * must give the verdict the cleartext capture gives (connects), with the same MCS, licensing and activation facts.
 */
import { once } from 'node:events';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { TLSSocket, connect as tlsConnect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../../src/pcap/analyze.js';
import { flowsFromCapture } from '../../src/pcap/flows.js';
import { KeyLog } from '../../src/pcap/keylog.js';
import { generateCert } from '../../src/lab/certs.js';
import { buildPcap, ethernet, ETH_IPV4, ipv4, tcp, TCP } from './build.js';
import { loadCapture } from './files.js';
import { encodeConnectionRequest } from '../../src/protocol/x224.js';

const HOST = '127.0.0.231';

/** The shadow capture's frames after X.224, in capture order, grouped into turns of one direction. */
function shadowTurns(): { dir: 'client' | 'server'; bytes: Buffer }[] {
  const flow = flowsFromCapture(loadCapture('loopback/shadow-rdp_xfreerdp-sec-rdp_std-security.pcap')).flows[0]!;
  const frames: { dir: 'client' | 'server'; frame: number; bytes: Buffer }[] = [];
  for (const [dir, bytes, chunks] of [['client', flow.clientBytes, flow.clientChunks], ['server', flow.serverBytes, flow.serverChunks]] as const) {
    let at = (bytes[2]! << 8) | bytes[3]!; // skip the CR / CC
    while (at + 4 <= bytes.length) {
      const len = bytes[at] === 3 ? (bytes[at + 2]! << 8) | bytes[at + 3]! : bytes[at + 1]! & 0x80 ? ((bytes[at + 1]! & 0x7f) << 8) | bytes[at + 2]! : bytes[at + 1]!;
      const end = at + len - 1;
      const frame = chunks.find((c) => end >= c.offset && end < c.offset + c.length)!.frame;
      frames.push({ dir, frame, bytes: Buffer.from(bytes.subarray(at, at + len)) });
      at += len;
    }
  }
  frames.sort((a, b) => a.frame - b.frame);
  const turns: { dir: 'client' | 'server'; bytes: Buffer }[] = [];
  for (const f of frames) {
    const last = turns[turns.length - 1];
    if (last && last.dir === f.dir) last.bytes = Buffer.concat([last.bytes, f.bytes]);
    else turns.push({ dir: f.dir, bytes: f.bytes });
  }
  return turns;
}

const CR = Buffer.from(encodeConnectionRequest({ cookie: 'rdpuser', neg: { flags: 0, requestedProtocols: 1 } }));
const CC = Buffer.from('030000130ed000001234000200080001000000', 'hex');

async function readN(s: Socket | TLSSocket, n: number, got: Buffer[]): Promise<void> {
  const total = () => got.reduce((k, b) => k + b.length, 0);
  while (total() < n) await once(s, 'data').then(([d]) => got.push(d as Buffer));
}

async function recordSession(tls: { minVersion: 'TLSv1.2' | 'TLSv1.3'; maxVersion: 'TLSv1.2' | 'TLSv1.3'; ciphers?: string }): Promise<{ pcap: Uint8Array; keylog: string }> {
  const cert = generateCert({ commonName: 'localhost', keyName: 'pcap-keylog-test', bits: 2048 });
  const turns = shadowTurns();
  const server = createServer();
  server.listen(0, HOST);
  await once(server, 'listening');
  const serverPort = (server.address() as { port: number }).port;
  // The relay: what crosses it is the capture.
  const rec: { dir: 'client' | 'server'; bytes: Buffer; us: number }[] = [];
  const t0 = Date.now();
  const relay = createServer((down) => {
    const up = netConnect(serverPort, HOST);
    down.on('data', (d) => (rec.push({ dir: 'client', bytes: d, us: (Date.now() - t0) * 1000 + rec.length }), up.write(d)));
    up.on('data', (d) => (rec.push({ dir: 'server', bytes: d, us: (Date.now() - t0) * 1000 + rec.length }), down.write(d)));
    down.on('end', () => up.end());
    up.on('end', () => down.end());
  });
  relay.listen(0, HOST);
  await once(relay, 'listening');
  const relayPort = (relay.address() as { port: number }).port;
  const serverSide = (async () => {
    const [raw] = (await once(server, 'connection')) as [Socket];
    await readN(raw, CR.length, []);
    raw.write(CC);
    const s = new TLSSocket(raw, { isServer: true, cert: cert.certPem, key: cert.keyPem, minVersion: tls.minVersion, maxVersion: tls.maxVersion });
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    let need = 0;
    for (const t of turns) {
      if (t.dir === 'client') need += t.bytes.length;
      else {
        while (got.reduce((k, b) => k + b.length, 0) < need) await once(s, 'data');
        s.write(t.bytes);
      }
    }
    while (got.reduce((k, b) => k + b.length, 0) < need) await once(s, 'data');
    return s;
  })();
  const raw = netConnect(relayPort, HOST);
  await once(raw, 'connect');
  raw.write(CR);
  await readN(raw, CC.length, []);
  const keylog: string[] = [];
  const c = tlsConnect({ socket: raw, rejectUnauthorized: false, minVersion: tls.minVersion, maxVersion: tls.maxVersion, ...(tls.ciphers ? { ciphers: tls.ciphers } : {}) });
  c.on('keylog', (line: Buffer) => keylog.push(line.toString('latin1')));
  await once(c, 'secureConnect');
  const got: Buffer[] = [];
  c.on('data', (d: Buffer) => got.push(d));
  let need = 0;
  for (const t of turns) {
    if (t.dir === 'server') need += t.bytes.length;
    else {
      while (got.reduce((k, b) => k + b.length, 0) < need) await once(c, 'data');
      c.write(t.bytes);
    }
  }
  while (got.reduce((k, b) => k + b.length, 0) < need) await once(c, 'data');
  const s = await serverSide;
  c.end();
  await once(c, 'close');
  s.destroy();
  relay.close();
  server.close();
  return { pcap: toPcap(rec), keylog: keylog.join('') };
}

/** Ethernet/IPv4/TCP packets for the recorded chunks (cut to 1400-byte segments), with handshake and FINs. */
function toPcap(rec: { dir: 'client' | 'server'; bytes: Buffer; us: number }[]): Uint8Array {
  const C = '127.0.0.1';
  const cp = 50123;
  const sp = 3389;
  let cs = 1000;
  let ss = 5000;
  const pkts: { us: number; dir: 'client' | 'server'; flags: string; payload?: Uint8Array }[] = [
    { us: 0, dir: 'client', flags: 'S' },
    { us: 1, dir: 'server', flags: 'SA' },
    { us: 2, dir: 'client', flags: 'A' },
  ];
  for (const r of rec) for (let i = 0; i < r.bytes.length; i += 1400) pkts.push({ us: r.us + 3, dir: r.dir, flags: 'PA', payload: r.bytes.subarray(i, i + 1400) });
  const last = (rec[rec.length - 1]?.us ?? 0) + 10;
  pkts.push({ us: last, dir: 'client', flags: 'FA' }, { us: last + 1, dir: 'server', flags: 'FA' });
  const records = pkts.map((p) => {
    const client = p.dir === 'client';
    const seq = client ? cs : ss;
    const seg = tcp({ srcPort: client ? cp : sp, dstPort: client ? sp : cp, seq, ack: client ? ss : cs, flags: p.flags, ...(p.payload ? { payload: p.payload } : {}) });
    const adv = (p.payload?.length ?? 0) + (p.flags.includes('S') || p.flags.includes('F') ? 1 : 0);
    if (client) cs += adv;
    else ss += adv;
    const frame = ethernet(ETH_IPV4, ipv4(client ? C : HOST, client ? HOST : C, TCP, seg));
    return { sec: Math.floor(p.us / 1e6), frac: p.us % 1e6, data: frame };
  });
  return buildPcap({ linkType: 1 }, records);
}

describe('analyze --keylog: TLS decrypted with node:crypto, then the session sequence', () => {
  for (const v of [
    { name: 'TLS 1.3', tls: { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' } as const },
    { name: 'TLS 1.2 ECDHE AES-128-GCM', tls: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' } as const },
  ]) {
    it(`${v.name}: connects, as the cleartext capture does, only with the key log`, async () => {
      const { pcap, keylog } = await recordSession(v.tls);
      const without = analyzeCapture(pcap).connections[0]!.report;
      expect(without.stages.find((s) => s.stage === 'mcs')?.reason).toMatch(/inside TLS: encrypted/);
      expect(without.verdict.id).toBe('ok');
      const r = analyzeCapture(pcap, { keylog: new KeyLog().add(keylog) }).connections[0]!.report;
      expect(r.anomalies).toEqual([]);
      expect(r.stages.find((s) => s.stage === 'tls')?.facts?.['decrypted']).toMatch(v.name.startsWith('TLS 1.3') ? /^TLS 1\.3/ : /^TLS 1\.2, cipher suite 0xc02f/);
      expect(r.verdict.id).toBe('connects');
      const mcs = r.stages.find((s) => s.stage === 'mcs')!;
      expect(mcs.facts?.['client']).toMatchObject({ clientName: 'vm', clientBuild: 18363 });
      expect(mcs.facts?.['serverVersion']).toBe('RDP 10.7');
      expect(r.stages.find((s) => s.stage === 'licensing')?.facts).toMatchObject({ errorCode: 'STATUS_VALID_CLIENT' });
      expect(r.stages.find((s) => s.stage === 'activation')?.facts).toMatchObject({ desktop: { width: 1024, height: 768 } });
      // A wrong key log opens nothing and says why.
      const wrong = analyzeCapture(pcap, { keylog: new KeyLog().add(keylog.replace(/ ([0-9a-f]{2})/g, ' ff')) }).connections[0]!.report;
      expect(wrong.verdict.id).not.toBe('connects');
    }, 30_000);
  }
});
