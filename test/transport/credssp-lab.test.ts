/**
 * The real client path — runProbe (X.224, TLS, the CredSSP connector over the socket) and the CLI main() — against
 * the scripted NLA peer on loopback (src/lab/rdp-nla-peer.ts), for what FreeRDP's shadow server cannot show:
 * TSRequest.errorCode values, CredSSP 2–4 servers, TLS alerts after the AUTHENTICATE, HYBRID_EX with an Early
 * User Authorization Result, a server pubKeyAuth that does not verify, malformed answers, a skewed server clock.
 *
 * The peer is a real verifier (NTProofStr from the known password, the session key recovered from the wire, the
 * MIC, the channel bindings, the client's pubKeyAuth, the sealed TSCredentials), so every test also asserts
 * what the client really sent — and did not send.
 */
import { PassThrough } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { CredsspConnector, type CredsspAction, type StageOutcome } from '../../src/connector/credssp-connector.js';
import { generateCert, LOCAL_SANS } from '../../src/lab/certs.js';
import { CredsspServer, type CredsspServerAction, type LabUser } from '../../src/lab/credssp-server.js';
import { isLoopback, startNlaPeer, type NlaPeer, type NlaPeerConnection, type NlaPeerOptions } from '../../src/lab/rdp-nla-peer.js';
import { NtStatus, SecStatus } from '../../src/protocol/ntstatus.js';
import { decodeCertificate } from '../../src/protocol/x509.js';
import type { ProbeReport } from '../../src/probe/types.js';
import type { TranscriptEntry } from '../../src/transport/credssp-exchange.js';
import { runProbe, type ProbeOptions } from '../../src/transport/drive.js';

const ALICE: LabUser = { user: 'alice', domain: 'LAB', password: 'Corr3ct-Horse!' };
const CERT = generateCert({ commonName: 'localhost', sans: LOCAL_SANS, keyName: 'credssp-lab' });
const fast = { stageTimeoutMs: 2000, targetTimeoutMs: 10_000, enumerate: false } as const;

const peers: NlaPeer[] = [];
afterAll(async () => {
  await Promise.all(peers.map((p) => p.close()));
});

async function peer(o: Partial<NlaPeerOptions> = {}): Promise<NlaPeer> {
  const p = await startNlaPeer({ credsspVersion: 6, users: [ALICE], cert: CERT, ...o });
  peers.push(p);
  return p;
}

/** runProbe against the peer, trusting its certificate by pin (so credentials may be sent). */
async function probe(p: NlaPeer, o: Partial<ProbeOptions> = {}): Promise<ProbeReport> {
  const r = await runProbe({ host: p.host, port: p.port }, { ...fast, trust: { pins: [p.fingerprint] }, ...o });
  await p.settled();
  return r;
}

/** The one connection a probe without enumeration makes. */
function only(p: NlaPeer): NlaPeerConnection {
  expect(p.connections).toHaveLength(1);
  return p.connections[0]!;
}

const st = (r: ProbeReport, id: string) => r.stages.find((s) => s.stage === id)!;
const auth = (o: Partial<ProbeOptions> = {}): Partial<ProbeOptions> => ({ depth: 'auth', credentials: ALICE, ...o });
const hex8 = (code: number): string => (code >>> 0).toString(16).padStart(8, '0');

function cli(env: Record<string, string> = {}) {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (d) => (o += d));
  err.on('data', (d) => (e += d));
  return { io: { stdout: out, stderr: err, env, stdin: new PassThrough() }, out: () => o, err: () => e };
}

const STATUS: Record<string, number> = { ...NtStatus, ...SecStatus };

