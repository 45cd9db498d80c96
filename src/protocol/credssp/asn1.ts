/** Small asn1js helpers shared by the CredSSP schemas (explicit tags, INTEGER and OCTET STRING both ways). */

import * as asn1js from 'asn1js';
import { DecodeError, EncodeError } from '../codec/errors.js';
import { checkDer } from './der.js';

/** `[tag] EXPLICIT inner`, context-specific and constructed. */
export function explicit(tag: number, inner: asn1js.AsnType, name: string, optional = false): asn1js.Constructed {
  return new asn1js.Constructed({ name, optional, idBlock: { tagClass: 3, tagNumber: tag }, value: [inner] });
}

/** INTEGER: a named template when `value` is undefined, else the value (signed 32-bit range). */
export function integer(name: string, value?: number): asn1js.Integer {
  if (value === undefined) return new asn1js.Integer({ name });
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
    throw new EncodeError(`${name} ${value} is outside the signed 32-bit range`);
  }
  return new asn1js.Integer({ value });
}

/** OCTET STRING: a named template when `value` is undefined, else the value. */
export function octets(name: string, value?: Uint8Array): asn1js.OctetString {
  return value === undefined ? new asn1js.OctetString({ name }) : new asn1js.OctetString({ valueHex: value });
}

export function toDer(schema: asn1js.AsnType): Uint8Array {
  return new Uint8Array(schema.toBER(false));
}

/** Where a decoded block starts in the buffer handed to fromBER (asn1js decodes a copy starting at 0). */
export function offsetOf(block: { valueBeforeDecodeView?: Uint8Array } | undefined): number {
  return block?.valueBeforeDecodeView?.byteOffset ?? 0;
}

export function children(block: asn1js.AsnType): asn1js.AsnType[] {
  const vb = (block as asn1js.Constructed).valueBlock as { value?: asn1js.AsnType[] };
  return Array.isArray(vb.value) ? vb.value : [];
}

/** Signed value of an INTEGER's content octets (DER has already made them minimal). */
export function integerValue(block: asn1js.AsnType): bigint {
  const b = (block as asn1js.Integer).valueBlock.valueHexView;
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  if (b.length > 0 && b[0]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return v;
}

export function octetsValue(block: asn1js.AsnType): Uint8Array {
  return Uint8Array.from((block as asn1js.OctetString).valueBlock.valueHexView);
}

/**
 * Strict DER decode against a template: checkDer, asn1js.fromBER, compareSchema. Returns the matched named
 * blocks. `describeMismatch` explains a schema mismatch with a path-bearing DecodeError.
 */
export function decodeWithSchema(
  bytes: Uint8Array,
  pdu: string,
  template: asn1js.AsnType,
  describeMismatch: (root: asn1js.AsnType) => DecodeError,
): { root: asn1js.AsnType; named: Record<string, asn1js.AsnType> } {
  checkDer(bytes, pdu);
  let parsed: ReturnType<typeof asn1js.fromBER>;
  try {
    parsed = asn1js.fromBER(bytes);
  } catch (e) {
    throw new DecodeError(pdu, 0, { kind: 'invalid_field', field: 'DER', reason: e instanceof Error ? e.message : String(e) });
  }
  if (parsed.offset === -1) {
    throw new DecodeError(pdu, 0, { kind: 'invalid_field', field: 'DER', reason: parsed.result.error || 'malformed' });
  }
  const cmp = asn1js.compareSchema(parsed.result, parsed.result, template);
  if (!cmp.verified) throw describeMismatch(parsed.result);
  return { root: parsed.result, named: cmp.result as unknown as Record<string, asn1js.AsnType> };
}

/** '[3]' or 'INTEGER' style name of a block's tag, for messages. */
export function tagName(block: asn1js.AsnType): string {
  const { tagClass, tagNumber, isConstructed } = block.idBlock;
  if (tagClass === 3) return `[${tagNumber}]`;
  if (tagClass === 1) {
    const names: Record<number, string> = { 2: 'INTEGER', 3: 'BIT STRING', 4: 'OCTET STRING', 5: 'NULL', 6: 'OBJECT IDENTIFIER', 16: 'SEQUENCE', 17: 'SET' };
    return (names[tagNumber] ?? `universal ${tagNumber}`) + (isConstructed && tagNumber === 4 ? ' (constructed)' : '');
  }
  return `class ${tagClass} tag ${tagNumber}`;
}
