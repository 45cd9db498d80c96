/** NEGOTIATE_MESSAGE ([MS-NLMP] 2.2.1.1) and the flag/version constants. */
import { describe, expect, it } from 'vitest';
import {
  NegotiateFlags,
  NTLM_DEFAULT_NEGOTIATE_FLAGS,
  NTLM_FREERDP_NEGOTIATE_FLAGS,
  negotiateFlagNames,
} from '../../../src/protocol/ntlm/constants.js';
import { encodeNtlmNegotiate } from '../../../src/protocol/ntlm/negotiate.js';
import { formatNtlmVersion, windowsNameForVersion } from '../../../src/protocol/ntlm/version.js';
import { hex, toSpacedHex } from '../../helpers/bytes.js';

describe('encodeNtlmNegotiate', () => {
  it('default: 40 bytes, flags 0xe2088235, empty domain/workstation, version 6.1.7601', () => {
    expect(toSpacedHex(encodeNtlmNegotiate())).toBe(
      toSpacedHex(hex`
        4e 54 4c 4d 53 53 50 00   # "NTLMSSP\0"
        01 00 00 00               # MessageType 1
        35 82 08 e2               # NegotiateFlags 0xe2088235
        00 00 00 00 00 00 00 00   # DomainNameFields (empty)
        00 00 00 00 00 00 00 00   # WorkstationFields (empty)
        06 01 b1 1d 00 00 00 0f   # Version 6.1 build 7601, NTLMRevisionCurrent 15
      `),
    );
  });

  it("the default flags are FreeRDP's set without OEM and LM_KEY", () => {
    expect(NTLM_DEFAULT_NEGOTIATE_FLAGS).toBe(0xe2088235);
    expect(negotiateFlagNames(NTLM_DEFAULT_NEGOTIATE_FLAGS)).toEqual([
      'NTLMSSP_NEGOTIATE_UNICODE',
      'NTLMSSP_REQUEST_TARGET',
      'NTLMSSP_NEGOTIATE_SIGN',
      'NTLMSSP_NEGOTIATE_SEAL',
      'NTLMSSP_NEGOTIATE_NTLM',
      'NTLMSSP_NEGOTIATE_ALWAYS_SIGN',
      'NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY',
      'NTLMSSP_NEGOTIATE_VERSION',
      'NTLMSSP_NEGOTIATE_128',
      'NTLMSSP_NEGOTIATE_KEY_EXCH',
      'NTLMSSP_NEGOTIATE_56',
    ]);
    expect(NTLM_FREERDP_NEGOTIATE_FLAGS).toBe(0xe20882b7);
  });

  it('without VERSION the message is 32 bytes', () => {
    const flags = (NTLM_DEFAULT_NEGOTIATE_FLAGS & ~NegotiateFlags.NTLMSSP_NEGOTIATE_VERSION) >>> 0;
    const m = encodeNtlmNegotiate({ flags });
    expect(m.length).toBe(32);
    expect(toSpacedHex(m.subarray(12, 16))).toBe('35 82 08 e0');
  });

  it('writes a given version', () => {
    const m = encodeNtlmNegotiate({ version: { major: 10, minor: 0, build: 20348, ntlmRevision: 15 } });
    expect(toSpacedHex(m.subarray(32))).toBe('0a 00 7c 4f 00 00 00 0f');
  });

  it('names unknown flag bits in hex', () => {
    expect(negotiateFlagNames(0x00000108)).toEqual(['0x00000108']);
  });
});

describe('windowsNameForVersion', () => {
  it.each([
    ['6.1.7601', 'Windows 7 SP1 / Windows Server 2008 R2 SP1'],
    ['6.3.9600', 'Windows 8.1 / Windows Server 2012 R2'],
    ['10.0.14393', 'Windows Server 2016 / Windows 10 1607'],
    ['10.0.17763', 'Windows Server 2019 / Windows 10 1809'],
    ['10.0.19041', 'Windows 10 2004 (20H1) / Windows Server 2004'],
    ['10.0.19045', 'Windows 10 22H2'],
    ['10.0.20348', 'Windows Server 2022'],
    ['10.0.22621', 'Windows 11 22H2'],
    ['10.0.22631', 'Windows 11 23H2'],
    ['10.0.26100', 'Windows Server 2025 / Windows 11 24H2'],
  ])('%s → %s', (v, name) => {
    const [major, minor, build] = v.split('.').map(Number) as [number, number, number];
    expect(windowsNameForVersion({ major, minor, build })).toBe(name);
    expect(formatNtlmVersion({ major, minor, build })).toBe(v);
  });

  it('unknown builds and mismatched major/minor have no name', () => {
    expect(windowsNameForVersion({ major: 10, minor: 0, build: 12345 })).toBeUndefined();
    expect(windowsNameForVersion({ major: 6, minor: 2, build: 20348 })).toBeUndefined();
  });
});
