/** NTLM helpers: FILETIME ↔ ISO, Windows-style upper-casing, UTF-16LE. */
import { describe, expect, it } from 'vitest';
import {
  fileTimeFromUnixMs,
  fileTimeToIso,
  fromUtf16le,
  readFileTime,
  upcaseUnits,
  utf16le,
  writeFileTime,
} from '../../../src/protocol/ntlm/common.js';

describe('FILETIME', () => {
  it('0 is 1601-01-01', () => {
    expect(fileTimeToIso(0n)).toBe('1601-01-01T00:00:00.000Z');
  });

  it('davenport.sourceforge.net example: 0x0090d336b734c301 is 2003-06-17 10:00 UTC', () => {
    const ft = readFileTime(Uint8Array.from([0x00, 0x90, 0xd3, 0x36, 0xb7, 0x34, 0xc3, 0x01]));
    expect(ft).toBe(127003176000000000n);
    expect(fileTimeToIso(ft)).toBe('2003-06-17T10:00:00.000Z');
  });

  it('agrees with Date for leap days, century years and random instants', () => {
    const instants = [
      Date.UTC(1970, 0, 1),
      Date.UTC(1999, 11, 31, 23, 59, 59, 999),
      Date.UTC(2000, 1, 29, 12),
      Date.UTC(2024, 1, 29),
      Date.UTC(2100, 2, 1),
      Date.UTC(1601, 0, 1, 0, 0, 0, 1),
      Date.UTC(1900, 1, 28, 23),
    ];
    let x = 12345;
    for (let i = 0; i < 500; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      instants.push(Date.UTC(1601, 0, 1) + Math.floor((x / 2147483648) * (Date.UTC(9999, 0, 1) - Date.UTC(1601, 0, 1))));
    }
    for (const ms of instants) {
      expect(fileTimeToIso(fileTimeFromUnixMs(ms)), String(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it('renders the largest FILETIME without throwing, and truncates sub-millisecond ticks', () => {
    expect(fileTimeToIso(0xffffffffffffffffn)).toMatch(/^\d{5}-\d\d-\d\dT/);
    expect(fileTimeToIso(9999n)).toBe('1601-01-01T00:00:00.000Z');
    expect(fileTimeToIso(10000n)).toBe('1601-01-01T00:00:00.001Z');
  });

  it('writeFileTime is the inverse of readFileTime', () => {
    expect(readFileTime(writeFileTime(133590404967891234n))).toBe(133590404967891234n);
    expect(Array.from(writeFileTime(1n))).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe('strings', () => {
  it('upcaseUnits upper-cases code unit by code unit, never changing the length', () => {
    expect(upcaseUnits('alice')).toBe('ALICE');
    expect(upcaseUnits('straße')).toBe('STRAßE');
  });

  it('UTF-16LE keeps lone surrogates and round-trips', () => {
    const s = 'a\ud800b€';
    expect(fromUtf16le(utf16le(s))).toBe(s);
    expect(Array.from(utf16le('A€'))).toEqual([0x41, 0x00, 0xac, 0x20]);
  });
});
