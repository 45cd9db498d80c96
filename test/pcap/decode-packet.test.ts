import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/protocol/codec/errors.js';
import {
  decodePacket,
  formatIpv6,
  readCapture,
  tcpSegmentOf,
  type DecodedPacket,
  type Packet,
  type TcpSegment,
} from '../../src/pcap/index.js';
import {
  ETH_IPV4,
  ETH_IPV6,
  TCP,
  UDP,
  ascii,
  concat,
  ethernet,
  ipv4,
  ipv6,
  nullLink,
  parseIpv6,
  prng,
  sll,
  sll2,
  tcp,
  udp,
} from './build.js';
import { loadCapture } from './files.js';

function packet(linkType: number, data: Uint8Array, index = 1): Packet {
  return { index, timestampUs: 1_000_000 * index, linkType, data, originalLength: data.length, interfaceId: 0 };
}

function segmentOf(d: DecodedPacket): TcpSegment {
  if (d.kind !== 'tcp') throw new Error(`expected a TCP segment, got ${JSON.stringify(d)}`);
  return d.segment;
}

const payload = ascii('\x03\x00\x00\x13\x0e\xd0hello RDP');
const tcp4 = tcp({ srcPort: 50000, dstPort: 3389, seq: 0xfffffff0, ack: 77, flags: 'PA', payload });
const ip4 = ipv4('192.168.1.10', '10.0.0.1', TCP, tcp4);
const tcp6 = tcp({ srcPort: 50001, dstPort: 3389, seq: 1, flags: 'S' });

describe('link layers', () => {
  it('Ethernet II carrying IPv4/TCP, Ethernet padding ignored', () => {
    const small = ipv4('1.2.3.4', '5.6.7.8', TCP, tcp({ srcPort: 1, dstPort: 2, seq: 3, flags: 'A' }));
    const frame = ethernet(ETH_IPV4, small);
    expect(frame.length).toBe(60); // 14 + 40 + 6 bytes of padding
    const s = segmentOf(decodePacket(packet(1, frame)));
    expect(s.payload.length).toBe(0);
    expect(s.payloadLength).toBe(0);
  });

  it('decodes every TCP field', () => {
    const s = segmentOf(decodePacket(packet(1, ethernet(ETH_IPV4, ip4), 7)));
    expect(s).toMatchObject({
      frame: 7,
      timestampUs: 7_000_000,
      src: '192.168.1.10',
      dst: '10.0.0.1',
      srcPort: 50000,
      dstPort: 3389,
      seq: 0xfffffff0,
      ack: 77,
      flags: { syn: false, ack: true, fin: false, rst: false, psh: true },
      ipVersion: 4,
      payloadLength: payload.length,
    });
    expect(s.payload).toEqual(payload);
  });

  it('802.1Q and stacked 802.1ad VLAN tags', () => {
    const one = ethernet(ETH_IPV4, ip4, [{ tpid: 0x8100, vid: 100 }]);
    const two = ethernet(ETH_IPV4, ip4, [
      { tpid: 0x88a8, vid: 10 },
      { tpid: 0x8100, vid: 20 },
    ]);
    expect(segmentOf(decodePacket(packet(1, one))).payload).toEqual(payload);
    expect(segmentOf(decodePacket(packet(1, two))).payload).toEqual(payload);
    const tooMany = ethernet(ETH_IPV4, ip4, Array.from({ length: 5 }, () => ({ tpid: 0x8100, vid: 1 })));
    expect(decodePacket(packet(1, tooMany)).kind).toBe('other');
  });

  it.each([
    ['AF_INET little-endian', 2, true, ip4],
    ['AF_INET big-endian', 2, false, ip4],
    ['AF_INET6 24 (OpenBSD/NetBSD)', 24, true, ipv6('::1', '::1', TCP, tcp6)],
    ['AF_INET6 28 (FreeBSD) big-endian', 28, false, ipv6('::1', '::1', TCP, tcp6)],
    ['AF_INET6 30 (macOS)', 30, true, ipv6('::1', '::1', TCP, tcp6)],
  ])('NULL/loopback with %s', (_n, family, le, ip) => {
    const d = decodePacket(packet(0, nullLink(family, le, ip)));
    expect(d.kind).toBe('tcp');
  });

  it('NULL/loopback with an unknown family is "other"', () => {
    expect(decodePacket(packet(0, nullLink(7, true, ip4))).kind).toBe('other');
  });

  it('raw IP (101 by version nibble, 228 IPv4, 229 IPv6)', () => {
    const v6 = ipv6('2001:db8::1', '2001:db8::2', TCP, tcp6);
    expect(segmentOf(decodePacket(packet(101, ip4))).src).toBe('192.168.1.10');
    expect(segmentOf(decodePacket(packet(101, v6))).src).toBe('2001:db8::1');
    expect(segmentOf(decodePacket(packet(228, ip4))).ipVersion).toBe(4);
    expect(segmentOf(decodePacket(packet(229, v6))).ipVersion).toBe(6);
    expect(decodePacket(packet(228, v6)).kind).toBe('malformed');
  });

  it('Linux cooked SLL (113) and SLL2 (276)', () => {
    expect(segmentOf(decodePacket(packet(113, sll(ETH_IPV4, ip4)))).payload).toEqual(payload);
    const s = segmentOf(decodePacket(packet(276, sll2(ETH_IPV6, ipv6('fe80::1', 'fe80::2', TCP, tcp6)))));
    expect([s.src, s.dst, s.flags.syn]).toEqual(['fe80::1', 'fe80::2', true]);
    expect(decodePacket(packet(276, sll2(0x0806, new Uint8Array(28)))).kind).toBe('other'); // ARP
  });

  it('unsupported link type is a value, not an exception', () => {
    expect(decodePacket(packet(147, ip4))).toEqual({ kind: 'unsupported_link', linkType: 147 });
    expect(tcpSegmentOf(packet(147, ip4))).toBeUndefined();
  });
});

