/**
 * RD Gateway on 443, from a real TLS exchange recorded on loopback (a node:tls server answering as a gateway that
 * wants the user authenticated, through the recording relay, with the client's key log): with the key log the HTTP
 * transport request, the 401, its reason phrase and WWW-Authenticate schemes are named; without it nothing is claimed;
 * ordinary HTTPS on 443 is never listed, even decrypted; with RDP-UDP to the same server's UDP 3391 in the capture
 * the flow is "possibly an RD Gateway".
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { TLSSocket, connect as tlsConnect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { generateCert } from '../../src/lab/certs.js';
import { analyzeCapture } from '../../src/pcap/analyze.js';
import { KeyLog } from '../../src/pcap/keylog.js';
import { connect as netConnect } from 'node:net';
import { startLab } from '../../src/lab/server.js';
import { dechunk } from '../../src/pcap/rd-gateway.js';
import { encodeTsgu, splitTsgu, type TsguPacket } from '../../src/pcap/tsgu.js';
import { encodeConnectionRequest } from '../../src/protocol/x224.js';
import { Bytes, ETH_IPV4, ethernet, ipv4, PcapngBuilder, udp } from './build.js';
import { HOST, startRecordingRelay, toFrames, type Recorded } from './relay.js';

const UDP = 17;

async function record(request: string, answer: string): Promise<{ rec: Recorded[]; keylog: string }> {
  const cert = generateCert({ commonName: 'gw.example.test', keyName: 'pcap-keylog-test', bits: 2048 });
  const server = createServer((raw) => {
    const s = new TLSSocket(raw, { isServer: true, cert: cert.certPem, key: cert.keyPem, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) s.end(answer);
    });
    s.on('error', () => undefined);
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  const relay = await startRecordingRelay(HOST, { host: HOST, port: (server.address() as { port: number }).port });
  const keylog: string[] = [];
  const c = tlsConnect({ host: HOST, port: relay.port, servername: 'gw.example.test', rejectUnauthorized: false, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' });
  c.on('keylog', (line: Buffer) => keylog.push(line.toString('latin1')));
  await once(c, 'secureConnect');
  c.write(request);
  c.resume();
  await once(c, 'end');
  c.end();
  await new Promise((r) => setTimeout(r, 50));
  await relay.close();
  server.close();
  return { rec: relay.rec, keylog: keylog.join('') };
}

function pcapng(rec: Recorded[], extra: Uint8Array[] = []): Uint8Array {
  const b = new PcapngBuilder().shb().idb(1);
  for (const f of toFrames(rec, { serverPort: 443 })) b.epb(0, BigInt(f.sec) * 1_000_000n + BigInt(f.frac), f.data);
  for (const [i, d] of extra.entries()) b.epb(0, 10_000_000n + BigInt(i), d);
  return b.done();
}

const RDG = 'RDG_OUT_DATA /remoteDesktopGateway/ HTTP/1.1\r\nHost: gw.example.test\r\nConnection: Keep-Alive\r\nRDG-Connection-Id: {8a5b2e3a-0000-4000-8000-000000000001}\r\n\r\n';
const UNAUTHORIZED = 'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Negotiate\r\nWWW-Authenticate: NTLM\r\nContent-Length: 0\r\n\r\n';

describe('RD Gateway on 443', () => {
  it('with the key log: RDG_OUT_DATA, 401 Unauthorized, Negotiate and NTLM; without it: not named', async () => {
    const { rec, keylog } = await record(RDG, UNAUTHORIZED);
    const file = pcapng(rec);
    const a = analyzeCapture(file, { keylog: new KeyLog().add(keylog) });
    expect(a.connections).toEqual([]);
    expect(a.rdGateway).toHaveLength(1);
    const g = a.rdGateway![0]!;
    expect(g).toMatchObject({ sni: 'gw.example.test', identified: 'rdg_http', request: { method: 'RDG_OUT_DATA', path: '/remoteDesktopGateway/', version: 'HTTP/1.1' }, response: { status: 401, reason: 'Unauthorized', authenticate: ['Negotiate', 'NTLM'] } });
    expect(g.summary).toMatch(/answered 401 Unauthorized asking for Negotiate, NTLM/);
    // No keys, no other evidence: nothing is claimed about this flow.
    expect(analyzeCapture(file).rdGateway).toBeUndefined();
  }, 30_000);

  it('a websocket upgrade on /remoteDesktopGateway/ is the gateway too; ordinary HTTPS is not listed even decrypted', async () => {
    const ws = await record('GET /remoteDesktopGateway/ HTTP/1.1\r\nHost: gw.example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    const g = analyzeCapture(pcapng(ws.rec), { keylog: new KeyLog().add(ws.keylog) }).rdGateway;
    expect(g?.map((x) => [x.identified, x.response?.status, x.response?.reason])).toEqual([['websocket', 101, 'Switching Protocols']]);
    const web = await record('GET /index.html HTTP/1.1\r\nHost: gw.example.test\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    expect(analyzeCapture(pcapng(web.rec), { keylog: new KeyLog().add(web.keylog) }).rdGateway).toBeUndefined();
  }, 30_000);

  it('without keys, RDP-UDP to the same server on UDP 3391 makes it "possibly an RD Gateway", with its SNI', async () => {
    const { rec } = await record(RDG, UNAUTHORIZED);
    // The client's RDP-UDP SYN (MS-RDPEUDP: snSourceAck -1, SYN, MTUs 1232) to the server's UDP 3391.
    const syn = new Bytes(false).u32(0xffffffff).u16(64).u16(0x0001).u32(7).u16(1232).u16(1232).done();
    const dgram = ethernet(ETH_IPV4, ipv4('127.0.0.1', HOST, UDP, udp(50124, 3391, syn)));
    const a = analyzeCapture(pcapng(rec, [dgram]));
    expect(a.rdpUdp?.map((u) => [u.server, u.answered])).toEqual([[`${HOST}:3391`, false]]);
    expect(a.rdGateway?.map((g) => [g.identified, g.sni])).toEqual([['possible', 'gw.example.test']]);
    expect(a.rdGateway![0]!.summary).toMatch(/^possibly an RD Gateway \(SNI gw\.example\.test\)/);
  }, 30_000);
});

const chunk = (p: TsguPacket): Buffer => {
  const b = encodeTsgu(p);
  return Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')]);
};
const ok = { fieldsPresent: 0, tail: new Uint8Array(0) };

/** TSGU packets of a chunked body as they arrive on `on` (after the head), each handed to `got`. */
function tsguReader(on: (cb: (d: Buffer) => void) => void, got: (p: TsguPacket) => void): void {
  let buf = Buffer.alloc(0);
  let used = 0;
  on((d) => {
    buf = Buffer.concat([buf, d]);
    const head = buf.indexOf('\r\n\r\n');
    if (head < 0) return;
    const body = dechunk(buf, head + 4).data;
    const r = splitTsgu(body.subarray(used));
    used = body.length - r.rest.length;
    r.packets.forEach(got);
  });
}

