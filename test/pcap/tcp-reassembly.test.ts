import { describe, expect, it } from 'vitest';
import {
  flowsFromCapture,
  locate,
  reassembleFlows,
  type TcpFlow,
  type TcpSegment,
} from '../../src/pcap/index.js';
import {
  ETH_IPV6,
  PcapngBuilder,
  TCP,
  UDP,
  ascii,
  buildPcap,
  ethernet,
  ipv4,
  ipv6,
  sll2,
  tcp,
  udp,
  ETH_IPV4,
} from './build.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

/** Builds TcpSegments directly; frames are numbered in call order. */
class Conversation {
  private frame = 0;
  readonly segments: TcpSegment[] = [];
  constructor(
    readonly client = { address: '10.0.0.1', port: 50000 },
    readonly server = { address: '10.0.0.2', port: 3389 },
  ) {}

  send(from: 'c' | 's', seq: number, flags: string, data = '', opts: { payloadLength?: number; ack?: number } = {}): this {
    this.frame++;
    const a = from === 'c' ? this.client : this.server;
    const b = from === 'c' ? this.server : this.client;
    const payload = ascii(data);
    this.segments.push({
      frame: this.frame,
      timestampUs: this.frame * 1000,
      src: a.address,
      dst: b.address,
      srcPort: a.port,
      dstPort: b.port,
      seq: seq >>> 0,
      ack: opts.ack ?? 0,
      flags: { syn: flags.includes('S'), ack: flags.includes('A'), fin: flags.includes('F'), rst: flags.includes('R'), psh: flags.includes('P') },
      payload,
      payloadLength: opts.payloadLength ?? payload.length,
      ipVersion: 4,
    });
    return this;
  }

  /** SYN (ISN c), SYN/ACK (ISN s), ACK. */
  handshake(c: number, s: number): this {
    return this.send('c', c, 'S').send('s', s, 'SA').send('c', c + 1, 'A');
  }

  flows(opts: { port?: number; maxBytesPerDirection?: number } = {}): TcpFlow[] {
    return reassembleFlows(this.segments, opts);
  }

  only(opts: { port?: number; maxBytesPerDirection?: number } = {}): TcpFlow {
    const f = this.flows(opts);
    expect(f).toHaveLength(1);
    return f[0]!;
  }
}

