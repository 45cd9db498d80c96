import { describe, expect, it } from 'vitest';
import { standardRdpSecuritySelected, tlsLegacyVersion } from '../../src/probe/findings.js';
import { tlsVersionLabel } from '../../src/probe/tls-version.js';

describe('shared findings', () => {
  it('standard-rdp-security-selected only when the client offered something else and the server chose RDP', () => {
    expect(standardRdpSecuritySelected(0x0b, 0, false)?.message).toContain('offered SSL|HYBRID|HYBRID_EX');
    expect(standardRdpSecuritySelected(0x0b, 1, false)).toBeUndefined();
    // A legacy confirm has no negotiation data; a client that asked for RDP only got what it asked for.
    expect(standardRdpSecuritySelected(0x0b, 0, true)).toBeUndefined();
    expect(standardRdpSecuritySelected(0, 0, false)).toBeUndefined();
  });
  it('tls-legacy-version for SSLv3, TLS 1.0 and 1.1 only', () => {
    expect(['SSLv3', 'TLSv1', 'TLSv1.1'].map((v) => tlsLegacyVersion(v)?.severity)).toEqual(['high', 'high', 'high']);
    expect(tlsLegacyVersion('TLSv1.2')).toBeUndefined();
    expect(tlsLegacyVersion('TLSv1.3')).toBeUndefined();
  });
  it('names versions as people write them, from OpenSSL names and wire values alike', () => {
    expect(tlsLegacyVersion('TLSv1')?.message).toBe('the server negotiated TLS 1.0, which is deprecated (RFC 8996)');
    expect(tlsLegacyVersion(0x0302)?.evidence).toEqual({ version: 'TLS 1.1' });
    expect(['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3', 'SSLv3'].map(tlsVersionLabel)).toEqual(['TLS 1.0', 'TLS 1.1', 'TLS 1.2', 'TLS 1.3', 'SSL 3.0']);
    expect([0x0301, 0x0302, 0x0303, 0x0304, 0x0305].map(tlsVersionLabel)).toEqual(['TLS 1.0', 'TLS 1.1', 'TLS 1.2', 'TLS 1.3', 'TLS 0x0305']);
  });
});
