/**
 * Protocol enumeration against scripted servers. Each server answers like the real one in
 * /work/shared/servers/README.md, "What each server really does at the X.224 step"; the outcomes come from a real
 * X224Connector fed those Connection Confirm bytes.
 */
import { describe, expect, it } from 'vitest';
import { X224Connector, type X224Outcome } from '../../src/connector/x224-connector.js';
import { EnumerationPlanner } from '../../src/probe/enumerate.js';
import type { Enumeration, ProtocolName } from '../../src/probe/types.js';
import { cat, hex, le16, le32 } from '../helpers/bytes.js';

// ---- server answers ---------------------------------------------------------------------------------------------

/** RDP/SSL/HYBRID = RDP_NEG_RSP selecting it; F1..F5 = RDP_NEG_FAILURE code; noneg = CC without negotiation data. */
type Answer = 'RDP' | 'SSL' | 'HYBRID' | 'F1' | 'F2' | 'F3' | 'F5' | 'noneg' | 'hang' | 'close';

const CC_HEADER = hex`03 00 00 13 0e d0 00 00 12 34 00`;
const SELECTED: Record<string, number> = { RDP: 0, SSL: 1, HYBRID: 2 };

/** What the server sends (and how the connection ends) for one answer. */
function wire(a: Answer, flags: number): { bytes: Uint8Array; end?: 'eof' | 'timeout' } {
  if (a === 'noneg') return { bytes: hex`03 00 00 0b 06 d0 00 00 12 34 00` };
  if (a === 'hang') return { bytes: new Uint8Array(0), end: 'timeout' };
  if (a === 'close') return { bytes: new Uint8Array(0), end: 'eof' };
  if (a.startsWith('F')) return { bytes: cat(CC_HEADER, 0x03, 0x00, le16(8), le32(Number(a.slice(1)))) };
  return { bytes: cat(CC_HEADER, 0x02, flags, le16(8), le32(SELECTED[a]!)) };
}

/** Runs the real connector for one connection that sent `requested`. */
function connect(requested: number, a: Answer, flags: number): X224Outcome {
  const c = new X224Connector({ requestedProtocols: requested, negFlags: 0 });
  c.start();
  const w = wire(a, flags);
  const actions = w.bytes.length > 0 ? c.receive(w.bytes) : [];
  if (w.end === 'eof') actions.push(...c.closed('eof'));
  if (w.end === 'timeout') actions.push(...c.timedOut(5000));
  const done = actions.find((x) => x.type === 'done');
  if (done?.type !== 'done') throw new Error(`no outcome for ${a}`);
  return done.outcome;
}

interface Server {
  name: string;
  /** Answers to requestedProtocols 0x0 / 0x1 / 0x2 / 0x3 / 0xb, copied from the README table. */
  table: [Answer, Answer, Answer, Answer, Answer];
  /** Answer to a request for protocols the server does not support (RDSTLS 0x4, RDSAAD 0x10). */
  unsupported: Answer;
}

function answer(s: Server, requested: number): Answer {
  const [r0, r1, r2, r3, rb] = s.table;
  switch (requested) {
    case 0x0:
      return r0;
    case 0x1:
      return r1;
    case 0x2:
      return r2;
    case 0x3:
      return r3;
    case 0xb:
      return rb;
    // HYBRID|HYBRID_EX: none of these servers knows HYBRID_EX, so they react to the HYBRID bit as in 0x2.
    case 0xa:
      return r2;
    default:
      return s.unsupported;
  }
}

const SERVERS: Record<string, Server> = {
  'xrdp-negotiate': { name: 'xrdp-negotiate', table: ['RDP', 'SSL', 'RDP', 'SSL', 'SSL'], unsupported: 'RDP' },
  'xrdp-rdp': { name: 'xrdp-rdp', table: ['RDP', 'RDP', 'RDP', 'RDP', 'RDP'], unsupported: 'RDP' },
  'xrdp-tls': { name: 'xrdp-tls', table: ['F1', 'SSL', 'F1', 'SSL', 'SSL'], unsupported: 'F1' },
  'xrdp-tls-nocert': { name: 'xrdp-tls-nocert', table: ['F3', 'F3', 'F3', 'F3', 'F3'], unsupported: 'F3' },
  'shadow-nla': { name: 'shadow-nla', table: ['F5', 'F5', 'HYBRID', 'HYBRID', 'HYBRID'], unsupported: 'F5' },
  'shadow-tls': { name: 'shadow-tls', table: ['F1', 'SSL', 'F1', 'SSL', 'SSL'], unsupported: 'F1' },
  'shadow-rdp': { name: 'shadow-rdp', table: ['RDP', 'F2', 'F2', 'F2', 'F2'], unsupported: 'F2' },
  'fake-noneg': { name: 'fake-noneg', table: ['noneg', 'noneg', 'noneg', 'noneg', 'noneg'], unsupported: 'noneg' },
};

