import { describe, expect, it } from 'vitest';
import {
  AddressFamily,
  DEFAULT_INFO_FLAGS,
  decodeClientInfo,
  encodeClientInfo,
  InfoFlags,
  PerformanceFlags,
  UTC_TIME_ZONE,
  type ClientInfoInput,
} from '../../src/protocol/client-info.js';
import { utf16le } from '../../src/protocol/codec/bytes.js';
import { EncodeError } from '../../src/protocol/codec/errors.js';
import { cat, hex, le16, le32 } from '../helpers/bytes.js';
import { decodeError } from '../helpers/errors.js';
import { basicSecurity, mcsPayloads } from './share/capture-frames.js';

const base: ClientInfoInput = {
  domain: 'LAB',
  user: 'probe',
  alternateShell: '',
  workingDir: '',
  extra: {
    clientAddressFamily: AddressFamily.AF_INET,
    clientAddress: '127.0.0.1',
    clientDir: 'C:\\Windows\\System32\\mstscax.dll',
    timeZone: UTC_TIME_ZONE,
    clientSessionId: 0,
    performanceFlags: PerformanceFlags.PERF_DISABLE_WALLPAPER | PerformanceFlags.PERF_DISABLE_THEMING,
  },
};

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

describe('Client Info PDU data (MS-RDPBCGR 2.2.1.11.1.1)', () => {
  it('lays out the fixed fields and an empty password when none is given', () => {
    const b = encodeClientInfo({ domain: 'D', user: 'u', alternateShell: '', workingDir: '' });
    expect(b).toEqual(
      hex`
        00000000                 # CodePage
        ${le32(DEFAULT_INFO_FLAGS)}
        0200 0200 0000 0000 0000 # cbDomain 2, cbUserName 2, cbPassword 0, cbAlternateShell 0, cbWorkingDir 0
        4400 0000                # "D" + terminator
        7500 0000                # "u" + terminator
        0000                     # Password: only the terminator
        0000                     # AlternateShell
        0000                     # WorkingDir
      `,
    );
  });

  it('never carries a password unless one is given, in any encoding', () => {
    const secret = 'Correct-Horse-9';
    const without = encodeClientInfo(base);
    for (const form of [utf16le(secret), new TextEncoder().encode(secret), new TextEncoder().encode(Buffer.from(secret).toString('hex'))]) {
      expect(contains(without, form)).toBe(false);
    }
    const d = decodeClientInfo(without);
    expect(d.cbPassword).toBe(0);
    expect(d.flags & InfoFlags.INFO_AUTOLOGON).toBe(0);
    // The same packet with the password does carry it, so the search above can find one.
    const withPw = encodeClientInfo({ ...base, password: secret });
    expect(contains(withPw, utf16le(secret))).toBe(true);
    expect(decodeClientInfo(withPw).flags & InfoFlags.INFO_AUTOLOGON).toBe(InfoFlags.INFO_AUTOLOGON);
  });

  it('refuses INFO_AUTOLOGON without a password', () => {
    expect(() => encodeClientInfo({ ...base, flags: DEFAULT_INFO_FLAGS | InfoFlags.INFO_AUTOLOGON })).toThrow(EncodeError);
  });

  it('round-trips every field, extended info included, and keeps the password out of JSON', () => {
    const secret = 'pw-\u00e9\u4e2d';
    const d = decodeClientInfo(encodeClientInfo({ ...base, password: secret, alternateShell: 'cmd.exe', workingDir: 'C:\\' }));
    expect(d).toMatchObject({ domain: 'LAB', user: 'probe', alternateShell: 'cmd.exe', workingDir: 'C:\\', cbPassword: secret.length * 2 });
    expect(d.readPassword()).toBe(secret);
    expect(JSON.stringify(d)).not.toContain(secret);
    expect(d.flagNames).toContain('INFO_UNICODE');
    expect(d.extra).toMatchObject({
      clientAddressFamily: 2,
      clientAddress: '127.0.0.1',
      clientDir: 'C:\\Windows\\System32\\mstscax.dll',
      clientSessionId: 0,
      performanceFlags: 0x9,
      performanceFlagNames: ['PERF_DISABLE_WALLPAPER', 'PERF_DISABLE_THEMING'],
    });
    expect(d.extra?.timeZone?.standardName).toBe('GMT Standard Time');
  });

  it('round-trips the optional tail (dynamic DST key) and a negative bias', () => {
    const tz = { ...UTC_TIME_ZONE, bias: -60, daylightBias: -60 };
    const d = decodeClientInfo(
      encodeClientInfo({ ...base, extra: { ...base.extra!, timeZone: tz, dynamicDSTTimeZoneKeyName: 'W. Europe Standard Time', dynamicDaylightTimeDisabled: true } }),
    );
    expect(d.extra?.timeZone?.bias).toBe(-60);
    expect(d.extra?.dynamicDSTTimeZoneKeyName).toBe('W. Europe Standard Time');
    expect(d.extra?.dynamicDaylightTimeDisabled).toBe(true);
  });

  it('decodes the Client Info xfreerdp sent to FreeRDP shadow (real capture, standard security, no encryption)', () => {
    const { client } = mcsPayloads('shadow-rdp_xfreerdp-sec-rdp_std-security.pcap');
    const sec = basicSecurity(client[0]!.data);
    expect(sec.flags).toBe(0x0040); // SEC_INFO_PKT
    const d = decodeClientInfo(sec.body);
    expect(d.user).toBe('rdpuser');
    expect(d.domain).toBe('');
    expect(d.flags).toBe(0x000b47fb);
    expect(d.flagNames).toEqual(expect.arrayContaining(['INFO_MOUSE', 'INFO_AUTOLOGON', 'INFO_UNICODE', 'INFO_LOGONERRORS', 'INFO_NOAUDIOPLAYBACK']));
    // xfreerdp was given /p: here, so without NLA it delegated it; its length is all this test states.
    expect(d.cbPassword).toBe(18);
    expect(d.readPassword()).toHaveLength(9);
    expect(JSON.stringify(d)).not.toContain(d.readPassword());
    expect(d.extra?.clientAddressFamily).toBe(AddressFamily.AF_INET);
    expect(d.extra?.clientAddress).toBe('127.0.0.1');
    expect(d.extra?.timeZone).toBeDefined();
  });

  it('is strict about lengths and terminators', () => {
    const good = encodeClientInfo({ domain: 'D', user: 'u', alternateShell: '', workingDir: '' });
    const badTerm = good.slice();
    badTerm[20] = 0x41; // Domain's terminator
    expect(decodeError(() => decodeClientInfo(badTerm)).detail).toMatchObject({ kind: 'invalid_field', field: 'Domain' });
    const odd = good.slice();
    odd.set(le16(3), 8);
    expect(decodeError(() => decodeClientInfo(odd)).detail).toMatchObject({ kind: 'invalid_field', field: 'cbDomain' });
    expect(decodeError(() => decodeClientInfo(good.subarray(0, 25))).detail.kind).toBe('not_enough_bytes');
  });
});