describe('one direction: ordering, duplicates, overlaps', () => {
  it('in-order data after a complete handshake', () => {
    const f = new Conversation().handshake(1000, 5000).send('c', 1001, 'PA', 'hello ').send('s', 5001, 'PA', 'world').send('c', 1007, 'PA', 'again').only();
    expect(f).toMatchObject({
      id: 1,
      client: { address: '10.0.0.1', port: 50000 },
      server: { address: '10.0.0.2', port: 3389 },
      roleEvidence: 'syn',
      handshake: 'complete',
      synFrames: [1],
      firstFrame: 1,
      lastFrame: 6,
      startUs: 1000,
      endUs: 6000,
      gaps: 0,
      truncated: false,
      end: {},
    });
    expect(text(f.clientBytes)).toBe('hello again');
    expect(text(f.serverBytes)).toBe('world');
    expect(f.clientChunks).toEqual([
      { frame: 4, timestampUs: 4000, offset: 0, length: 6, frameOffset: 0 },
      { frame: 6, timestampUs: 6000, offset: 6, length: 5, frameOffset: 0 },
    ]);
    expect(locate(f.clientChunks, 7)).toEqual({ frame: 6, offsetInFrame: 1 });
    expect(locate(f.clientChunks, 11)).toBeUndefined();
  });

  it('out-of-order, duplicate and overlapping segments reassemble once, first copy wins', () => {
    const f = new Conversation()
      .handshake(1000, 5000)
      .send('c', 1001, 'PA', 'ABCD') // frame 4
      .send('c', 1009, 'PA', 'IJKL') // 5: arrives before EFGH
      .send('c', 1001, 'PA', 'ABCD') // 6: duplicate
      .send('c', 1003, 'PA', 'CDEFGH') // 7: overlaps ABCD, fills the hole
      .send('c', 1005, 'PA', 'xxxxxxxxMN') // 8: retransmission with different bytes, then 2 new
      .send('c', 1000, 'PA', 'zA') // 9: starts before the ISN+1 (bogus), overlaps byte 0
      .only();
    expect(text(f.clientBytes)).toBe('ABCDEFGHIJKLMN');
    expect(f.gaps).toBe(0);
    expect(f.clientChunks.map((c) => [c.frame, c.offset, c.length, c.frameOffset])).toEqual([
      [4, 0, 4, 0],
      [7, 4, 4, 2],
      [5, 8, 4, 0],
      [8, 12, 2, 8],
    ]);
    expect(locate(f.clientChunks, 5)).toEqual({ frame: 7, offsetInFrame: 3 });
    expect(locate(f.clientChunks, 13)).toEqual({ frame: 8, offsetInFrame: 9 });
  });

  it('32-bit sequence wrap-around, with and without a SYN', () => {
    const isn = 0xfffffff8;
    const withSyn = new Conversation()
      .handshake(isn, 0xffffffff)
      .send('c', 0xffffffff, 'PA', 'GHIJ') // crosses 0xffffffff -> 0, arrives first
      .send('c', 0xfffffff9, 'PA', 'ABCDEF')
      .send('c', 0x00000003, 'PA', 'KL')
      .send('s', 0x00000000, 'PA', 'server!')
      .only();
    expect(text(withSyn.clientBytes)).toBe('ABCDEFGHIJKL');
    expect(text(withSyn.serverBytes)).toBe('server!');

    const midStream = new Conversation()
      .send('c', 0x00000002, 'PA', 'DE')
      .send('c', 0xfffffffe, 'PA', 'xABC') // lowest sequence number of the direction, across the wrap
      .send('c', 0x00000004, 'PA', 'F')
      .only();
    expect(text(midStream.clientBytes)).toBe('xABCDEF');
    expect(midStream.handshake).toBe('none');
  });

  it('a hole stops the stream there and is counted (policy: no bytes after the first gap)', () => {
    const f = new Conversation()
      .handshake(1000, 5000)
      .send('c', 1001, 'PA', 'ABCD')
      .send('c', 1009, 'PA', 'IJKL') // 1005..1008 never captured
      .send('c', 1017, 'PA', 'QR') // 1013..1016 never captured
      .send('s', 5001, 'PA', 'ok')
      .only();
    expect(text(f.clientBytes)).toBe('ABCD');
    expect(f.clientGapAt).toBe(4);
    expect(f.serverGapAt).toBeUndefined();
    expect(f.gaps).toBe(2);
    expect(text(f.serverBytes)).toBe('ok');
  });

  it('data missing before a FIN, and the first data segment missing, are gaps', () => {
    const finGap = new Conversation().handshake(1000, 5000).send('c', 1001, 'PA', 'ABCD').send('c', 1009, 'FA').only();
    expect(text(finGap.clientBytes)).toBe('ABCD');
    expect(finGap.gaps).toBe(1);
    expect(finGap.end.fin).toBe('client');

    const headGap = new Conversation().handshake(1000, 5000).send('c', 1003, 'PA', 'CD').only();
    expect(headGap.clientBytes.length).toBe(0);
    expect(headGap.clientGapAt).toBe(0);
    expect(headGap.gaps).toBe(1);

    const clean = new Conversation().handshake(1000, 5000).send('c', 1001, 'PA', 'ABCD').send('c', 1005, 'FA').send('s', 5001, 'FA').only();
    expect(clean.gaps).toBe(0);
    expect(clean.end).toEqual({ fin: 'both' });
  });

  it('bytes cut by the snapshot length are a gap', () => {
    const f = new Conversation()
      .handshake(1000, 5000)
      .send('c', 1001, 'PA', 'ABCD', { payloadLength: 8 })
      .send('c', 1009, 'PA', 'IJ')
      .only();
    expect(text(f.clientBytes)).toBe('ABCD');
    expect(f.gaps).toBe(1);
  });

  it('keep-alive probes, zero-length ACKs and RST payloads do not add bytes', () => {
    const f = new Conversation()
      .handshake(1000, 5000)
      .send('c', 1001, 'PA', 'ABCD')
      .send('c', 1004, 'A', '\0') // keep-alive: one old byte
      .send('c', 1005, 'A')
      .send('s', 5001, 'RA', 'connection reset text')
      .only();
    expect(text(f.clientBytes)).toBe('ABCD');
    expect(f.serverBytes.length).toBe(0);
    expect(f.end).toEqual({ rst: 'server', rstFrame: 7 });
  });

  it('caps each direction and marks the flow truncated', () => {
    const f = new Conversation()
      .handshake(1000, 5000)
      .send('c', 1001, 'PA', '0123456789')
      .send('c', 1011, 'PA', 'abcdefghij')
      .send('s', 5001, 'PA', 'short')
      .only({ maxBytesPerDirection: 15 });
    expect(text(f.clientBytes)).toBe('0123456789abcde');
    expect(f.truncated).toBe(true);
    expect(text(f.serverBytes)).toBe('short');
  });
});

