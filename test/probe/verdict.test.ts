/**
 * computeVerdict over stage results. The stage errors come from the code that produces them in a probe (the X.224
 * connector, the TLS classifier, the socket error mapper), so a renamed kind on either side shows up here.
 */
import { describe, expect, it } from 'vitest';
import { X224Connector, type X224Outcome } from '../../src/connector/x224-connector.js';
import { classifyTlsFailure, type TlsFailureInput } from '../../src/probe/tls-classify.js';
import { STAGES, type Enumeration, type Stage, type StageError, type StageResult, type VerdictId } from '../../src/probe/types.js';
import { computeVerdict } from '../../src/probe/verdict.js';
import { socketErrorToStageError } from '../../src/transport/errors.js';
import { ascii, cat, hex, le16, le32 } from '../helpers/bytes.js';

// ---- producing real stage errors --------------------------------------------------------------------------------

type ServerEvent = Uint8Array | 'eof' | 'reset' | 'timeout';

function x224(events: ServerEvent[], requestedProtocols = 0x0b): X224Outcome {
  const c = new X224Connector({ requestedProtocols, negFlags: 0 });
  c.start();
  for (const e of events) {
    const actions = e === 'eof' || e === 'reset' ? c.closed(e) : e === 'timeout' ? c.timedOut(5000) : c.receive(e);
    const done = actions.find((a) => a.type === 'done');
    if (done?.type === 'done') return done.outcome;
  }
  throw new Error('connector gave no outcome');
}

function x224Error(events: ServerEvent[], requestedProtocols?: number): StageError {
  const o = x224(events, requestedProtocols);
  if (o.ok) throw new Error('expected a failed X.224 outcome');
  return o.error;
}

function tlsError(over: Partial<TlsFailureInput>): StageError {
  return classifyTlsFailure({ message: 'handshake failed', timedOut: false, closed: 'none', serverBytes: new Uint8Array(0), timeoutMs: 5000, legacyAllowed: false, ...over }).error;
}

const socketError = (code: string, stage: 'dns' | 'tcp'): StageError => socketErrorToStageError(Object.assign(new Error(code), { code }), stage, '192.0.2.7:3389');

const CC = hex`03 00 00 13 0e d0 00 00 12 34 00`;
const negFailure = (code: number): Uint8Array => cat(CC, 0x03, 0x00, le16(8), le32(code));
const negResponse = (selected: number): Uint8Array => cat(CC, 0x02, 0x00, le16(8), le32(selected));

/** Stages before `stage` ok, `stage` failed with `error`, the rest not reached. */
function failingAt(stage: Stage, error: StageError): StageResult[] {
  const at = STAGES.indexOf(stage);
  return STAGES.map((s, i): StageResult => (i < at ? { stage: s, status: 'ok' } : i === at ? { stage: s, status: 'failed', error } : { stage: s, status: 'not_reached' }));
}

// ---- failures ---------------------------------------------------------------------------------------------------

