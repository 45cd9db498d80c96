import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/protocol/codec/errors.js';
import { readCapture } from '../../src/pcap/index.js';
import { Bytes, PcapngBuilder, buildPcap, concat, hexBytes } from './build.js';
import { loadCapture } from './files.js';

const iso = (us: number): string => new Date(Math.floor(us / 1000)).toISOString();
const usPart = (us: number): number => Math.round(us % 1e6);

function decodeErrorOf(fn: () => unknown): DecodeError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw e;
  }
  throw new Error('expected a DecodeError, got a value');
}

describe('readCapture on the shared public captures (facts from MANIFEST.md)', () => {
  const cases: Array<[string, 'pcap' | 'pcapng', number, number, string, number, number]> = [
    // file, format, packets, link type, first packet (UTC, ms), its microseconds, span in µs
    ['public/zeek/rdp-proprietary-encryption.pcap', 'pcap', 542, 1, '2007-10-26T03:36:34.940Z', 940913, 24_747_660],
    ['public/zeek/rdp-to-ssl.pcap', 'pcap', 658, 1, '2011-02-12T22:50:41.283Z', 283662, 41_395_904],
    ['public/zeek/rdp-x509.pcap', 'pcap', 15, 1, '2015-02-12T15:39:51.055Z', 55977, 14_171_968],
    ['public/zeek/rdp-unknown-keyboard.pcap', 'pcap', 11, 1, '2015-02-12T15:39:51.055Z', 55977, 11_046_634],
    ['public/zeek/rdp-invalid-length.pcap', 'pcap', 7, 1, '2023-03-16T14:34:31.599Z', 599561, 31_538],
    ['public/zeek/modbus-and-non-modbus-p502.pcap', 'pcap', 86, 1, '2004-08-26T12:12:06.102Z', 102435, 595_325_631_144_761],
    ['public/zeek/rdpeudp-handshake-fail.pcap', 'pcap', 3, 1, '2020-01-30T21:33:48.819Z', 819704, 6_226_782],
    ['public/zeek/rdpeudp-handshake-success.pcap', 'pcap', 10, 1, '2019-07-30T21:40:33.059Z', 59088, 122_551],
    ['public/nDPI/rdp.pcap', 'pcap', 20, 0, '2019-05-30T09:11:05.138Z', 138576, 371_090],
    ['public/nDPI/rdp2.pcap', 'pcapng', 39, 1, '2021-06-03T12:55:48.504Z', 504706, 22_791_458_950_037],
    ['public/nDPI/rdp3.pcap', 'pcap', 30, 1, '2006-01-24T16:16:54.226Z', 226584, 670_722],
    ['public/nDPI/synscan.pcap', 'pcap', 2011, 1, '2010-07-04T20:24:16.274Z', 274870, 23_085_343],
    ['public/arkime/socks5-rdp.pcap', 'pcap', 10, 1, '2013-12-10T02:57:35.859Z', 859306, 1_241_737],
  ];
  it.each(cases)('%s: %s, %i packets, link type %i', (file, format, count, linkType, firstIso, firstUs, spanUs) => {
    const cap = readCapture(loadCapture(file));
    expect(cap.format).toBe(format);
    expect(cap.packets).toHaveLength(count);
    expect(cap.truncated).toBe(false);
    expect(cap.littleEndian).toBe(true);
    expect(cap.linkTypes).toEqual([linkType]);
    expect(cap.packets.map((p) => p.index)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    const first = cap.packets[0]!;
    expect(iso(first.timestampUs)).toBe(firstIso);
    expect(usPart(first.timestampUs)).toBe(firstUs);
    const times = cap.packets.map((p) => p.timestampUs);
    expect(Math.max(...times) - Math.min(...times)).toBe(spanUs);
    for (const p of cap.packets) {
      expect(p.linkType).toBe(linkType);
      expect(p.data.length).toBeLessThanOrEqual(p.originalLength);
    }
  });

  it('arkime/socks5-rdp.pcap was written with snaplen 1600 and no packet exceeds it', () => {
    const bytes = loadCapture('public/arkime/socks5-rdp.pcap');
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(16, true)).toBe(1600);
    expect(Math.max(...readCapture(bytes).packets.map((p) => p.data.length))).toBeLessThanOrEqual(1600);
  });
});