describe('IPv4', () => {
  it('honours IHL (options)', () => {
    const withOpts = ipv4('1.1.1.1', '2.2.2.2', TCP, tcp4, { options: Uint8Array.of(0x01, 0x01, 0x01, 0x00, 0x94, 0x04, 0, 0) });
    expect(withOpts[0]).toBe(0x47);
    expect(segmentOf(decodePacket(packet(101, withOpts))).payload).toEqual(payload);
  });

  it('ignores non-first fragments but decodes a first fragment', () => {
    expect(decodePacket(packet(101, ipv4('1.1.1.1', '2.2.2.2', TCP, tcp4, { fragOffset8: 185 })))).toEqual({
      kind: 'other',
      what: 'non-first IPv4 fragment',
    });
    expect(decodePacket(packet(101, ipv4('1.1.1.1', '2.2.2.2', TCP, tcp4, { moreFragments: true }))).kind).toBe('tcp');
  });

  it('a snapped packet keeps the claimed payload length', () => {
    const full = ipv4('1.1.1.1', '2.2.2.2', TCP, tcp4);
    const s = segmentOf(decodePacket(packet(101, full.subarray(0, full.length - 5))));
    expect(s.payload.length).toBe(payload.length - 5);
    expect(s.payloadLength).toBe(payload.length);
  });

  it('header problems become "malformed" with a DecodeError', () => {
    const cases = [
      ip4.subarray(0, 10), // cut inside the IPv4 header
      ip4.subarray(0, 30), // cut inside the TCP header
      Uint8Array.from([0x44, ...ip4.subarray(1)]), // IHL 4
      Uint8Array.from([...ip4.subarray(0, 2), 0, 10, ...ip4.subarray(4)]), // total length < header
      Uint8Array.from([...ip4.subarray(0, 32), 0x40, ...ip4.subarray(33)]), // TCP data offset 4
      new Uint8Array(0),
    ];
    for (const c of cases) {
      const d = decodePacket(packet(101, c));
      expect(d.kind).toBe('malformed');
      if (d.kind === 'malformed') expect(d.error).toBeInstanceOf(DecodeError);
    }
  });

  it('UDP and ICMP are classified, not decoded as TCP', () => {
    const u = decodePacket(packet(101, ipv4('1.1.1.1', '2.2.2.2', UDP, udp(3389, 5000, ascii('x')))));
    expect(u.kind).toBe('udp');
    if (u.kind === 'udp') expect([u.datagram.srcPort, u.datagram.dstPort, u.datagram.payload.length]).toEqual([3389, 5000, 1]);
    expect(decodePacket(packet(101, ipv4('1.1.1.1', '2.2.2.2', 1, new Uint8Array(8))))).toEqual({ kind: 'other', what: 'IP protocol 1' });
  });
});

