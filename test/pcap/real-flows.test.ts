/**
 * Flow-level facts about the shared real captures, as documented in public/MANIFEST.md and the
 * loopback/*.txt tshark transcripts (tshark itself is not needed: the transcripts are the oracle).
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePacket, flowsFromCapture, locate, readCapture, type TcpFlow } from '../../src/pcap/index.js';
import { ascii } from './build.js';
import { CAPTURES, countOccurrences, hex, loadCapture } from './files.js';

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
const rdpFlows = (file: string): TcpFlow[] => flowsFromCapture(loadCapture(file), { port: 3389 }).flows;

/** X.224 Connection Confirm (TPKT len 19) with RDP_NEG_RSP / RDP_NEG_FAILURE, as hex. */
const ccRsp = (flags: string, protocol: string) => `030000130ed0000012340002${flags}0800${protocol}000000`;
const ccFailure = (srcRef: string, code: string) => `030000130ed00000${srcRef}00030008000${code}000000`;

describe('public captures', () => {
  it('zeek/rdp-proprietary-encryption: 2 connections, SSL_NOT_ALLOWED then standard RDP security', () => {
    const flows = rdpFlows('public/zeek/rdp-proprietary-encryption.pcap');
    expect(flows.map((f) => [f.client.address, f.client.port, f.server.address, f.handshake])).toEqual([
      ['172.21.128.16', 1311, '10.226.24.52', 'complete'],
      ['172.21.128.16', 1312, '10.226.24.52', 'complete'],
    ]);
    const [one, two] = flows as [TcpFlow, TcpFlow];
    expect(hex(one.serverBytes)).toBe(ccFailure('1234', '2')); // the whole server stream of conn 1
    expect(one.end).toMatchObject({ fin: 'client', rst: 'server' });
    expect(latin1(one.clientBytes)).toContain('Cookie: mstshash=FTBCO\\A70\r\n');
    expect(hex(one.clientBytes.subarray(one.clientBytes.length - 8))).toBe('0100080001000000'); // RDP_NEG_REQ, TLS
    expect(hex(two.serverBytes, 19)).toBe(ccRsp('00', '00'));
    expect(two.serverBytes[19]).toBe(0x03); // next TPKT: MCS Connect Response
    expect(two.end).toMatchObject({ fin: 'client', rst: 'server', rstFrame: 542 });
    expect(two.startUs - one.startUs).toBeGreaterThan(2_000_000);
    expect(flows.every((f) => f.gaps === 0 && !f.truncated)).toBe(true);
  });

  it('zeek/rdp-to-ssl: 2 connections, HYBRID selected, then TLS records in both directions', () => {
    const flows = rdpFlows('public/zeek/rdp-to-ssl.pcap');
    expect(flows).toHaveLength(2);
    for (const f of flows) {
      expect([f.client.address, f.server.address, f.handshake, f.gaps]).toEqual(['192.168.1.200', '192.168.1.150', 'complete', 0]);
      expect(hex(f.serverBytes, 19)).toBe(ccRsp('01', '02'));
      expect(hex(f.serverBytes.subarray(19), 3)).toBe('160301'); // TLS 1.0 handshake record (ServerHello)
      const crLen = (f.clientBytes[2]! << 8) | f.clientBytes[3]!;
      expect(hex(f.clientBytes.subarray(crLen), 3)).toBe('160301'); // ClientHello right after the CR
      expect(latin1(f.clientBytes)).toContain('Cookie: mstshash=AWAKECODI');
      expect(f.end).toMatchObject({ fin: 'client', rst: 'server' });
    }
    expect((flows[1]!.startUs - flows[0]!.startUs) / 1e6).toBeGreaterThan(30);
    expect(flows[1]!.serverBytes.length).toBeGreaterThan(68_000);
  });

  it('zeek/rdp-x509: retransmitted SYN and CR are reassembled once; MCS Connect Response located by frame', () => {
    const [f, ...rest] = rdpFlows('public/zeek/rdp-x509.pcap');
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ handshake: 'complete', synFrames: [1, 4], gaps: 0, end: {}, client: { port: 54990 } });
    const cookie = ascii('Cookie: mstshash=JOHN-PC  \r\n');
    expect(countOccurrences(f!.clientBytes, cookie)).toBe(1);
    const crLen = (f!.clientBytes[2]! << 8) | f!.clientBytes[3]!;
    expect(crLen).toBe(47);
    expect(countOccurrences(f!.clientBytes, f!.clientBytes.subarray(0, crLen))).toBe(1); // the whole CR, once
    expect(f!.clientBytes.length).toBe(47 + 446);
    expect(f!.clientChunks.map((c) => c.frame)).toEqual([6, 11]); // frame 9 is the spurious retransmission
    expect(hex(f!.serverBytes, 19)).toBe(ccRsp('00', '00'));
    const mcsLen = (f!.serverBytes[21]! << 8) | f!.serverBytes[22]!;
    expect(19 + mcsLen).toBe(f!.serverBytes.length); // one complete TPKT after the CC, split over two frames
    expect(locate(f!.serverChunks, 19)).toEqual({ frame: 12, offsetInFrame: 0 });
    expect(locate(f!.serverChunks, f!.serverBytes.length - 1)).toEqual({ frame: 13, offsetInFrame: 6 });
  });

  it('zeek/rdp-unknown-keyboard: same connection, cut before the server answers the MCS Connect Initial', () => {
    const [f] = rdpFlows('public/zeek/rdp-unknown-keyboard.pcap');
    expect(f!.synFrames).toEqual([1, 4]);
    expect(f!.serverBytes.length).toBe(19);
    expect(hex(f!.clientBytes.subarray(47), 2)).toBe('0300');
  });

  it('zeek/rdp-invalid-length: server TPKT length 19, 12 extra bytes, next segment starts with 0x05', () => {
    const [f] = rdpFlows('public/zeek/rdp-invalid-length.pcap');
    const s = f!.serverBytes;
    expect((s[2]! << 8) | s[3]!).toBe(19);
    expect(hex(s, 11)).toBe('030000130ed00000123400'); // TPKT + X.224 CC header
    expect(s[11]).toBe(0x02); // RDP_NEG_RSP type
    expect(f!.serverChunks[0]!.length).toBe(19 + 12);
    expect(s[31]).toBe(0x05);
    expect(locate(f!.serverChunks, 31)).toEqual({ frame: 6, offsetInFrame: 0 });
    expect(latin1(f!.clientBytes.subarray(0, 7))).toBe('ECODH\r\n');
    expect(latin1(f!.clientBytes)).toContain('Cookie: mstshash=JOHN-PC');
  });

  it('zeek/modbus-and-non-modbus-p502: 7 connections to 502; the RDP one gets a 9-byte TPKT-looking reply', () => {
    const r = flowsFromCapture(loadCapture('public/zeek/modbus-and-non-modbus-p502.pcap'), { port: 502 });
    expect(r.flows).toHaveLength(7);
    expect(r.flows.every((f) => f.handshake === 'complete')).toBe(true);
    const rdp = r.flows.find((f) => f.client.address === '62.122.184.123')!;
    expect([rdp.client.port, rdp.firstFrame, rdp.lastFrame]).toEqual([7488, 77, 86]);
    expect(hex(rdp.serverBytes)).toBe('0300002b0003008001');
    expect(latin1(rdp.clientBytes)).toContain('Cookie: mstshash=admin');
    expect(rdp.end.fin).toBe('both');
    expect((rdp.endUs - rdp.startUs) / 1e6).toBeGreaterThan(30);
  });

  it('nDPI/rdp.pcap (DLT_NULL): CR without cookie asking 0x0b, RSP HYBRID_EX flags 0x1f', () => {
    const r = flowsFromCapture(loadCapture('public/nDPI/rdp.pcap'), { port: 3389 });
    expect(r.flows).toHaveLength(1);
    const f = r.flows[0]!;
    expect([f.client.address, f.client.port, f.server.address, f.handshake]).toEqual(['172.16.2.185', 52494, '192.168.2.142', 'complete']);
    expect(hex(f.clientBytes, 19)).toBe('030000130ee00000000000010008000b000000');
    expect(hex(f.serverBytes, 19)).toBe(ccRsp('1f', '08'));
    expect(f.end).toEqual({});
  });

  it('nDPI/rdp3.pcap: legacy CC without negotiation data', () => {
    const [f] = rdpFlows('public/nDPI/rdp3.pcap');
    expect(hex(f!.serverBytes, 11)).toBe('0300000b06d00000123400');
    expect(latin1(f!.clientBytes)).toContain('Cookie: mstshash=Administr');
  });

  it('nDPI/synscan: exactly two 3389 flows, both unanswered SYNs; other ports show both answers', () => {
    const all = flowsFromCapture(loadCapture('public/nDPI/synscan.pcap'));
    const rdp = all.flows.filter((f) => f.server.port === 3389);
    expect(rdp.map((f) => [f.client.address, f.client.port, f.server.address, f.handshake, f.synFrames.length])).toEqual([
      ['172.16.0.8', 36050, '64.13.134.52', 'syn_only', 1],
      ['172.16.0.8', 36051, '64.13.134.52', 'syn_only', 1],
    ]);
    expect((rdp[1]!.startUs - rdp[0]!.startUs) / 1e6).toBeCloseTo(1.01, 1);
    const kinds = new Set(all.flows.map((f) => f.handshake));
    expect(kinds.has('syn_rst')).toBe(true); // closed ports
    expect(kinds.has('syn_synack')).toBe(true); // open ports, reset by the scanner
  });

  it('arkime/socks5-rdp: SOCKS5 then RDP in one stream on port 42356', () => {
    const bytes = loadCapture('public/arkime/socks5-rdp.pcap');
    expect(flowsFromCapture(bytes, { port: 3389 }).flows).toEqual([]);
    const [f] = flowsFromCapture(bytes, { port: 42356 }).flows;
    expect([f!.client.address, f!.client.port, f!.server.address, f!.handshake]).toEqual(['10.0.0.3', 2276, '10.0.0.2', 'complete']);
    expect(hex(f!.clientBytes, 13)).toBe('050100' + '05010001' + '0a000001' + '0d3d');
    expect(latin1(f!.clientBytes.subarray(13))).toContain('Cookie: mstshash=XXX');
    expect(f!.clientBytes[13]).toBe(0x03);
    expect(hex(f!.serverBytes, 2)).toBe('0500');
    const cc = f!.serverBytes.subarray(f!.serverBytes.length - 19);
    expect(hex(cc)).toBe(ccRsp('00', '00'));
  });

  it.each([
    ['public/nDPI/rdp2.pcap', 39],
    ['public/zeek/rdpeudp-handshake-fail.pcap', 3],
    ['public/zeek/rdpeudp-handshake-success.pcap', 10],
  ])('%s: UDP only, no TCP flow', (file, udp) => {
    const r = flowsFromCapture(loadCapture(file));
    expect(r).toMatchObject({ flows: [], udpPackets: udp, unsupportedLinkTypes: [], malformedPackets: 0, truncated: false });
  });
});

