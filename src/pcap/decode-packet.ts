/**
 * Link layer -> IP -> TCP/UDP decoding of one captured packet.
 *
 * Link types (numbers from the tcpdump.org LINKTYPE_ registry):
 *   0   NULL      4-byte address family in the writer's host byte order (BSD/macOS loopback, utun)
 *   108 LOOP      the same, always big-endian (OpenBSD)
 *   1   EN10MB    Ethernet II, with any number of 802.1Q / 802.1ad VLAN tags (bounded)
 *   101 RAW, 228 IPV4, 229 IPV6   bare IP packet
 *   113 LINUX_SLL  16-byte "cooked" header, protocol (EtherType) at offset 14
 *   276 LINUX_SLL2 20-byte cooked header, protocol (EtherType) at offset 0
 * IPv4 (RFC 791): IHL honoured, Total Length trims Ethernet padding, non-first fragments ignored.
 * IPv6 (RFC 8200): hop-by-hop (0), routing (43), fragment (44), destination options (60) and AH (51)
 * headers walked. TCP (RFC 9293): Data Offset honoured. IP fragments are not reassembled: a first
 * fragment yields the TCP bytes it carries and the rest shows up as a gap in stream reassembly.
 * Checksums are not verified (offloading leaves them wrong in captures taken on the sender).
 *
 * Nothing here throws: a short or inconsistent packet comes back as { kind: 'malformed' } carrying the
 * DecodeError, an unknown link type as { kind: 'unsupported_link' }.
 */
import { DecodeError } from '../protocol/codec/errors.js';
import { ByteReader } from '../protocol/codec/reader.js';
import { flat, formatIpv4, formatIpv6 } from './address.js';
import type { Packet } from './types.js';

export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const VLAN_ETHERTYPES = new Set([0x8100, 0x88a8, 0x9100]);
const MAX_VLAN_TAGS = 4;
const MAX_IPV6_EXT_HEADERS = 8;
/** BSD AF_INET6 differs per OS: 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS). */
const NULL_AF_IPV4 = new Set([2]);
const NULL_AF_IPV6 = new Set([24, 28, 30]);

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

export interface TcpFlags {
  syn: boolean;
  ack: boolean;
  fin: boolean;
  rst: boolean;
  psh: boolean;
}

/** The 32 combinations of the flags read here, shared by every segment (flags are never changed after decoding). */
const FLAGS: readonly TcpFlags[] = Array.from({ length: 32 }, (_, b) =>
  Object.freeze({ fin: (b & 0x01) !== 0, syn: (b & 0x02) !== 0, rst: (b & 0x04) !== 0, psh: (b & 0x08) !== 0, ack: (b & 0x10) !== 0 }),
);

export interface TcpSegment {
  /** Packet.index of the frame that carried the segment. */
  frame: number;
  timestampUs: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** Raw 32-bit sequence / acknowledgement numbers (unsigned). */
  seq: number;
  ack: number;
  flags: TcpFlags;
  /** Captured payload bytes (a view into the capture buffer). */
  payload: Uint8Array;
  /**
   * Payload length according to the IP header. Larger than payload.length when the snapshot length
   * cut the packet; the missing bytes become a gap in reassembly.
   */
  payloadLength: number;
  ipVersion: 4 | 6;
}