describe('TSRequest.errorCode from the server', () => {
  const afterAuthenticate = [
    'STATUS_LOGON_FAILURE',
    'STATUS_PASSWORD_EXPIRED',
    'STATUS_ACCOUNT_LOCKED_OUT',
    'STATUS_ACCOUNT_DISABLED',
    'STATUS_PASSWORD_MUST_CHANGE',
    'STATUS_LOGON_TYPE_NOT_GRANTED',
    'STATUS_INVALID_LOGON_HOURS',
    'STATUS_TIME_DIFFERENCE_AT_DC',
    'STATUS_ACCOUNT_EXPIRED',
    'STATUS_ACCOUNT_RESTRICTION',
    'STATUS_NO_LOGON_SERVERS',
    'STATUS_NTLM_BLOCKED',
    'SEC_E_LOGON_DENIED',
    'SEC_E_UNSUPPORTED_FUNCTION',
  ];

  it.each(afterAuthenticate)('after the AUTHENTICATE: %s is named at nla_auth, verdict nla_rejected', async (name) => {
    const code = STATUS[name]!;
    const p = await peer({ errorCodeAfterAuthenticate: code });
    const r = await probe(p, auth());
    expect(st(r, 'credssp').status).toBe('ok');
    const na = st(r, 'nla_auth');
    expect(na.status).toBe('failed');
    expect(na.error).toMatchObject({ layer: 'peer', kind: 'error_code', code, codeName: name, spec: 'MS-CSSP 2.2.1' });
    expect(na.error?.message).toContain(`TSRequest.errorCode 0x${hex8(code).toUpperCase()} ${name}`);
    // The deciding bytes: errorCode [4] INTEGER, four bytes, negative as Windows encodes it.
    expect(na.evidence?.[0]?.hex).toContain(`a40602 04${hex8(code)}`.replace(' ', ''));
    expect(r.verdict).toMatchObject({ id: 'nla_rejected', stage: 'nla_auth' });
    expect(r.verdict.summary).toBe(`the server refused the logon with 0x${hex8(code).toUpperCase()} ${name}`);
    // The verdict is its own short sentence; the stage error keeps the detail, said once.
    expect(na.error?.message).not.toContain(r.verdict.summary);
    expect(st(r, 'authz').status).toBe('not_reached');
    // The code is the server's own word: the password was right, and nothing was delegated.
    const c = only(p).credssp!;
    expect(c.authenticate).toMatchObject({ user: 'alice', domain: 'LAB', userKnown: true, ntProofOk: true, micOk: true });
    expect(c.clientPubKeyAuth).toBe('ok');
    expect(c.authInfoReceived).toBe(false);
    expect(c.sent).toEqual(['TSRequest / NTLM CHALLENGE', 'TSRequest errorCode after the AUTHENTICATE']);
  });

  it.each(['SEC_E_UNSUPPORTED_FUNCTION', 'STATUS_NTLM_BLOCKED', 'SEC_E_LOGON_DENIED'])(
    'after the NEGOTIATE: %s is named at the credssp stage, verdict nla_failure, no AUTHENTICATE sent',
    async (name) => {
      const code = STATUS[name]!;
      const p = await peer({ errorCodeAfterNegotiate: code });
      const r = await probe(p, auth());
      const cr = st(r, 'credssp');
      expect(cr.status).toBe('failed');
      expect(cr.error).toMatchObject({ layer: 'peer', kind: 'error_code', code, codeName: name });
      expect(cr.facts?.['serverVersion']).toBe(6);
      expect(r.verdict).toMatchObject({ id: 'nla_failure', stage: 'credssp' });
      expect(r.verdict.summary).toContain(name);
      expect(st(r, 'nla_auth').status).toBe('not_reached');
      const c = only(p).credssp!;
      expect(c.clientVersions).toEqual([6]);
      expect(c.authenticate).toBeUndefined();
    },
  );

  it('an NTSTATUS not in the table is shown as hex, still nla_rejected', async () => {
    const p = await peer({ errorCodeAfterAuthenticate: 0xc0000999 });
    const r = await probe(p, auth());
    expect(st(r, 'nla_auth').error).toMatchObject({ kind: 'error_code', code: 0xc0000999 });
    expect(st(r, 'nla_auth').error?.codeName).toMatch(/^unknown \(0x(c0000999|C0000999)\)$/);
    expect(r.verdict.id).toBe('nla_rejected');
  });

  it('the CLI text report names the status, its spec and the fix, and never the password', async () => {
    const p = await peer({ errorCodeAfterAuthenticate: NtStatus.STATUS_ACCOUNT_LOCKED_OUT });
    const t = cli({ PW: ALICE.password });
    const code = await main(['check', `${p.host}:${p.port}`, '--no-enumerate', '--depth', 'auth', '--user', 'LAB\\alice', '--password-env', 'PW', '--pin', p.fingerprint, '--color=false', '--log-level', 'trace'], t.io);
    await p.settled();
    expect(code).toBe(1);
    const out = t.out();
    expect(out).toContain('STATUS_ACCOUNT_LOCKED_OUT');
    expect(out).toContain('MS-CSSP 2.2.1');
    expect(out).toContain('the account is locked out');
    expect(out + t.err()).not.toContain(ALICE.password);
    expect(only(p).credssp?.authenticate?.ntProofOk).toBe(true);
  });
});

