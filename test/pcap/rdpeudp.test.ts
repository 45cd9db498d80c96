/**
 * RDP-UDP (MS-RDPEUDP) handshakes summarised per UDP flow, on the shared captures whose MANIFEST states the facts:
 * zeek/rdpeudp-handshake-fail (three SYNs with SYNEX version 2, never answered), zeek/rdpeudp-handshake-success
 * (IPv6 loopback; the client's SYNEX says 0x0003, the server's SYN+ACK version 2), nDPI/rdp2 (three flows: an
 * RDPEUDP2 version 3 handshake, a mid-stream flow, a version 2 handshake).
 */
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../../src/pcap/analyze.js';
import { decodeRdpUdpSyn } from '../../src/pcap/rdpeudp.js';
import { loadCapture } from './files.js';

describe('RDP-UDP per flow', () => {
  it('zeek/rdpeudp-handshake-fail: 3 SYNs over 6.2 s, version 2 offered, no SYN+ACK', () => {
    const a = analyzeCapture(loadCapture('public/zeek/rdpeudp-handshake-fail.pcap'));
    expect(a.connections).toEqual([]);
    expect(a.rdpUdp).toHaveLength(1);
    const u = a.rdpUdp![0]!;
    expect(u).toMatchObject({ client: '192.168.38.1:63568', server: '192.168.38.102:3389', answered: false, datagrams: { client: 3, server: 0 } });
    expect(u.syn).toMatchObject({ frames: [1, 2, 3], version: 'RDPUDP_PROTOCOL_VERSION_2', upstreamMtu: 1232, downstreamMtu: 1232, lossy: false });
    expect(u.synAck).toBeUndefined();
    expect(u.summary).toMatch(/handshake not answered: 3 SYN\(s\) over 6\.2 s/);
  });

  it('zeek/rdpeudp-handshake-success: IPv6 loopback, client 0x0003, server chose version 2, data follows', () => {
    const a = analyzeCapture(loadCapture('public/zeek/rdpeudp-handshake-success.pcap'));
    const u = a.rdpUdp![0]!;
    expect(u).toMatchObject({ client: '[::1]:61291', server: '[::1]:3389', answered: true, datagrams: { client: 5, server: 5 } });
    expect(u.syn?.version).toBe('unknown version 0x0003');
    expect(u.synAck).toMatchObject({ frame: 2, version: 'RDPUDP_PROTOCOL_VERSION_2', upstreamMtu: 1232 });
    expect(u.summary).toMatch(/answered: .* the server chose RDPUDP_PROTOCOL_VERSION_2/);
  });

  it('nDPI/rdp2: three flows, RDPEUDP2 (version 3) and version 2 handshakes answered, one mid-stream', () => {
    const a = analyzeCapture(loadCapture('public/nDPI/rdp2.pcap'));
    expect(a.connections).toEqual([]);
    expect(a.rdpUdp!.map((u) => [u.client, u.server, u.answered, u.synAck?.version ?? null])).toEqual([
      ['192.168.122.181:54759', '192.168.122.2:3389', true, 'RDPUDP_PROTOCOL_VERSION_3 (MS-RDPEUDP2)'],
      ['10.8.37.100:51652', '10.100.2.87:3389', false, null],
      ['10.50.181.210:60355', '10.50.73.36:3389', true, 'RDPUDP_PROTOCOL_VERSION_2'],
    ]);
    expect(a.rdpUdp![1]!.summary).toMatch(/without a handshake/);
    expect(a.rdpUdp![2]!.syn?.lossy).toBe(true);
  });

  it('other UDP is not taken for RDP-UDP: a DNS query, a SYN-flagged datagram with an out-of-range MTU, a short one', () => {
    const dns = Buffer.from('abcd01000001000000000000076578616d706c6503636f6d0000010001', 'hex');
    expect(decodeRdpUdpSyn(dns)).toBeUndefined();
    const badMtu = Buffer.from('ffffffff00400001' + '00000001' + '0100' + '0100', 'hex'); // MTU 256
    expect(decodeRdpUdpSyn(badMtu)).toBeUndefined();
    expect(decodeRdpUdpSyn(Buffer.from('ffffffff00400001', 'hex'))).toBeUndefined();
    const good = Buffer.from('ffffffff00400001' + '00000001' + '04d0' + '04b0', 'hex');
    expect(decodeRdpUdpSyn(good)).toEqual({ ack: false, lossy: false, initialSequenceNumber: 1, upstreamMtu: 1232, downstreamMtu: 1200 });
  });
});
