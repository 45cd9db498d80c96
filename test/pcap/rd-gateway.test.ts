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