describe('the password check is real', () => {
  it('right password at --depth auth: nla_auth ok, and the double received NO authInfo', async () => {
    const p = await peer();
    const r = await probe(p, auth());
    expect(r.verdict.id).toBe('ok');
    expect(st(r, 'nla_auth')).toMatchObject({ status: 'ok', facts: { negotiatedVersion: 6, user: 'LAB\\alice', pubKeyAuth: 'verified', credentialsDelegated: false } });
    const c = only(p).credssp!;
    expect(c.authenticate).toMatchObject({
      userKnown: true,
      ntProofOk: true,
      ntlmv2: true,
      micPresent: true,
      micOk: true,
      keyExchange: true,
      // MsvAvChannelBindings over tls-server-end-point of the peer's certificate, as the client computed it.
      channelBindings: 'match',
      targetName: `TERMSRV/${p.host}`,
      timestampEchoed: true,
    });
    expect(c.clientPubKeyAuth).toBe('ok');
    expect(c.sent).toEqual(['TSRequest / NTLM CHALLENGE', 'TSRequest / pubKeyAuth']);
    expect(c.authInfoReceived).toBe(false);
    expect(c.credentials).toBeUndefined();
    expect(c.clientVersions).toEqual([6, 6]);
  });

  it('wrong password: the double answers STATUS_LOGON_FAILURE, as Windows does', async () => {
    const p = await peer();
    const r = await probe(p, auth({ credentials: { ...ALICE, password: 'Wrong-Horse!' } }));
    expect(st(r, 'nla_auth').error).toMatchObject({ kind: 'error_code', code: NtStatus.STATUS_LOGON_FAILURE, codeName: 'STATUS_LOGON_FAILURE' });
    expect(r.verdict.id).toBe('nla_rejected');
    const c = only(p).credssp!;
    expect(c.authenticate).toMatchObject({ userKnown: true, ntProofOk: false });
    expect(c.sent.at(-1)).toBe('TSRequest errorCode 0xc000006d (wrong password)');
  });

  it('unknown user: the same STATUS_LOGON_FAILURE (the server does not say which)', async () => {
    const p = await peer();
    const r = await probe(p, auth({ credentials: { ...ALICE, user: 'mallory' } }));
    expect(st(r, 'nla_auth').error?.codeName).toBe('STATUS_LOGON_FAILURE');
    expect(only(p).credssp?.authenticate).toMatchObject({ user: 'mallory', userKnown: false, ntProofOk: false });
  });

  it('a CredSSP 2 server has no errorCode field: it drops the connection, the client says closed_after_authenticate', async () => {
    const p = await peer({ credsspVersion: 2 });
    const r = await probe(p, auth({ credentials: { ...ALICE, password: 'Wrong-Horse!' } }));
    expect(st(r, 'nla_auth').error).toMatchObject({ layer: 'peer', kind: 'closed_after_authenticate' });
    expect(r.verdict.id).toBe('nla_rejected');
    expect(only(p).credssp?.sent).toEqual(['TSRequest / NTLM CHALLENGE']);
  });
});

