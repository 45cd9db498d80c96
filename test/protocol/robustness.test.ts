/**
 * Random and truncated input gives a value or a DecodeError, nothing else (mqtt testRandom, IronRDP fuzz).
 * Seeded, so a failure is reproducible; every failing input is also saved to test/fixtures/regressions/ and
 * replayed by the last test here forever after.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { X224Connector, type X224Action } from '../../src/connector/x224-connector.js';
import { DecodeError } from '../../src/protocol/codec/errors.js';
import { decodeNegMessage } from '../../src/protocol/nego.js';
import { inspectServerFlight } from '../../src/protocol/tls-records.js';
import { decodeTpkt } from '../../src/protocol/tpkt.js';
import { decodeX224Frame, encodeConnectionRequest, type ConnectionRequest } from '../../src/protocol/x224.js';
import { ascii, be16, be24, cat, hex, le16, le32, toSpacedHex } from '../helpers/bytes.js';
import { prng } from '../helpers/prng.js';

const REGRESSIONS = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'regressions');
const RUNS = 5000;

type Rng = ReturnType<typeof prng>;

const SEEDS: Uint8Array[] = [
  hex`03 00 00 13 0e d0 00 00 12 34 00 02 1f 08 00 08 00 00 00`,
  hex`03 00 00 13 0e d0 00 00 12 34 00 03 00 08 00 02 00 00 00`,
  hex`03 00 00 0b 06 d0 00 00 12 34 00`,
  hex`03 00 00 09 02 f0 80 21 80`,
  hex`03 00 00 13 0e d0 00 00 12 34 00 02 00 03 00 00 00 00 00`,
  hex`03 00 00 0b 06 80 00 00 00 00 01`,
  hex`03 00 00 0d 08 70 00 00 02 c1 02 e0 00`,
  cat(hex`03 00 00 2c 27 e0 00 00 00 00 00`, ascii('Cookie: mstshash=eltons\r\n'), hex`01 00 08 00 00 00 00 00`),
  hex`03 00 00 2b 00 03 00 80 01`,
  hex`15 03 03 00 02 02 46`,
  hex`16 03 01 00 2a 02 00 00 26 03 01`,
  Uint8Array.from(ascii('SSH-2.0-OpenSSH_9.2p1\r\n')),
];

/** One input: random bytes, a truncated or mutated real frame, or a structurally plausible frame with random insides. */
function input(r: Rng): Uint8Array {
  switch (r.int(6)) {
    case 0:
      return r.bytes(r.int(40));
    case 1: {
      const s = r.pick(SEEDS);
      return s.subarray(0, r.int(s.length + 1));
    }
    case 2: {
      const s = r.pick(SEEDS).slice();
      for (let k = 1 + r.int(3); k > 0 && s.length > 0; k--) s[r.int(s.length)] = r.int(256);
      return s;
    }
    case 3: {
      // A consistent TPKT + X.224 header around random TPDU contents.
      const body = r.bytes(r.int(24));
      const code = r.pick([0xd0, 0xe0, 0x80, 0xf0, 0x70, 0xc0, r.int(256)]);
      const li = code === 0xf0 ? 2 : body.length + 1;
      return cat(0x03, 0x00, be16(body.length + 6), li, code, body);
    }
    case 4: {
      // A CC with a consistent length indicator and a random 8-byte negotiation structure.
      const neg = cat(r.pick([1, 2, 3, 6, r.int(256)]), r.int(256), r.int(4) === 0 ? le16(r.int(65536)) : le16(8), le32(r.int(2 ** 32)));
      return cat(hex`03 00 00 13 0e d0 00 00 12 34 00`, neg.subarray(0, 8 - r.int(2)));
    }
    default: {
      // TLS-looking records; half of them a ServerHello with random lengths inside.
      const sid = r.int(40);
      const ext = r.bytes(r.int(30));
      const hello = cat(be16(0x0300 + r.int(5)), r.bytes(32), sid, r.bytes(r.int(sid + 2)), be16(r.int(65536)), 0, be16(r.int(3) === 0 ? r.int(65536) : ext.length), ext);
      const payload = r.int(2) === 0 ? cat(0x02, be24(r.int(3) === 0 ? r.int(200) : hello.length), hello) : cat(r.pick([2, 11, 14, r.int(256)]), r.bytes(r.int(80)));
      const cut = payload.subarray(0, r.int(4) === 0 ? r.int(payload.length + 1) : payload.length);
      return cat(r.pick([0x15, 0x16, 0x16, 0x14, r.int(256)]), 0x03, r.int(5), be16(r.int(4) === 0 ? r.int(65536) : cut.length), cut);
    }
  }
}

