/**
 * Tiny capture-file and packet builders for hand-made test fixtures. Written independently of
 * src/pcap (DataView-based, no shared code) so that reader bugs are not mirrored by the writer.
 * Formats: pcap-savefile(5), draft-ietf-opsawg-pcapng, Ethernet/802.1Q, Linux SLL/SLL2, BSD NULL,
 * IPv4 (RFC 791), IPv6 (RFC 8200), TCP (RFC 9293), UDP (RFC 768).
 */
import { concat, concatAll } from '../../src/protocol/codec/bytes.js';

/** Byte concatenation for the builders here and their callers: the project's own. */
export { concat };

/** Growable byte buffer with a fixed byte order. */
export class Bytes {
  private parts: number[] = [];
  constructor(readonly littleEndian = true) {}
  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    const dv = new DataView(new ArrayBuffer(2));
    dv.setUint16(0, v, this.littleEndian);
    return this.raw(new Uint8Array(dv.buffer));
  }
  u32(v: number): this {
    const dv = new DataView(new ArrayBuffer(4));
    dv.setUint32(0, v >>> 0, this.littleEndian);
    return this.raw(new Uint8Array(dv.buffer));
  }
  i64(v: bigint): this {
    const dv = new DataView(new ArrayBuffer(8));
    dv.setBigInt64(0, v, this.littleEndian);
    return this.raw(new Uint8Array(dv.buffer));
  }
  /** 64-bit value written as high 32 bits then low 32 bits (pcapng timestamps). */
  hiLo(v: bigint): this {
    return this.u32(Number((v >> 32n) & 0xffffffffn)).u32(Number(v & 0xffffffffn));
  }
  raw(b: Uint8Array | readonly number[]): this {
    for (const x of b) this.parts.push(x & 0xff);
    return this;
  }
  pad4(): this {
    while (this.parts.length % 4 !== 0) this.parts.push(0);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
}

export function hexBytes(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  return Uint8Array.from({ length: clean.length / 2 }, (_, i) => parseInt(clean.slice(2 * i, 2 * i + 2), 16));
}

// ---------------------------------------------------------------- classic pcap

export interface PcapRecord {
  sec: number;
  /** Microseconds, or nanoseconds for a nanosecond file. */
  frac: number;
  data: Uint8Array;
  origLen?: number;
  /** Override incl_len (to build broken files). */
  inclLen?: number;
}