export interface UdpDatagram {
  frame: number;
  timestampUs: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

export type DecodedPacket =
  | { kind: 'tcp'; segment: TcpSegment }
  | { kind: 'udp'; datagram: UdpDatagram }
  /** Decoded fine but not TCP/UDP over IP: ARP, ICMP, a non-first IP fragment, ... */
  | { kind: 'other'; what: string }
  | { kind: 'unsupported_link'; linkType: number }
  | { kind: 'malformed'; error: DecodeError };

/** Decodes one captured packet. Never throws. */
export function decodePacket(packet: Packet): DecodedPacket {
  const fast = packet.linkType === LINKTYPE.ETHERNET ? ethernetIpv4Tcp(packet) : undefined;
  if (fast) return fast;
  try {
    return decodeLink(packet);
  } catch (e) {
    if (e instanceof DecodeError) return { kind: 'malformed', error: e };
    throw e;
  }
}

/** The TCP segment of a packet, or undefined for anything else (including malformed packets). */
export function tcpSegmentOf(packet: Packet): TcpSegment | undefined {
  const d = decodePacket(packet);
  return d.kind === 'tcp' ? d.segment : undefined;
}

/**
 * The common case (untagged Ethernet, IPv4 without fragmentation, TCP with its whole header captured) read straight
 * from the bytes, with the same results as the general path; anything else (short, odd or malformed) returns
 * undefined and goes the general way, which also names what is wrong.
 */
function ethernetIpv4Tcp(packet: Packet): DecodedPacket | undefined {
  const d = packet.data;
  if (d.length < 14 + 20 + 20 || d[12] !== 0x08 || d[13] !== 0x00) return undefined;
  const vihl = d[14]!;
  const ihl = (vihl & 0x0f) * 4;
  if (vihl >> 4 !== 4 || ihl < 20 || d[23] !== 6 || ((d[20]! << 8) | d[21]!) & 0x1fff) return undefined;
  const ipLen = d.length - 14;
  let totalLen = (d[16]! << 8) | d[17]!;
  if (totalLen === 0) totalLen = ipLen;
  if (totalLen < ihl || ipLen < ihl) return undefined;
  const t = 14 + ihl;
  const tEnd = 14 + Math.min(ipLen, totalLen);
  if (tEnd - t < 20) return undefined;
  const hl = (d[t + 12]! >> 4) * 4;
  if (hl < 20 || hl > tEnd - t) return undefined;
  const flagByte = d[t + 13]!;
  const payload = d.subarray(t + hl, tEnd);
  return {
    kind: 'tcp',
    segment: {
      frame: packet.index,
      timestampUs: packet.timestampUs,
      src: ipv4Text(d, 26),
      dst: ipv4Text(d, 30),
      srcPort: (d[t]! << 8) | d[t + 1]!,
      dstPort: (d[t + 2]! << 8) | d[t + 3]!,
      seq: ((d[t + 4]! << 24) | (d[t + 5]! << 16) | (d[t + 6]! << 8) | d[t + 7]!) >>> 0,
      ack: ((d[t + 8]! << 24) | (d[t + 9]! << 16) | (d[t + 10]! << 8) | d[t + 11]!) >>> 0,
      flags: FLAGS[flagByte & 0x1f]!,
      payload,
      payloadLength: Math.max(payload.length, totalLen - ihl - hl),
      ipVersion: 4,
    },
  };
}

function decodeLink(packet: Packet): DecodedPacket {
  const data = packet.data;
  switch (packet.linkType) {
    case LINKTYPE.ETHERNET: {
      const r = new ByteReader(data, 'Ethernet');
      r.skip(12); // destination, source MAC
      return decodeEtherType(packet, r, r.u16be());
    }
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      const r = new ByteReader(data, packet.linkType === LINKTYPE.NULL ? 'NULL' : 'LOOP');
      r.ensure(4);
      const be = (data[0]! * 0x1000000 + ((data[1]! << 16) | (data[2]! << 8) | data[3]!)) >>> 0;
      const le = (data[3]! * 0x1000000 + ((data[2]! << 16) | (data[1]! << 8) | data[0]!)) >>> 0;
      const family = packet.linkType === LINKTYPE.LOOP ? be : le < 0x10000 ? le : be;
      r.skip(4);
      if (NULL_AF_IPV4.has(family)) return decodeIpv4(packet, r.rest());
      if (NULL_AF_IPV6.has(family)) return decodeIpv6(packet, r.rest());
      return { kind: 'other', what: `address family ${family}` };
    }
    case LINKTYPE.RAW:
      return decodeIpByVersion(packet, data);
    case LINKTYPE.IPV4:
      return decodeIpv4(packet, data);
    case LINKTYPE.IPV6:
      return decodeIpv6(packet, data);
    case LINKTYPE.LINUX_SLL: {
      const r = new ByteReader(data, 'SLL');
      r.skip(14); // packet type, ARPHRD type, address length, 8 address bytes
      return decodeEtherType(packet, r, r.u16be());
    }
    case LINKTYPE.LINUX_SLL2: {
      const r = new ByteReader(data, 'SLL2');
      const protocol = r.u16be();
      r.skip(18); // reserved, interface index, ARPHRD type, packet type, address length, 8 address bytes
      return decodeEtherType(packet, r, protocol);
    }
    default:
      return { kind: 'unsupported_link', linkType: packet.linkType };
  }
}

