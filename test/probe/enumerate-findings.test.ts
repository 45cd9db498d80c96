/**
 * Enumeration findings say only what the server showed: a server that answers HYBRID_REQUIRED_BY_SERVER to
 * every request (CredSSP included) is not said to lack NLA, and one without a certificate (SSL_CERT_NOT_ON_SERVER)
 * gets no NLA finding at all. The outcomes come from the real X.224 connector fed real RDP_NEG_FAILURE bytes.
 */
import { describe, expect, it } from 'vitest';
import { X224Connector, type X224Outcome } from '../../src/connector/x224-connector.js';
import { EnumerationPlanner } from '../../src/probe/enumerate.js';
import { enumerationFindings } from '../../src/probe/findings.js';
import { encodeConnectionConfirm } from '../../src/protocol/x224.js';
import { encodeNegFailure, encodeNegResponse, NegFailureCode } from '../../src/protocol/nego.js';

function outcome(requested: number, reply: Uint8Array): X224Outcome {
  const c = new X224Connector({ requestedProtocols: requested, negFlags: 0 });
  c.start();
  const done = c.receive(reply).find((a) => a.type === 'done');
  if (done?.type !== 'done') throw new Error('no outcome');
  return done.outcome;
}
const failure = (code: number) => encodeConnectionConfirm({ dstRef: 0, srcRef: 0x1234, classOption: 0, neg: encodeNegFailure({ flags: 0, failureCode: code }) });
const selects = (p: number) => encodeConnectionConfirm({ dstRef: 0, srcRef: 0x1234, classOption: 0, neg: encodeNegResponse({ flags: 0, selectedProtocol: p }) });

/** Runs the planner against a server that answers `reply(requested)`, from the probe's main request 0xb. */
function run(reply: (requested: number) => Uint8Array) {
  const planner = new EnumerationPlanner();
  planner.record(0x0b, outcome(0x0b, reply(0x0b)));
  for (let i = 0, req = planner.next(); req !== undefined && i < 10; i++, req = planner.next()) planner.record(req, outcome(req, reply(req)));
  const en = planner.result();
  return { en, ids: enumerationFindings(en).map((f) => f.id) };
}

describe('enumeration findings', () => {
  it('HYBRID_REQUIRED_BY_SERVER to every request, CredSSP included: no nla-not-supported', () => {
    const { en, ids } = run(() => failure(NegFailureCode.HYBRID_REQUIRED_BY_SERVER));
    expect(en.nla).not.toBe('not_supported');
    expect(ids).not.toContain('nla-not-supported');
    expect(ids).not.toContain('nla-not-required');
    expect(en.standardRdpSecurity).toBe('refused');
    const hybrid = en.protocols.find((p) => p.protocol === 'HYBRID')!;
    expect(hybrid.accepted).toBeNull();
    expect(hybrid.answer).toBe('RDP_NEG_FAILURE HYBRID_REQUIRED_BY_SERVER');
  });

  it('SSL_CERT_NOT_ON_SERVER to every request: no NLA finding it never showed', () => {
    const { en, ids } = run(() => failure(NegFailureCode.SSL_CERT_NOT_ON_SERVER));
    expect(en.nla).toBe('unknown');
    expect(ids.filter((i) => i.startsWith('nla-'))).toEqual([]);
  });

  it('a server that selects RDP for a CredSSP request still lacks NLA (the refusal is observed)', () => {
    const { en, ids } = run((req) => (req === 0 ? selects(0) : req === 1 ? selects(1) : selects(0)));
    expect(en.nla).toBe('not_supported');
    expect(ids).toContain('nla-not-supported');
  });
});