/** UTF-16LE of `s` padded with zeros to `n` bytes (the fixed time-zone name fields). */
function padded(s: string, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(utf16le(s));
  return out;
}
const z16 = (s: string): Uint8Array => Uint8Array.from([...utf16le(s), 0, 0]);
const CLIENT_DIR = 'C:\\depots\\w2k3_1\\termsrv\\newclient\\lib\\win32\\obj\\i386\\mstscax.dll';

/** MS-RDPBCGR 4.1.10 Client Info PDU: the decrypted TS_INFO_PACKET of the annotated example. */
const SPEC_4_1_10 = hex`
  09040904                 # CodePage 0x04090409
  b3430000                 # flags 0x43B3: MOUSE|DISABLECTRLALTDEL|UNICODE|MAXIMIZESHELL|COMPRESSION|ENABLEWINDOWSKEY|FORCE_ENCRYPTED_CS_PDU, PACKET_COMPR_TYPE_64K
  0a00 0c00 0000 0000 0000 # cbDomain 10, cbUserName 12, no password, shell or directory
  ${z16('NTDEV')}
  ${z16('eltons')}
  0000 0000 0000           # Password, AlternateShell, WorkingDir: terminators only
  0200                     # AF_INET
  1e00 ${z16('157.59.242.156')}
  8400 ${z16(CLIENT_DIR)}
  e0010000                 # Bias 480 minutes
  ${padded('Pacific Standard Time', 64)}
  0000 0a00 0000 0500 0200 0000 0000 0000  # StandardDate: October, Sunday, last, 02:00
  00000000                 # StandardBias
  ${padded('Pacific Daylight Time', 64)}
  0000 0400 0000 0100 0200 0000 0000 0000  # DaylightDate: April, Sunday, first, 02:00
  c4ffffff                 # DaylightBias -60
  00000000                 # clientSessionId
  01000000                 # PERF_DISABLE_WALLPAPER
`;

