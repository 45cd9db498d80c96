/** Early User Authorization Result ([MS-RDPBCGR] 2.2.10.2) and the NTSTATUS/SSPI table. */
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../src/protocol/codec/errors.js';
import { EARLY_USER_AUTH_LENGTH, decodeEarlyUserAuthResult } from '../../../src/protocol/credssp/early-user-auth.js';
import { NtStatus, SecStatus, describeStatus } from '../../../src/protocol/ntstatus.js';
import { hex } from '../../helpers/bytes.js';

describe('decodeEarlyUserAuthResult', () => {
  it.each([
    [hex`00 00 00 00`, { code: 0, name: 'AUTHZ_SUCCESS' }],
    [hex`05 00 00 00`, { code: 5, name: 'AUTHZ_ACCESS_DENIED' }],
    [hex`01 00 00 80`, { code: 0x80000001, name: 'unknown (0x80000001)' }],
  ])('%o', (bytes, expected) => {
    expect(decodeEarlyUserAuthResult(bytes)).toEqual(expected);
  });

  it('is exactly 4 bytes', () => {
    expect(EARLY_USER_AUTH_LENGTH).toBe(4);
    expect(() => decodeEarlyUserAuthResult(hex`00 00 00`)).toThrow(DecodeError);
    try {
      decodeEarlyUserAuthResult(hex`00 00 00 00 00`);
    } catch (e) {
      expect((e as DecodeError).detail).toEqual({ kind: 'trailing_bytes', count: 1 });
      expect((e as DecodeError).path).toEqual(['Early User Authorization Result']);
    }
  });
});

describe('describeStatus', () => {
  it('names the protocol-facts 2.6 table and the SSPI codes', () => {
    const expected: [number, string][] = [
      [0xc000006d, 'STATUS_LOGON_FAILURE'],
      [0xc000006a, 'STATUS_WRONG_PASSWORD'],
      [0xc0000064, 'STATUS_NO_SUCH_USER'],
      [0xc000006e, 'STATUS_ACCOUNT_RESTRICTION'],
      [0xc000006f, 'STATUS_INVALID_LOGON_HOURS'],
      [0xc0000070, 'STATUS_INVALID_WORKSTATION'],
      [0xc0000071, 'STATUS_PASSWORD_EXPIRED'],
      [0xc0000072, 'STATUS_ACCOUNT_DISABLED'],
      [0xc0000022, 'STATUS_ACCESS_DENIED'],
      [0xc000015b, 'STATUS_LOGON_TYPE_NOT_GRANTED'],
      [0xc0000193, 'STATUS_ACCOUNT_EXPIRED'],
      [0xc0000224, 'STATUS_PASSWORD_MUST_CHANGE'],
      [0xc0000234, 'STATUS_ACCOUNT_LOCKED_OUT'],
      [0xc000005e, 'STATUS_NO_LOGON_SERVERS'],
      [0xc0000133, 'STATUS_TIME_DIFFERENCE_AT_DC'],
      [0xc000018d, 'STATUS_TRUSTED_RELATIONSHIP_FAILURE'],
      [0xc0000388, 'STATUS_DOWNGRADE_DETECTED'],
      [0xc0000413, 'STATUS_AUTHENTICATION_FIREWALL_FAILED'],
      [0x00000000, 'STATUS_SUCCESS'],
      [0xc0000016, 'STATUS_MORE_PROCESSING_REQUIRED'],
      [0x80090302, 'SEC_E_UNSUPPORTED_FUNCTION'],
      [0x80090308, 'SEC_E_INVALID_TOKEN'],
      [0x8009030c, 'SEC_E_LOGON_DENIED'],
      [0x8009030e, 'SEC_E_NO_CREDENTIALS'],
      [0x80090324, 'SEC_E_TIME_SKEW'],
      [0x80090322, 'SEC_E_WRONG_PRINCIPAL'],
    ];
    for (const [code, name] of expected) expect(describeStatus(code).name, name).toBe(name);
  });

  it('every entry has a lower-case sentence without a trailing period and a fix', () => {
    for (const code of [...Object.values(NtStatus), ...Object.values(SecStatus)]) {
      const d = describeStatus(code);
      expect(d.name).not.toMatch(/^unknown/);
      expect(d.message).toMatch(/^[a-z]/);
      expect(d.message).not.toMatch(/\.$/);
      expect(d.fix.length).toBeGreaterThan(10);
      expect(d.fix).not.toMatch(/\.$/);
    }
  });

  it('accepts the signed form that DER INTEGERs decode to', () => {
    expect(describeStatus(-1073741715).name).toBe('STATUS_LOGON_FAILURE');
  });

  it('prints unknown codes as unknown (0x........)', () => {
    const d = describeStatus(0xc0001234);
    expect(d.name).toBe('unknown (0xc0001234)');
    expect(d.message).toBe('the server reported status 0xC0001234, which this tool does not name');
    expect(describeStatus(5).name).toBe('unknown (0x00000005)');
  });
});
