/** BER and PER helpers against hand-checked bytes (X.690 / X.691 examples and the forms RDP peers write). */
import { describe, expect, it } from 'vitest';
import { ByteReader } from '../../../src/protocol/codec/reader.js';
import { ByteWriter } from '../../../src/protocol/codec/writer.js';
import { EncodeError } from '../../../src/protocol/codec/errors.js';
import {
  berApplication,
  berBoolean,
  berEnumerated,
  berInteger,
  berLength,
  berOctetString,
  berSequence,
  berTag,
  expectBerEnd,
  readBerApplication,
  readBerBoolean,
  readBerEnumerated,
  readBerInteger,
  readBerLength,
  readBerOctetString,
  readBerSequence,
  readBerTag,
} from '../../../src/protocol/codec/ber.js';
import {
  readPerEnumerated,
  readPerInteger,
  readPerInteger16,
  readPerLength,
  readPerNumericString,
  readPerObjectIdentifier,
  readPerOctetString,
  writePerEnumerated,
  writePerInteger,
  writePerInteger16,
  writePerLength,
  writePerNumericString,
  writePerObjectIdentifier,
  writePerOctetString,
} from '../../../src/protocol/codec/per.js';
import { hex, toSpacedHex } from '../../helpers/bytes.js';
import { decodeError } from '../../helpers/errors.js';

const rd = (b: Uint8Array): ByteReader => new ByteReader(b, 'test');
const per = (fn: (w: ByteWriter) => void): string => {
  const w = new ByteWriter();
  fn(w);
  return toSpacedHex(w.finish());
};

describe('BER', () => {
  it('tags: low and high tag-number forms (connect-initial is [APPLICATION 101] = 7f 65)', () => {
    expect(toSpacedHex(berTag({ cls: 'application', constructed: true, number: 101 }))).toBe('7f 65');
    expect(toSpacedHex(berTag({ cls: 'universal', constructed: true, number: 16 }))).toBe('30');
    expect(toSpacedHex(berTag({ cls: 'context', constructed: false, number: 200 }))).toBe('9f 81 48');
    expect(readBerTag(rd(hex`7f 66`))).toEqual({ cls: 'application', constructed: true, number: 102 });
    expect(readBerTag(rd(hex`9f 81 48`))).toEqual({ cls: 'context', constructed: false, number: 200 });
    expect(decodeError(() => readBerTag(rd(hex`7f 1e`))).message).toMatch(/high-tag-number form for tag 30/);
    expect(decodeError(() => readBerTag(rd(hex`7f 80 01`))).message).toMatch(/leading zero/);
    expect(decodeError(() => readBerTag(rd(hex`7f 81 81 01`))).message).toMatch(/longer than 2 octets/);
  });

  it('lengths: short, long up to 4 octets; indefinite and 5-octet forms are DecodeErrors', () => {
    expect(toSpacedHex(berLength(0x7f))).toBe('7f');
    expect(toSpacedHex(berLength(0x80))).toBe('81 80');
    expect(toSpacedHex(berLength(0x1a0))).toBe('82 01 a0');
    expect(readBerLength(rd(hex`82 01 a0`))).toBe(0x1a0);
    expect(readBerLength(rd(hex`84 01 02 03 04`))).toBe(0x01020304);
    expect(readBerLength(rd(hex`81 05`))).toBe(5); // long form for a short value is BER
    expect(decodeError(() => readBerLength(rd(hex`80`))).message).toMatch(/indefinite/);
    expect(decodeError(() => readBerLength(rd(hex`85 01 02 03 04 05`))).message).toMatch(/5 length octets/);
    expect(decodeError(() => readBerLength(rd(hex`82 01`))).detail.kind).toBe('not_enough_bytes');
  });

  it('INTEGER: minimal with a sign octet; Windows 02 02 ff ff reads as 65535', () => {
    expect(toSpacedHex(berInteger(0))).toBe('02 01 00');
    expect(toSpacedHex(berInteger(34))).toBe('02 01 22');
    expect(toSpacedHex(berInteger(65535))).toBe('02 03 00 ff ff');
    expect(toSpacedHex(berInteger(0xfff8))).toBe('02 03 00 ff f8');
    expect(toSpacedHex(berInteger(0xffffffff))).toBe('02 05 00 ff ff ff ff');
    expect(readBerInteger(rd(hex`02 02 ff ff`))).toBe(65535);
    expect(readBerInteger(rd(hex`02 05 00 ff ff ff ff`))).toBe(0xffffffff);
    expect(decodeError(() => readBerInteger(rd(hex`02 05 01 00 00 00 00`))).message).toMatch(/do not fit 32 bits/);
    expect(decodeError(() => readBerInteger(rd(hex`02 00`))).message).toMatch(/no value octets/);
    expect(decodeError(() => readBerInteger(rd(hex`0a 01 00`))).message).toMatch(/expected INTEGER, got ENUMERATED/);
    expect(() => berInteger(-1)).toThrow(EncodeError);
  });

  it('ENUMERATED, BOOLEAN, OCTET STRING, SEQUENCE and APPLICATION round-trip', () => {
    const bytes = berApplication(102, berEnumerated(14), berBoolean(true), berSequence(berInteger(1), berOctetString(hex`aa bb`)));
    expect(toSpacedHex(bytes)).toBe('7f 66 0f 0a 01 0e 01 01 ff 30 07 02 01 01 04 02 aa bb');
    const r = rd(bytes);
    const end = readBerApplication(r, 102, 'app');
    expect(readBerEnumerated(r)).toBe(14);
    expect(readBerBoolean(r)).toBe(true);
    const seqEnd = readBerSequence(r);
    expect(readBerInteger(r)).toBe(1);
    expect(toSpacedHex(readBerOctetString(r))).toBe('aa bb');
    expectBerEnd(r, seqEnd, 'seq');
    expectBerEnd(r, end, 'app');
    expect(decodeError(() => readBerBoolean(rd(hex`01 02 ff ff`))).message).toMatch(/length 2, must be 1/);
    expect(decodeError(() => readBerApplication(rd(hex`7f 65 00`), 102, 'Connect-Response')).message).toMatch(/expected \[APPLICATION 102\]/);
    // A member that runs past its SEQUENCE is caught at the end check.
    const bad = rd(hex`30 01 02 01 05`);
    const e = readBerSequence(bad);
    readBerInteger(bad);
    expect(decodeError(() => expectBerEnd(bad, e, 'seq')).message).toMatch(/run past/);
    // A length larger than the buffer fails at the header, before anything is read.
    expect(decodeError(() => readBerOctetString(rd(hex`04 84 7f ff ff ff`))).detail.kind).toBe('not_enough_bytes');
  });
});

