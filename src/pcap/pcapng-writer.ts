/**
 * pcapng encoding, pure: the blocks a recording of our own connections needs (Section Header with a comment,
 * one Interface Description, Decryption Secrets, Enhanced Packets) and the IPv4/IPv6 + TCP headers that carry
 * the bytes, with correct checksums, so Wireshark and tshark read the file as a real capture. Block layouts
 * follow the pcapng draft (IETF opsawg-pcapng); little-endian throughout.
 */
import { DSB_TLS_KEY_LOG } from './keylog.js';
import { LINKTYPE } from './decode-packet.js';
import { concat, concatAll } from '../protocol/codec/bytes.js';

const BLOCK = { SHB: 0x0a0d0d0a, IDB: 0x00000001, EPB: 0x00000006, DSB: 0x0000000a } as const;
const OPT = { END: 0, COMMENT: 1, SHB_HARDWARE: 2, SHB_OS: 3, SHB_USERAPPL: 4, IF_NAME: 2, IF_TSRESOL: 9 } as const;

const pad4 = (n: number): number => (n + 3) & ~3;

function options(list: { code: number; value: Uint8Array }[]): Uint8Array {
  if (list.length === 0) return new Uint8Array(0);
  const size = list.reduce((n, o) => n + 4 + pad4(o.value.length), 0) + 4;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let at = 0;
  for (const o of list) {
    if (o.value.length > 0xffff) throw new RangeError(`pcapng option ${o.code} longer than 65535 bytes`);
    v.setUint16(at, o.code, true);
    v.setUint16(at + 2, o.value.length, true);
    out.set(o.value, at + 4);
    at += 4 + pad4(o.value.length);
  }
  v.setUint32(at, OPT.END, true);
  return out;
}

function block(type: number, body: Uint8Array): Uint8Array {
  const total = 12 + pad4(body.length);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, total, true);
  out.set(body, 8);
  v.setUint32(total - 4, total, true);
  return out;
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

export interface SectionHeaderOptions {
  comment?: string;
  /** shb_userappl: the application that wrote the file. */
  application?: string;
  /** shb_os. */
  os?: string;
}

/** Section Header Block, section length unknown (-1), version 1.0. */
export function encodeSectionHeader(o: SectionHeaderOptions = {}): Uint8Array {
  const opts = options([
    ...(o.comment !== undefined ? [{ code: OPT.COMMENT, value: utf8(o.comment) }] : []),
    ...(o.os !== undefined ? [{ code: OPT.SHB_OS, value: utf8(o.os) }] : []),
    ...(o.application !== undefined ? [{ code: OPT.SHB_USERAPPL, value: utf8(o.application) }] : []),
  ]);
  const body = new Uint8Array(16 + opts.length);
  const v = new DataView(body.buffer);
  v.setUint32(0, 0x1a2b3c4d, true);
  v.setUint16(4, 1, true);
  v.setUint16(6, 0, true);
  v.setBigInt64(8, -1n, true);
  body.set(opts, 16);
  return block(BLOCK.SHB, body);
}

/** Interface Description Block; timestamps in microseconds (if_tsresol 6). */
export function encodeInterfaceDescription(linkType: number, o: { name?: string; snapLen?: number } = {}): Uint8Array {
  const opts = options([...(o.name !== undefined ? [{ code: OPT.IF_NAME, value: utf8(o.name) }] : []), { code: OPT.IF_TSRESOL, value: Uint8Array.of(6) }]);
  const body = new Uint8Array(8 + opts.length);
  const v = new DataView(body.buffer);
  v.setUint16(0, linkType, true);
  v.setUint16(2, 0, true);
  v.setUint32(4, o.snapLen ?? 0, true);
  body.set(opts, 8);
  return block(BLOCK.IDB, body);
}

/** Decryption Secrets Block holding an SSLKEYLOGFILE text (TLS key log, secrets type 0x544c534b). */
export function encodeDecryptionSecrets(keylog: Uint8Array, secretsType = DSB_TLS_KEY_LOG): Uint8Array {
  const body = new Uint8Array(8 + pad4(keylog.length));
  const v = new DataView(body.buffer);
  v.setUint32(0, secretsType, true);
  v.setUint32(4, keylog.length, true);
  body.set(keylog, 8);
  return block(BLOCK.DSB, body);
}

/** Enhanced Packet Block; `timestampUs` is microseconds since the epoch (the interface's resolution). */
export function encodeEnhancedPacket(interfaceId: number, timestampUs: number, data: Uint8Array, comment?: string): Uint8Array {
  const opts = options(comment !== undefined ? [{ code: OPT.COMMENT, value: utf8(comment) }] : []);
  const body = new Uint8Array(20 + pad4(data.length) + opts.length);
  const v = new DataView(body.buffer);
  const ts = BigInt(Math.max(0, Math.round(timestampUs)));
  v.setUint32(0, interfaceId, true);
  v.setUint32(4, Number(ts >> 32n), true);
  v.setUint32(8, Number(ts & 0xffffffffn), true);
  v.setUint32(12, data.length, true);
  v.setUint32(16, data.length, true);
  body.set(data, 20);
  body.set(opts, 20 + pad4(data.length));
  return block(BLOCK.EPB, body);
}

export const TCP_FLAG = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

export interface TcpPacket {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window?: number;
  /** TCP options (already padded to 4 bytes), e.g. MSS on a SYN. */
  tcpOptions?: Uint8Array;
  payload?: Uint8Array;
  /** IPv4 identification. */
  ipId?: number;
}