describe('CredSSP versions', () => {
  it.each([2, 3, 4] as const)('a CredSSP %i server: credssp-not-updated (high), and nla_auth works with the key+1 pubKeyAuth, no clientNonce sent', async (v) => {
    const p = await peer({ credsspVersion: v });
    const r = await probe(p, auth());
    const cr = st(r, 'credssp');
    expect(cr.facts?.['serverVersion']).toBe(v);
    expect(cr.facts?.['oracleRemediation']).toContain('not updated');
    expect((cr.facts?.['clientCompatibility'] as Record<string, string>)['forceUpdatedClients']).toMatch(/^fails/);
    const f = r.findings.find((x) => x.id === 'credssp-not-updated');
    expect(f).toMatchObject({ severity: 'high', stage: 'credssp', evidence: { serverVersion: v } });
    expect(st(r, 'nla_auth')).toMatchObject({ status: 'ok', facts: { negotiatedVersion: v, pubKeyAuth: 'verified' } });
    expect(r.verdict.id).toBe('ok');
    const c = only(p).credssp!;
    expect(c.clientVersions).toEqual([6, 6]);
    expect(c.negotiatedVersion).toBe(v);
    expect(c.clientNonce).toBeUndefined();
    expect(c.clientPubKeyAuth).toBe('ok');
  });

  it.each([5, 6] as const)('a CredSSP %i server: the nonce path (clientNonce, binding hashes both ways)', async (v) => {
    const p = await peer({ credsspVersion: v });
    const r = await probe(p, auth());
    expect(st(r, 'credssp').facts?.['serverVersion']).toBe(v);
    expect(r.findings.map((x) => x.id)).not.toContain('credssp-not-updated');
    expect(st(r, 'nla_auth')).toMatchObject({ status: 'ok', facts: { negotiatedVersion: v, pubKeyAuth: 'verified' } });
    const c = only(p).credssp!;
    expect(c.negotiatedVersion).toBe(v);
    expect(c.clientNonce).toHaveLength(32);
    expect(c.clientPubKeyAuth).toBe('ok');
  });

  it('an old client (--credssp-version 3) against a v6 server: the double sees version 3 and no nonce', async () => {
    const p = await peer({ credsspVersion: 6 });
    const r = await probe(p, auth({ credsspVersion: 3 }));
    expect(st(r, 'nla_auth')).toMatchObject({ status: 'ok', facts: { negotiatedVersion: 3 } });
    const c = only(p).credssp!;
    expect(c.clientVersions).toEqual([3, 3]);
    expect(c.negotiatedVersion).toBe(3);
    expect(c.clientNonce).toBeUndefined();
  });
});

describe('HYBRID_EX and the Early User Authorization Result (--depth session --delegate)', () => {
  it('AUTHZ_SUCCESS: authz ok, the double received exactly the right TSCredentials, and the session goes on to a Demand Active', async () => {
    const p = await peer({ earlyUserAuthResult: 0 });
    const r = await probe(p, { depth: 'session', delegate: true, credentials: ALICE });
    expect(st(r, 'x224').facts?.['selected']).toBe('HYBRID_EX');
    expect(st(r, 'nla_auth')).toMatchObject({ status: 'ok', facts: { credentialsDelegated: true } });
    expect(st(r, 'authz')).toMatchObject({ status: 'ok', facts: { result: 'AUTHZ_SUCCESS', code: 0 } });
    // After delegation the probe goes on into MCS, and the peer answers as a server would.
    expect(st(r, 'mcs').status).toBe('ok');
    expect(st(r, 'security')).toMatchObject({ status: 'skipped' });
    expect(st(r, 'licensing').status).toBe('ok');
    expect(st(r, 'activation').status).toBe('ok');
    expect(r.verdict.id).toBe('connects');
    expect(r.anomalies).toEqual([]);
    // NLA delegated the password: the Client Info carries the user but no password, and the probe left politely.
    const s = only(p).session!;
    expect(s.clientInfo).toMatchObject({ user: 'alice', domain: 'LAB', passwordSent: false });
    expect(s.clientUltimatum).toBe('rn-user-requested');
    const c = only(p).credssp!;
    expect(c.authInfoReceived).toBe(true);
    expect(c.credType).toBe(1);
    expect(c.credentials).toEqual({ domainName: 'LAB', userName: 'alice', password: ALICE.password });
    expect(c.sent.at(-1)).toBe('Early User Authorization Result 0x00000000');
  });

  it('AUTHZ_ACCESS_DENIED through the CLI: verdict not_authorized, "authenticated, but not allowed to log on over RDP"', async () => {
    const p = await peer({ earlyUserAuthResult: 5 });
    const t = cli({ PW: ALICE.password });
    const code = await main(['check', `${p.host}:${p.port}`, '--no-enumerate', '--depth', 'session', '--delegate', '--user', 'LAB\\alice', '--password-env', 'PW', '--pin', p.fingerprint, '--json'], t.io);
    await p.settled();
    expect(code).toBe(1);
    const r = JSON.parse(t.out()) as ProbeReport;
    expect(r.verdict).toMatchObject({ id: 'not_authorized', stage: 'authz' });
    expect(r.verdict.summary).toContain('authenticated, but not allowed to log on over RDP');
    expect(st(r, 'authz').error).toMatchObject({ kind: 'access_denied', code: 5, codeName: 'AUTHZ_ACCESS_DENIED', spec: 'MS-RDPBCGR 2.2.10.2' });
    expect(st(r, 'nla_auth').status).toBe('ok');
    expect(only(p).credssp?.credentials).toEqual({ domainName: 'LAB', userName: 'alice', password: ALICE.password });
    expect(t.out() + t.err()).not.toContain(ALICE.password);
  });

  it('--depth session without --delegate: authz skipped, the double received no authInfo', async () => {
    const p = await peer({ earlyUserAuthResult: 0 });
    const r = await probe(p, { depth: 'session', credentials: ALICE });
    expect(st(r, 'nla_auth')).toMatchObject({ status: 'ok', facts: { credentialsDelegated: false } });
    expect(st(r, 'authz')).toMatchObject({ status: 'skipped' });
    expect(st(r, 'authz').reason).toMatch(/only with --delegate/);
    expect(only(p).credssp?.authInfoReceived).toBe(false);
  });
});

