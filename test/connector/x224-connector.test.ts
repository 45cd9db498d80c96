/** Scripted server frames against the pure X.224 connector; no sockets, no timers. */
import { describe, expect, it } from 'vitest';
import { X224Connector, type X224Action, type X224Config, type X224Outcome } from '../../src/connector/x224-connector.js';
import { ascii, cat, hex, le16, le32 } from '../helpers/bytes.js';

// ---- server answers, built independently of src/protocol ------------------------------------------------------

const CC_HEADER = hex`
  03 00 00 13   # TPKT length 19
  0e d0         # LI 14, CC
  00 00 12 34   # dst-ref 0, src-ref 0x1234
  00            # class 0
`;
const rsp = (flags: number, selected: number): Uint8Array => cat(CC_HEADER, 0x02, flags, le16(8), le32(selected));
const failure = (code: number): Uint8Array => cat(CC_HEADER, 0x03, 0x00, le16(8), le32(code));

const WINDOWS_HYBRID_EX = hex`03 00 00 13 0e d0 00 00 12 34 00 02 1f 08 00 08 00 00 00`;
const LEGACY_CC = hex`03 00 00 0b 06 d0 00 00 12 34 00`;
const XRDP_DPUM = hex`03 00 00 09 02 f0 80 21 80`;
const DISCONNECT_REQUEST = hex`03 00 00 0b 06 80 00 00 00 00 01`;
const ZEEK_BAD_RSP = hex`03 00 00 13 0e d0 00 00 12 34 00 02 00 03 00 00 00 00 00`;
const MODBUS_REPLY = hex`03 00 00 2b 00 03 00 80 01`;

// ---- driving ----------------------------------------------------------------------------------------------------

type End = { closed: 'eof' | 'reset' } | { timedOut: number };

const config = (over: Partial<X224Config> = {}): X224Config => ({ requestedProtocols: 0x0b, negFlags: 0, ...over });

/** Starts a connector, feeds the chunks, then the end event; asserts that exactly one `done` came out. */
function run(chunks: Uint8Array[], end?: End, cfg: X224Config = config()): { outcome: X224Outcome; connector: X224Connector } {
  const c = new X224Connector(cfg);
  const actions: X224Action[] = [...c.start()];
  for (const ch of chunks) actions.push(...c.receive(ch));
  if (end && 'closed' in end) actions.push(...c.closed(end.closed));
  if (end && 'timedOut' in end) actions.push(...c.timedOut(end.timedOut));
  const done = actions.filter((a): a is Extract<X224Action, { type: 'done' }> => a.type === 'done');
  expect(done).toHaveLength(1);
  expect(c.isDone).toBe(true);
  return { outcome: done[0]!.outcome, connector: c };
}

function failed(outcome: X224Outcome): Extract<X224Outcome, { ok: false }> {
  if (outcome.ok) throw new Error(`expected a failure, got ${JSON.stringify(outcome.facts)}`);
  return outcome;
}

function succeeded(outcome: X224Outcome): Extract<X224Outcome, { ok: true }> {
  if (!outcome.ok) throw new Error(`expected success, got ${outcome.error.kind}: ${outcome.error.message}`);
  return outcome;
}

// ---- tests ------------------------------------------------------------------------------------------------------

describe('start', () => {
  it('sends a Connection Request with RDP_NEG_REQ and no cookie by default', () => {
    const actions = new X224Connector(config()).start();
    expect(actions).toHaveLength(1);
    const a = actions[0]!;
    expect(a.type).toBe('send');
    if (a.type !== 'send') return;
    expect(a.bytes).toEqual(hex`
      03 00 00 13            # TPKT length 19
      0e e0 00 00 00 00 00   # CR
      01 00 08 00            # RDP_NEG_REQ, flags 0, length 8
      0b 00 00 00            # SSL|HYBRID|HYBRID_EX
    `);
  });

  it('puts the mstshash cookie before RDP_NEG_REQ when one is configured', () => {
    const a = new X224Connector(config({ cookie: 'rdpuser', requestedProtocols: 1, negFlags: 0 })).start()[0]!;
    if (a.type !== 'send') throw new Error('expected send');
    expect(a.bytes).toEqual(cat(hex`03 00 00 2d 28 e0 00 00 00 00 00`, ascii('Cookie: mstshash=rdpuser\r\n'), hex`01 00 08 00 01 00 00 00`));
  });
});