export function buildPcap(
  opts: { littleEndian?: boolean; nanoseconds?: boolean; linkType: number; snaplen?: number },
  records: PcapRecord[],
): Uint8Array {
  const b = new Bytes(opts.littleEndian ?? true);
  b.u32(opts.nanoseconds ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(opts.snaplen ?? 65535).u32(opts.linkType);
  for (const r of records) {
    b.u32(r.sec).u32(r.frac).u32(r.inclLen ?? r.data.length).u32(r.origLen ?? r.data.length).raw(r.data);
  }
  return b.done();
}

// ---------------------------------------------------------------- pcapng

export class PcapngBuilder {
  private out: Uint8Array[] = [];
  private le: boolean;
  constructor(littleEndian = true) {
    this.le = littleEndian;
  }

  private block(type: number, body: Uint8Array): this {
    const padded = new Bytes(this.le).raw(body).pad4().done();
    const total = padded.length + 12;
    this.out.push(new Bytes(this.le).u32(type).u32(total).raw(padded).u32(total).done());
    return this;
  }

  private options(opts: Array<{ code: number; value: Uint8Array }>): Uint8Array {
    if (opts.length === 0) return new Uint8Array(0);
    const b = new Bytes(this.le);
    for (const o of opts) b.u16(o.code).u16(o.value.length).raw(o.value).pad4();
    return b.u16(0).u16(0).done();
  }

  /** Starts a section; `littleEndian` switches the byte order of this and the following blocks. */
  shb(opts: { littleEndian?: boolean; sectionLength?: bigint } = {}): this {
    if (opts.littleEndian !== undefined) this.le = opts.littleEndian;
    const body = new Bytes(this.le)
      .u32(0x1a2b3c4d)
      .u16(1)
      .u16(0)
      .i64(opts.sectionLength ?? -1n)
      .raw(this.options([{ code: 4, value: ascii('rdp-probe test builder') }]))
      .done();
    return this.block(0x0a0d0d0a, body);
  }

  idb(linkType: number, opts: { snaplen?: number; tsresol?: number; tsoffset?: bigint } = {}): this {
    const o: Array<{ code: number; value: Uint8Array }> = [{ code: 2, value: ascii('eth0') }];
    if (opts.tsresol !== undefined) o.push({ code: 9, value: Uint8Array.of(opts.tsresol) });
    if (opts.tsoffset !== undefined) o.push({ code: 14, value: new Bytes(this.le).i64(opts.tsoffset).done() });
    const body = new Bytes(this.le).u16(linkType).u16(0).u32(opts.snaplen ?? 0).raw(this.options(o)).done();
    return this.block(1, body);
  }

  epb(interfaceId: number, ticks: bigint, data: Uint8Array, origLen = data.length): this {
    const body = new Bytes(this.le)
      .u32(interfaceId)
      .hiLo(ticks)
      .u32(data.length)
      .u32(origLen)
      .raw(data)
      .pad4()
      .raw(this.options([{ code: 1, value: ascii('comment') }]))
      .done();
    return this.block(6, body);
  }

  spb(data: Uint8Array, origLen = data.length): this {
    return this.block(3, new Bytes(this.le).u32(origLen).raw(data).done());
  }

  /** Obsolete Packet Block (type 2). */
  opb(interfaceId: number, ticks: bigint, data: Uint8Array): this {
    const body = new Bytes(this.le).u16(interfaceId).u16(0).hiLo(ticks).u32(data.length).u32(data.length).raw(data).done();
    return this.block(2, body);
  }

  /** Any other block (NRB 4, ISB 5, DSB 0x0a, custom 0xbad ...) with an opaque body. */
  other(type: number, body: Uint8Array): this {
    return this.block(type, body);
  }

  done(): Uint8Array {
    return concatAll(this.out);
  }
}

// ---------------------------------------------------------------- packets

export function parseIpv4(a: string): number[] {
  return a.split('.').map(Number);
}

export function parseIpv6(a: string): number[] {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const hs = head ? head.split(':') : [];
  const ts = tail ? tail.split(':') : [];
  const groups = tail === undefined ? hs : [...hs, ...Array<string>(8 - hs.length - ts.length).fill('0'), ...ts];
  return groups.flatMap((g) => {
    const v = parseInt(g, 16);
    return [v >> 8, v & 0xff];
  });
}

export type FlagString = string; // letters of S A F R P

export function tcp(o: {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack?: number;
  flags: FlagString;
  payload?: Uint8Array;
  /** Extra option bytes (padded to 4). */
  options?: Uint8Array;
}): Uint8Array {
  const opts = new Bytes(false).raw(o.options ?? []).pad4().done();
  let flags = 0;
  for (const c of o.flags) flags |= { F: 1, S: 2, R: 4, P: 8, A: 16 }[c] ?? 0;
  return new Bytes(false)
    .u16(o.srcPort)
    .u16(o.dstPort)
    .u32(o.seq)
    .u32(o.ack ?? 0)
    .u8(((20 + opts.length) / 4) << 4)
    .u8(flags)
    .u16(65535)
    .u16(0)
    .u16(0)
    .raw(opts)
    .raw(o.payload ?? [])
    .done();
}

export function udp(srcPort: number, dstPort: number, payload: Uint8Array): Uint8Array {
  return new Bytes(false).u16(srcPort).u16(dstPort).u16(8 + payload.length).u16(0).raw(payload).done();
}

export function ipv4(
  src: string,
  dst: string,
  protocol: number,
  payload: Uint8Array,
  o: { options?: Uint8Array; fragOffset8?: number; moreFragments?: boolean; totalLength?: number } = {},
): Uint8Array {
  const opts = new Bytes(false).raw(o.options ?? []).pad4().done();
  const headerLen = 20 + opts.length;
  const frag = (o.moreFragments ? 0x2000 : 0) | (o.fragOffset8 ?? 0);
  return new Bytes(false)
    .u8(0x40 | (headerLen / 4))
    .u8(0)
    .u16(o.totalLength ?? headerLen + payload.length)
    .u16(0x1234)
    .u16(frag)
    .u8(64)
    .u8(protocol)
    .u16(0)
    .raw(parseIpv4(src))
    .raw(parseIpv4(dst))
    .raw(opts)
    .raw(payload)
    .done();
}

/** Extension headers are given as [type, body]; bodies are padded to the header's unit. */
export function ipv6(
  src: string,
  dst: string,
  protocol: number,
  payload: Uint8Array,
  ext: Array<{ type: number; body?: Uint8Array }> = [],
): Uint8Array {
  const chain: Uint8Array[] = [];
  for (let i = 0; i < ext.length; i++) {
    const e = ext[i]!;
    const next = i + 1 < ext.length ? ext[i + 1]!.type : protocol;
    const b = new Bytes(false).u8(next);
    if (e.type === 44) {
      b.u8(0).raw(e.body ?? [0, 0, 0, 0, 0, 0]); // offset/flags + identification (6 bytes)
    } else if (e.type === 51) {
      const body = e.body ?? new Uint8Array(10);
      b.u8((2 + body.length) / 4 - 2).raw(body);
    } else {
      const body = e.body ?? new Uint8Array(6);
      b.u8((2 + body.length) / 8 - 1).raw(body);
    }
    chain.push(b.done());
  }
  const rest = concat(...chain, payload);
  return new Bytes(false)
    .u32(0x60000000)
    .u16(rest.length)
    .u8(ext.length > 0 ? ext[0]!.type : protocol)
    .u8(64)
    .raw(parseIpv6(src))
    .raw(parseIpv6(dst))
    .raw(rest)
    .done();
}

export function ethernet(etherType: number, payload: Uint8Array, vlanTags: Array<{ tpid: number; vid: number }> = []): Uint8Array {
  const b = new Bytes(false).raw([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
  for (const t of vlanTags) b.u16(t.tpid).u16(t.vid);
  b.u16(etherType).raw(payload);
  while (b.length < 60) b.u8(0); // minimum Ethernet frame: padding the IP layer must ignore
  return b.done();
}

export function sll(protocol: number, payload: Uint8Array): Uint8Array {
  return new Bytes(false).u16(0).u16(1).u16(6).raw([2, 0, 0, 0, 0, 1, 0, 0]).u16(protocol).raw(payload).done();
}

export function sll2(protocol: number, payload: Uint8Array): Uint8Array {
  return new Bytes(false).u16(protocol).u16(0).u32(3).u16(1).u8(4).u8(6).raw([2, 0, 0, 0, 0, 1, 0, 0]).raw(payload).done();
}

export function nullLink(family: number, littleEndian: boolean, payload: Uint8Array): Uint8Array {
  return new Bytes(littleEndian).u32(family).raw(payload).done();
}

export const ETH_IPV4 = 0x0800;
export const ETH_IPV6 = 0x86dd;
export const TCP = 6;
export const UDP = 17;

/** Seeded PRNG (mulberry32) for reproducible random tests. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