describe('classic pcap, hand-built', () => {
  const frame = (n: number) => Uint8Array.from({ length: 20 + n }, (_, i) => (i * 7 + n) & 0xff);

  it('reads a big-endian microsecond file', () => {
    const file = buildPcap({ littleEndian: false, linkType: 101 }, [
      { sec: 1_700_000_000, frac: 123_456, data: frame(1), origLen: 1500 },
      { sec: 1_700_000_001, frac: 999_999, data: frame(2) },
    ]);
    expect(Array.from(file.subarray(0, 4))).toEqual([0xa1, 0xb2, 0xc3, 0xd4]);
    const cap = readCapture(file);
    expect(cap).toMatchObject({ format: 'pcap', littleEndian: false, truncated: false, linkTypes: [101] });
    expect(cap.packets.map((p) => p.timestampUs)).toEqual([1_700_000_000_123_456, 1_700_000_001_999_999]);
    expect(cap.packets[0]!.data).toEqual(frame(1));
    expect(cap.packets[0]!.originalLength).toBe(1500);
    expect(cap.packets[1]!.originalLength).toBe(22);
  });

  it.each([true, false])('reads a nanosecond file (little-endian: %s)', (littleEndian) => {
    const file = buildPcap({ littleEndian, nanoseconds: true, linkType: 1 }, [
      { sec: 10, frac: 123_456_789, data: frame(3) },
      { sec: 11, frac: 999_999_999, data: frame(4) },
    ]);
    const cap = readCapture(file);
    expect(cap.littleEndian).toBe(littleEndian);
    expect(cap.packets[0]!.timestampUs).toBeCloseTo(10_123_456.789, 6);
    expect(cap.packets[1]!.timestampUs).toBeCloseTo(11_999_999.999, 6);
  });

  it('keeps only the low 16 bits of the LinkType field (upper bits are FCS information)', () => {
    const file = buildPcap({ linkType: 0x1000_0001 }, [{ sec: 1, frac: 0, data: frame(0) }]);
    expect(readCapture(file).packets[0]!.linkType).toBe(1);
  });

  it('a header-only file has no packets and is not truncated', () => {
    const cap = readCapture(buildPcap({ linkType: 1 }, []));
    expect(cap.packets).toEqual([]);
    expect(cap.truncated).toBe(false);
  });

  it('stops at a record cut mid-data and reports truncation instead of throwing', () => {
    const full = buildPcap({ linkType: 1 }, [
      { sec: 1, frac: 0, data: frame(10) },
      { sec: 2, frac: 0, data: frame(20) },
      { sec: 3, frac: 0, data: frame(30) },
    ]);
    const secondRecordStart = 24 + 16 + 30;
    const thirdRecordStart = secondRecordStart + 16 + 40;
    for (const cut of [full.length - 1, thirdRecordStart + 16, thirdRecordStart + 5]) {
      const cap = readCapture(full.subarray(0, cut));
      expect(cap.packets).toHaveLength(2);
      expect(cap.truncated).toBe(true);
      expect(cap.truncation).toEqual({ reason: 'cut_record', offset: thirdRecordStart });
    }
    expect(readCapture(full.subarray(0, thirdRecordStart)).truncated).toBe(false);
  });

  it('rejects an absurd record length with a DecodeError', () => {
    const file = buildPcap({ linkType: 1 }, [
      { sec: 1, frac: 0, data: frame(1) },
      { sec: 2, frac: 0, data: frame(1), inclLen: 0x7fff_ffff },
    ]);
    const err = decodeErrorOf(() => readCapture(file));
    expect(err.path[0]).toBe('capture');
    expect(err.detail).toMatchObject({ kind: 'invalid_field', field: 'incl_len' });
    expect(err.offset).toBe(24 + 16 + 21 + 8);
  });

  it('accepts records up to a large snaplen but not beyond 16 MiB', () => {
    const big = new Uint8Array(300_000);
    expect(readCapture(buildPcap({ linkType: 1, snaplen: 400_000 }, [{ sec: 0, frac: 0, data: big }])).packets).toHaveLength(1);
    expect(() => readCapture(buildPcap({ linkType: 1, snaplen: 65535 }, [{ sec: 0, frac: 0, data: big }]))).toThrow(DecodeError);
  });

  it('rejects an unknown major version', () => {
    const file = buildPcap({ linkType: 1 }, []);
    file[4] = 3;
    expect(decodeErrorOf(() => readCapture(file)).detail).toMatchObject({ kind: 'unsupported_value', name: 'version_major' });
  });

  it('stops at the packet limit', () => {
    const recs = Array.from({ length: 10 }, (_, i) => ({ sec: i, frac: 0, data: frame(i) }));
    const cap = readCapture(buildPcap({ linkType: 1 }, recs), { maxPackets: 4 });
    expect(cap.packets).toHaveLength(4);
    expect(cap.truncated).toBe(true);
    expect(cap.truncation?.reason).toBe('packet_limit');
  });
});

