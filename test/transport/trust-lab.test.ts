/**
 * Trust against the lab NLA peer (a real TLS + CredSSP/NTLM server on loopback) with certificates made for the
 * case: a CA-signed certificate is trusted only for the names it carries, and --pin / --known-hosts hold at every
 * depth that runs TLS. The peer records whether an NTLM AUTHENTICATE ever reached it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { generateCert, type GeneratedCert } from '../../src/lab/certs.js';
import type { LabUser } from '../../src/lab/credssp-server.js';
import { startNlaPeer, type NlaPeer } from '../../src/lab/rdp-nla-peer.js';
import type { ProbeReport } from '../../src/probe/types.js';
import { runProbe, type KnownHostsStore, type ProbeOptions } from '../../src/transport/drive.js';

const ALICE: LabUser = { user: 'alice', domain: 'LAB', password: 'Corr3ct-Horse!' };
const CA = generateCert({ commonName: 'rdp-probe test CA', isCa: true, eku: null, keyName: 'trust-ca' });
const issuer = { certPem: CA.certPem, keyPem: CA.keyPem };
/** CA-signed, valid for the address 127.0.0.1 only (no DNS name). */
const FOR_IP = generateCert({ commonName: '127.0.0.1', sans: { ip: ['127.0.0.1'] }, issuer, keyName: 'trust-leaf' });
/** CA-signed, for another name entirely. */
const WRONG_NAME = generateCert({ commonName: 'wrong.example.invalid', sans: { dns: ['wrong.example.invalid'] }, issuer, keyName: 'trust-leaf' });
/** CA-signed, for the name localhost only. */
const FOR_LOCALHOST = generateCert({ commonName: 'localhost', sans: { dns: ['localhost'] }, issuer, keyName: 'trust-leaf' });

const fast = { stageTimeoutMs: 2000, targetTimeoutMs: 10_000, enumerate: false } as const;
const peers: NlaPeer[] = [];
afterAll(async () => {
  await Promise.all(peers.map((p) => p.close()));
});

async function peer(cert: GeneratedCert, host = '127.0.0.1'): Promise<NlaPeer> {
  const p = await startNlaPeer({ credsspVersion: 6, users: [ALICE], cert, host });
  peers.push(p);
  return p;
}

async function probe(p: NlaPeer, o: Partial<ProbeOptions>, host = p.host): Promise<ProbeReport> {
  const r = await runProbe({ host, port: p.port }, { ...fast, ...o });
  await p.settled();
  return r;
}

const st = (r: ProbeReport, id: string) => r.stages.find((s) => s.stage === id)!;
const ids = (r: ProbeReport) => r.findings.map((f) => f.id);
const authenticates = (p: NlaPeer) => p.connections.filter((c) => c.credssp?.authenticate !== undefined).length;

class MemoryKnownHosts implements KnownHostsStore {
  readonly entries = new Map<string, string>();
  lookup(hostPort: string): string | undefined {
    return this.entries.get(hostPort);
  }
  remember(hostPort: string, fingerprint: string): void {
    this.entries.set(hostPort, fingerprint);
  }
}

describe('--ca: the chain and the name of the target', () => {
  it('an IP target with the right IP SAN is trusted: the AUTHENTICATE goes out and is verified', async () => {
    const p = await peer(FOR_IP);
    const r = await probe(p, { depth: 'auth', credentials: ALICE, caPem: CA.certPem });
    expect(st(r, 'tls').facts?.['chainTrusted']).toBe(true);
    expect(ids(r)).not.toContain('cert-name-mismatch');
    expect(st(r, 'nla_auth').status).toBe('ok');
    expect(r.verdict.id).toBe('ok');
    expect(authenticates(p)).toBe(1);
  });

  it('a CA-signed certificate for another name: cert-name-mismatch, untrusted_certificate, and no AUTHENTICATE sent', async () => {
    const p = await peer(WRONG_NAME);
    const r = await probe(p, { depth: 'auth', credentials: ALICE, caPem: CA.certPem });
    expect(st(r, 'tls').facts?.['chainTrusted']).toBe(true);
    expect(ids(r)).toContain('cert-name-mismatch');
    expect(st(r, 'nla_auth')).toMatchObject({ status: 'failed', error: { layer: 'policy', kind: 'untrusted_certificate' } });
    expect(st(r, 'nla_auth').error?.message).toMatch(/not valid for 127\.0\.0\.1.*credentials were not sent/);
    expect(r.verdict).toMatchObject({ id: 'untrusted_certificate', stage: 'nla_auth' });
    expect(authenticates(p)).toBe(0);
  });

  it('a name target is checked against DNS names: localhost is trusted, 127.0.0.1 with the same certificate is not', async () => {
    const p = await peer(FOR_LOCALHOST);
    const byName = await probe(p, { depth: 'auth', credentials: ALICE, caPem: CA.certPem }, 'localhost');
    expect(st(byName, 'nla_auth').status).toBe('ok');
    const byIp = await probe(p, { depth: 'auth', credentials: ALICE, caPem: CA.certPem }, '127.0.0.1');
    expect(st(byIp, 'nla_auth').error?.kind).toBe('untrusted_certificate');
    expect(authenticates(p)).toBe(1);
  });

  it('--insecure still sends to a certificate whose name does not match, and says so', async () => {
    const p = await peer(WRONG_NAME);
    const r = await probe(p, { depth: 'auth', credentials: ALICE, caPem: CA.certPem, trust: { insecure: true } });
    expect(st(r, 'nla_auth').status).toBe('ok');
    expect(ids(r)).toContain('nla-auth-insecure');
  });
});