describe('Connection Confirm with RDP_NEG_RSP', () => {
  it('accepts Windows selecting HYBRID_EX with flags 0x1f and keeps the facts and the evidence', () => {
    const o = succeeded(run([WINDOWS_HYBRID_EX]).outcome);
    expect(o.selectedProtocol).toBe(0x08);
    expect(o.legacy).toBe(false);
    expect(o.responseFlags).toBe(0x1f);
    expect(o.facts).toMatchObject({
      requestedProtocols: 0x0b,
      requested: 'SSL|HYBRID|HYBRID_EX',
      selectedProtocol: 0x08,
      selected: 'HYBRID_EX',
      srcRef: 0x1234,
      responseFlags: 0x1f,
    });
    expect(o.facts.responseFlagNames).toContain('RESTRICTED_ADMIN_MODE_SUPPORTED');
    expect(o.evidence).toEqual({
      direction: 'server',
      hex: '030000130ed00000123400021f080008000000',
      length: 19,
      pdu: 'X.224 Connection Confirm / RDP_NEG_RSP',
    });
  });

  it('accepts xrdp selecting RDP when SSL was requested (xrdp security_layer=rdp does that)', () => {
    const o = succeeded(run([rsp(0, 0)], undefined, config({ requestedProtocols: 0x01 })).outcome);
    expect(o.selectedProtocol).toBe(0);
    expect(o.facts.selected).toBe('RDP');
  });

  it('rejects a protocol that was not requested: SSL requested, HYBRID selected', () => {
    const o = failed(run([rsp(0, 0x02)], undefined, config({ requestedProtocols: 0x01 })).outcome);
    expect(o.error.kind).toBe('unrequested_protocol');
    expect(o.error.layer).toBe('protocol');
    expect(o.error.spec).toBe('MS-RDPBCGR 2.2.1.2.1');
    expect(o.error.message).toContain('HYBRID');
    expect(o.evidence?.length).toBe(19);
  });

  it('rejects SSL selected when only RDP was requested', () => {
    expect(failed(run([rsp(0, 0x01)], undefined, config({ requestedProtocols: 0 })).outcome).error.kind).toBe('unrequested_protocol');
  });

  it('rejects a selectedProtocol that is not one protocol, even if every bit was requested', () => {
    expect(failed(run([rsp(0, 0x03)], undefined, config({ requestedProtocols: 0x03 })).outcome).error.kind).toBe('unrequested_protocol');
    expect(failed(run([rsp(0, 0x20)], undefined, config({ requestedProtocols: 0x3f })).outcome).error.kind).toBe('unrequested_protocol');
  });
});

describe('RDP_NEG_FAILURE', () => {
  const codes: [number, string][] = [
    [1, 'SSL_REQUIRED_BY_SERVER'],
    [2, 'SSL_NOT_ALLOWED_BY_SERVER'],
    [3, 'SSL_CERT_NOT_ON_SERVER'],
    [4, 'INCONSISTENT_FLAGS'],
    [5, 'HYBRID_REQUIRED_BY_SERVER'],
    [6, 'SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER'],
  ];

  it.each(codes)('code %i is negotiation_failure %s', (code, codeName) => {
    const o = failed(run([failure(code)]).outcome);
    expect(o.error).toMatchObject({ layer: 'peer', kind: 'negotiation_failure', code, codeName, spec: 'MS-RDPBCGR 2.2.1.2.2' });
    expect(o.facts).toMatchObject({ failureCode: code, failureName: codeName });
    expect(o.evidence?.pdu).toBe('X.224 Connection Confirm / RDP_NEG_FAILURE');
  });

  it('explains each code with its own sentence', () => {
    const messages = codes.map(([code]) => failed(run([failure(code)]).outcome).error.message);
    expect(new Set(messages).size).toBe(codes.length);
    expect(messages[4]).toMatch(/network level authentication/);
  });

  it('keeps an unknown code 99 as unknown (0x00000063)', () => {
    const o = failed(run([failure(99)]).outcome);
    expect(o.error).toMatchObject({ kind: 'negotiation_failure', code: 99, codeName: 'unknown (0x00000063)', spec: 'MS-RDPBCGR 2.2.1.2.2' });
    expect(o.error.message).toContain('99');
  });
});

