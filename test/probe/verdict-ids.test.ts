/**
 * Every verdict is named and documented: no catch-all 'error', our own failures never read ok, and the three
 * ways a credential check can end without an answer are three different verdicts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CredsspConnector } from '../../src/connector/credssp-connector.js';
import { ReportBuilder } from '../../src/probe/report-builder.js';
import { STAGES, VERDICT_IDS, type Finding, type Stage, type StageError, type StageResult } from '../../src/probe/types.js';
import { computeVerdict } from '../../src/probe/verdict.js';
import { socketErrorToStageError } from '../../src/transport/errors.js';

function failingAt(stage: Stage, error: StageError): StageResult[] {
  const at = STAGES.indexOf(stage);
  return STAGES.map((s, i): StageResult => (i < at ? { stage: s, status: 'ok' } : i === at ? { stage: s, status: 'failed', error } : { stage: s, status: 'not_reached' }));
}
const sock = (code: string): StageError => socketErrorToStageError(Object.assign(new Error(`connect ${code}`), { code }), 'tcp', '192.0.2.7:3389');

describe('the verdict list', () => {
  it("has no catch-all 'error', and has internal_error and local_failure", () => {
    expect(VERDICT_IDS).not.toContain('error');
    expect(VERDICT_IDS).toContain('internal_error');
    expect(VERDICT_IDS).toContain('local_failure');
    expect(new Set(VERDICT_IDS).size).toBe(VERDICT_IDS.length);
  });

  it("every verdict is in README.md's verdict table, and the table names no other", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('## Verdicts'), readme.indexOf('\n\n', readme.indexOf('| verdict |')));
    const rows = [...table.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
    expect(rows.sort()).toEqual([...VERDICT_IDS].sort());
  });
});

describe('every fall-through has a name', () => {
  const cases: { name: string; stage: Stage; error: StageError; id: string }[] = [
    { name: 'ECONNRESET at connect', stage: 'tcp', error: sock('ECONNRESET'), id: 'connection_dropped' },
    { name: 'an errno this tool does not name', stage: 'tcp', error: sock('EPROTO'), id: 'network_error' },
    { name: 'EMFILE', stage: 'tcp', error: sock('EMFILE'), id: 'local_failure' },
    { name: 'ENFILE', stage: 'tcp', error: sock('ENFILE'), id: 'local_failure' },
    { name: 'EADDRNOTAVAIL', stage: 'tcp', error: sock('EADDRNOTAVAIL'), id: 'local_failure' },
    { name: 'ENOBUFS', stage: 'tcp', error: sock('ENOBUFS'), id: 'local_failure' },
    { name: 'EACCES on bind', stage: 'tcp', error: sock('EACCES'), id: 'local_failure' },
    { name: 'a stage the table does not know yet', stage: 'security', error: { layer: 'peer', kind: 'something_new', message: 'x' }, id: 'internal_error' },
    { name: 'a failed stage without an error', stage: 'x224', error: undefined as unknown as StageError, id: 'internal_error' },
    { name: 'our own bug', stage: 'tls', error: { layer: 'internal', kind: 'internal_error', message: 'boom' }, id: 'internal_error' },
    { name: 'a reset right after accept', stage: 'x224', error: { layer: 'peer', kind: 'reset_after_accept', message: 'reset' }, id: 'connection_dropped' },
    { name: 'a pin mismatch at tls', stage: 'tls', error: { layer: 'policy', kind: 'untrusted_certificate', message: 'no' }, id: 'untrusted_certificate' },
    { name: 'the target deadline', stage: 'tls', error: { layer: 'transport', kind: 'target_deadline', message: 'the 1000 ms target deadline passed during tls' }, id: 'timeout' },
    { name: 'the caller stopped us', stage: 'x224', error: { layer: 'transport', kind: 'cancelled', message: 'the probe was stopped during x224' }, id: 'cancelled' },
  ];
  it.each(cases)('$name → $id', (c) => {
    const v = computeVerdict(failingAt(c.stage, c.error));
    expect(v.id).toBe(c.id);
    expect(v.stage).toBe(c.stage);
    expect(v.summary).not.toMatch(/undefined/);
  });

  it('the local errno is kept for scans (layer local, kind local_resource, localCode)', () => {
    expect(sock('EMFILE')).toMatchObject({ layer: 'local', kind: 'local_resource', localCode: 'EMFILE' });
  });
});

describe('a credential check that ends without an answer is not "rejected"', () => {
  /** A connector waiting for the server pubKeyAuth, as after a real NEGOTIATE/CHALLENGE. */
  function timedOutAtNlaAuth(): StageError {
    const c = new CredsspConnector({ mode: 'auth', subjectPublicKey: new Uint8Array(0), hybridEx: false, clientVersion: 6, targetName: 'TERMSRV/x', random: { clientChallenge: new Uint8Array(8), sessionKey: new Uint8Array(16), nonce: new Uint8Array(32) }, nowMs: 0 });
    (c as unknown as { state: string }).state = 'await_pubkey';
    const stage = c.timedOut(5000).find((a) => a.type === 'stage');
    if (stage?.type !== 'stage' || !stage.outcome.error) throw new Error('no outcome');
    expect(stage.outcome.stage).toBe('nla_auth');
    return stage.outcome.error;
  }
  const three: [string, StageError, string][] = [
    ['timeout', timedOutAtNlaAuth(), 'timeout'],
    ['malformed reply', { layer: 'protocol', kind: 'malformed_tsrequest', message: 'malformed TSRequest: x', path: 'TSRequest', offset: 2 }, 'protocol_error'],
    ['bad server pubKeyAuth', { layer: 'peer', kind: 'pubkeyauth_mismatch', message: "the server's pubKeyAuth does not verify" }, 'possible_mitm'],
  ];
  it.each(three)('%s', (_n, error, id) => {
    const v = computeVerdict(failingAt('nla_auth', error));
    expect(v).toMatchObject({ id, stage: 'nla_auth' });
    expect(v.summary).not.toMatch(/rejected the credentials/);
  });
  it('the three are three verdicts', () => {
    expect(new Set(three.map(([, e]) => computeVerdict(failingAt('nla_auth', e)).id)).size).toBe(3);
  });
});

