/**
 * Seeded mutation testing: damaged capture files must produce a DecodeError or a result, never any
 * other exception, and a result must still satisfy the reassembly invariants.
 */
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/protocol/codec/errors.js';
import { flowsFromCapture, type FlowsResult } from '../../src/pcap/index.js';
import { ETH_IPV4, ETH_IPV6, PcapngBuilder, TCP, ascii, ethernet, ipv4, ipv6, prng, sll, tcp } from './build.js';
import { loadCapture } from './files.js';

type Rng = () => number;
const int = (rnd: Rng, n: number): number => Math.floor(rnd() * n);

const EXTREMES = [0, 1, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 12, 16, 28];

function mutate(src: Uint8Array, rnd: Rng): Uint8Array {
  let b = src.slice();
  const rounds = 1 + int(rnd, 3);
  for (let r = 0; r < rounds; r++) {
    const op = int(rnd, 6);
    if (b.length === 0) break;
    if (op === 0) {
      // random bytes
      for (let i = 0, n = 1 + int(rnd, 8); i < n; i++) b[int(rnd, b.length)] = int(rnd, 256);
    } else if (op === 1) {
      // truncate
      b = b.slice(0, int(rnd, b.length + 1));
    } else if (op === 2) {
      // a 32-bit field (lengths, magics, sequence numbers) set to an extreme, either byte order
      const at = int(rnd, Math.max(1, b.length - 3)) & ~(rnd() < 0.7 ? 3 : 0);
      const v = EXTREMES[int(rnd, EXTREMES.length)]!;
      const dv = new DataView(b.buffer, b.byteOffset, b.length);
      if (at + 4 <= b.length) dv.setUint32(at, v >>> 0, rnd() < 0.5);
    } else if (op === 3) {
      // delete a range
      const at = int(rnd, b.length);
      const n = 1 + int(rnd, 64);
      b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + n)]);
    } else if (op === 4) {
      // duplicate a range (repeated records/blocks, shifted framing)
      const at = int(rnd, b.length);
      const n = 1 + int(rnd, 200);
      b = Uint8Array.from([...b.subarray(0, at + n), ...b.subarray(at, at + n), ...b.subarray(at + n)]);
    } else {
      // single bit flip
      const at = int(rnd, b.length);
      b[at] = b[at]! ^ (1 << int(rnd, 8));
    }
  }
  return b;
}

function checkInvariants(r: FlowsResult): void {
  for (const f of r.flows) {
    for (const [bytes, chunks] of [
      [f.clientBytes, f.clientChunks],
      [f.serverBytes, f.serverChunks],
    ] as const) {
      let at = 0;
      for (const c of chunks) {
        expect(c.offset).toBe(at);
        expect(c.length).toBeGreaterThan(0);
        at += c.length;
      }
      expect(at).toBe(bytes.length);
    }
    expect(f.firstFrame).toBeLessThanOrEqual(f.lastFrame);
    expect(f.lastFrame).toBeLessThanOrEqual(r.packets);
  }
}

function handBuiltPcapng(): Uint8Array {
  const t = (seq: number, flags: string, data = '') => tcp({ srcPort: 50123, dstPort: 3389, seq, flags, payload: ascii(data) });
  return new PcapngBuilder(true)
    .shb()
    .idb(1, { tsresol: 9 })
    .idb(113, { snaplen: 128 })
    .epb(0, 1n, ethernet(ETH_IPV4, ipv4('10.1.1.1', '10.1.1.2', TCP, t(0xfffffffe, 'S')), [{ tpid: 0x8100, vid: 7 }]))
    .epb(1, 2n, sll(ETH_IPV6, ipv6('fe80::1', 'fe80::2', TCP, t(5, 'PA', 'hello'), [{ type: 0 }, { type: 60 }])))
    .other(5, new Uint8Array(8))
    .spb(ethernet(ETH_IPV4, ipv4('10.1.1.1', '10.1.1.2', TCP, t(0xffffffff, 'PA', 'wrap-around data'))))
    .shb({ littleEndian: false })
    .idb(101)
    .epb(0, 3n, ipv4('10.1.1.1', '10.1.1.2', TCP, t(15, 'FA')))
    .done();
}

describe('seeded mutations only ever raise DecodeError', () => {
  const inputs: Array<[string, () => Uint8Array, number]> = [
    ['zeek/rdp-x509.pcap (pcap, Ethernet)', () => loadCapture('public/zeek/rdp-x509.pcap'), 700],
    ['nDPI/rdp.pcap (pcap, DLT_NULL)', () => loadCapture('public/nDPI/rdp.pcap'), 500],
    ['nDPI/rdp2.pcap (pcapng)', () => loadCapture('public/nDPI/rdp2.pcap'), 500],
    ['loopback nla_ok (pcap, loopback TCP)', () => loadCapture('loopback/shadow-nla_xfreerdp-nla_ok.pcap'), 300],
    ['hand-built pcapng (2 sections, 3 link types)', handBuiltPcapng, 500],
  ];

  it.each(inputs)('%s', (_name, load, iterations) => {
    const original = load();
    expect(() => flowsFromCapture(original)).not.toThrow();
    const rnd = prng(0xc0ffee ^ original.length);
    const unexpected: string[] = [];
    let errors = 0;
    let results = 0;
    for (let i = 0; i < iterations; i++) {
      const input = mutate(original, rnd);
      let r: FlowsResult;
      try {
        r = flowsFromCapture(input);
      } catch (e) {
        if (e instanceof DecodeError) {
          errors++;
          expect(e.path[0]).toBe('capture');
          continue;
        }
        unexpected.push(`iteration ${i}: ${String(e)}`);
        continue;
      }
      results++;
      checkInvariants(r);
    }
    expect(unexpected).toEqual([]);
    // not vacuous: both outcomes happen
    expect(errors).toBeGreaterThan(iterations / 50);
    expect(results).toBeGreaterThan(iterations / 5);
  });

  it('random garbage and every prefix of a small file', () => {
    const rnd = prng(7);
    for (let i = 0; i < 300; i++) {
      const junk = Uint8Array.from({ length: int(rnd, 200) }, () => int(rnd, 256));
      if (i % 3 === 0 && junk.length >= 4) junk.set([0x0a, 0x0d, 0x0d, 0x0a]);
      if (i % 3 === 1 && junk.length >= 4) junk.set([0xd4, 0xc3, 0xb2, 0xa1]);
      try {
        flowsFromCapture(junk);
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeError);
      }
    }
    const file = loadCapture('public/arkime/socks5-rdp.pcap');
    // record boundaries, computed independently: 24-byte header, then 16-byte header + incl_len each
    const dv = new DataView(file.buffer, file.byteOffset, file.length);
    const boundaries = [24];
    while (boundaries[boundaries.length - 1]! < file.length) {
      const at = boundaries[boundaries.length - 1]!;
      boundaries.push(at + 16 + dv.getUint32(at + 8, true));
    }
    expect(boundaries[boundaries.length - 1]).toBe(file.length);
    for (let n = 0; n <= file.length; n++) {
      try {
        const r = flowsFromCapture(file.subarray(0, n));
        const complete = boundaries.filter((b) => b <= n).length - 1;
        expect(r.packets).toBe(complete);
        expect(r.truncated).toBe(!boundaries.includes(n));
        checkInvariants(r);
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeError);
        expect(n).toBeLessThan(24); // only a cut file header is an error
      }
    }
  });
});