describe('--pin and --known-hosts at every depth that runs TLS', () => {
  const other = `sha256:${'ab'.repeat(32)}`;

  it.each(['tls', 'credssp'] as const)('--depth %s: a pin that does not match fails the tls stage (cert-pin-mismatch, critical)', async (depth) => {
    const p = await peer(FOR_IP);
    const r = await probe(p, { depth, trust: { pins: [other] } });
    expect(st(r, 'tls')).toMatchObject({ status: 'failed', error: { layer: 'policy', kind: 'untrusted_certificate' } });
    expect(r.findings.find((f) => f.id === 'cert-pin-mismatch')).toMatchObject({ severity: 'critical', stage: 'tls' });
    expect(r.verdict).toMatchObject({ id: 'untrusted_certificate', stage: 'tls' });
    expect(st(r, 'credssp').status).toBe('not_reached');
    // Nothing past the handshake: no NTLM NEGOTIATE either.
    expect(p.connections).toHaveLength(1);
    expect(p.connections[0]!.credssp?.clientVersions ?? []).toEqual([]);
  });

  it('--depth credssp: a matching pin passes', async () => {
    const p = await peer(FOR_IP);
    const r = await probe(p, { depth: 'credssp', trust: { pins: [p.fingerprint.toUpperCase()] } });
    expect(r.verdict.id).toBe('ok');
    expect(p.connections[0]!.credssp?.clientVersions).toEqual([6]);
    expect(ids(r)).not.toContain('cert-pin-mismatch');
  });

  it('--depth tls: known-hosts stores the first use, then a changed certificate is cert-fingerprint-changed', async () => {
    const kh = new MemoryKnownHosts();
    const a = await peer(FOR_IP);
    const first = await probe(a, { depth: 'tls', trust: { knownHosts: kh } });
    expect(first.verdict.id).toBe('ok');
    expect(ids(first)).toContain('cert-first-use');
    expect(kh.entries.get(`127.0.0.1:${a.port}`)).toBe(a.fingerprint);
    // Same host:port, another certificate.
    kh.entries.set(`127.0.0.1:${a.port}`, other);
    const changed = await probe(a, { depth: 'credssp', trust: { knownHosts: kh } });
    expect(changed.findings.find((f) => f.id === 'cert-fingerprint-changed')).toMatchObject({ severity: 'critical' });
    expect(changed.verdict).toMatchObject({ id: 'untrusted_certificate', stage: 'tls' });
    expect(kh.entries.get(`127.0.0.1:${a.port}`)).toBe(other);
  });
});

describe('failures of ours are never ok', () => {
  it('a known-hosts store that cannot be written is a local failure, not "every stage run passed"', async () => {
    const p = await peer(FOR_IP);
    const broken: KnownHostsStore = {
      lookup: () => undefined,
      remember: () => {
        throw Object.assign(new Error("ENOENT: no such file or directory, open '/nonexistent/known_hosts'"), { code: 'ENOENT', path: '/nonexistent/known_hosts' });
      },
    };
    const r = await probe(p, { depth: 'credssp', trust: { knownHosts: broken } });
    expect(r.verdict.id).toBe('local_failure');
    expect(r.verdict.summary).toContain('/nonexistent/known_hosts');
    expect(r.stages.some((s) => s.error?.layer === 'local' && s.error.localCode === 'ENOENT')).toBe(true);
  });

  it('a bug of ours (a throwing store) is internal_error, one line', async () => {
    const p = await peer(FOR_IP);
    const buggy: KnownHostsStore = {
      lookup: () => {
        throw new TypeError("Cannot read properties of undefined (reading 'get')");
      },
      remember: () => undefined,
    };
    const r = await probe(p, { depth: 'credssp', trust: { knownHosts: buggy } });
    expect(r.verdict.id).toBe('internal_error');
    expect(r.verdict.summary).toContain("reading 'get'");
    expect(r.verdict.summary).not.toContain('\n');
  });
});