describe('pcapng, hand-built', () => {
  const pkt = (tag: number, n = 30) => Uint8Array.from({ length: n }, (_, i) => (tag + i) & 0xff);

  it('reads two interfaces with different link types and if_tsresol, skipping NRB/ISB/DSB/custom blocks', () => {
    const file = new PcapngBuilder(true)
      .shb({ sectionLength: -1n })
      .idb(1, { snaplen: 65535 }) // default resolution: microseconds
      .other(4, new Bytes(true).u16(1).u16(8).raw([10, 0, 0, 1]).raw([104, 111, 115, 116]).u16(0).u16(0).done()) // NRB
      .idb(101, { tsresol: 9 }) // nanoseconds
      .epb(0, 1_600_000_000_000_001n, pkt(1))
      .other(0x0a, new Bytes(true).u32(0x544c534b).u32(4).raw([1, 2, 3, 4]).done()) // DSB (TLS key log)
      .epb(1, 1_600_000_000_000_000_500n, pkt(2, 33))
      .other(5, new Bytes(true).u32(0).hiLo(0n).done()) // ISB
      .other(0x0bad, new Bytes(true).u32(32473).raw([9, 9, 9]).done()) // custom block
      .epb(0, 1_600_000_000_000_002n, pkt(3), 1514)
      .done();
    const cap = readCapture(file);
    expect(cap).toMatchObject({ format: 'pcapng', truncated: false, littleEndian: true, linkTypes: [1, 101] });
    expect(cap.packets.map((p) => [p.index, p.interfaceId, p.linkType, p.data.length, p.originalLength])).toEqual([
      [1, 0, 1, 30, 30],
      [2, 1, 101, 33, 33],
      [3, 0, 1, 30, 1514],
    ]);
    expect(cap.packets[0]!.timestampUs).toBe(1_600_000_000_000_001);
    expect(cap.packets[1]!.timestampUs).toBe(1_600_000_000_000_000.5);
    expect(cap.packets[1]!.data).toEqual(pkt(2, 33));
  });

  it('honours a power-of-two if_tsresol and if_tsoffset', () => {
    const file = new PcapngBuilder(true)
      .shb()
      .idb(1, { tsresol: 0x80 | 10, tsoffset: 1_000n }) // 1/1024 s units, +1000 s
      .epb(0, 1024n * 5n + 512n, pkt(1))
      .done();
    expect(readCapture(file).packets[0]!.timestampUs).toBe(1_005_500_000);
  });

  it('rejects an if_tsresol finer than 10^-18 s', () => {
    const file = new PcapngBuilder(true).shb().idb(1, { tsresol: 40 }).done();
    expect(decodeErrorOf(() => readCapture(file)).detail).toMatchObject({ kind: 'unsupported_value', name: 'if_tsresol' });
  });

  it('reads a big-endian section followed by a little-endian one; interfaces restart per section', () => {
    const file = new PcapngBuilder(false)
      .shb()
      .idb(113)
      .epb(0, 7_000_000n, pkt(1))
      .shb({ littleEndian: true })
      .idb(276)
      .idb(1)
      .epb(1, 8_000_000n, pkt(2))
      .epb(0, 9_000_000n, pkt(3))
      .done();
    expect(Array.from(file.subarray(8, 12))).toEqual([0x1a, 0x2b, 0x3c, 0x4d]);
    const cap = readCapture(file);
    expect(cap.littleEndian).toBe(false);
    expect(cap.linkTypes).toEqual([113, 276, 1]);
    expect(cap.packets.map((p) => [p.index, p.linkType, p.timestampUs])).toEqual([
      [1, 113, 7_000_000],
      [2, 1, 8_000_000],
      [3, 276, 9_000_000],
    ]);
  });

  it('reads Simple Packet Blocks (snaplen clamp, previous timestamp) and obsolete Packet Blocks', () => {
    const file = new PcapngBuilder(true)
      .shb()
      .idb(1, { snaplen: 24 })
      .opb(0, 42_000_000n, pkt(1, 20))
      .spb(pkt(2, 40))
      .spb(pkt(3, 10), 10)
      .done();
    const cap = readCapture(file);
    expect(cap.packets.map((p) => [p.data.length, p.originalLength, p.timestampUs])).toEqual([
      [20, 20, 42_000_000],
      [24, 40, 42_000_000],
      [10, 10, 42_000_000],
    ]);
    expect(cap.packets[1]!.data).toEqual(pkt(2, 24));
  });

  it('stops at a truncated final block and reports it', () => {
    const file = new PcapngBuilder(true).shb().idb(1).epb(0, 1n, pkt(1)).epb(0, 2n, pkt(2)).done();
    const lastStart = new PcapngBuilder(true).shb().idb(1).epb(0, 1n, pkt(1)).done().length;
    expect(readCapture(file.subarray(0, lastStart)).truncated).toBe(false);
    for (const cut of [file.length - 1, lastStart + 40, lastStart + 8]) {
      const cap = readCapture(file.subarray(0, cut));
      expect(cap.packets).toHaveLength(1);
      expect(cap.truncation).toEqual({ reason: 'cut_record', offset: lastStart });
    }
  });

  it('rejects inconsistent blocks with DecodeErrors', () => {
    const good = new PcapngBuilder(true).shb().idb(1).epb(0, 1n, pkt(1)).done();
    const epbStart = new PcapngBuilder(true).shb().idb(1).done().length;
    const withLength = (len: number) => {
      const f = good.slice();
      new DataView(f.buffer).setUint32(epbStart + 4, len, true);
      return f;
    };
    expect(decodeErrorOf(() => readCapture(withLength(8))).detail).toMatchObject({ field: 'block_total_length' });
    expect(decodeErrorOf(() => readCapture(withLength(74))).detail).toMatchObject({ field: 'block_total_length' });
    expect(decodeErrorOf(() => readCapture(withLength(0x4000_0000))).detail).toMatchObject({ field: 'block_total_length' });
    // trailer mismatch
    const f = good.slice();
    f[f.length - 4] = f[f.length - 4]! ^ 4;
    expect(decodeErrorOf(() => readCapture(f)).detail).toMatchObject({ field: 'block_total_length' });
    // packet on an interface that was never described
    const orphan = new PcapngBuilder(true).shb().idb(1).epb(3, 1n, pkt(1)).done();
    const err = decodeErrorOf(() => readCapture(orphan));
    expect(err.detail).toMatchObject({ field: 'interface_id' });
    expect(err.path).toEqual(['capture', 'pcapng', 'EPB']);
    // captured length larger than the block
    const caplen = good.slice();
    new DataView(caplen.buffer).setUint32(epbStart + 20, 200, true);
    expect(decodeErrorOf(() => readCapture(caplen)).detail.kind).toBe('not_enough_bytes');
    // bad byte-order magic
    const bom = good.slice();
    bom[8] = 0;
    expect(decodeErrorOf(() => readCapture(bom)).detail).toMatchObject({ field: 'byte_order_magic' });
  });
});

describe('not a capture', () => {
  it.each([
    ['empty', new Uint8Array(0)],
    ['3 bytes', Uint8Array.of(0xd4, 0xc3, 0xb2)],
    ['text', new TextEncoder().encode('hello, this is not a capture file')],
    ['gzip', hexBytes('1f8b0800000000000003')],
    ['pcap header cut', buildPcap({ linkType: 1 }, []).subarray(0, 20)],
    ['pcapng SHB only 12 bytes', hexBytes('0a0d0d0a 1c000000 4d3c2b1a')],
  ])('%s => DecodeError from the capture layer', (_name, bytes) => {
    const err = decodeErrorOf(() => readCapture(bytes));
    expect(err.path[0]).toBe('capture');
  });

  it('bad magic names the pdu "capture"', () => {
    const err = decodeErrorOf(() => readCapture(concat(hexBytes('deadbeef'), new Uint8Array(40))));
    expect(err.pdu).toBe('capture');
    expect(err.path).toEqual(['capture']);
    expect(err.detail.kind).toBe('unexpected_type');
  });
});