describe('the server pubKeyAuth', () => {
  it.each([6, 3] as const)('CredSSP %i: a server pubKeyAuth that does not verify is pubkeyauth_mismatch, verdict possible_mitm, and nothing is delegated to it', async (v) => {
    const p = await peer({ credsspVersion: v, badServerPubKeyAuth: true, earlyUserAuthResult: 0 });
    const r = await probe(p, { depth: 'session', delegate: true, credentials: ALICE });
    const na = st(r, 'nla_auth');
    expect(na.status).toBe('failed');
    expect(na.error).toMatchObject({ layer: 'peer', kind: 'pubkeyauth_mismatch' });
    expect(na.error?.message).toContain(v < 5 ? 'the server public key plus one' : 'the server-to-client binding hash');
    expect(r.verdict).toMatchObject({ id: 'possible_mitm', stage: 'nla_auth' });
    expect(r.verdict.summary).not.toMatch(/rejected the credentials/);
    const c = only(p).credssp!;
    expect(c.authenticate?.ntProofOk).toBe(true);
    expect(c.clientPubKeyAuth).toBe('ok');
    // The client stopped: no TSCredentials to a server that does not prove it holds the TLS key.
    expect(c.authInfoReceived).toBe(false);
    expect(c.credentials).toBeUndefined();
  });
});

describe('a TLS alert or a close right after the AUTHENTICATE', () => {
  it('access_denied: a real encrypted TLS 1.2 alert, named at nla_auth', async () => {
    const p = await peer({ alertAfterAuthenticate: 'access_denied' });
    const transcript: TranscriptEntry[] = [];
    const r = await probe(p, auth({ record: (e) => transcript.push(e) }));
    expect(st(r, 'tls').facts?.['version']).toBe('TLS 1.2');
    const na = st(r, 'nla_auth');
    expect(na.error).toMatchObject({ layer: 'peer', kind: 'access_denied', codeName: 'access_denied', spec: 'RFC 8446 6.2' });
    expect(na.error?.message).toContain('sent TLS alert access_denied');
    expect(r.verdict).toMatchObject({ id: 'nla_rejected', stage: 'nla_auth' });
    // What the client's TLS stack reported, as the transport recorded it.
    expect(transcript.some((e) => e.event === 'alert:access_denied')).toBe(true);
    const conn = only(p);
    // Sequence 0 was the server Finished, 1 the CHALLENGE TSRequest: the alert is record 2 under the same keys.
    expect(conn.alert).toMatchObject({ name: 'access_denied', code: 49, seq: 2 });
    expect(conn.alert?.record.startsWith('150303')).toBe(true);
    expect(conn.endedBy).toBe('alert');
    expect(conn.credssp?.authenticate?.ntProofOk).toBe(true);
    expect(conn.errors).toEqual([]);
  });

  it('internal_error: named, with the CredSSP-version-or-account ambiguity spelled out', async () => {
    const p = await peer({ alertAfterAuthenticate: 'internal_error' });
    const r = await probe(p, auth());
    const na = st(r, 'nla_auth');
    expect(na.error).toMatchObject({ kind: 'internal_error_after_authenticate', codeName: 'internal_error' });
    expect(na.error?.message).toMatch(/CredSSP version mismatch/);
    expect(r.verdict.id).toBe('nla_rejected');
    expect(only(p).alert).toMatchObject({ code: 80 });
  });

  it('a close (close_notify, FIN) without an answer is closed_after_authenticate, no alert named', async () => {
    const p = await peer({ closeAfterAuthenticate: true });
    const r = await probe(p, auth());
    const na = st(r, 'nla_auth');
    expect(na.error).toMatchObject({ layer: 'peer', kind: 'closed_after_authenticate' });
    expect(na.error?.codeName).toBeUndefined();
    expect(only(p).endedBy).toBe('close_notify');
  });

  it('an alert is only offered under TLS 1.2 (the peer seals it with TLS 1.2 record keys)', async () => {
    await expect(startNlaPeer({ credsspVersion: 6, users: [ALICE], cert: CERT, alertAfterAuthenticate: 'access_denied', tlsMaxVersion: 'TLSv1.3' })).rejects.toThrow(/TLS 1\.2/);
  });
});

