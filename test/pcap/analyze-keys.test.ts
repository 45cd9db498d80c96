/**
 * analyze with keys from every source: `analyze FILE… --keylog FILE` in the CLI, the key log inside a pcapng
 * Decryption Secrets Block, and TLS 1.2 AES-CBC suites with HMAC (RSA and ECDHE key exchange, with and without
 * encrypt-then-MAC). The TLS is real (Node's OpenSSL) between loopback sockets, recorded by a relay.
 */
import { constants } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { analyzeCapture } from '../../src/pcap/analyze.js';
import { readCapture } from '../../src/pcap/capture.js';
import { KeyLog } from '../../src/pcap/keylog.js';
import { recordSession, toPcapng } from './relay.js';
import { CAPTURES as SHARED } from './files.js';
import { memoryIo } from '../helpers/cli-io.js';

const io = (): ReturnType<typeof memoryIo> => memoryIo();

const dir = mkdtempSync(path.join(tmpdir(), 'analyze-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pcapng Decryption Secrets Block', () => {
  it('is read (type 0x0A, secrets type TLSK) and opens the TLS without --keylog', async () => {
    const { rec, keylog } = await recordSession({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
    const file = toPcapng(rec, keylog);
    const cap = readCapture(file);
    expect(cap.secrets?.map((s) => s.type)).toEqual([0x544c534b]);
    expect(Buffer.from(cap.secrets![0]!.data).toString('latin1')).toBe(keylog);
    const a = analyzeCapture(file);
    expect(a.embeddedSecrets).toBe(1);
    const r = a.connections[0]!.report;
    expect(r.stages.find((s) => s.stage === 'tls')?.facts?.['decrypted']).toMatch(/^TLS 1\.3/);
    expect(r.verdict.id).toBe('connects');
    // The same frames without the block stay encrypted.
    const plain = analyzeCapture(toPcapng(rec)).connections[0]!.report;
    expect(plain.stages.find((s) => s.stage === 'mcs')?.reason).toMatch(/inside TLS: encrypted/);
  }, 30_000);
});

describe('TLS 1.2 AES-CBC with HMAC', () => {
  for (const v of [
    { name: 'TLS_RSA_WITH_AES_128_CBC_SHA', ciphers: 'AES128-SHA@SECLEVEL=0', suite: '0x002f' },
    { name: 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA', ciphers: 'ECDHE-RSA-AES256-SHA@SECLEVEL=0', suite: '0xc014' },
    { name: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256', ciphers: 'ECDHE-RSA-AES128-SHA256', suite: '0xc027' },
    // The client refuses encrypt_then_mac (RFC 7366): the classic MAC-then-encrypt records.
    { name: 'TLS_RSA_WITH_AES_128_CBC_SHA, MAC-then-encrypt', ciphers: 'AES128-SHA@SECLEVEL=0', suite: '0x002f', noEtm: true },
    { name: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, MAC-then-encrypt', ciphers: 'ECDHE-RSA-AES128-SHA256', suite: '0xc027', noEtm: true },
  ]) {
    it(`${v.name}: decrypted, connects`, async () => {
      const { pcap, keylog } = await recordSession({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: v.ciphers, ...(v.noEtm ? { secureOptions: constants.SSL_OP_NO_ENCRYPT_THEN_MAC } : {}) });
      const r = analyzeCapture(pcap, { keylog: new KeyLog().add(keylog) }).connections[0]!.report;
      expect(r.stages.find((s) => s.stage === 'tls')?.facts?.['decrypted']).toBe(`TLS 1.2, cipher suite ${v.suite}, with the key log`);
      expect(r.anomalies).toEqual([]);
      expect(r.verdict.id).toBe('connects');
      expect(r.stages.find((s) => s.stage === 'activation')?.facts).toMatchObject({ desktop: { width: 1024, height: 768 } });
      // One flipped secret byte: nothing opens, and the report says the records do not authenticate.
      const bad = keylog.replace(/CLIENT_RANDOM (\S+) (\S\S)/, (_m, r: string, b: string) => `CLIENT_RANDOM ${r} ${b === '00' ? '01' : '00'}`);
      const w = analyzeCapture(pcap, { keylog: new KeyLog().add(bad) }).connections[0]!.report;
      expect(w.anomalies.join('\n')).toMatch(/does not authenticate/);
      expect(w.verdict.id).not.toBe('connects');
    }, 30_000);
  }
});

describe('CLI: analyze FILE… [--keylog FILE]', () => {
  it('takes several files and a key log; each file is reported, the exit code is the worst', async () => {
    const { pcap, keylog } = await recordSession({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' });
    const cap = path.join(dir, 'tls12.pcap');
    const keys = path.join(dir, 'keys.log');
    writeFileSync(cap, pcap);
    writeFileSync(keys, keylog);
    const other = `${SHARED}/public/zeek/rdp-proprietary-encryption.pcap`;
    const t = io();
    const code = await main(['analyze', cap, other, '--keylog', keys, '--json'], t.io);
    const out = JSON.parse(t.out()) as { file: string; connections: { report: { verdict: { id: string }; stages: { stage: string; facts?: Record<string, unknown> }[] } }[] }[];
    expect(out.map((x) => x.file)).toEqual([cap, other]);
    expect(out[0]!.connections[0]!.report.verdict.id).toBe('connects');
    expect(out[0]!.connections[0]!.report.stages.find((s) => s.stage === 'tls')?.facts?.['decrypted']).toMatch(/with the key log/);
    expect([0, 1]).toContain(code);
    const text = io();
    await main(['analyze', cap, other, '--keylog', keys, '--color=false'], text.io);
    expect(text.out()).toContain(cap);
    expect(text.out()).toContain(other);
  }, 30_000);

  it('a missing or empty key log is one usage line, exit 2', async () => {
    const cap = `${SHARED}/public/zeek/rdp-proprietary-encryption.pcap`;
    for (const k of [path.join(dir, 'nope.log'), '/etc/hostname']) {
      const t = io();
      expect(await main(['analyze', cap, '--keylog', k], t.io)).toBe(2);
      expect(t.err().trim().split('\n')).toHaveLength(1);
      expect(t.err()).toMatch(/key log/);
      expect(t.out()).toBe('');
    }
  });
});
