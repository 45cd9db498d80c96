/**
 * CredSSP inside decrypted TLS, on real NLA: the probe (runProbe, depth auth, the lab account) talks to the lab NLA
 * peer through a relay that records every byte and close; the peer's TLS secrets come from its 'keylog' event. The
 * recording, written as a pcap, is analysed with and without the key log: with it, the CredSSP version, the NTLM
 * names, the errorCode with its NTSTATUS name, pubKeyAuth and the live verdict; without it, only what the record
 * shapes show, said as inferred.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { generateCert, LOCAL_SANS } from '../../src/lab/certs.js';
import { startNlaPeer, type NlaPeerOptions } from '../../src/lab/rdp-nla-peer.js';
import { LAB_USERS } from '../../src/lab/server.js';
import { analyzeCapture } from '../../src/pcap/analyze.js';
import { KeyLog } from '../../src/pcap/keylog.js';
import type { ProbeReport } from '../../src/probe/types.js';
import { NtStatus } from '../../src/protocol/ntstatus.js';
import { runProbe } from '../../src/transport/drive.js';
import { buildPcap } from './build.js';
import { startRecordingRelay, toFrames, type Recorded } from './relay.js';

const HOST = '127.0.0.233';
const CERT = generateCert({ commonName: 'localhost', sans: LOCAL_SANS, keyName: 'pcap-nla-recorded' });
const LAB = LAB_USERS[0]!;
const closers: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(closers.map((c) => c.close()));
});

/** One probe through the recording relay; the capture, the server's key log and the live report. */
async function record(o: Partial<NlaPeerOptions>): Promise<{ pcap: Uint8Array; keylog: string; live: ProbeReport }> {
  const { rec, keylog, live } = await recordRaw(o);
  const pcap = buildPcap({ linkType: 1 }, toFrames(rec, { serverAddress: HOST }));
  // Credentials never reach the recording, in any encoding.
  const all = Buffer.from(pcap);
  for (const enc of ['utf8', 'utf16le', 'latin1'] as const) expect(all.includes(Buffer.from(LAB.password, enc))).toBe(false);
  return { pcap, keylog, live };
}