/** Drives the planner to the end; `first` is the probe's own main connection, recorded before asking. */
function enumerate(s: Server, opts: { first?: number; flags?: number } = {}): { result: Enumeration; asked: number[] } {
  const flags = opts.flags ?? 0;
  const planner = new EnumerationPlanner();
  if (opts.first !== undefined) planner.record(opts.first, connect(opts.first, answer(s, opts.first), flags));
  const asked: number[] = [];
  for (let req = planner.next(); req !== undefined; req = planner.next()) {
    asked.push(req);
    if (asked.length > 20) throw new Error(`planner does not stop: ${asked.join(',')}`);
    planner.record(req, connect(req, answer(s, req), flags));
  }
  return { result: planner.result(), asked };
}

const accepted = (e: Enumeration): Record<ProtocolName, boolean | null> =>
  Object.fromEntries(e.protocols.map((p) => [p.protocol, p.accepted])) as Record<ProtocolName, boolean | null>;

// ---- expectations, worked out by hand from the table ------------------------------------------------------------

interface Expected {
  server: string;
  accepted: Record<ProtocolName, boolean>;
  nla: Enumeration['nla'];
  standardRdpSecurity: Enumeration['standardRdpSecurity'];
  /** Requests a fresh planner sends, in order. */
  asked: number[];
  /** Connections when the probe's main connection (0xb) is recorded first. */
  connectionsAfterMain: number;
}

const NONE = { RDP: false, SSL: false, HYBRID: false, HYBRID_EX: false, RDSTLS: false, RDSAAD: false };

const EXPECTED: Expected[] = [
  {
    // 0x1 -> SSL; 0x2 -> RDP (xrdp never selects HYBRID, it falls back to RDP); 0xa, 0x4, 0x10 -> RDP.
    server: 'xrdp-negotiate',
    accepted: { ...NONE, RDP: true, SSL: true },
    nla: 'not_supported',
    standardRdpSecurity: 'allowed',
    asked: [0x1, 0x2, 0xa, 0x4, 0x10],
    connectionsAfterMain: 5,
  },
  {
    // Every request -> RDP: RDP is proven by the first answer, each other protocol needs its own question.
    server: 'xrdp-rdp',
    accepted: { ...NONE, RDP: true },
    nla: 'not_supported',
    standardRdpSecurity: 'allowed',
    asked: [0x1, 0x2, 0xa, 0x4, 0x10],
    connectionsAfterMain: 6,
  },
  {
    // 0x1 -> SSL; 0x2 -> F1, which also says RDP is refused; 0xa, 0x4, 0x10 -> F1.
    server: 'xrdp-tls',
    accepted: { ...NONE, SSL: true },
    nla: 'not_supported',
    standardRdpSecurity: 'refused',
    asked: [0x1, 0x2, 0xa, 0x4, 0x10],
    connectionsAfterMain: 5,
  },
  {
    // 0x1 -> F3: no certificate rules out every TLS-based protocol at once; RDP still needs its own question.
    // NLA stays unknown: a server without a certificate never showed whether it would do CredSSP with one.
    server: 'xrdp-tls-nocert',
    accepted: NONE,
    nla: 'unknown',
    standardRdpSecurity: 'refused',
    asked: [0x1, 0x0, 0x4, 0x10],
    connectionsAfterMain: 4,
  },
  {
    // 0x1 -> F5 (rules out RDP and SSL); 0x2 -> HYBRID; 0xa -> HYBRID (not HYBRID_EX); 0x4, 0x10 -> F5.
    server: 'shadow-nla',
    accepted: { ...NONE, HYBRID: true },
    nla: 'required',
    standardRdpSecurity: 'refused',
    asked: [0x1, 0x2, 0xa, 0x4, 0x10],
    connectionsAfterMain: 5,
  },
  {
    server: 'shadow-tls',
    accepted: { ...NONE, SSL: true },
    nla: 'not_supported',
    standardRdpSecurity: 'refused',
    asked: [0x1, 0x2, 0xa, 0x4, 0x10],
    connectionsAfterMain: 5,
  },
  {
    // 0x1 -> F2: standard RDP security only, which settles SSL, HYBRID, HYBRID_EX and RDP in one answer.
    server: 'shadow-rdp',
    accepted: { ...NONE, RDP: true },
    nla: 'not_supported',
    standardRdpSecurity: 'allowed',
    asked: [0x1, 0x4, 0x10],
    connectionsAfterMain: 3,
  },
  {
    // A Connection Confirm without negotiation data settles everything: RDP only.
    server: 'fake-noneg',
    accepted: { ...NONE, RDP: true },
    nla: 'not_supported',
    standardRdpSecurity: 'allowed',
    asked: [0x1],
    connectionsAfterMain: 1,
  },
];