/** Returns why `fn(bytes)` broke the contract, or undefined. */
function checkDecoder(fn: (b: Uint8Array) => unknown, outer: (e: DecodeError) => boolean, bytes: Uint8Array): string | undefined {
  try {
    fn(bytes);
    return undefined;
  } catch (e) {
    if (!(e instanceof DecodeError)) return `threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
    if (!outer(e)) return `DecodeError with path ${e.path.join(' > ')}`;
    if (!(e.offset >= 0 && e.offset <= bytes.length)) return `DecodeError offset ${e.offset} outside 0..${bytes.length}`;
    if (e.message.includes('\n')) return 'DecodeError message spans lines';
    return undefined;
  }
}

const OUTCOME_KINDS = new Set([
  'not_rdp',
  'malformed_answer',
  'truncated_answer',
  'negotiation_failure',
  'unrequested_protocol',
  'unexpected_pdu',
  'disconnect_request',
  'closed_after_request',
  'reset_after_request',
  'timeout',
]);
const FLIGHT_KINDS = new Set(['empty', 'alert', 'server_hello', 'handshake_other', 'tpkt', 'not_tls']);

/** Feeds bytes in random chunks, then an end event; exactly one outcome with a known kind must come out. */
function checkConnector(bytes: Uint8Array, r: Rng): string | undefined {
  try {
    const c = new X224Connector({ requestedProtocols: r.pick([0, 1, 3, 0x0b]), negFlags: 0 });
    const actions: X224Action[] = [...c.start()];
    let at = 0;
    while (at < bytes.length) {
      const n = 1 + r.int(bytes.length - at);
      actions.push(...c.receive(bytes.subarray(at, at + n)));
      at += n;
    }
    actions.push(...(r.int(2) === 0 ? c.closed(r.pick(['eof', 'reset'] as const)) : c.timedOut(1000)));
    const dones = actions.filter((a) => a.type === 'done');
    if (dones.length !== 1) return `${dones.length} outcomes`;
    const d = dones[0]!;
    if (d.type === 'done' && !d.outcome.ok && !OUTCOME_KINDS.has(d.outcome.error.kind)) return `unknown outcome kind ${d.outcome.error.kind}`;
    return undefined;
  } catch (e) {
    return `threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  }
}

function checkFlight(bytes: Uint8Array): string | undefined {
  try {
    const f = inspectServerFlight(bytes);
    return FLIGHT_KINDS.has(f.kind) ? undefined : `unknown flight kind ${f.kind}`;
  } catch (e) {
    return `threw ${String(e)}`;
  }
}

type Target = { name: string; check: (bytes: Uint8Array, r: Rng) => string | undefined };
const TARGETS: Target[] = [
  { name: 'decodeX224Frame', check: (b) => checkDecoder(decodeX224Frame, (e) => e.path[0] === 'TPKT', b) },
  { name: 'decodeTpkt', check: (b) => checkDecoder(decodeTpkt, (e) => e.path.length === 1 && e.path[0] === 'TPKT', b) },
  { name: 'decodeNegMessage', check: (b) => checkDecoder(decodeNegMessage, (e) => e.path.length === 1 && e.path[0]!.startsWith('RDP_NEG'), b) },
  { name: 'inspectServerFlight', check: (b) => checkFlight(b) },
  { name: 'X224Connector.receive', check: (b, r) => checkConnector(b, r) },
];