function decodeEtherType(packet: Packet, r: ByteReader, etherType: number): DecodedPacket {
  let type = etherType;
  for (let tags = 0; VLAN_ETHERTYPES.has(type); tags++) {
    if (tags >= MAX_VLAN_TAGS) return { kind: 'other', what: 'too many VLAN tags' };
    r.skip(2); // tag control information (priority, DEI, VLAN id)
    type = r.u16be();
  }
  if (type === ETHERTYPE_IPV4) return decodeIpv4(packet, r.rest());
  if (type === ETHERTYPE_IPV6) return decodeIpv6(packet, r.rest());
  return { kind: 'other', what: type < 0x0600 ? '802.3 length field' : `EtherType 0x${type.toString(16).padStart(4, '0')}` };
}

function decodeIpByVersion(packet: Packet, ip: Uint8Array): DecodedPacket {
  const version = (ip[0] ?? 0) >> 4;
  if (version === 4) return decodeIpv4(packet, ip);
  if (version === 6) return decodeIpv6(packet, ip);
  if (ip.length === 0) throw new DecodeError('IP', 0, { kind: 'not_enough_bytes', received: 0, expected: 1 });
  throw new DecodeError('IP', 0, { kind: 'unsupported_value', name: 'version', value: version });
}

/** Recent IPv4 addresses' text, by value: a capture names the same few hosts on every packet. */
const ipv4Names = new Map<number, string>();
const MAX_IPV4_NAMES = 65_536;

function ipv4Text(b: Uint8Array, at: number): string {
  const v = ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  let name = ipv4Names.get(v);
  if (name === undefined) {
    // Stored flat: a concatenated string of 13+ characters would be kept as a rope.
    name = flat(formatIpv4(b, at));
    if (ipv4Names.size >= MAX_IPV4_NAMES) ipv4Names.clear();
    ipv4Names.set(v, name);
  }
  return name;
}

function decodeIpv4(packet: Packet, ip: Uint8Array): DecodedPacket {
  const r = new ByteReader(ip, 'IPv4');
  const vihl = r.u8();
  if (vihl >> 4 !== 4) r.fail('version', `${vihl >> 4}, expected 4`, 0);
  const headerLen = (vihl & 0x0f) * 4;
  if (headerLen < 20) r.fail('IHL', `${headerLen} bytes is below the 20-byte minimum`, 0);
  r.skip(1); // DSCP/ECN
  let totalLen = r.u16be();
  r.skip(2); // identification
  const fragment = r.u16be();
  r.skip(1); // TTL
  const protocol = r.u8();
  r.skip(2); // header checksum (not verified: offloading makes it wrong in many captures)
  const src = ipv4Text(r.bytesN(4), 0);
  const dst = ipv4Text(r.bytesN(4), 0);
  r.skip(headerLen - 20); // options
  // Total Length 0 is what TCP segmentation offload leaves in captures taken on the sending host.
  if (totalLen === 0) totalLen = ip.length;
  if (totalLen < headerLen) r.fail('total_length', `${totalLen} is shorter than the header (${headerLen})`, 2);
  if ((fragment & 0x1fff) !== 0) return { kind: 'other', what: 'non-first IPv4 fragment' };
  const claimed = totalLen - headerLen;
  const payload = ip.subarray(headerLen, Math.min(ip.length, totalLen));
  return decodeTransport(packet, 4, protocol, src, dst, payload, claimed);
}