describe('connections and handshakes', () => {
  it('retransmitted SYNs stay in one flow: syn_only', () => {
    const f = new Conversation().send('c', 7, 'S').send('c', 7, 'S').send('c', 7, 'S').only();
    expect(f.handshake).toBe('syn_only');
    expect(f.synFrames).toEqual([1, 2, 3]);
  });

  it('SYN answered by RST: syn_rst, and SYN retries after the RST (same ISN) stay in the flow', () => {
    const f = new Conversation().send('c', 7, 'S').send('s', 0, 'RA').send('c', 7, 'S').send('s', 0, 'RA').only();
    expect(f.handshake).toBe('syn_rst');
    expect(f.synFrames).toEqual([1, 3]);
    expect(f.end).toEqual({ rst: 'server', rstFrame: 2 });
  });

  it('SYN, SYN/ACK, client RST: syn_synack', () => {
    const f = new Conversation().send('c', 7, 'S').send('s', 99, 'SA').send('c', 8, 'R').only();
    expect(f.handshake).toBe('syn_synack');
    expect(f.end.rst).toBe('client');
  });

  it('server data without a captured SYN/ACK still counts as an established connection', () => {
    const f = new Conversation().send('c', 7, 'S').send('s', 100, 'PA', 'hi').only();
    expect(f.handshake).toBe('complete');
    expect(text(f.serverBytes)).toBe('hi');
  });

  it('a new SYN on a 4-tuple closed by FIN or RST starts a new flow', () => {
    const conv = new Conversation()
      .handshake(1000, 5000)
      .send('c', 1001, 'PA', 'first')
      .send('c', 1006, 'FA')
      .send('s', 5001, 'FA')
      .handshake(9000, 7000) // TIME_WAIT reuse of the same ports
      .send('c', 9001, 'PA', 'second')
      .send('c', 9007, 'RA')
      .send('c', 9000, 'S') // same ISN, flow closed by RST only: a SYN retry, stays in flow 2
      .send('c', 123, 'S'); // different ISN: new attempt
    const flows = conv.flows();
    expect(flows.map((f) => [f.id, f.firstFrame, f.handshake, text(f.clientBytes)])).toEqual([
      [1, 1, 'complete', 'first'],
      [2, 7, 'complete', 'second'],
      [3, 13, 'syn_only', ''],
    ]);
    expect(flows[1]!.synFrames).toEqual([7, 12]);
    expect(flows[0]!.end).toEqual({ fin: 'both' });
  });

  it('a SYN/ACK on a closed 4-tuple with a new ISN starts a new flow whose server is its sender', () => {
    const flows = new Conversation()
      .handshake(1000, 5000)
      .send('c', 1001, 'RA')
      .send('s', 8000, 'SA') // the new connection's SYN was not captured
      .send('c', 2001, 'A')
      .flows();
    expect(flows).toHaveLength(2);
    expect(flows[1]).toMatchObject({ roleEvidence: 'syn_ack', handshake: 'complete', synFrames: [] });
    expect(flows[1]!.server.port).toBe(3389);
  });

  it('mid-stream captures pick the server by port', () => {
    const rdp = new Conversation({ address: '10.0.0.1', port: 1311 }, { address: '10.0.0.2', port: 3389 })
      .send('s', 50, 'PA', 'from server first')
      .only();
    expect([rdp.roleEvidence, rdp.handshake, rdp.server.port, rdp.client.port]).toEqual(['port', 'none', 3389, 1311]);
    expect(text(rdp.serverBytes)).toBe('from server first');

    const custom = new Conversation({ address: '10.0.0.1', port: 443 }, { address: '10.0.0.2', port: 8443 }).send('c', 1, 'PA', 'x');
    expect(custom.only({ port: 8443 }).server.port).toBe(8443);
    expect(custom.only().server.port).toBe(443); // no hint: the well-known port

    const lower = new Conversation({ address: '10.0.0.1', port: 40000 }, { address: '10.0.0.2', port: 5000 }).send('c', 1, 'PA', 'x');
    expect(lower.only().server.port).toBe(5000);
  });
});