describe('the CHALLENGE: server clock and names', () => {
  it('a server clock 2 h ahead: clock-skew (high); NTLM itself still authenticates', async () => {
    const p = await peer({ clockSkewMs: 2 * 3600_000 });
    const r = await probe(p, auth());
    const n = st(r, 'credssp').facts?.['ntlm'] as Record<string, unknown>;
    expect(Math.abs(Number(n['clockSkewSeconds']) - 7200)).toBeLessThanOrEqual(5);
    const f = r.findings.find((x) => x.id === 'clock-skew');
    expect(f).toMatchObject({ severity: 'high', stage: 'credssp' });
    expect(f?.message).toMatch(/ahead of this machine/);
    expect(st(r, 'nla_auth').status).toBe('ok');
    expect(only(p).credssp?.authenticate?.timestampEchoed).toBe(true);
  });

  it('2 h behind is high too; 10 min is medium; none within 5 min', async () => {
    for (const [skewMs, severity] of [[-2 * 3600_000, 'high'], [10 * 60_000, 'medium'], [60_000, undefined]] as const) {
      const p = await peer({ clockSkewMs: skewMs });
      const r = await probe(p);
      expect(r.findings.find((x) => x.id === 'clock-skew')?.severity).toBe(severity);
    }
  });

  it('configured NTLM names and OS version come out as credssp facts, without credentials', async () => {
    const p = await peer({
      ntlm: { targetName: 'WS01', netbiosComputer: 'WS01', netbiosDomain: 'WS01', dnsComputer: 'ws01', dnsDomain: 'ws01', version: { major: 6, minor: 3, build: 9600, ntlmRevision: 15 } },
    });
    const r = await probe(p, { depth: 'credssp' });
    expect(st(r, 'credssp').facts?.['ntlm']).toMatchObject({ targetName: 'WS01', netbiosComputer: 'WS01', dnsComputer: 'ws01', osVersion: '6.3.9600', os: 'Windows 8.1 / Windows Server 2012 R2' });
    expect(st(r, 'nla_auth').status).toBe('skipped');
    expect(only(p).credssp?.authenticate).toBeUndefined();
  });
});

describe('malformed answers instead of the CHALLENGE', () => {
  it.each([
    [true, 'not_tsrequest'],
    ['not-der', 'not_tsrequest'],
    ['malformed-tsrequest', 'malformed_tsrequest'],
    ['malformed-challenge', 'malformed_challenge'],
  ] as const)('garbage %s: credssp failed with a protocol error (%s), no crash', async (kind, errorKind) => {
    const p = await peer({ garbageInsteadOfChallenge: kind });
    const r = await probe(p, auth());
    const cr = st(r, 'credssp');
    expect(cr.status).toBe('failed');
    expect(cr.error).toMatchObject({ layer: 'protocol', kind: errorKind });
    expect(cr.evidence?.[0]?.hex.length).toBeGreaterThan(0);
    expect(r.verdict).toMatchObject({ id: 'nla_failure', stage: 'credssp' });
    expect(r.anomalies.filter((a) => a.startsWith('internal error'))).toEqual([]);
    expect(st(r, 'nla_auth').status).toBe('not_reached');
    expect(only(p).credssp?.authenticate).toBeUndefined();
  });
});

describe('the peer itself', () => {
  it('refuses clients that do not offer CredSSP (HYBRID_REQUIRED_BY_SERVER): enumeration says NLA is required', async () => {
    const p = await peer();
    const r = await probe(p, { depth: 'credssp', enumerate: true });
    expect(r.verdict.id).toBe('ok');
    expect(r.enumeration?.nla).toBe('required');
    expect(p.connections.length).toBeGreaterThan(1);
    expect(p.connections.filter((c) => c.negFailure !== undefined).length).toBeGreaterThan(0);
    expect(p.connections.every((c) => c.closed)).toBe(true);
  });

  it('listens on loopback only', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.com']) {
      expect(isLoopback(host)).toBe(false);
      await expect(startNlaPeer({ credsspVersion: 6, users: [ALICE], cert: CERT, host })).rejects.toThrow(/loopback only/);
    }
    for (const host of ['127.0.0.1', '127.0.0.42', '::1', 'localhost']) expect(isLoopback(host)).toBe(true);
  });
});