/** Parses a dotted IPv4 or a textual IPv6 address (:: compression, embedded IPv4 tail). Throws on anything else. */
export function parseIp(a: string): Uint8Array {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  if (v4) {
    const b = v4.slice(1).map(Number);
    if (b.some((x) => x > 255)) throw new TypeError(`not an IPv4 address: ${a}`);
    return Uint8Array.from(b);
  }
  let s = a.replace(/%.*$/, '');
  const tail = /(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(s);
  if (tail) {
    const b = parseIp(tail[1]!);
    s = `${s.slice(0, -tail[1]!.length)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2 || !/^[0-9a-fA-F:]*$/.test(s)) throw new TypeError(`not an IP address: ${a}`);
  const groups = (h: string): number[] => (h === '' ? [] : h.split(':').map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const fill = halves.length === 2 ? 8 - head.length - rest.length : 0;
  const all = [...head, ...new Array<number>(Math.max(0, fill)).fill(0), ...rest];
  if (all.length !== 8 || all.some((g) => Number.isNaN(g)) || fill < 0) throw new TypeError(`not an IP address: ${a}`);
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** One's-complement sum of 16-bit words (RFC 1071), folded, not yet inverted. */
function sum16(data: Uint8Array, start = 0): number {
  let s = start;
  for (let i = 0; i + 1 < data.length; i += 2) s += (data[i]! << 8) | data[i + 1]!;
  if (data.length % 2 === 1) s += data[data.length - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** An IP packet (IPv4 or IPv6 by the addresses' family) carrying one TCP segment, both checksums computed. */
export function encodeTcpPacket(p: TcpPacket): Uint8Array {
  const src = parseIp(p.src);
  const dst = parseIp(p.dst);
  if (src.length !== dst.length) throw new TypeError(`mixed address families: ${p.src} -> ${p.dst}`);
  const opts = p.tcpOptions ?? new Uint8Array(0);
  if (opts.length % 4 !== 0 || opts.length > 40) throw new RangeError('TCP options must be padded to 4 bytes, at most 40');
  const payload = p.payload ?? new Uint8Array(0);
  const tcpLen = 20 + opts.length + payload.length;
  const tcp = new Uint8Array(tcpLen);
  const t = new DataView(tcp.buffer);
  t.setUint16(0, p.srcPort);
  t.setUint16(2, p.dstPort);
  t.setUint32(4, p.seq >>> 0);
  t.setUint32(8, p.ack >>> 0);
  tcp[12] = ((20 + opts.length) / 4) << 4;
  tcp[13] = p.flags;
  t.setUint16(14, p.window ?? 65535);
  tcp.set(opts, 20);
  tcp.set(payload, 20 + opts.length);
  // Pseudo-header: addresses, protocol 6 and the TCP length (RFC 793; RFC 8200 8.1 for IPv6).
  const pseudo = new Uint8Array(src.length * 2 + (src.length === 4 ? 4 : 8));
  pseudo.set(src, 0);
  pseudo.set(dst, src.length);
  const pv = new DataView(pseudo.buffer);
  if (src.length === 4) {
    pseudo[9] = 6;
    pv.setUint16(10, tcpLen);
  } else {
    pv.setUint32(32, tcpLen);
    pseudo[39] = 6;
  }
  t.setUint16(16, ~sum16(tcp, sum16(pseudo)) & 0xffff);
  if (src.length === 4) {
    if (20 + tcpLen > 0xffff) throw new RangeError('IPv4 packet longer than 65535 bytes');
    const ip = new Uint8Array(20);
    const v = new DataView(ip.buffer);
    ip[0] = 0x45;
    v.setUint16(2, 20 + tcpLen);
    v.setUint16(4, (p.ipId ?? 0) & 0xffff);
    v.setUint16(6, 0x4000); // don't fragment
    ip[8] = 64;
    ip[9] = 6;
    ip.set(src, 12);
    ip.set(dst, 16);
    v.setUint16(10, ~sum16(ip) & 0xffff);
    return concat(ip, tcp);
  }
  if (tcpLen > 0xffff) throw new RangeError('IPv6 payload longer than 65535 bytes');
  const ip = new Uint8Array(40);
  const v = new DataView(ip.buffer);
  v.setUint32(0, 0x60000000);
  v.setUint16(4, tcpLen);
  ip[6] = 6;
  ip[7] = 64;
  ip.set(src, 8);
  ip.set(dst, 24);
  return concat(ip, tcp);
}

/** The link type the writer uses: raw IP, version read from each packet's first nibble. */
export const RECORD_LINKTYPE = LINKTYPE.RAW;

export interface PcapngPacket {
  timestampUs: number;
  data: Uint8Array;
  comment?: string;
}

/** A whole single-interface file: header (with comment), interface, the secrets (before the packets they decrypt), packets. */
export function encodePcapng(o: { section: SectionHeaderOptions; interfaceName?: string; keylog?: Uint8Array; packets: PcapngPacket[] }): Uint8Array {
  const parts = [encodeSectionHeader(o.section), encodeInterfaceDescription(RECORD_LINKTYPE, { ...(o.interfaceName !== undefined ? { name: o.interfaceName } : {}) })];
  if (o.keylog && o.keylog.length > 0) parts.push(encodeDecryptionSecrets(o.keylog));
  for (const p of o.packets) parts.push(encodeEnhancedPacket(0, p.timestampUs, p.data, p.comment));
  return concatAll(parts);
}