function decodeIpv6(packet: Packet, ip: Uint8Array): DecodedPacket {
  const r = new ByteReader(ip, 'IPv6');
  const version = (r.peekU8() ?? 0) >> 4;
  r.skip(4); // version, traffic class, flow label
  if (version !== 6) r.fail('version', `${version}, expected 6`, 0);
  const payloadLen = r.u16be();
  let next = r.u8();
  r.skip(1); // hop limit
  const src = formatIpv6(r.bytesN(16));
  const dst = formatIpv6(r.bytesN(16));
  // Payload Length 0: jumbogram or offloaded segment; take what was captured.
  const end = payloadLen === 0 ? ip.length : Math.min(ip.length, 40 + payloadLen);
  let claimedEnd = payloadLen === 0 ? ip.length : 40 + payloadLen;

  for (let n = 0; ; n++) {
    if (next === IPPROTO_TCP || next === IPPROTO_UDP) break;
    if (n >= MAX_IPV6_EXT_HEADERS) return { kind: 'other', what: 'too many IPv6 extension headers' };
    const at = r.offset;
    switch (next) {
      case 0: // hop-by-hop options
      case 43: // routing
      case 60: {
        // destination options
        next = r.u8();
        r.skip((r.u8() + 1) * 8 - 2);
        break;
      }
      case 44: {
        // fragment: next header, reserved, offset(13)/res(2)/M(1), identification(32)
        next = r.u8();
        r.skip(1);
        const offset = r.u16be() >> 3;
        r.skip(4);
        if (offset !== 0) return { kind: 'other', what: 'non-first IPv6 fragment' };
        break;
      }
      case 51: {
        // authentication header: length in 32-bit words minus 2
        next = r.u8();
        r.skip((r.u8() + 2) * 4 - 2);
        break;
      }
      case 59:
        return { kind: 'other', what: 'IPv6 no next header' };
      default:
        return { kind: 'other', what: `IP protocol ${next}` };
    }
    if (r.offset > end) {
      throw new DecodeError('IPv6', at, { kind: 'not_enough_bytes', received: end - at, expected: r.offset - at });
    }
  }
  const start = r.offset;
  if (claimedEnd < start) claimedEnd = start;
  return decodeTransport(packet, 6, next, src, dst, ip.subarray(start, Math.max(start, end)), claimedEnd - start);
}

function decodeTransport(
  packet: Packet,
  ipVersion: 4 | 6,
  protocol: number,
  src: string,
  dst: string,
  data: Uint8Array,
  claimedLen: number,
): DecodedPacket {
  if (protocol === IPPROTO_UDP) {
    const r = new ByteReader(data, 'UDP');
    const srcPort = r.u16be();
    const dstPort = r.u16be();
    r.skip(4); // length, checksum
    return {
      kind: 'udp',
      datagram: { frame: packet.index, timestampUs: packet.timestampUs, src, dst, srcPort, dstPort, payload: r.rest() },
    };
  }
  if (protocol !== IPPROTO_TCP) return { kind: 'other', what: `IP protocol ${protocol}` };

  const r = new ByteReader(data, 'TCP');
  const srcPort = r.u16be();
  const dstPort = r.u16be();
  const seq = r.u32be();
  const ack = r.u32be();
  const offsetByte = r.u8();
  const flagByte = r.u8();
  const headerLen = (offsetByte >> 4) * 4;
  if (headerLen < 20) r.fail('data_offset', `${headerLen} bytes is below the 20-byte minimum`, 12);
  r.skip(headerLen - 14); // window, checksum, urgent pointer, options
  const payload = r.rest();
  return {
    kind: 'tcp',
    segment: {
      frame: packet.index,
      timestampUs: packet.timestampUs,
      src,
      dst,
      srcPort,
      dstPort,
      seq,
      ack,
      flags: FLAGS[flagByte & 0x1f]!,
      payload,
      payloadLength: Math.max(payload.length, claimedLen - headerLen),
      ipVersion,
    },
  };
}