describe('the pure server against the pure connector, no sockets', () => {
  const spk = decodeCertificate(CERT.certDer).subjectPublicKey;

  function exchange(version: number, clientVersion: number, opts: { delegate: boolean; hybridEx: boolean; chunked: boolean; password?: string }) {
    const server = new CredsspServer({ version, users: [ALICE], subjectPublicKey: spk, hybridEx: opts.hybridEx, nowMs: Date.now(), serverChallenge: new Uint8Array(randomBytes(8)), earlyUserAuthResult: 0 });
    const client = new CredsspConnector({
      mode: opts.delegate ? 'delegate' : 'auth',
      credentials: { ...ALICE, password: opts.password ?? ALICE.password },
      subjectPublicKey: spk,
      hybridEx: opts.hybridEx,
      clientVersion,
      targetName: 'TERMSRV/rds01.lab.test',
      random: { clientChallenge: new Uint8Array(randomBytes(8)), sessionKey: new Uint8Array(randomBytes(16)), nonce: new Uint8Array(randomBytes(32)) },
      nowMs: Date.now(),
    });
    const outcomes: StageOutcome[] = [];
    let toServer: Uint8Array[] = [];
    let toClient: Uint8Array[] = [];
    const fromClient = (as: CredsspAction[]) => {
      for (const a of as) {
        if (a.type === 'send') toServer.push(a.bytes);
        else if (a.type === 'stage') outcomes.push(a.outcome);
      }
    };
    const fromServer = (as: CredsspServerAction[]) => {
      for (const a of as) if (a.type === 'send') toClient.push(a.bytes);
    };
    fromClient(client.start());
    for (let round = 0; round < 8 && (toServer.length > 0 || toClient.length > 0); round++) {
      const s = toServer;
      toServer = [];
      for (const b of s) {
        if (opts.chunked) for (const byte of b) fromServer(server.receive(Uint8Array.of(byte)));
        else fromServer(server.receive(b));
      }
      const c = toClient;
      toClient = [];
      for (const b of c) fromClient(client.receive(b));
    }
    return { server, client, outcomes };
  }

  it.each([2, 3, 4, 5, 6])('CredSSP %i server, v6 client, delegation under HYBRID_EX, one byte at a time', (v) => {
    const { server, client, outcomes } = exchange(v, 6, { delegate: true, hybridEx: true, chunked: true });
    expect(outcomes.map((o) => [o.stage, o.ok])).toEqual([
      ['credssp', true],
      ['nla_auth', true],
      ['authz', true],
    ]);
    expect(client.isDone).toBe(true);
    expect(server.isDone).toBe(true);
    expect(server.observed.negotiatedVersion).toBe(v);
    expect(server.observed.clientNonce !== undefined).toBe(v >= 5);
    expect(server.observed.credentials).toEqual({ domainName: 'LAB', userName: 'alice', password: ALICE.password });
    expect(server.observed.problems).toEqual([]);
  });

  it('a wrong password stops at nla_auth with STATUS_LOGON_FAILURE', () => {
    const { server, outcomes } = exchange(6, 6, { delegate: true, hybridEx: false, chunked: false, password: 'nope' });
    expect(outcomes.at(-1)).toMatchObject({ stage: 'nla_auth', ok: false, error: { codeName: 'STATUS_LOGON_FAILURE' } });
    expect(server.observed.authInfoReceived).toBe(false);
  });

  it('a client that sends garbage makes the server give up, not throw', () => {
    const server = new CredsspServer({ version: 6, users: [ALICE], subjectPublicKey: spk, hybridEx: false, nowMs: 0, serverChallenge: new Uint8Array(8) });
    expect(server.receive(new Uint8Array(Buffer.from('GET / HTTP/1.1\r\n\r\n')))).toMatchObject([{ type: 'close' }]);
    expect(server.isDone).toBe(true);
    expect(server.receive(Uint8Array.of(0x30, 0x00))).toEqual([]);
  });
});
