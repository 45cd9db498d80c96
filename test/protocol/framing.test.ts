/**
 * Framing (pg-protocol style): a frame split at every offset, and two frames split at every boundary, give the same
 * result as one chunk, both for the TPKT framer and for the X.224 connector that sits on it.
 */
import { describe, expect, it } from 'vitest';
import { X224Connector, type X224Action, type X224Outcome } from '../../src/connector/x224-connector.js';
import { decodeX224Frame, type X224Pdu } from '../../src/protocol/x224.js';
import { frameLengthTpkt } from '../../src/protocol/tpkt.js';
import { ascii, cat, hex } from '../helpers/bytes.js';

const FRAMES: { name: string; bytes: Uint8Array }[] = [
  { name: 'Windows RDP_NEG_RSP HYBRID_EX', bytes: hex`03 00 00 13 0e d0 00 00 12 34 00 02 1f 08 00 08 00 00 00` },
  { name: 'RDP_NEG_FAILURE code 2', bytes: hex`03 00 00 13 0e d0 00 00 12 34 00 03 00 08 00 02 00 00 00` },
  { name: 'legacy CC', bytes: hex`03 00 00 0b 06 d0 00 00 12 34 00` },
  { name: 'xrdp MCS DPUm in a DT', bytes: hex`03 00 00 09 02 f0 80 21 80` },
  { name: 'Disconnect Request', bytes: hex`03 00 00 0b 06 80 00 00 00 00 00` },
  { name: "zeek's malformed RDP_NEG_RSP", bytes: hex`03 00 00 13 0e d0 00 00 12 34 00 02 00 03 00 00 00 00 00` },
];

/** What comes after the frame on the wire: the start of TLS, or another TPKT frame. */
const FOLLOWERS: { name: string; bytes: Uint8Array }[] = [
  { name: 'a TLS ServerHello record header', bytes: hex`16 03 03 00 4a 02 00 00 46 03 03` },
  { name: 'a second TPKT frame (DPUm)', bytes: hex`03 00 00 09 02 f0 80 21 80` },
];

function feed(chunks: Uint8Array[]): { outcome: X224Outcome | undefined; leftover: Uint8Array; dones: number } {
  const c = new X224Connector({ requestedProtocols: 0x0b, negFlags: 0 });
  c.start();
  const actions: X224Action[] = [];
  for (const ch of chunks) actions.push(...c.receive(ch));
  const dones = actions.filter((a) => a.type === 'done');
  const first = dones[0];
  return { outcome: first?.type === 'done' ? first.outcome : undefined, leftover: c.leftover(), dones: dones.length };
}

/** Every way to cut `b` into two chunks (the first or the last may be empty). */
function twoWay(b: Uint8Array): [number, Uint8Array[]][] {
  const out: [number, Uint8Array[]][] = [];
  for (let i = 0; i <= b.length; i++) out.push([i, [b.subarray(0, i), b.subarray(i)]]);
  return out;
}

