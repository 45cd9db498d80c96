/**
 * The pcapng writer and the segment synthesis, read back by the project's own reader and checked against the
 * checksum rule itself (a correct checksum makes the one's-complement sum of pseudo-header and segment 0xffff).
 */
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../src/pcap/capture.js';
import { decodePacket } from '../../src/pcap/decode-packet.js';
import { analyzeCapture } from '../../src/pcap/analyze.js';
import { encodePcapng, encodeTcpPacket, parseIp, TCP_FLAG } from '../../src/pcap/pcapng-writer.js';
import { findSecret, PcapngRecorder, recordingRefusal } from '../../src/probe/recorder.js';
import type { ProbeReport } from '../../src/probe/types.js';

function sum(bytes: Uint8Array, s = 0): number {
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

describe('pcapng writer', () => {
  it('parses IPv4 and IPv6 text, and refuses what is neither', () => {
    expect([...parseIp('127.0.0.238')]).toEqual([127, 0, 0, 238]);
    expect(Buffer.from(parseIp('::1')).toString('hex')).toBe('00000000000000000000000000000001');
    expect(Buffer.from(parseIp('fe80::1:2')).toString('hex')).toBe('fe800000000000000000000000010002');
    expect(Buffer.from(parseIp('::ffff:10.1.2.3')).toString('hex')).toBe('00000000000000000000ffff0a010203');
    for (const bad of ['256.1.1.1', '1:2:3', 'host', '1::2::3']) expect(() => parseIp(bad)).toThrow(TypeError);
  });

  it('IPv4 and TCP checksums verify, and the fields read back', () => {
    const payload = new TextEncoder().encode('odd length!');
    const p = encodeTcpPacket({ src: '127.0.0.1', dst: '127.0.0.238', srcPort: 50000, dstPort: 3389, seq: 0xfffffff0, ack: 7, flags: TCP_FLAG.PSH | TCP_FLAG.ACK, payload, ipId: 9 });
    expect(sum(p.subarray(0, 20))).toBe(0xffff);
    const tcp = p.subarray(20);
    const pseudo = Uint8Array.from([127, 0, 0, 1, 127, 0, 0, 238, 0, 6, 0, tcp.length]);
    expect(sum(tcp, sum(pseudo))).toBe(0xffff);
    const d = decodePacket({ linkType: 101, data: p, tsUs: 0, frame: 1, origLen: p.length } as never);
    expect(d.kind).toBe('tcp');
    if (d.kind !== 'tcp') return;
    expect([d.segment.srcPort, d.segment.dstPort, d.segment.seq >>> 0, d.segment.ack]).toEqual([50000, 3389, 0xfffffff0, 7]);
    expect(Buffer.from(d.segment.payload).toString()).toBe('odd length!');
  });

  it('IPv6 TCP checksum verifies (RFC 8200 pseudo-header)', () => {
    const p = encodeTcpPacket({ src: '::1', dst: '::1', srcPort: 1, dstPort: 3389, seq: 1, ack: 0, flags: TCP_FLAG.SYN });
    expect(p[0]! >> 4).toBe(6);
    const tcp = p.subarray(40);
    const pseudo = new Uint8Array(40);
    pseudo.set(p.subarray(8, 40), 0);
    pseudo[35] = tcp.length;
    pseudo[39] = 6;
    expect(sum(tcp, sum(pseudo))).toBe(0xffff);
  });

  it('a file of header, interface, secrets and packets reads back with its secrets', () => {
    const syn = encodeTcpPacket({ src: '127.0.0.1', dst: '127.0.0.2', srcPort: 40000, dstPort: 3389, seq: 100, ack: 0, flags: TCP_FLAG.SYN });
    const keylog = new TextEncoder().encode(`CLIENT_RANDOM ${'ab'.repeat(32)} ${'cd'.repeat(48)}\n`);
    const file = encodePcapng({ section: { comment: 'rdp-probe test', application: 'rdp-probe test' }, keylog, packets: [{ timestampUs: 1_700_000_000_123_456, data: syn, comment: 'first' }] });
    expect(file.length % 4).toBe(0);
    const c = readCapture(file);
    expect(c.format).toBe('pcapng');
    expect(c.packets).toHaveLength(1);
    expect(c.packets[0]!.linkType).toBe(101);
    const a = analyzeCapture(file);
    expect(a.embeddedSecrets).toBe(1);
  });
});

describe('recorder', () => {
  const ev = (r: PcapngRecorder) => {
    const log = r.connection('main connection', '127.0.0.9', 3389, 1_000_000);
    log.connected('127.0.0.1', 45678, 1_000_100);
    log.sent(new Uint8Array(19).fill(3), 1_000_200);
    log.received(new Uint8Array(70_000).fill(4), 1_000_300);
    log.serverClosed('fin', 1_000_400);
    log.clientClosed(1_000_500);
    const refused = r.connection('enumeration', '127.0.0.9', 3389, 1_000_050);
    refused.serverClosed('refused', 1_000_060);
  };

  it('turns the events into segments with consistent sequence numbers, in time order', () => {
    const r = new PcapngRecorder({ tool: 'rdp-probe', version: 't', target: '127.0.0.9:3389' });
    ev(r);
    const c = readCapture(r.toPcapng(new Date(0)));
    const segs = c.packets.map((p) => decodePacket(p)).flatMap((d) => (d.kind === 'tcp' ? [d.segment] : []));
    expect(segs.map((s) => s.timestampUs)).toEqual([...segs.map((s) => s.timestampUs)].sort((a, b) => a - b));
    const main = segs.filter((s) => s.srcPort === 45678 || s.dstPort === 45678);
    const flags = (s: (typeof segs)[number]) => `${s.flags.syn ? 'S' : ''}${s.flags.fin ? 'F' : ''}${s.flags.rst ? 'R' : ''}${s.flags.ack ? 'A' : ''}`;
    // SYN, SYN-ACK, ACK, 19 bytes, 70000 bytes in 3 segments (MSS 32 KiB), server FIN, client FIN, ACK.
    expect(main.map(flags)).toEqual(['S', 'SA', 'A', 'A', 'A', 'A', 'A', 'FA', 'FA', 'A']);
    const clientIsn = main[0]!.seq >>> 0;
    const serverIsn = main[1]!.seq >>> 0;
    expect(main[1]!.ack).toBe((clientIsn + 1) >>> 0);
    const fromServer = main.filter((s) => s.srcPort === 3389 && s.payload.length > 0);
    expect(fromServer.reduce((n, s) => n + s.payload.length, 0)).toBe(70_000);
    expect(fromServer[1]!.seq >>> 0).toBe((serverIsn + 1 + fromServer[0]!.payload.length) >>> 0);
    const clientFin = main[8]!;
    expect(clientFin.ack).toBe((serverIsn + 1 + 70_000 + 1) >>> 0);
    // The refused attempt: a SYN and a RST|ACK, on a made-up local port.
    const other = segs.filter((s) => s.srcPort !== 45678 && s.dstPort !== 45678);
    expect(other.map(flags)).toEqual(['S', 'RA']);
  });

  it('names the tool, version and target in the section comment', () => {
    const r = new PcapngRecorder({ tool: 'rdp-probe', version: '9.9.9', target: 'rdp.example:3390' });
    const text = Buffer.from(r.toPcapng(new Date(0))).toString('latin1');
    expect(text).toContain('rdp-probe 9.9.9 check rdp.example:3390');
  });

  it('findSecret finds a password in UTF-8, UTF-16LE and hex, and nothing else', () => {
    const pw = 'Zebra~key';
    const inside = (s: Buffer) => new Uint8Array(Buffer.concat([Buffer.alloc(7, 1), s, Buffer.alloc(5, 2)]));
    expect(findSecret(inside(Buffer.from(pw)), pw)).toBe('UTF-8');
    expect(findSecret(inside(Buffer.from(pw, 'utf16le')), pw)).toBe('UTF-16LE');
    expect(findSecret(inside(Buffer.from(Buffer.from(pw).toString('hex'))), pw)).toBe('hex');
    expect(findSecret(inside(Buffer.from(Buffer.from(pw).toString('hex').toUpperCase())), pw)).toBe('HEX');
    expect(findSecret(inside(Buffer.from(Buffer.from(pw, 'utf16le').toString('hex'))), pw)).toBe('UTF-16LE hex');
    expect(findSecret(inside(Buffer.from('Zebra~kez')), pw)).toBeUndefined();
  });

  it('recordingRefusal: --delegate without NLA is refused, under NLA it is not, and nothing without --delegate', () => {
    const report = (selectedProtocol: number, clientInfo?: string) =>
      ({ stages: [{ stage: 'x224', status: 'ok', facts: { selectedProtocol, selected: ['RDP', 'SSL', 'HYBRID'][Math.min(selectedProtocol, 2)] } }, { stage: 'licensing', status: 'ok', facts: clientInfo ? { clientInfo: { password: clientInfo } } : {} }] }) as unknown as ProbeReport;
    const creds = { user: 'u', domain: '', password: 'p' };
    expect(recordingRefusal(report(0), { delegate: true, credentials: creds })).toMatch(/selected RDP/);
    expect(recordingRefusal(report(1), { delegate: true, credentials: creds })).toMatch(/selected SSL/);
    expect(recordingRefusal(report(2, 'delegated'), { delegate: true, credentials: creds })).toMatch(/Client Info/);
    expect(recordingRefusal(report(2), { delegate: true, credentials: creds })).toBeUndefined();
    expect(recordingRefusal(report(8), { delegate: true, credentials: creds })).toBeUndefined();
    expect(recordingRefusal(report(0), { delegate: false, credentials: creds })).toBeUndefined();
  });
});
