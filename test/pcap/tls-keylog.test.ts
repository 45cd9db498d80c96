/**
 * Decryption with a key log: real TLS (Node's OpenSSL, TLS 1.3 and TLS 1.2 AES-GCM) between two loopback
 * sockets, recorded byte for byte by a relay in between and written as a pcap; inside the TLS, the real RDP
 * frames of the shadow /sec:rdp capture in their original order. analyze with the 'keylog' lines Node emitted
 * must give the verdict the cleartext capture gives (connects), with the same MCS, licensing and activation facts.
 */
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../../src/pcap/analyze.js';
import { KeyLog } from '../../src/pcap/keylog.js';
import { recordSession } from './relay.js';

describe('analyze --keylog: TLS decrypted with node:crypto, then the session sequence', () => {
  for (const v of [
    { name: 'TLS 1.3', tls: { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' } as const },
    { name: 'TLS 1.2 ECDHE AES-128-GCM', tls: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' } as const },
  ]) {
    it(`${v.name}: connects, as the cleartext capture does, only with the key log`, async () => {
      const { pcap, keylog } = await recordSession(v.tls);
      const without = analyzeCapture(pcap).connections[0]!.report;
      expect(without.stages.find((s) => s.stage === 'mcs')?.reason).toMatch(/inside TLS: encrypted/);
      expect(without.verdict.id).toBe('ok');
      const r = analyzeCapture(pcap, { keylog: new KeyLog().add(keylog) }).connections[0]!.report;
      expect(r.anomalies).toEqual([]);
      expect(r.stages.find((s) => s.stage === 'tls')?.facts?.['decrypted']).toMatch(v.name.startsWith('TLS 1.3') ? /^TLS 1\.3/ : /^TLS 1\.2, cipher suite 0xc02f/);
      expect(r.verdict.id).toBe('connects');
      const mcs = r.stages.find((s) => s.stage === 'mcs')!;
      expect(mcs.facts?.['client']).toMatchObject({ clientName: 'vm', clientBuild: 18363 });
      expect(mcs.facts?.['serverVersion']).toBe('RDP 10.7');
      expect(r.stages.find((s) => s.stage === 'licensing')?.facts).toMatchObject({ errorCode: 'STATUS_VALID_CLIENT' });
      expect(r.stages.find((s) => s.stage === 'activation')?.facts).toMatchObject({ desktop: { width: 1024, height: 768 } });
      // A wrong key log opens nothing and says why.
      const wrong = analyzeCapture(pcap, { keylog: new KeyLog().add(keylog.replace(/ ([0-9a-f]{2})/g, ' ff')) }).connections[0]!.report;
      expect(wrong.verdict.id).not.toBe('connects');
    }, 30_000);
  }
});