const FAILURES: { name: string; stage: Stage; error: () => StageError; id: VerdictId }[] = [
  { name: 'NXDOMAIN', stage: 'dns', error: () => socketError('ENOTFOUND', 'dns'), id: 'dns_failure' },
  { name: 'DNS server unreachable', stage: 'dns', error: () => socketError('EAI_AGAIN', 'dns'), id: 'dns_failure' },
  { name: 'RST to the SYN', stage: 'tcp', error: () => socketError('ECONNREFUSED', 'tcp'), id: 'port_closed' },
  { name: 'SYN timeout from the kernel', stage: 'tcp', error: () => socketError('ETIMEDOUT', 'tcp'), id: 'filtered' },
  { name: 'connect deadline', stage: 'tcp', error: () => ({ layer: 'transport', kind: 'connect_timeout', message: 'no answer to the TCP handshake' }), id: 'filtered' },
  { name: 'ICMP host unreachable', stage: 'tcp', error: () => socketError('EHOSTUNREACH', 'tcp'), id: 'unreachable' },
  { name: 'network unreachable', stage: 'tcp', error: () => socketError('ENETUNREACH', 'tcp'), id: 'unreachable' },
  { name: 'X.224 no answer (fake-hang)', stage: 'x224', error: () => x224Error(['timeout']), id: 'no_answer' },
  { name: 'closed after the request (fake-close)', stage: 'x224', error: () => x224Error(['eof']), id: 'connection_dropped' },
  { name: 'reset after the request (fake-rst)', stage: 'x224', error: () => x224Error(['reset']), id: 'connection_dropped' },
  { name: 'X.224 Disconnect Request', stage: 'x224', error: () => x224Error([hex`03 00 00 0b 06 80 00 00 00 00 00`]), id: 'connection_dropped' },
  { name: 'MCS DPUm instead of a CC', stage: 'x224', error: () => x224Error([hex`03 00 00 09 02 f0 80 21 80`]), id: 'connection_dropped' },
  { name: 'SSH banner', stage: 'x224', error: () => x224Error([Uint8Array.from(ascii('SSH-2.0-OpenSSH_9.2p1\r\n'))]), id: 'not_rdp' },
  { name: 'HTTP response', stage: 'x224', error: () => x224Error([Uint8Array.from(ascii('HTTP/1.1 400 Bad Request\r\n'))]), id: 'not_rdp' },
  { name: 'RDP_NEG_FAILURE HYBRID_REQUIRED', stage: 'x224', error: () => x224Error([negFailure(5)]), id: 'negotiation_failure' },
  { name: 'RDP_NEG_FAILURE unknown code 99', stage: 'x224', error: () => x224Error([negFailure(99)]), id: 'negotiation_failure' },
  { name: "zeek's malformed RDP_NEG_RSP", stage: 'x224', error: () => x224Error([hex`03 00 00 13 0e d0 00 00 12 34 00 02 00 03 00 00 00 00 00`]), id: 'protocol_error' },
  { name: 'truncated CC', stage: 'x224', error: () => x224Error([CC, 'eof']), id: 'protocol_error' },
  { name: 'unrequested protocol', stage: 'x224', error: () => x224Error([negResponse(2)], 0x01), id: 'protocol_error' },
  { name: 'plaintext DPUm on the ClientHello (xrdp bad cert)', stage: 'tls', error: () => tlsError({ serverBytes: hex`03 00 00 09 02 f0 80 21 80` }), id: 'tls_server_setup_failure' },
  { name: 'alert protocol_version', stage: 'tls', error: () => tlsError({ serverBytes: hex`15 03 03 00 02 02 46` }), id: 'tls_version_mismatch' },
  { name: 'alert handshake_failure', stage: 'tls', error: () => tlsError({ serverBytes: hex`15 03 03 00 02 02 28` }), id: 'tls_failure' },
  { name: 'alert internal_error', stage: 'tls', error: () => tlsError({ serverBytes: hex`15 03 01 00 02 02 50` }), id: 'tls_failure' },
  { name: 'reset on the ClientHello', stage: 'tls', error: () => tlsError({ closed: 'reset' }), id: 'tls_failure' },
  { name: 'close on the ClientHello', stage: 'tls', error: () => tlsError({ closed: 'eof' }), id: 'tls_failure' },
  { name: 'no answer to the ClientHello (fake-tls-stall)', stage: 'tls', error: () => tlsError({ timedOut: true }), id: 'tls_failure' },
  { name: 'bad signature', stage: 'tls', error: () => tlsError({ code: 'ERR_SSL_BAD_SIGNATURE', message: 'bad signature' }), id: 'tls_failure' },
  ...(['dns', 'tcp', 'x224', 'tls'] as const).map((stage) => ({
    name: `target deadline during ${stage}`,
    stage,
    error: (): StageError => ({ layer: 'transport', kind: 'target_deadline', message: 'the probe deadline for this target passed' }),
    id: 'timeout' as const,
  })),
];

describe.each(FAILURES)('$name', ({ stage, error, id }) => {
  const e = error();
  const v = computeVerdict(failingAt(stage, e));

  it(`gives verdict ${id} at stage ${stage}`, () => {
    expect(v.id).toBe(id);
    expect(v.stage).toBe(stage);
  });

  it('has a summary and at least one fix', () => {
    expect(v.summary.length).toBeGreaterThan(10);
    expect(v.fixes.length).toBeGreaterThan(0);
    for (const f of v.fixes) expect(f.trim()).not.toBe('');
  });
});