describe('ReportBuilder', () => {
  const mk = (): ReportBuilder => {
    let t = 0;
    return new ReportBuilder({ host: 'h', port: 1 }, 'credssp', () => (t += 1), new Date(0), 'test');
  };
  it('sorts findings by severity, critical first, keeping the found order within one severity', () => {
    const b = mk();
    const f = (id: string, severity: Finding['severity']): Finding => ({ id, severity, stage: 'tls', message: id });
    b.findings.push(f('a', 'info'), f('b', 'medium'), f('c', 'critical'), f('d', 'medium'), f('e', 'high'), f('g', 'low'));
    expect(b.build().findings.map((x) => x.id)).toEqual(['c', 'e', 'b', 'd', 'g', 'a']);
  });
  it('an abort fails the next stage it kept from running', () => {
    const b = mk();
    b.begin('dns').end({ status: 'ok' });
    b.begin('tcp').end({ status: 'ok' });
    b.abort({ layer: 'internal', kind: 'internal_error', message: 'boom' });
    const r = b.build();
    expect(r.verdict).toMatchObject({ id: 'internal_error', stage: 'x224' });
    expect(r.stages.find((s) => s.stage === 'x224')?.status).toBe('failed');
  });
  it('an abort after every stage ran (in enumeration) still never reads ok', () => {
    const b = mk();
    for (const s of ['dns', 'tcp', 'x224', 'tls', 'credssp'] as const) b.begin(s).end({ status: 'ok' });
    b.abort({ layer: 'local', kind: 'local_resource', localCode: 'EMFILE', message: 'no descriptors (EMFILE)' });
    const r = b.build();
    expect(r.verdict.id).toBe('local_failure');
    expect(r.stages.filter((s) => s.status === 'failed')).toEqual([]);
  });
});