describe('loopback captures', () => {
  const one = (name: string): TcpFlow => {
    const flows = rdpFlows(`loopback/${name}.pcap`);
    expect(flows).toHaveLength(1);
    return flows[0]!;
  };

  it('closed port: SYN answered by RST', () => {
    expect(one('closed_xfreerdp_rst')).toMatchObject({ handshake: 'syn_rst', synFrames: [1], end: { rst: 'server', rstFrame: 2 } });
  });

  it('filtered port: 7 SYNs (retransmissions) in one syn_only flow', () => {
    const f = one('filtered_xfreerdp_syn-timeout');
    expect(f).toMatchObject({ handshake: 'syn_only', synFrames: [1, 2, 3, 4, 5, 6, 7], end: {} });
    expect(f.serverBytes.length + f.clientBytes.length).toBe(0);
  });

  it('hanging server: CR sent, nothing back, closed by FIN from both sides', () => {
    const f = one('fake-hang_xfreerdp_no-cc');
    expect(f).toMatchObject({ handshake: 'complete', end: { fin: 'both' }, gaps: 0 });
    expect(f.clientBytes.length).toBe(45); // the keep-alive byte is not added
    expect(f.serverBytes.length).toBe(0);
  });

  it.each([
    ['shadow-nla_xfreerdp-sec-tls_HYBRID_REQUIRED', ccFailure('0000', '5')],
    ['shadow-rdp_xfreerdp-sec-tls_SSL_NOT_ALLOWED', ccFailure('0000', '2')],
    ['shadow-tls_xfreerdp-sec-rdp_SSL_REQUIRED', ccFailure('0000', '1')],
  ])('%s: the whole server stream is one RDP_NEG_FAILURE', (name, want) => {
    expect(hex(one(name).serverBytes)).toBe(want);
  });

  it('nmap rdp-enum-encryption: 7 connections, the first one reset by nmap after the SYN/ACK', () => {
    const flows = rdpFlows('loopback/xrdp-tls_nmap-rdp-enum-encryption.pcap');
    expect(flows.map((f) => f.handshake)).toEqual(['syn_synack', ...Array<string>(6).fill('complete')]);
    expect(flows.map((f) => f.firstFrame)).toEqual([1, 4, 14, 33, 43, 53, 63]);
  });

  // Every loopback capture ships with a tshark transcript: check frame by frame against it.
  const transcripts = readdirSync(path.join(CAPTURES, 'loopback')).filter((n) => n.endsWith('.txt'));
  it.each(transcripts)('%s: frames agree with the tshark transcript', (txt) => {
    const lines = readFileSync(path.join(CAPTURES, 'loopback', txt), 'utf8').split('\n');
    const from = lines.findIndex((l) => l.startsWith('## tshark'));
    const rows = lines
      .slice(from + 1)
      .map((l) => /^\s*(\d+)\s+([\d.]+)\s+(\S+) → (\S+)\s+(\S+) (\d+) (.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null);
    const cap = readCapture(loadCapture(`loopback/${txt.replace(/\.txt$/, '.pcap')}`));
    expect(cap.packets).toHaveLength(rows.length);
    const t0 = cap.packets[0]!.timestampUs;
    const isn = new Map<string, number>();
    for (const [i, m] of rows.entries()) {
      const p = cap.packets[i]!;
      expect(Number(m[1])).toBe(p.index);
      expect(((p.timestampUs - t0) / 1e6).toFixed(6)).toBe(m[2]);
      expect(p.originalLength).toBe(Number(m[6]));
      const d = decodePacket(p);
      if (d.kind !== 'tcp') throw new Error(`frame ${p.index} is ${d.kind}`);
      const s = d.segment;
      expect([s.src, s.dst]).toEqual([m[3], m[4]]);
      const dir = `${s.src}:${s.srcPort}`;
      const back = `${s.dst}:${s.dstPort}`;
      if (s.flags.syn) isn.set(dir, s.seq);
      const info = /(\d+) → (\d+) \[([A-Z, ]+)\] Seq=(\d+)(?: Ack=(\d+))?.* Len=(\d+)/.exec(m[7]!);
      if (m[5] !== 'TCP' || !info) continue; // RDP/TPKT rows show no TCP fields
      expect([s.srcPort, s.dstPort]).toEqual([Number(info[1]), Number(info[2])]);
      const flags = info[3]!.split(', ').sort();
      const ours = Object.entries(s.flags)
        .filter(([, on]) => on)
        .map(([k]) => k.toUpperCase())
        .sort();
      expect(ours).toEqual(flags);
      // relative numbers only where the direction's SYN was seen (tshark guesses a base otherwise)
      const base = isn.get(dir);
      const backBase = isn.get(back);
      if (base !== undefined) expect((s.seq - base) >>> 0).toBe(Number(info[4]));
      if (info[5] !== undefined && backBase !== undefined) expect((s.ack - backBase) >>> 0).toBe(Number(info[5]));
      expect(s.payload.length).toBe(Number(info[6]));
    }
  });
});
