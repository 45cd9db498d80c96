/** TSCredentials / TSPasswordCreds ([MS-CSSP] 2.2.1.2, 2.2.1.2.1). */
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../src/protocol/codec/errors.js';
import {
  CredType,
  decodeTsCredentials,
  decodeTsPasswordCreds,
  encodePasswordCredentials,
  encodeTsCredentials,
  encodeTsPasswordCreds,
} from '../../../src/protocol/credssp/ts-credentials.js';
import { hex, toSpacedHex } from '../../helpers/bytes.js';

const PASSWORD_CREDS = hex`
  30 18                                 # TSPasswordCreds SEQUENCE, 24 bytes
    a0 06 04 04 44 00 4f 00             # [0] domainName "DO" (UTF-16LE)
    a1 06 04 04 75 00 31 00             # [1] userName "u1"
    a2 06 04 04 70 00 21 00             # [2] password "p!"
`;

describe('TSPasswordCreds', () => {
  it('encodes by hand-built DER', () => {
    expect(toSpacedHex(encodeTsPasswordCreds({ domainName: 'DO', userName: 'u1', password: 'p!' }))).toBe(toSpacedHex(PASSWORD_CREDS));
  });

  it('decodes and round-trips, empty strings included', () => {
    expect(decodeTsPasswordCreds(PASSWORD_CREDS)).toEqual({ domainName: 'DO', userName: 'u1', password: 'p!' });
    const empty = { domainName: '', userName: 'bob', password: 'pässwörd€' };
    expect(decodeTsPasswordCreds(encodeTsPasswordCreds(empty))).toEqual(empty);
    expect(toSpacedHex(encodeTsPasswordCreds({ domainName: '', userName: '', password: '' }))).toBe(
      '30 0c a0 02 04 00 a1 02 04 00 a2 02 04 00',
    );
  });

  it('rejects a missing field, an odd-length string and truncation', () => {
    expect(() => decodeTsPasswordCreds(hex`30 10 a0 06 04 04 44 00 4f 00 a1 06 04 04 75 00 31 00`)).toThrow(DecodeError);
    expect(() => decodeTsPasswordCreds(hex`30 0d a0 03 04 01 44 a1 02 04 00 a2 02 04 00`)).toThrow(/odd length/);
    for (let n = 0; n < PASSWORD_CREDS.length; n++) expect(() => decodeTsPasswordCreds(PASSWORD_CREDS.subarray(0, n))).toThrow(DecodeError);
  });
});

describe('TSCredentials', () => {
  it('password credentials: credType 1 around the TSPasswordCreds DER', () => {
    const der = encodePasswordCredentials({ domainName: 'DO', userName: 'u1', password: 'p!' });
    expect(toSpacedHex(der)).toBe(
      toSpacedHex(hex`
        30 23                   # TSCredentials SEQUENCE, 35 bytes
          a0 03 02 01 01        # [0] credType 1 (password)
          a1 1c 04 1a ${PASSWORD_CREDS}   # [1] credentials OCTET STRING, 26 bytes
      `),
    );
    const decoded = decodeTsCredentials(der);
    expect(decoded.credType).toBe(CredType.PASSWORD);
    expect(decodeTsPasswordCreds(decoded.credentials)).toEqual({ domainName: 'DO', userName: 'u1', password: 'p!' });
  });

  it('round-trips other credential types', () => {
    const c = { credType: CredType.REMOTE_GUARD, credentials: hex`01 02 03` };
    expect(decodeTsCredentials(encodeTsCredentials(c))).toEqual(c);
  });

  it('rejects extra fields, wrong tags and wrong types', () => {
    const extra = hex`30 0c a0 03 02 01 01 a1 02 04 00 a2 01 00`;
    expect(() => decodeTsCredentials(extra)).toThrow(DecodeError);
    expect(() => decodeTsCredentials(hex`30 09 a1 03 02 01 01 a0 02 04 00`)).toThrow(DecodeError);
    expect(() => decodeTsCredentials(hex`30 09 a0 03 04 01 01 a1 02 04 00`)).toThrow(/expected INTEGER/);
  });
});
