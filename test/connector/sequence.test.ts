/**
 * The whole probe sequence with no socket (IronRDP's "park the connector in a state and feed it frames"): scripted
 * server frames from the protocol layer's own encoders and the recorded CredSSP flights of FreeRDP's shadow server
 * (captures/*.transcript.jsonl), fed through ProbeSequence. The driver's jobs (TLS, stamping time) are played by
 * the test: it answers upgrade_tls with tlsEstablished()/tlsFailed().
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ProbeSequence, defaultSequenceConfig, type ProbeAction, type SequenceConfig, type TranscriptEntry } from '../../src/connector/sequence.js';
import { concat } from '../../src/protocol/codec/bytes.js';
import { encodeNegFailure, encodeNegResponse, NegFailureCode, SecurityProtocol } from '../../src/protocol/nego.js';
import { encodeConnectionConfirm, encodeDataTpdu, decodeX224Frame } from '../../src/protocol/x224.js';
import { encodeServerConnectResponse, encodeServerData } from '../../src/protocol/gcc/server-data.js';
import { decodeMcsDomainPdu, encodeMcsAttachUserConfirm, encodeMcsChannelJoinConfirm, encodeMcsSendDataIndication } from '../../src/protocol/mcs/domain.js';
import { encodeValidClientAlert } from '../../src/protocol/licensing.js';
import { defaultServerCapabilities, encodeDemandActive } from '../../src/protocol/share/index.js';
import { SEC } from '../../src/protocol/security/constants.js';
import { wrapSecured } from '../../src/protocol/security/header.js';
import type { CertificateFacts } from '../../src/protocol/x509.js';

const DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../captures');
const unhex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ALL = SecurityProtocol.PROTOCOL_SSL | SecurityProtocol.PROTOCOL_HYBRID | SecurityProtocol.PROTOCOL_HYBRID_EX;

const cc = (neg?: Uint8Array) => encodeConnectionConfirm({ dstRef: 0, srcRef: 0x1234, classOption: 0, ...(neg ? { neg } : {}) });
const selects = (p: number) => cc(encodeNegResponse({ flags: 0, selectedProtocol: p }));

const USER = 1007;
const IO = 1003;
const onIo = (payload: Uint8Array) => encodeDataTpdu(encodeMcsSendDataIndication({ initiator: 1002, channelId: IO, userData: payload }));
/** A healthy server's session flight after the Connect-Initial: Connect-Response, attach and joins, licensing, Demand Active. */
function sessionFlight(requested: number, security = { encryptionMethod: 0, encryptionLevel: 0 }): Uint8Array[] {
  const serverData = encodeServerData({ core: { version: 0x00080004, clientRequestedProtocols: requested }, security, net: { mcsChannelId: IO, channelIds: [] } });
  return [
    encodeDataTpdu(encodeServerConnectResponse({ result: 0, serverData })),
    encodeDataTpdu(encodeMcsAttachUserConfirm({ result: 0, initiator: USER })),
    encodeDataTpdu(encodeMcsChannelJoinConfirm({ result: 0, initiator: USER, requested: USER, channelId: USER })),
    encodeDataTpdu(encodeMcsChannelJoinConfirm({ result: 0, initiator: USER, requested: IO, channelId: IO })),
    onIo(wrapSecured(encodeValidClientAlert(), SEC.LICENSE_PKT)),
    onIo(encodeDemandActive({ shareId: 0x103ea, capabilities: defaultServerCapabilities() })),
  ];
}

/** A certificate as the driver would have decoded it (only what the sequence reads). */
const fakeCert = (sha256: string, subjectPublicKey = new Uint8Array(270).fill(1)) =>
  ({ sha256, spkiSha256: sha256.replace(/^../, 'ff'), sans: { dns: [], ip: [] }, subjectCN: 'shadow', subjectPublicKey, signatureHash: 'sha256' }) as unknown as CertificateFacts;

const kinds = (as: ProbeAction[]) => as.map((a) => a.type);
const stages = (as: ProbeAction[]) => as.flatMap((a) => (a.type === 'stage' ? [[a.outcome.stage, a.outcome.ok ? 'ok' : (a.outcome.error?.kind ?? 'failed')]] : a.type === 'skip' ? [[a.stage, 'skipped']] : []));
const sends = (as: ProbeAction[]) => as.filter((a): a is Extract<ProbeAction, { type: 'send' }> => a.type === 'send');