describe('negotiation failures', () => {
  it.each([1, 2, 3, 4, 5, 6])('code %i names the code and has its own fixes', (code) => {
    const v = computeVerdict(failingAt('x224', x224Error([negFailure(code)])));
    expect(v.summary).toContain(x224Error([negFailure(code)]).codeName!);
    expect(v.fixes.length).toBeGreaterThan(0);
  });

  it('different codes give different fixes (HYBRID_REQUIRED talks about NLA, SSL_CERT_NOT_ON_SERVER about the certificate)', () => {
    const nla = computeVerdict(failingAt('x224', x224Error([negFailure(5)]))).fixes.join(' ');
    const cert = computeVerdict(failingAt('x224', x224Error([negFailure(3)]))).fixes.join(' ');
    expect(nla).toMatch(/Network Level Authentication/);
    expect(cert).toMatch(/certificate/);
    expect(nla).not.toBe(cert);
  });
});

it('the first failed stage decides, not a later one', () => {
  const stages = failingAt('tcp', socketError('ECONNREFUSED', 'tcp'));
  stages[STAGES.indexOf('tls')] = { stage: 'tls', status: 'failed', error: tlsError({ closed: 'reset' }) };
  expect(computeVerdict(stages)).toMatchObject({ id: 'port_closed', stage: 'tcp' });
});

// ---- success ----------------------------------------------------------------------------------------------------

describe('ok verdicts', () => {
  function okStages(events: ServerEvent[], requested = 0x0b, tls = true): StageResult[] {
    const o = x224(events, requested);
    if (!o.ok) throw new Error('expected ok');
    return STAGES.map((s): StageResult => {
      if (s === 'dns' || s === 'tcp') return { stage: s, status: 'ok' };
      if (s === 'x224') return { stage: s, status: 'ok', facts: { ...o.facts } };
      if (s === 'tls' && tls) return { stage: s, status: 'ok', facts: { version: 'TLS 1.3', cipher: 'TLS_AES_256_GCM_SHA384' } };
      return { stage: s, status: 'skipped', reason: 'beyond --depth tls' };
    });
  }
  const enumeration = (nla: Enumeration['nla'], standardRdpSecurity: Enumeration['standardRdpSecurity']): Enumeration => ({
    protocols: [],
    connections: 5,
    nla,
    standardRdpSecurity,
    restrictedAdmin: null,
    redirectedAuthentication: null,
  });

  it('says NLA is required when enumeration says so, with the protocol and the TLS version', () => {
    const v = computeVerdict(okStages([negResponse(2)]), enumeration('required', 'refused'));
    expect(v.id).toBe('ok');
    expect(v.stage).toBeUndefined();
    expect(v.fixes).toEqual([]);
    expect(v.summary).toContain('NLA is required');
    expect(v.summary).toContain('HYBRID');
    expect(v.summary).toContain('TLS 1.3');
    expect(v.summary).not.toContain('standard RDP security is allowed');
  });

  it('says NLA is offered but not required, and that standard RDP security is allowed', () => {
    const v = computeVerdict(okStages([negResponse(1)]), enumeration('offered', 'allowed'));
    expect(v.summary).toContain('NLA is offered but not required');
    expect(v.summary).toContain('standard RDP security is allowed');
    expect(v.summary).not.toContain('NLA is required');
  });

  it('says NLA is not supported (xrdp)', () => {
    expect(computeVerdict(okStages([negResponse(1)]), enumeration('not_supported', 'allowed')).summary).toContain('NLA is not supported');
  });

  it('says nothing about NLA without enumeration', () => {
    expect(computeVerdict(okStages([negResponse(1)])).summary).not.toMatch(/NLA/);
  });

  it('a Connection Confirm without negotiation data is a legacy server', () => {
    const v = computeVerdict(okStages([hex`03 00 00 0b 06 d0 00 00 12 34 00`], 0x0b, false));
    expect(v).toMatchObject({ id: 'legacy_server', stage: 'x224' });
    expect(v.fixes.length).toBeGreaterThan(0);
  });

  it('with --depth tcp, says only that the port is open', () => {
    const stages = STAGES.map((s): StageResult => (s === 'dns' || s === 'tcp' ? { stage: s, status: 'ok' } : { stage: s, status: 'skipped', reason: 'beyond --depth tcp' }));
    const v = computeVerdict(stages);
    expect(v.id).toBe('ok');
    expect(v.summary).toMatch(/TCP port is open/);
  });
});