describe('MS-RDPBCGR 4.1.10 annotated Client Info', () => {
  it('has the length the example gives (398 bytes)', () => {
    expect(SPEC_4_1_10.length).toBe(398);
  });

  it('decodes every field', () => {
    const d = decodeClientInfo(SPEC_4_1_10);
    expect(d).toMatchObject({ codePage: 0x04090409, flags: 0x43b3, domain: 'NTDEV', user: 'eltons', cbPassword: 0, alternateShell: '', workingDir: '' });
    expect(d.flagNames).toEqual(['INFO_MOUSE', 'INFO_DISABLECTRLALTDEL', 'INFO_UNICODE', 'INFO_MAXIMIZESHELL', 'INFO_COMPRESSION', 'INFO_ENABLEWINDOWSKEY', 'INFO_FORCE_ENCRYPTED_CS_PDU', '0x200']);
    expect(d.extra).toMatchObject({ clientAddressFamily: 2, clientAddress: '157.59.242.156', clientDir: CLIENT_DIR, clientSessionId: 0, performanceFlags: 1 });
    expect(d.extra?.timeZone).toMatchObject({
      bias: 480,
      standardName: 'Pacific Standard Time',
      standardDate: { month: 10, dayOfWeek: 0, day: 5, hour: 2 },
      daylightName: 'Pacific Daylight Time',
      daylightDate: { month: 4, day: 1, hour: 2 },
      daylightBias: -60,
    });
  });

  it('is re-encoded byte for byte from its decoded fields', () => {
    const d = decodeClientInfo(SPEC_4_1_10);
    const again = encodeClientInfo({
      codePage: d.codePage,
      flags: d.flags,
      domain: d.domain,
      user: d.user,
      alternateShell: d.alternateShell,
      workingDir: d.workingDir,
      extra: {
        clientAddressFamily: d.extra!.clientAddressFamily,
        clientAddress: d.extra!.clientAddress,
        clientDir: d.extra!.clientDir,
        timeZone: d.extra!.timeZone!,
        clientSessionId: 0,
        performanceFlags: 1,
      },
    });
    expect(again).toEqual(SPEC_4_1_10);
  });

  it('decodes the ANSI form of the same example (no INFO_UNICODE: single-byte strings, 1-byte terminators)', () => {
    const ansi = hex`
      09040904 a3430000 0500 0600 0000 0000 0000
      ${cat('NTDEV', 0)} ${cat('eltons', 0)} 00 00 00
      0200 0f00 ${cat('157.59.242.156', 0)}
      ${le16(CLIENT_DIR.length + 1)} ${cat(CLIENT_DIR, 0)}
      ${SPEC_4_1_10.subarray(398 - 180)}
    `;
    const d = decodeClientInfo(ansi);
    expect(d).toMatchObject({ domain: 'NTDEV', user: 'eltons', extra: { clientAddress: '157.59.242.156', clientDir: CLIENT_DIR, performanceFlags: 1 } });
    expect(d.extra?.timeZone?.daylightName).toBe('Pacific Daylight Time');
  });
});