describe('flowsFromCapture on hand-built files', () => {
  it('SLL2 + IPv6 with an extension header, out-of-order data, UDP counted, truncated last record', () => {
    const c = '2001:db8::10';
    const s = '2001:db8::3389';
    const pkt = (from: 'c' | 's', seq: number, flags: string, data = '') =>
      sll2(
        ETH_IPV6,
        ipv6(from === 'c' ? c : s, from === 'c' ? s : c, TCP, tcp({ srcPort: from === 'c' ? 51000 : 3389, dstPort: from === 'c' ? 3389 : 51000, seq, flags, payload: ascii(data) }), [
          { type: 60 },
        ]),
      );
    const records = [
      pkt('c', 100, 'S'),
      pkt('s', 900, 'SA'),
      pkt('c', 101, 'A'),
      pkt('c', 105, 'PA', 'EFGH'),
      pkt('c', 101, 'PA', 'ABCD'),
      sll2(ETH_IPV6, ipv6(c, s, UDP, udp(5000, 3389, ascii('udp')))),
      pkt('s', 901, 'PA', 'reply'),
      pkt('s', 906, 'PA', 'cut off'),
    ].map((data, i) => ({ sec: 1_700_000_000 + i, frac: 0, data }));
    const file = buildPcap({ linkType: 276 }, records);
    const r = flowsFromCapture(file.subarray(0, file.length - 3), { port: 3389 });
    expect(r).toMatchObject({ format: 'pcap', packets: 7, udpPackets: 1, truncated: true, malformedPackets: 0, unsupportedLinkTypes: [] });
    expect(r.flows).toHaveLength(1);
    const f = r.flows[0]!;
    expect([f.client.address, f.server.address, f.handshake]).toEqual([c, s, 'complete']);
    expect(text(f.clientBytes)).toBe('ABCDEFGH');
    expect(text(f.serverBytes)).toBe('reply');
    expect(locate(f.clientChunks, 4)).toEqual({ frame: 4, offsetInFrame: 0 });
  });

  it('VLAN-tagged Ethernet in a two-interface pcapng; an unsupported link type is reported, not thrown', () => {
    const eth = (seq: number, flags: string, data = '', toServer = true) =>
      ethernet(
        ETH_IPV4,
        ipv4(toServer ? '192.0.2.1' : '192.0.2.2', toServer ? '192.0.2.2' : '192.0.2.1', TCP, tcp({ srcPort: toServer ? 1025 : 3389, dstPort: toServer ? 3389 : 1025, seq, flags, payload: ascii(data) })),
        [{ tpid: 0x8100, vid: 42 }],
      );
    const file = new PcapngBuilder(true)
      .shb()
      .idb(1, { tsresol: 9 })
      .idb(147)
      .epb(0, 1_000_000_000n, eth(1, 'S'))
      .epb(1, 1_500_000_000n, ascii('whatever the user DLT carries'))
      .epb(0, 2_000_000_000n, eth(77, 'SA', '', false))
      .epb(0, 3_000_000_000n, eth(2, 'PA', 'hello'))
      .done();
    const r = flowsFromCapture(file);
    expect(r.unsupportedLinkTypes).toEqual([147]);
    expect(r.flows).toHaveLength(1);
    expect(r.flows[0]).toMatchObject({ handshake: 'complete', startUs: 1_000_000, firstFrame: 1, lastFrame: 4 });
    expect(text(r.flows[0]!.clientBytes)).toBe('hello');
    expect(flowsFromCapture(file, { port: 80 }).flows).toEqual([]);
  });
});
