/**
 * Test helpers for decryptable recordings: a relay on loopback that records every byte crossing it, and the
 * writers that turn such a recording into a pcap (or a pcapng with the key log in a Decryption Secrets Block).
 */
import { once } from 'node:events';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { TLSSocket, connect as tlsConnect } from 'node:tls';
import { flowsFromCapture } from '../../src/pcap/flows.js';
import { generateCert } from '../../src/lab/certs.js';
import { encodeConnectionRequest } from '../../src/protocol/x224.js';
import { ascii, buildPcap, Bytes, ethernet, ETH_IPV4, ipv4, PcapngBuilder, tcp, TCP } from './build.js';
import { loadCapture } from './files.js';

export const HOST = '127.0.0.231';

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

export async function recordSession(tls: { minVersion: 'TLSv1.2' | 'TLSv1.3'; maxVersion: 'TLSv1.2' | 'TLSv1.3'; ciphers?: string; secureOptions?: number }): Promise<{ pcap: Uint8Array; keylog: string; rec: Recorded[] }> {
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
  const c = tlsConnect({ socket: raw, rejectUnauthorized: false, minVersion: tls.minVersion, maxVersion: tls.maxVersion, ...(tls.ciphers ? { ciphers: tls.ciphers } : {}), ...(tls.secureOptions ? { secureOptions: tls.secureOptions } : {}) });
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
  return { pcap: toPcap(rec), keylog: keylog.join(''), rec };
}

export interface Recorded {
  dir: 'client' | 'server';
  us: number;
  /** Payload bytes, or a close: FIN ('fin') or reset ('rst') sent by `dir`. */
  bytes?: Buffer;
  close?: 'fin' | 'rst';
}

/** Ethernet/IPv4/TCP packets for the recorded chunks (cut to 1400-byte segments), with handshake and FINs. */
export function toPcap(rec: { dir: 'client' | 'server'; bytes: Buffer; us: number }[]): Uint8Array {
  const last = (rec[rec.length - 1]?.us ?? 0) + 10;
  return buildPcap({ linkType: 1 }, toFrames([...rec, { dir: 'client', us: last, close: 'fin' }, { dir: 'server', us: last + 1, close: 'fin' }]));
}

/** The same frames as a pcapng; `keylog` (SSLKEYLOGFILE text) goes into a Decryption Secrets Block before them. */
export function toPcapng(rec: Recorded[], keylog?: string, o: { serverPort?: number } = {}): Uint8Array {
  const b = new PcapngBuilder().shb().idb(1);
  if (keylog !== undefined) {
    const secrets = ascii(keylog);
    b.other(0x0a, new Bytes(true).u32(0x544c534b).u32(secrets.length).raw(secrets).pad4().done());
  }
  for (const f of toFrames(rec, o)) b.epb(0, BigInt(f.sec) * 1_000_000n + BigInt(f.frac), f.data);
  return b.done();
}

/** Frames for a recording: SYN, SYN/ACK, ACK, then each chunk and close in order (a close of a side ends its sending). */
export function toFrames(rec: Recorded[], o: { serverPort?: number; clientAddress?: string; serverAddress?: string } = {}): { sec: number; frac: number; data: Uint8Array }[] {
  const C = o.clientAddress ?? '127.0.0.1';
  const S = o.serverAddress ?? HOST;
  const cp = 50123;
  const sp = o.serverPort ?? 3389;
  let cs = 1000;
  let ss = 5000;
  const pkts: { us: number; dir: 'client' | 'server'; flags: string; payload?: Uint8Array }[] = [
    { us: 0, dir: 'client', flags: 'S' },
    { us: 1, dir: 'server', flags: 'SA' },
    { us: 2, dir: 'client', flags: 'A' },
  ];
  const done = { client: false, server: false };
  for (const r of rec) {
    if (done[r.dir]) continue;
    if (r.bytes) for (let i = 0; i < r.bytes.length; i += 1400) pkts.push({ us: r.us + 3, dir: r.dir, flags: 'PA', payload: r.bytes.subarray(i, i + 1400) });
    if (r.close) {
      pkts.push({ us: r.us + 3, dir: r.dir, flags: r.close === 'fin' ? 'FA' : 'RA' });
      done[r.dir] = true;
      if (r.close === 'rst') done.client = done.server = true;
    }
  }
  return pkts.map((p) => {
    const client = p.dir === 'client';
    const seq = client ? cs : ss;
    const seg = tcp({ srcPort: client ? cp : sp, dstPort: client ? sp : cp, seq, ack: client ? ss : cs, flags: p.flags, ...(p.payload ? { payload: p.payload } : {}) });
    const adv = (p.payload?.length ?? 0) + (p.flags.includes('S') || p.flags.includes('F') ? 1 : 0);
    if (client) cs += adv;
    else ss += adv;
    const frame = ethernet(ETH_IPV4, ipv4(client ? C : S, client ? S : C, TCP, seg));
    return { sec: Math.floor(p.us / 1e6), frac: p.us % 1e6, data: frame };
  });
}

/**
 * A TCP relay on `host` to `target`: every chunk either side sends, and how each side closed (FIN, or a reset seen
 * as ECONNRESET), in the order the relay saw them. One connection at a time is enough for these tests.
 */
export async function startRecordingRelay(host: string, target: { host: string; port: number }): Promise<{ port: number; rec: Recorded[]; close(): Promise<void> }> {
  const rec: Recorded[] = [];
  const t0 = process.hrtime.bigint();
  const us = (): number => Number((process.hrtime.bigint() - t0) / 1000n) + rec.length;
  const relay: Server = createServer((down) => {
    const up = netConnect(target.port, target.host);
    const closed = { client: false, server: false };
    const note = (dir: 'client' | 'server', close: 'fin' | 'rst'): void => {
      if (closed[dir]) return;
      closed[dir] = true;
      rec.push({ dir, us: us(), close });
    };
    down.on('data', (d: Buffer) => (rec.push({ dir: 'client', bytes: d, us: us() }), up.write(d)));
    up.on('data', (d: Buffer) => (rec.push({ dir: 'server', bytes: d, us: us() }), down.write(d)));
    down.on('end', () => (note('client', 'fin'), up.end()));
    up.on('end', () => (note('server', 'fin'), down.end()));
    down.on('error', () => (note('client', 'rst'), up.destroy()));
    up.on('error', () => (note('server', 'rst'), down.destroy()));
  });
  relay.listen(0, host);
  await once(relay, 'listening');
  return { port: (relay.address() as { port: number }).port, rec, close: () => new Promise<void>((r) => relay.close(() => r())) };
}