describe.each(FRAMES)('X224Connector.receive, $name', ({ bytes }) => {
  const reference = feed([bytes]);

  it('gives an outcome in one chunk', () => {
    expect(reference.dones).toBe(1);
    expect(reference.outcome).toBeDefined();
    expect(reference.leftover).toHaveLength(0);
  });

  it('gives the same outcome split in two at every offset', () => {
    for (const [i, chunks] of twoWay(bytes)) {
      const r = feed(chunks);
      expect(r.dones, `split at ${i}`).toBe(1);
      expect(r.outcome, `split at ${i}`).toEqual(reference.outcome);
    }
  });

  it('gives the same outcome split in three at every pair of offsets', () => {
    for (let i = 1; i < bytes.length; i++) {
      for (let j = i + 1; j < bytes.length; j++) {
        const r = feed([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]);
        expect(r.outcome, `split at ${i} and ${j}`).toEqual(reference.outcome);
      }
    }
  });

  it('gives the same outcome byte by byte, and nothing before the last byte', () => {
    const c = new X224Connector({ requestedProtocols: 0x0b, negFlags: 0 });
    c.start();
    for (let i = 0; i < bytes.length - 1; i++) expect(c.receive(bytes.subarray(i, i + 1)), `byte ${i}`).toEqual([]);
    const last = c.receive(bytes.subarray(bytes.length - 1));
    expect(last).toEqual([{ type: 'done', outcome: reference.outcome }]);
  });

  it('reports a truncated answer, not another verdict, when the peer closes after any prefix', () => {
    for (let n = 1; n < bytes.length; n++) {
      const c = new X224Connector({ requestedProtocols: 0x0b, negFlags: 0 });
      c.start();
      expect(c.receive(bytes.subarray(0, n))).toEqual([]);
      const done = c.closed('eof')[0];
      const o = done?.type === 'done' ? done.outcome : undefined;
      expect(o && !o.ok ? o.error.kind : o, `prefix ${n}`).toBe('truncated_answer');
      expect(o && !o.ok ? o.error.message : '').toContain(`${n} of ${n >= 4 ? bytes.length : '?'} bytes`);
    }
  });

  describe.each(FOLLOWERS)('followed by $name', ({ bytes: next }) => {
    const stream = cat(bytes, next);

    it('gives the same outcome at every boundary and keeps what arrived with the frame as leftover', () => {
      for (const [i, chunks] of twoWay(stream)) {
        const r = feed(chunks);
        expect(r.dones, `split at ${i}`).toBe(1);
        expect(r.outcome, `split at ${i}`).toEqual(reference.outcome);
        // The connector stops reading once it is done: what it holds is the rest of the chunk that completed the frame.
        const completedBy = i < bytes.length ? stream.length : i;
        expect(r.leftover, `split at ${i}`).toEqual(stream.subarray(bytes.length, completedBy));
      }
    });
  });
});

describe('SSH banner split anywhere', () => {
  const banner = Uint8Array.from(ascii('SSH-2.0-OpenSSH_9.2p1\r\n'));

  it('is not_rdp whatever the split', () => {
    for (const [i, chunks] of twoWay(banner)) {
      const o = feed(chunks).outcome;
      expect(o && !o.ok ? o.error.kind : o, `split at ${i}`).toBe('not_rdp');
    }
  });

  // KNOWN BUG in src/connector/x224-connector.ts (not owned here): the connector judges a non-TPKT reply on its
  // first chunk, so a banner that arrives in pieces is described from its first byte ("1 byte(s) that are not an
  // RDP answer") instead of as an SSH server. Flip to `it` once the connector waits for a line or a few bytes.
  it('names SSH whatever the split', () => {
    for (const [i, chunks] of twoWay(banner)) {
      if (i === 0) continue;
      const o = feed(chunks).outcome;
      expect(o && !o.ok ? o.error.message : '', `split at ${i}`).toContain('SSH');
    }
  });
});

/** A minimal stream reassembler on frameLengthTpkt, as a driver would write it. */
function reassemble(chunks: Uint8Array[]): X224Pdu[] {
  let buf: Uint8Array = new Uint8Array(0);
  const out: X224Pdu[] = [];
  for (const ch of chunks) {
    buf = cat(buf, ch);
    for (;;) {
      const len = frameLengthTpkt(buf);
      if (len === undefined || buf.length < len) break;
      out.push(decodeX224Frame(buf.subarray(0, len)));
      buf = buf.subarray(len);
    }
  }
  expect(buf, 'bytes left in the reassembler').toHaveLength(0);
  return out;
}

describe('frameLengthTpkt as a framer', () => {
  const pairs = [
    [FRAMES[0]!.bytes, FRAMES[3]!.bytes],
    [FRAMES[2]!.bytes, FRAMES[4]!.bytes],
    [FRAMES[3]!.bytes, FRAMES[3]!.bytes],
  ] as const;

  it.each(pairs.map((p, k) => [k, p] as const))('pair %i: two frames split at every boundary come out whole and in order', (_k, [a, b]) => {
    const expected = [decodeX224Frame(a), decodeX224Frame(b)];
    const stream = cat(a, b);
    for (const [i, chunks] of twoWay(stream)) expect(reassemble(chunks), `split at ${i}`).toEqual(expected);
    expect(reassemble(Array.from(stream, (x) => Uint8Array.of(x)))).toEqual(expected);
  });
});