async function recordRaw(o: Partial<NlaPeerOptions>): Promise<{ rec: Recorded[]; keylog: string; live: ProbeReport }> {
  const lines: string[] = [];
  const peer = await startNlaPeer({ credsspVersion: 6, users: [...LAB_USERS], cert: CERT, host: HOST, onKeylog: (l) => lines.push(l), ...o });
  closers.push(peer);
  const relay = await startRecordingRelay(HOST, { host: HOST, port: peer.port });
  closers.push(relay);
  const live = await runProbe(
    { host: HOST, port: relay.port },
    { depth: 'auth', credentials: { user: LAB.user, domain: LAB.domain, password: LAB.password }, trust: { pins: [peer.fingerprint] }, stageTimeoutMs: 3000, targetTimeoutMs: 10_000, enumerate: false },
  );
  await peer.settled(3000);
  // Let the relay see both closes.
  for (let i = 0; i < 50 && relay.rec.filter((r) => r.close).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  return { rec: relay.rec, keylog: lines.join(''), live };
}

const stage = (r: ProbeReport, s: string) => r.stages.find((x) => x.stage === s);

describe('analyze: real NLA recorded through a relay', () => {
  it('accepted (HYBRID_EX): with the server-side key log, CredSSP version, NTLM names, pubKeyAuth and the live verdict', async () => {
    const { pcap, keylog, live } = await record({ protocol: 'hybrid_ex', earlyUserAuthResult: 0 });
    const r = analyzeCapture(pcap, { keylog: new KeyLog().add(keylog) }).connections[0]!.report;
    expect(stage(r, 'tls')?.facts?.['decrypted']).toMatch(/with the key log/);
    const c = stage(r, 'credssp')!;
    expect(c.status).toBe('ok');
    expect(c.facts).toMatchObject({ mechanism: 'NTLM', serverVersion: 6 });
    const liveNtlm = stage(live, 'credssp')?.facts?.['ntlm'] as Record<string, unknown>;
    expect(liveNtlm['netbiosComputer']).toEqual(expect.any(String));
    expect(c.facts?.['ntlm']).toMatchObject({ netbiosComputer: liveNtlm['netbiosComputer'], dnsComputer: liveNtlm['dnsComputer'], netbiosDomain: liveNtlm['netbiosDomain'], osVersion: liveNtlm['osVersion'] });
    expect(stage(r, 'nla_auth')).toMatchObject({ status: 'ok', facts: { pubKeyAuth: 'sent by the server' } });
    expect(r.verdict.id).toBe(live.verdict.id);
    // Without keys: TLS 1.3 hides the certificate, and a short server record after the AUTHENTICATE followed by
    // the client's close tells nothing about the outcome; the report says so, and who closed when.
    const without = analyzeCapture(pcap).connections[0]!.report;
    expect(stage(without, 'tls')?.facts?.['certificate']).toMatch(/^hidden: TLS 1\.3/);
    expect(stage(without, 'nla_auth')).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/^outcome not visible without keys: .* then the client closed/) });
    expect(stage(without, 'tcp')?.facts?.['ended']).toMatch(/^the client closed it \(FIN\) at [\d.]+ ms \(frame #\d+\), then the server closed it/);
  }, 30_000);

  it('a short server record, then a client reset: "outcome not visible without keys", the reset named', async () => {
    const { rec, live } = await recordRaw({ protocol: 'hybrid' });
    expect(live.verdict.id).not.toBe('nla_rejected');
    const firstClientClose = rec.findIndex((x) => x.close && x.dir === 'client');
    const cut = [...rec.slice(0, firstClientClose), { dir: 'client' as const, us: rec[firstClientClose]!.us, close: 'rst' as const }];
    const r = analyzeCapture(buildPcap({ linkType: 1 }, toFrames(cut, { serverAddress: HOST }))).connections[0]!.report;
    expect(stage(r, 'nla_auth')?.reason).toMatch(/^outcome not visible without keys: .* then the client reset the connection \(frame #\d+\)/);
    expect(stage(r, 'tcp')?.facts?.['ended']).toMatch(/^the client reset it at/);
  }, 30_000);

  it('rejected with STATUS_LOGON_FAILURE (nla-logon-failure): errorCode and NTSTATUS name, the live verdict; without keys, not passed', async () => {
    const { pcap, keylog, live } = await record({ errorCodeAfterAuthenticate: NtStatus.STATUS_LOGON_FAILURE });
    expect(live.verdict).toMatchObject({ id: 'nla_rejected', stage: 'nla_auth' });
    const r = analyzeCapture(pcap, { keylog: new KeyLog().add(keylog) }).connections[0]!.report;
    expect(stage(r, 'nla_auth')).toMatchObject({ status: 'failed', error: { kind: 'error_code', code: NtStatus.STATUS_LOGON_FAILURE, codeName: 'STATUS_LOGON_FAILURE' } });
    expect(r.verdict).toMatchObject({ id: live.verdict.id, stage: 'nla_auth' });
    const without = analyzeCapture(pcap).connections[0]!.report;
    expect(without.verdict.id).not.toBe('connects');
    expect(JSON.stringify(without)).not.toMatch(/STATUS_LOGON_FAILURE/);
  }, 30_000);

  it('an encrypted alert right after the AUTHENTICATE: without keys "NLA rejected by alert" (inferred); with keys the alert is named', async () => {
    const { pcap, keylog, live } = await record({ alertAfterAuthenticate: 'access_denied' });
    expect(live.verdict.id).toBe('nla_rejected');
    const without = analyzeCapture(pcap).connections[0]!.report;
    const na = stage(without, 'nla_auth')!;
    expect(na.status).toBe('failed');
    expect(na.error?.kind).toBe('closed_after_authenticate');
    expect(na.error?.message).toMatch(/NLA rejected by alert/);
    expect(na.error?.message).toMatch(/inferred/);
    expect(without.verdict.id).toBe('nla_rejected');
    const r = analyzeCapture(pcap, { keylog: new KeyLog().add(keylog) }).connections[0]!.report;
    expect(r.anomalies.join('\n')).toMatch(/encrypted TLS alert access_denied/);
    expect(r.verdict.id).toBe('nla_rejected');
  }, 30_000);

  it('the server closes after the AUTHENTICATE: who closed and when is stated', async () => {
    const { pcap, live } = await record({ closeAfterAuthenticate: true });
    expect(live.verdict.id).toBe('nla_rejected');
    const without = analyzeCapture(pcap).connections[0]!.report;
    expect(stage(without, 'nla_auth')?.status).toBe('failed');
    expect(JSON.stringify(without)).toMatch(/the server (closed|reset)/);
  }, 30_000);
});