function saveRegression(target: string, bytes: Uint8Array): string {
  mkdirSync(REGRESSIONS, { recursive: true });
  const name = `${target.replace(/[^A-Za-z0-9]+/g, '-')}-${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}.bin`;
  writeFileSync(join(REGRESSIONS, name), bytes);
  return name;
}

describe.each(TARGETS)('$name on random and truncated input', ({ name, check }) => {
  it(`${RUNS} seeded inputs give a value or a DecodeError, nothing else`, () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= RUNS; seed++) {
      const r = prng(seed * 2654435761);
      const bytes = input(r);
      const why = check(bytes, r);
      if (why) failures.push(`seed ${seed}: ${why} on [${toSpacedHex(bytes)}] -> ${saveRegression(name, bytes)}`);
    }
    expect(failures).toEqual([]);
  });
});

describe('strictness on random input', () => {
  it('decodeTpkt returns a value only for a whole frame: version 3 and a length equal to the input', () => {
    const r = prng(7);
    let values = 0;
    for (let k = 0; k < RUNS; k++) {
      const bytes = k % 2 === 0 ? input(r) : cat(0x03, 0x00, be16(r.int(12)), r.bytes(r.int(8)));
      let payload: Uint8Array | undefined;
      try {
        payload = decodeTpkt(bytes);
      } catch {
        continue;
      }
      values++;
      expect(bytes[0]).toBe(3);
      expect(((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0)).toBe(bytes.length);
      expect(payload).toEqual(bytes.subarray(4));
    }
    expect(values).toBeGreaterThan(100);
  });

  it('decodeNegMessage returns a value only for 8 bytes with length field 8 and type 1, 2 or 3', () => {
    const r = prng(11);
    let values = 0;
    for (let k = 0; k < RUNS; k++) {
      const bytes = cat(r.pick([1, 2, 3, r.int(256)]), r.int(256), r.int(3) === 0 ? le16(r.int(16)) : le16(8), r.bytes(r.int(3) === 0 ? r.int(8) : 4));
      try {
        decodeNegMessage(bytes);
      } catch {
        continue;
      }
      values++;
      expect(bytes.length).toBe(8);
      expect([1, 2, 3]).toContain(bytes[0]);
      expect(bytes[2]).toBe(8);
      expect(bytes[3]).toBe(0);
    }
    expect(values).toBeGreaterThan(100);
  });
});

describe('round trip on random valid Connection Requests', () => {
  it('decode(encode(cr)) gives cr back', () => {
    const r = prng(3389);
    const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-';
    const word = (): string => Array.from({ length: 1 + r.int(20) }, () => r.pick([...chars])).join('');
    for (let k = 0; k < 1000; k++) {
      const cr: ConnectionRequest = { type: 'connection_request' };
      const which = r.int(3);
      if (which === 1) cr.cookie = word();
      if (which === 2) cr.routingToken = word();
      if (r.int(4) !== 0) {
        cr.neg = { flags: r.int(256), requestedProtocols: r.int(2 ** 32) };
        if (r.int(3) === 0) cr.correlationInfo = cat(0x06, 0x00, le16(36), r.bytes(32));
      }
      const { type: _t, ...fields } = cr;
      expect(decodeX224Frame(encodeConnectionRequest(fields))).toStrictEqual(cr);
    }
  });
});

describe('regressions', () => {
  it('the regression directory exists and every saved input still holds for every target', () => {
    const files = readdirSync(REGRESSIONS);
    expect(files).toContain('.gitkeep');
    const failures: string[] = [];
    for (const f of files.filter((x) => x.endsWith('.bin'))) {
      const bytes = new Uint8Array(readFileSync(join(REGRESSIONS, f)));
      for (const t of TARGETS) {
        const why = t.check(bytes, prng(bytes.length + 1));
        if (why) failures.push(`${f} / ${t.name}: ${why}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
