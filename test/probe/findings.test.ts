import { describe, expect, it } from 'vitest';
import { standardRdpSecuritySelected, tlsLegacyVersion } from '../../src/probe/findings.js';

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
});