describe('other answers', () => {
  it('a legacy Connection Confirm is an answer: standard RDP security, legacy', () => {
    const o = succeeded(run([LEGACY_CC]).outcome);
    expect(o.legacy).toBe(true);
    expect(o.selectedProtocol).toBe(0);
    expect(o.responseFlags).toBeUndefined();
    expect(o.facts).toMatchObject({ legacy: true, selected: 'RDP', srcRef: 0x1234 });
    expect(o.evidence.pdu).toBe('X.224 Connection Confirm (no negotiation data)');
  });

  it('a Disconnect Request is the peer dropping the connection, with its reason', () => {
    const o = failed(run([DISCONNECT_REQUEST]).outcome);
    expect(o.error).toMatchObject({ layer: 'peer', kind: 'disconnect_request', code: 1 });
    expect(o.evidence?.pdu).toBe('X.224 Disconnect Request');
  });

  it('names the MCS Disconnect Provider Ultimatum xrdp sends in a Data TPDU', () => {
    const o = failed(run([XRDP_DPUM]).outcome);
    expect(o.error.kind).toBe('unexpected_pdu');
    expect(o.error.layer).toBe('peer');
    expect(o.error.message).toContain('Disconnect Provider Ultimatum (rn-user-requested)');
    expect(o.evidence).toEqual({ direction: 'server', hex: '0300000902f0802180', length: 9, pdu: 'MCS Disconnect Provider Ultimatum' });
  });

  it('a Data TPDU that is not a DPUm is still unexpected', () => {
    const o = failed(run([hex`03 00 00 08 02 f0 80 7f`]).outcome);
    expect(o.error.kind).toBe('unexpected_pdu');
    expect(o.evidence?.pdu).toBe('X.224 Data');
  });

  it('an X.224 Error TPDU is an unexpected PDU at the protocol layer', () => {
    const o = failed(run([hex`03 00 00 0d 08 70 00 00 02 c1 02 e0 00`]).outcome);
    expect(o.error).toMatchObject({ layer: 'protocol', kind: 'unexpected_pdu' });
  });

  it('a server echoing the Connection Request back is an unexpected PDU', () => {
    const c = new X224Connector(config());
    const cr = c.start()[0]!;
    if (cr.type !== 'send') throw new Error('expected send');
    const done = c.receive(cr.bytes);
    expect(done).toHaveLength(1);
    const o = done[0]!.type === 'done' ? done[0]!.outcome : undefined;
    expect(o && !o.ok && o.error.kind).toBe('unexpected_pdu');
  });

  it("zeek's malformed RDP_NEG_RSP is a malformed answer with the decoder's path and offset", () => {
    const o = failed(run([ZEEK_BAD_RSP]).outcome);
    expect(o.error).toMatchObject({ layer: 'protocol', kind: 'malformed_answer', path: 'TPKT > X.224 CC > RDP_NEG_RSP', offset: 13 });
    expect(o.evidence?.pdu).toBe('malformed X.224 frame');
  });
});