describe('IPv6', () => {
  it('walks hop-by-hop, routing, destination-options, fragment and AH headers', () => {
    const ip = ipv6('2001:db8:0:0:1::1', '2001:db8::2', TCP, tcp4, [
      { type: 0 },
      { type: 43, body: new Uint8Array(14) },
      { type: 44 },
      { type: 51 },
      { type: 60 },
    ]);
    const s = segmentOf(decodePacket(packet(229, ip)));
    expect(s.src).toBe('2001:db8::1:0:0:1');
    expect(s.payload).toEqual(payload);
    expect(s.payloadLength).toBe(payload.length);
  });

  it('ignores non-first fragments and "no next header"', () => {
    const frag = ipv6('::1', '::1', TCP, tcp4, [{ type: 44, body: Uint8Array.of(0x05, 0x00, 0, 0, 0, 1) }]);
    expect(decodePacket(packet(229, frag))).toEqual({ kind: 'other', what: 'non-first IPv6 fragment' });
    expect(decodePacket(packet(229, ipv6('::1', '::1', 59, new Uint8Array(0)))).kind).toBe('other');
  });

  it('an extension header running past the payload is malformed', () => {
    const ip = ipv6('::1', '::1', TCP, new Uint8Array(0), [{ type: 60, body: new Uint8Array(6) }]);
    ip[41] = 200; // claims 1608 bytes
    expect(decodePacket(packet(229, ip)).kind).toBe('malformed');
  });

  it('IPv6 text form matches node:net for 3,000 seeded random addresses', () => {
    const rnd = prng(0x5eed6);
    for (let i = 0; i < 3000; i++) {
      // mostly zero words so that '::' runs, ties and the embedded-IPv4 forms are exercised
      const words = Array.from({ length: 8 }, () => {
        const r = rnd();
        return r < 0.55 ? 0 : r < 0.62 ? 0xffff : r < 0.7 ? 1 : Math.floor(rnd() * 0x10000);
      });
      const bytes = Uint8Array.from(words.flatMap((w) => [w >> 8, w & 0xff]));
      const expanded = words.map((w) => w.toString(16)).join(':'); // uncompressed, unambiguous input for node
      expect(formatIpv6(bytes)).toBe(new net.SocketAddress({ address: expanded, family: 'ipv6' }).address);
    }
  });

  it.each([
    ['0:0:0:0:0:0:0:1', '::1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:ffff:a01:203', '::ffff:10.1.2.3'],
    ['0:0:0:0:0:0:a01:203', '::10.1.2.3'],
    ['0:0:0:0:0:0:0:5', '::5'],
    ['fe80:0:0:0:1:0:0:0', 'fe80::1:0:0:0'],
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
  ])('%s prints as %s', (expanded, want) => {
    expect(formatIpv6(Uint8Array.from(parseIpv6(expanded)))).toBe(want);
  });
});

describe('real captures decode without malformed packets', () => {
  it('nDPI/rdp.pcap (DLT_NULL) gives 20 TCP segments between the manifest addresses', () => {
    const cap = readCapture(loadCapture('public/nDPI/rdp.pcap'));
    const segs = cap.packets.map((p) => segmentOf(decodePacket(p)));
    expect(segs).toHaveLength(20);
    expect(new Set(segs.map((s) => `${s.src}:${s.srcPort}`))).toEqual(new Set(['172.16.2.185:52494', '192.168.2.142:3389']));
  });

  it('zeek/rdpeudp-handshake-success.pcap is UDP over IPv6 ::1', () => {
    const cap = readCapture(loadCapture('public/zeek/rdpeudp-handshake-success.pcap'));
    const ds = cap.packets.map((p) => decodePacket(p));
    expect(ds.every((d) => d.kind === 'udp')).toBe(true);
    const first = ds[0]!;
    if (first.kind !== 'udp') throw new Error('unreachable');
    expect([first.datagram.src, first.datagram.srcPort, first.datagram.dst, first.datagram.dstPort]).toEqual(['::1', 61291, '::1', 3389]);
  });

  it('every packet of synscan.pcap is TCP (ACK-less SYNs and replies)', () => {
    const cap = readCapture(loadCapture('public/nDPI/synscan.pcap'));
    const kinds = new Map<string, number>();
    for (const p of cap.packets) {
      const k = decodePacket(p).kind;
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
    expect(Object.fromEntries(kinds)).toEqual({ tcp: 2011 });
  });

  it('decodePacket never throws on random bytes for any supported link type', () => {
    const rnd = prng(42);
    for (let i = 0; i < 3000; i++) {
      const len = Math.floor(rnd() * 80);
      const data = Uint8Array.from({ length: len }, () => Math.floor(rnd() * 256));
      // bias towards plausible starts so the deeper layers get exercised
      if (len > 0 && rnd() < 0.5) data[0] = rnd() < 0.5 ? 0x45 : 0x60;
      const lt = [0, 1, 101, 108, 113, 228, 229, 276][i % 8]!;
      const d = decodePacket(packet(lt, concat(data)));
      if (d.kind === 'malformed') expect(d.error).toBeInstanceOf(DecodeError);
    }
  });
});