/**
 * A synthetic RD Gateway on loopback (node:tls; RDG_OUT_DATA answered 200 with a chunked body, RDG_IN_DATA's chunked
 * body read), speaking TSGU up to a channel to rdp.example.test:3389 that it relays to the lab, or refuses with
 * `refuse`; a client drives it and sends an X.224 CR through the tunnel. Both TLS connections are recorded.
 */
async function recordGateway(refuse?: number): Promise<{ pcap: Uint8Array; keylog: string }> {
  const cert = generateCert({ commonName: 'gw.example.test', keyName: 'pcap-keylog-test', bits: 2048 });
  const lab = await startLab({ scenarios: ['neg-hybrid-required'] });
  let out: TLSSocket | undefined;
  const server = createServer((raw) => {
    const s = new TLSSocket(raw, { isServer: true, cert: cert.certPem, key: cert.keyPem, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    s.on('error', () => undefined);
    let first = '';
    s.once('data', (d: Buffer) => {
      first = d.toString('latin1');
      if (first.startsWith('RDG_OUT_DATA')) {
        out = s;
        s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
        return;
      }
      let rdp: ReturnType<typeof netConnect> | undefined;
      tsguReader((cb) => (cb(d), s.on('data', cb)), (p) => {
        const send = (q: TsguPacket): boolean => out!.write(chunk(q));
        if (p.type === 'handshake_request') send({ type: 'handshake_response', errorCode: 0, verMajor: 1, verMinor: 0, serverVersion: 0, extendedAuth: 0 });
        else if (p.type === 'tunnel_create') send({ type: 'tunnel_response', serverVersion: 1, statusCode: 0, ...ok });
        else if (p.type === 'tunnel_auth') send({ type: 'tunnel_auth_response', errorCode: 0, ...ok });
        else if (p.type === 'channel_create') {
          if (refuse !== undefined) {
            send({ type: 'channel_response', errorCode: refuse, ...ok });
            out!.end('0\r\n\r\n');
            return;
          }
          rdp = netConnect(lab.ports['neg-hybrid-required']!, lab.host);
          rdp.on('connect', () => send({ type: 'channel_response', errorCode: 0, ...ok }));
          rdp.on('data', (b: Buffer) => send({ type: 'data', data: b }));
          rdp.on('close', () => out!.end('0\r\n\r\n'));
          rdp.on('error', () => undefined);
        } else if (p.type === 'data') rdp?.write(p.data);
      });
    });
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  const target = { host: HOST, port: (server.address() as { port: number }).port };
  const rOut = await startRecordingRelay(HOST, target);
  const rIn = await startRecordingRelay(HOST, target);
  const keylog: string[] = [];
  const open = async (port: number): Promise<TLSSocket> => {
    const c = tlsConnect({ host: HOST, port, servername: 'gw.example.test', rejectUnauthorized: false, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' });
    c.on('keylog', (line: Buffer) => keylog.push(line.toString('latin1')));
    await once(c, 'secureConnect');
    return c;
  };
  const id = 'RDG-Connection-Id: {8a5b2e3a-0000-4000-8000-000000000002}\r\n';
  const o = await open(rOut.port);
  const answers: TsguPacket[] = [];
  let wake = (): void => undefined;
  tsguReader((cb) => o.on('data', cb), (p) => (answers.push(p), wake()));
  const outEnded = once(o, 'end');
  o.write(`RDG_OUT_DATA /remoteDesktopGateway/ HTTP/1.1\r\nHost: gw.example.test\r\n${id}Content-Length: 0\r\n\r\n`);
  await new Promise((r) => setTimeout(r, 50));
  const i = await open(rIn.port);
  i.write(`RDG_IN_DATA /remoteDesktopGateway/ HTTP/1.1\r\nHost: gw.example.test\r\n${id}Transfer-Encoding: chunked\r\n\r\n`);
  const ask = async (p: TsguPacket): Promise<TsguPacket> => {
    const n = answers.length;
    i.write(chunk(p));
    const deadline = Date.now() + 5000;
    while (answers.length === n && Date.now() < deadline) await new Promise<void>((r) => ((wake = r), setTimeout(r, 100)));
    return answers[n]!;
  };
  await ask({ type: 'handshake_request', verMajor: 1, verMinor: 0, clientVersion: 0, extendedAuth: 0 });
  await ask({ type: 'tunnel_create', capsFlags: 0x3f, ...ok });
  await ask({ type: 'tunnel_auth', clientName: 'WS01', ...ok });
  const ch = await ask({ type: 'channel_create', resources: ['rdp.example.test'], altResources: [], port: 3389, protocol: 3 });
  if (ch.type === 'channel_response' && ch.errorCode === 0) i.write(chunk({ type: 'data', data: encodeConnectionRequest({ cookie: 'rdpuser', neg: { flags: 0, requestedProtocols: 1 } }) }));
  await Promise.race([outEnded, new Promise((r) => setTimeout(r, 5000))]);
  i.end('0\r\n\r\n');
  o.end();
  await new Promise((r) => setTimeout(r, 100));
  await rOut.close();
  await rIn.close();
  server.close();
  await lab.close();
  const frames = [...toFrames(rOut.rec, { serverPort: 443, clientAddress: '127.0.0.1' }), ...toFrames(rIn.rec, { serverPort: 443, clientAddress: '127.0.0.2' }).map((f) => ({ ...f, sec: f.sec + 1 }))];
  const b = new PcapngBuilder().shb().idb(1);
  for (const f of frames) b.epb(0, BigInt(f.sec) * 1_000_000n + BigInt(f.frac), f.data);
  return { pcap: b.done(), keylog: keylog.join('') };
}

describe('RD Gateway tunnel (MS-TSGU) with the key log', () => {
  it('names each step, the channel to rdp.example.test:3389, and gives the tunnelled connection its own ladder', async () => {
    const { pcap, keylog } = await recordGateway();
    const a = analyzeCapture(pcap, { keylog: new KeyLog().add(keylog) });
    expect(a.connections).toEqual([]);
    expect(a.rdGateway?.map((g) => [g.request?.method, g.response?.status, g.sameTunnelAs])).toEqual([['RDG_OUT_DATA', 200, undefined], ['RDG_IN_DATA', undefined, 1]]);
    const t = a.rdGateway![0]!.tunnel!;
    expect(t).toMatchObject({ flows: [1, 2], handshake: { error: 'S_OK (0x00000000)' }, tunnelCreate: { statusCode: 0 }, tunnelAuth: { clientName: 'WS01', errorCode: 0 }, channel: { resources: ['rdp.example.test'], port: 3389, errorCode: 0 } });
    expect(t.refused).toBeUndefined();
    expect(t.dataPackets.client).toBe(1);
    expect(t.dataPackets.server).toBeGreaterThanOrEqual(1);
    const x224 = t.tunnelled!.stages.find((s) => s.stage === 'x224');
    expect(JSON.stringify(x224)).toMatch(/HYBRID_REQUIRED_BY_SERVER/);
    expect(t.summary).toMatch(/channel to rdp\.example\.test:3389 S_OK/);
  }, 60_000);

  it('a CHANNEL_RESPONSE with E_PROXY_RAP_ACCESSDENIED is the gateway\'s verdict, named', async () => {
    const { pcap, keylog } = await recordGateway(0x800759da);
    const t = analyzeCapture(pcap, { keylog: new KeyLog().add(keylog) }).rdGateway![0]!.tunnel!;
    expect(t.refused).toMatchObject({ step: 'channel', errorCode: 0x800759da, error: 'E_PROXY_RAP_ACCESSDENIED (0x800759DA)' });
    expect(t.tunnelled).toBeUndefined();
    expect(t.summary).toMatch(/refused at the channel step with E_PROXY_RAP_ACCESSDENIED \(0x800759DA\): the gateway's resource authorization policy/);
  }, 60_000);
});