describe.each(EXPECTED)('$server', (x) => {
  const server = SERVERS[x.server]!;

  it('a fresh planner asks only the open questions and concludes like the real server', () => {
    const { result, asked } = enumerate(server);
    expect(asked).toEqual(x.asked);
    expect(result.connections).toBe(x.asked.length);
    expect(result.connections).toBeLessThanOrEqual(6);
    expect(accepted(result)).toEqual(x.accepted);
    expect(result.nla).toBe(x.nla);
    expect(result.standardRdpSecurity).toBe(x.standardRdpSecurity);
  });

  it('starting from the main connection (0xb) it reaches the same answers in at most 6 connections', () => {
    const { result } = enumerate(server, { first: 0xb });
    expect(result.connections).toBe(x.connectionsAfterMain);
    expect(result.connections).toBeLessThanOrEqual(6);
    expect(accepted(result)).toEqual(x.accepted);
    expect(result.nla).toBe(x.nla);
    expect(result.standardRdpSecurity).toBe(x.standardRdpSecurity);
  });

  it('names the answer that settled each protocol', () => {
    const { result } = enumerate(server);
    for (const p of result.protocols) {
      expect(p.how, p.protocol).not.toBe('unknown');
      expect(p.answer, p.protocol).toBeTruthy();
      expect(p.requested, p.protocol).toBeDefined();
    }
  });
});

describe('details', () => {
  it('shadow-rdp: RDP is inferred from SSL_NOT_ALLOWED_BY_SERVER, SSL observed', () => {
    const byName = Object.fromEntries(enumerate(SERVERS['shadow-rdp']!).result.protocols.map((p) => [p.protocol, p]));
    expect(byName['RDP']).toMatchObject({ accepted: true, how: 'inferred', requested: 0x1, answer: 'RDP_NEG_FAILURE SSL_NOT_ALLOWED_BY_SERVER' });
    expect(byName['SSL']).toMatchObject({ accepted: false, how: 'observed', requested: 0x1 });
  });

  it('xrdp-negotiate: a HYBRID request answered with RDP proves HYBRID is not accepted', () => {
    const byName = Object.fromEntries(enumerate(SERVERS['xrdp-negotiate']!).result.protocols.map((p) => [p.protocol, p]));
    expect(byName['HYBRID']).toMatchObject({ accepted: false, how: 'observed', requested: 0x2, answer: 'selected RDP' });
  });

  it('keeps the flags of the first RDP_NEG_RSP: Windows 0x1f means restricted admin and redirected auth', () => {
    const planner = new EnumerationPlanner();
    const c = new X224Connector({ requestedProtocols: 0xb, negFlags: 0 });
    c.start();
    const done = c.receive(hex`03 00 00 13 0e d0 00 00 12 34 00 02 1f 08 00 08 00 00 00`)[0];
    if (done?.type !== 'done') throw new Error('no outcome');
    planner.record(0xb, done.outcome);
    const r = planner.result();
    expect(r.negotiationFlags).toBe(0x1f);
    expect(r.restrictedAdmin).toBe(true);
    expect(r.redirectedAuthentication).toBe(true);
    expect(accepted(r).HYBRID_EX).toBe(true);
  });

  it('flags 0 mean neither; no RDP_NEG_RSP at all means unknown (null)', () => {
    const withRsp = enumerate(SERVERS['xrdp-tls']!, { flags: 0 }).result;
    expect(withRsp.restrictedAdmin).toBe(false);
    expect(withRsp.redirectedAuthentication).toBe(false);
    expect(withRsp.negotiationFlags).toBe(0);
    for (const name of ['xrdp-tls-nocert', 'shadow-rdp', 'fake-noneg']) {
      const r = enumerate(SERVERS[name]!).result;
      expect(r.restrictedAdmin, name).toBeNull();
      expect(r.negotiationFlags, name).toBeUndefined();
    }
  });

  it('a server that never answers: each question is asked once, nothing is concluded', () => {
    const hang: Server = { name: 'fake-hang', table: ['hang', 'hang', 'hang', 'hang', 'hang'], unsupported: 'hang' };
    const { result, asked } = enumerate(hang);
    expect(asked).toEqual([0x1, 0x2, 0x0, 0xa, 0x4, 0x10]);
    expect(result.connections).toBe(6);
    expect(Object.values(accepted(result)).every((v) => v === null)).toBe(true);
    expect(result.nla).toBe('unknown');
    expect(result.standardRdpSecurity).toBe('unknown');
  });

  it('NLA is offered, not required, when HYBRID and RDP are both accepted (shadow-any)', () => {
    const any: Server = { name: 'shadow-any', table: ['RDP', 'SSL', 'HYBRID', 'HYBRID', 'HYBRID'], unsupported: 'RDP' };
    const { result } = enumerate(any);
    expect(accepted(result)).toMatchObject({ RDP: true, SSL: true, HYBRID: true, HYBRID_EX: false });
    expect(result.nla).toBe('offered');
  });
});