describe('not RDP', () => {
  it('an SSH banner', () => {
    const o = failed(run([Uint8Array.from(ascii('SSH-2.0-OpenSSH_9.2p1\r\n'))]).outcome);
    expect(o.error).toMatchObject({ layer: 'protocol', kind: 'not_rdp' });
    expect(o.error.message).toContain('SSH');
    expect(o.error.message).toContain('OpenSSH_9.2p1');
    expect(o.evidence?.pdu).toBe('SSH banner');
  });

  it('an HTTP error page', () => {
    const o = failed(run([Uint8Array.from(ascii('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'))]).outcome);
    expect(o.error.kind).toBe('not_rdp');
    expect(o.error.message).toContain('HTTP/1.1 400 Bad Request');
    expect(o.evidence?.pdu).toBe('HTTP response');
  });

  it('a TLS server that wants a ClientHello first', () => {
    const o = failed(run([hex`15 03 01 00 02 02 46`]).outcome);
    expect(o.error.kind).toBe('not_rdp');
    expect(o.evidence?.pdu).toBe('TLS alert');
  });

  it('a Modbus reply: looks like a TPKT header, then nothing', () => {
    const o = failed(run([MODBUS_REPLY], { timedOut: 5000 }).outcome);
    expect(o.error.kind).toBe('not_rdp');
    expect(o.error.message).toContain('5000 ms');
    expect(o.evidence?.hex).toBe('0300002b0003008001');
  });

  it('a TPKT length too short for any X.224 TPDU', () => {
    expect(failed(run([hex`03 00 00 04`]).outcome).error.kind).toBe('not_rdp');
  });
});

describe('no or partial answer', () => {
  it('eof with no bytes: closed_after_request', () => {
    const o = failed(run([], { closed: 'eof' }).outcome);
    expect(o.error).toMatchObject({ layer: 'peer', kind: 'closed_after_request' });
    expect(o.evidence).toBeUndefined();
  });

  it('reset with no bytes: reset_after_request', () => {
    expect(failed(run([], { closed: 'reset' }).outcome).error).toMatchObject({ layer: 'peer', kind: 'reset_after_request' });
  });

  it('deadline with no bytes: timeout', () => {
    const o = failed(run([], { timedOut: 2500 }).outcome);
    expect(o.error).toMatchObject({ layer: 'transport', kind: 'timeout' });
    expect(o.error.message).toContain('2500 ms');
  });

  it.each(['eof', 'reset'] as const)('part of a real CC, then %s: truncated_answer', (how) => {
    const o = failed(run([WINDOWS_HYBRID_EX.subarray(0, 11)], { closed: how }).outcome);
    expect(o.error).toMatchObject({ layer: 'protocol', kind: 'truncated_answer' });
    expect(o.error.message).toContain('11 of 19 bytes');
    expect(o.evidence).toMatchObject({ hex: '030000130ed00000123400', length: 11, pdu: 'truncated TPKT frame' });
  });

  it('part of a real CC, then the deadline: truncated_answer', () => {
    expect(failed(run([WINDOWS_HYBRID_EX.subarray(0, 3)], { timedOut: 100 }).outcome).error.kind).toBe('truncated_answer');
  });
});

describe('after the answer', () => {
  it('keeps bytes that came after the Connection Confirm in leftover()', () => {
    const tlsStart = hex`16 03 03 00 4a 02`;
    const { outcome, connector } = run([cat(WINDOWS_HYBRID_EX, tlsStart)]);
    expect(outcome.ok).toBe(true);
    expect(connector.leftover()).toEqual(tlsStart);
  });

  it('leaves leftover() empty after an exact frame', () => {
    expect(run([rsp(0, 1)], undefined, config({ requestedProtocols: 1 })).connector.leftover()).toHaveLength(0);
  });

  it('reports the outcome once: later bytes, closes and deadlines do nothing', () => {
    const { connector } = run([LEGACY_CC]);
    expect(connector.receive(XRDP_DPUM)).toEqual([]);
    expect(connector.closed('reset')).toEqual([]);
    expect(connector.timedOut(1)).toEqual([]);
  });

  it("does not keep a reference to the caller's chunk", () => {
    const chunk = cat(WINDOWS_HYBRID_EX.subarray(0, 5));
    const c = new X224Connector(config());
    c.start();
    c.receive(chunk);
    chunk.fill(0xff);
    const done = c.receive(WINDOWS_HYBRID_EX.subarray(5));
    expect(done[0]?.type === 'done' && done[0].outcome.ok).toBe(true);
  });
});