/** Recorded random values handed out in the order the sequence asks for them (CredSSP 8, 16, 32, then the session's). */
function replayRandom(values: Uint8Array[]): (n: number) => Uint8Array {
  let i = 0;
  return (n) => {
    const v = values[i++];
    if (v && v.length === n) return v;
    return new Uint8Array(n).fill(0x42);
  };
}

function transcript(name: string) {
  const lines = readFileSync(resolve(DIR, `${name}.transcript.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TranscriptEntry);
  const cfg = JSON.parse(Buffer.from(lines[0]!.hex, 'hex').toString('utf8'));
  return { lines, cfg };
}

/** Park the sequence in the tls state (X.224 answered with `selected`), ready for tlsEstablished(). */
function parkedAtTls(over: Partial<SequenceConfig>, selected: number): { seq: ProbeSequence; actions: ProbeAction[] } {
  const seq = new ProbeSequence(defaultSequenceConfig({ requestedProtocols: ALL, ...over }));
  const actions = [...seq.start(), ...seq.receive(selects(selected))];
  expect(seq.current).toBe('tls');
  expect(actions.at(-1)).toMatchObject({ type: 'upgrade_tls', legacy: false });
  return { seq, actions };
}

describe('ProbeSequence: x224', () => {
  it('RDP_NEG_FAILURE ends the sequence at x224 with the code named, and nothing more is sent', () => {
    const seq = new ProbeSequence(defaultSequenceConfig({ depth: 'session' }));
    const first = seq.start();
    expect(kinds(first)).toEqual(['send']);
    const a = seq.receive(cc(encodeNegFailure({ flags: 0, failureCode: NegFailureCode.HYBRID_REQUIRED_BY_SERVER })));
    expect(stages(a)).toEqual([['x224', 'negotiation_failure']]);
    expect(kinds(a)).toEqual(['stage', 'done']);
    expect(seq.isDone).toBe(true);
    expect(seq.x224Outcome?.ok).toBe(false);
    expect(seq.receive(new Uint8Array([3, 0, 0, 4]))).toEqual([]);
  });

  it('a legacy Connection Confirm takes the standard-security path: tls and CredSSP skipped, the session runs to activation', () => {
    const seq = new ProbeSequence(defaultSequenceConfig({ depth: 'session' }));
    const a = [...seq.start(), ...seq.receive(cc())];
    expect(stages(a)).toEqual([['x224', 'ok'], ['tls', 'skipped'], ['credssp', 'skipped'], ['nla_auth', 'skipped'], ['authz', 'skipped']]);
    expect(seq.current).toBe('session');
    expect(sends(a).at(-1)?.pdu).toMatch(/Connect-Initial/);
    // The server under standard security with no encryption (what xrdp's crypt_level=none does).
    const b: ProbeAction[] = [];
    for (const f of sessionFlight(0)) b.push(...seq.receive(f));
    expect(stages(b).map(([s]) => s)).toEqual(expect.arrayContaining(['mcs', 'licensing', 'activation']));
    expect(stages(b).find(([s]) => s === 'activation')?.[1]).toBe('ok');
    expect(b.at(-1)?.type).toBe('done');
    expect(a.some((x) => x.type === 'upgrade_tls')).toBe(false);
  });

  it('the bytes after the Connection Confirm reach TLS as the upgrade leftover (and are an anomaly)', () => {
    const seq = new ProbeSequence(defaultSequenceConfig());
    seq.start();
    const a = seq.receive(concat(selects(SecurityProtocol.PROTOCOL_SSL), new Uint8Array([0x16, 0x03, 0x01])));
    const up = a.find((x): x is Extract<ProbeAction, { type: 'upgrade_tls' }> => x.type === 'upgrade_tls')!;
    expect(hex(up.leftover)).toBe('160301');
    expect(a.some((x) => x.type === 'anomaly')).toBe(true);
  });
});

describe('ProbeSequence: tls', () => {
  it('SSL → tls → session: no CredSSP, the session runs inside TLS with the security stage skipped', () => {
    const { seq } = parkedAtTls({ depth: 'session', insecure: true }, SecurityProtocol.PROTOCOL_SSL);
    const a = seq.tlsEstablished({ facts: { version: 'TLS 1.3' }, cert: fakeCert('aa'.repeat(32)), chainTrusted: false, known: null });
    expect(stages(a)).toEqual([['tls', 'ok'], ['credssp', 'skipped'], ['nla_auth', 'skipped'], ['authz', 'skipped'], ['security', 'skipped']]);
    expect(sends(a).map((s) => s.pdu)).toEqual([expect.stringMatching(/Connect-Initial/)]);
    const b: ProbeAction[] = [];
    for (const f of sessionFlight(ALL)) b.push(...seq.receive(f));
    expect(stages(b)).toEqual([['mcs', 'ok'], ['licensing', 'ok'], ['activation', 'ok']]);
    expect(seq.isDone).toBe(true);
    // It leaves politely: a DPUm is the last thing sent.
    const last = decodeX224Frame(sends(b).at(-1)!.bytes) as { data: Uint8Array };
    expect(decodeMcsDomainPdu(last.data).type).toBe('disconnect_provider_ultimatum');
  });

  it('a pin that does not match fails tls as untrusted_certificate: nothing more is sent, nothing remembered', () => {
    const { seq } = parkedAtTls({ depth: 'session', pins: [`sha256:${'00'.repeat(32)}`] }, SecurityProtocol.PROTOCOL_HYBRID_EX);
    const a = seq.tlsEstablished({ facts: {}, cert: fakeCert('ab'.repeat(32)), chainTrusted: false, known: undefined });
    expect(stages(a)).toEqual([['tls', 'untrusted_certificate']]);
    expect(a.filter((x) => x.type === 'finding').map((x) => (x as { finding: { id: string } }).finding.id)).toEqual(['cert-pin-mismatch']);
    expect(kinds(a)).not.toContain('send');
    expect(kinds(a)).not.toContain('remember');
    expect(a.at(-1)?.type).toBe('done');
  });

  it('known-hosts first use: remember comes before the tls stage is filed', () => {
    const { seq } = parkedAtTls({ depth: 'tls' }, SecurityProtocol.PROTOCOL_SSL);
    const a = seq.tlsEstablished({ facts: {}, cert: fakeCert('cd'.repeat(32)), chainTrusted: false, known: undefined });
    const r = a.findIndex((x) => x.type === 'remember');
    expect(a[r]).toEqual({ type: 'remember', hostPort: 'localhost:3389', fingerprint: `sha256:${'cd'.repeat(32)}` });
    expect(r).toBeLessThan(a.findIndex((x) => x.type === 'stage'));
    expect(a.at(-1)?.type).toBe('done');
  });

  it('a failed handshake files tls with the error the driver classified; a bad signature is also a finding', () => {
    const { seq } = parkedAtTls({}, SecurityProtocol.PROTOCOL_SSL);
    const a = seq.tlsFailed({ error: { layer: 'protocol', kind: 'tls_bad_signature', message: 'x' }, facts: { minVersion: 'TLS 1.2' } });
    expect(stages(a)).toEqual([['tls', 'tls_bad_signature']]);
    expect(a.some((x) => x.type === 'finding' && x.finding.id === 'cert-key-mismatch')).toBe(true);
    expect(seq.isDone).toBe(true);
  });
});

describe('ProbeSequence: CredSSP and after (recorded shadow-server flights)', () => {
  it('HYBRID without credentials: credssp passes, nla_auth is skipped, and the session stages are skipped (stops after credssp)', () => {
    const { lines, cfg } = transcript('shadow-nla_credssp_no-credentials');
    const { seq } = parkedAtTls({ depth: 'session', insecure: true, host: cfg.targetName.replace('TERMSRV/', ''), transcript: true, random: replayRandom([cfg.random.clientChallenge, cfg.random.sessionKey, cfg.random.nonce].map(unhex)), nowMs: () => cfg.nowMs }, cfg.hybridEx ? SecurityProtocol.PROTOCOL_HYBRID_EX : SecurityProtocol.PROTOCOL_HYBRID);
    const a = seq.tlsEstablished({ facts: {}, cert: fakeCert('ee'.repeat(32), unhex(cfg.subjectPublicKey)), chainTrusted: false, known: null, ...(cfg.channelBindings ? { channelBindings: unhex(cfg.channelBindings) } : {}) });
    expect(hex(sends(a)[0]!.bytes)).toBe(lines[1]!.hex);
    // The header record is the transcript's first line.
    expect(a.find((x) => x.type === 'record')).toMatchObject({ entry: { dir: 'client', stage: 'config', hex: lines[0]!.hex } });
    const b = seq.receive(unhex(lines.find((l) => l.dir === 'server')!.hex));
    expect(stages([...a, ...b])).toEqual([['tls', 'ok'], ['nla_auth', 'skipped'], ['credssp', 'ok'], ['mcs', 'skipped'], ['security', 'skipped'], ['licensing', 'skipped'], ['activation', 'skipped']]);
    expect(b.at(-1)?.type).toBe('done');
  });

  function delegated(split?: number) {
    const { lines, cfg } = transcript('shadow-nla_session_delegate');
    const { seq } = parkedAtTls(
      {
        depth: 'session',
        delegate: true,
        pins: [`sha256:${'ee'.repeat(32)}`],
        host: cfg.targetName.replace('TERMSRV/', ''),
        credentials: { user: cfg.user, domain: cfg.domain ?? '', password: 'Passw0rd!' },
        random: replayRandom([cfg.random.clientChallenge, cfg.random.sessionKey, cfg.random.nonce].map(unhex)),
        nowMs: () => cfg.nowMs,
      },
      SecurityProtocol.PROTOCOL_HYBRID,
    );
    const out = seq.tlsEstablished({ facts: {}, cert: fakeCert('ee'.repeat(32), unhex(cfg.subjectPublicKey)), chainTrusted: false, known: null, ...(cfg.channelBindings ? { channelBindings: unhex(cfg.channelBindings) } : {}) });
    // The server's recorded CredSSP flight, then a session flight, as one byte stream.
    const stream = concat(...lines.filter((l) => l.dir === 'server').map((l) => unhex(l.hex)));
    const server = lines.filter((l) => l.dir === 'server').map((l) => unhex(l.hex));
    if (split === undefined) for (const f of server) out.push(...seq.receive(f));
    else out.push(...seq.receive(stream.subarray(0, split)), ...seq.receive(stream.subarray(split)));
    for (const f of sessionFlight(ALL)) out.push(...seq.receive(f));
    // Delegated: after the Demand Active the sequence waits for the logon (Save Session Info); none comes here.
    out.push(...seq.timedOut(1000));
    return { out, lines, seq };
  }

  it('HYBRID with delegation: the recorded client messages byte for byte, authz skipped (no HYBRID_EX), then the session to activation', () => {
    const { out, lines, seq } = delegated();
    const credsspSends = sends(out).slice(0, 3).map((s) => hex(s.bytes));
    expect(credsspSends).toEqual(lines.filter((l) => l.dir === 'client' && l.stage !== 'config').map((l) => l.hex));
    expect(stages(out)).toEqual([['tls', 'ok'], ['credssp', 'ok'], ['nla_auth', 'ok'], ['authz', 'skipped'], ['security', 'skipped'], ['mcs', 'ok'], ['licensing', 'ok'], ['activation', 'ok']]);
    expect(out.some((x) => x.type === 'anomaly' && /HYBRID_EX/.test(x.text))).toBe(true);
    expect(seq.isDone).toBe(true);
  });

  it('the recorded server flight split at every byte gives the same sends and stages', () => {
    const whole = delegated();
    const total = transcript('shadow-nla_session_delegate').lines.filter((l) => l.dir === 'server').reduce((n, l) => n + l.hex.length / 2, 0);
    expect(total).toBeGreaterThan(200);
    for (let split = 1; split < total; split++) {
      const s = delegated(split);
      expect(sends(s.out).map((x) => hex(x.bytes)), `split ${split}`).toEqual(sends(whole.out).map((x) => hex(x.bytes)));
      expect(stages(s.out), `split ${split}`).toEqual(stages(whole.out));
    }
  });
});