describe('PER (aligned, as T.124/T.125 use it in RDP)', () => {
  it('length determinant: one octet below 128, two with 10 on top; fragments refused', () => {
    expect(per((w) => writePerLength(w, 0x7f))).toBe('7f');
    expect(per((w) => writePerLength(w, 0x136))).toBe('81 36');
    expect(readPerLength(rd(hex`81 36`))).toBe(0x136);
    expect(decodeError(() => readPerLength(rd(hex`c1`))).message).toMatch(/fragmented/);
    expect(() => per((w) => writePerLength(w, 0x4000))).toThrow(EncodeError);
  });

  it('INTEGER: 1, 2 or 4 octets; u16 with a lower bound (UserID 1001..)', () => {
    expect(per((w) => writePerInteger(w, 1))).toBe('01 01');
    expect(per((w) => writePerInteger(w, 0x1234))).toBe('02 12 34');
    expect(per((w) => writePerInteger(w, 0x12345))).toBe('04 00 01 23 45');
    expect(readPerInteger(rd(hex`04 00 01 23 45`))).toBe(0x12345);
    expect(decodeError(() => readPerInteger(rd(hex`03 00 00 01`))).message).toMatch(/3 octets/);
    expect(per((w) => writePerInteger16(w, 31219, 1001))).toBe('76 0a');
    expect(readPerInteger16(rd(hex`00 07`), 1001)).toBe(1008);
    expect(() => per((w) => writePerInteger16(w, 1000, 1001))).toThrow(EncodeError);
  });

  it('OBJECT IDENTIFIER: the T.124 key 0.0.20.124.0.1 is 05 00 14 7c 00 01; multi-octet arcs', () => {
    expect(per((w) => writePerObjectIdentifier(w, [0, 0, 20, 124, 0, 1]))).toBe('05 00 14 7c 00 01');
    expect(readPerObjectIdentifier(rd(hex`05 00 14 7c 00 01`))).toEqual([0, 0, 20, 124, 0, 1]);
    expect(per((w) => writePerObjectIdentifier(w, [1, 2, 840, 113549]))).toBe('06 2a 86 48 86 f7 0d');
    expect(readPerObjectIdentifier(rd(hex`06 2a 86 48 86 f7 0d`))).toEqual([1, 2, 840, 113549]);
    expect(readPerObjectIdentifier(rd(hex`01 51`))).toEqual([2, 1]);
    expect(decodeError(() => readPerObjectIdentifier(rd(hex`02 00 81`))).message).toMatch(/unterminated/);
    expect(decodeError(() => readPerObjectIdentifier(rd(hex`00`))).message).toMatch(/empty/);
  });

  it('OCTET STRING with a minimum size, NumericString packed in nibbles, ENUMERATED range', () => {
    expect(per((w) => writePerOctetString(w, Uint8Array.from([0x44, 0x75, 0x63, 0x61]), 4))).toBe('00 44 75 63 61');
    expect(toSpacedHex(readPerOctetString(rd(hex`00 4d 63 44 6e`), 4))).toBe('4d 63 44 6e');
    expect(per((w) => writePerNumericString(w, '1', 1))).toBe('00 10');
    expect(per((w) => writePerNumericString(w, '2024', 1))).toBe('03 20 24');
    expect(readPerNumericString(rd(hex`02 12 30`), 1)).toBe('123');
    expect(decodeError(() => readPerNumericString(rd(hex`00 a0`), 1)).message).toMatch(/not a digit/);
    expect(per((w) => writePerEnumerated(w, 2, 5))).toBe('02');
    expect(readPerEnumerated(rd(hex`04`), 5)).toBe(4);
    expect(decodeError(() => readPerEnumerated(rd(hex`05`), 5)).message).toMatch(/outside 0..4/);
  });
});
