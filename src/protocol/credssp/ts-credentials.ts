/**
 * [MS-CSSP] 2.2.1.2 TSCredentials and 2.2.1.2.1 TSPasswordCreds — what the client delegates to the server in
 * the final authInfo (only ever sent after an explicit opt-in: it hands the password to the server).
 */

import * as asn1js from 'asn1js';
import { DecodeError } from '../codec/errors.js';
import { utf16le, fromUtf16le } from '../ntlm/common.js';
import { children, decodeWithSchema, explicit, integer, integerValue, octets, octetsValue, offsetOf, tagName, toDer } from './asn1.js';

export const TS_CREDENTIALS_PDU = 'TSCredentials';
export const TS_PASSWORD_CREDS_PDU = 'TSPasswordCreds';

/** [MS-CSSP] 2.2.1.2 credType. */
export const CredType = {
  PASSWORD: 1,
  SMARTCARD: 2,
  REMOTE_GUARD: 6,
} as const;

export interface TsCredentials {
  /** [0] credType (1 = TSPasswordCreds). */
  credType: number;
  /** [1] credentials: the DER of the credential structure. */
  credentials: Uint8Array;
}

export interface TsPasswordCreds {
  /** [0] domainName, UTF-16LE on the wire. */
  domainName: string;
  /** [1] userName, UTF-16LE on the wire. */
  userName: string;
  /** [2] password, UTF-16LE on the wire. */
  password: string;
}

/** The one TSCredentials schema: template without `v`, value with it. */
export function tsCredentialsSchema(v?: TsCredentials): asn1js.Sequence {
  return new asn1js.Sequence({
    name: 'TSCredentials',
    value: [explicit(0, integer('credType', v?.credType), 'tag0'), explicit(1, octets('credentials', v?.credentials), 'tag1')],
  });
}

/** The one TSPasswordCreds schema: template without `v`, value with it. */
export function tsPasswordCredsSchema(v?: TsPasswordCreds): asn1js.Sequence {
  const s = (x: string | undefined): Uint8Array | undefined => (x === undefined ? undefined : utf16le(x));
  return new asn1js.Sequence({
    name: 'TSPasswordCreds',
    value: [
      explicit(0, octets('domainName', s(v?.domainName)), 'tag0'),
      explicit(1, octets('userName', s(v?.userName)), 'tag1'),
      explicit(2, octets('password', s(v?.password)), 'tag2'),
    ],
  });
}

export function encodeTsCredentials(c: TsCredentials): Uint8Array {
  return toDer(tsCredentialsSchema(c));
}

export function encodeTsPasswordCreds(c: TsPasswordCreds): Uint8Array {
  return toDer(tsPasswordCredsSchema(c));
}

/** TSCredentials { credType 1, credentials TSPasswordCreds } — the plaintext of the final authInfo. */
export function encodePasswordCredentials(c: TsPasswordCreds): Uint8Array {
  return encodeTsCredentials({ credType: CredType.PASSWORD, credentials: encodeTsPasswordCreds(c) });
}

type Inner = 'INTEGER' | 'OCTET STRING';

/** Exactly the listed explicit fields, in order, each one value of the listed type. */
function fixedFieldsError(root: asn1js.AsnType, pdu: string, fields: readonly { tag: number; name: string; inner: Inner }[]): DecodeError | undefined {
  const items = children(root);
  for (let i = 0; i < Math.max(items.length, fields.length); i++) {
    const el = items[i];
    const spec = fields[i];
    if (el === undefined) return new DecodeError(pdu, offsetOf(root), { kind: 'invalid_field', field: spec!.name, reason: 'missing' });
    if (spec === undefined) return new DecodeError(pdu, offsetOf(el), { kind: 'unexpected_type', got: tagName(el), expected: `end of ${pdu}` });
    const id = el.idBlock;
    if (!(id.tagClass === 3 && id.tagNumber === spec.tag && id.isConstructed)) {
      return new DecodeError(pdu, offsetOf(el), { kind: 'unexpected_type', got: tagName(el), expected: `[${spec.tag}]` });
    }
    const inner = children(el);
    if (inner.length !== 1) {
      return new DecodeError(pdu, offsetOf(el), { kind: 'invalid_field', field: spec.name, reason: `explicit tag holds ${inner.length} values, expected 1` });
    }
    const v = inner[0]!;
    const want = spec.inner === 'INTEGER' ? 2 : 4;
    if (!(v.idBlock.tagClass === 1 && v.idBlock.tagNumber === want && !v.idBlock.isConstructed)) {
      return new DecodeError(pdu, offsetOf(v), { kind: 'invalid_field', field: spec.name, reason: `expected ${spec.inner}, got ${tagName(v)}` });
    }
  }
  return undefined;
}

function strictDecode(bytes: Uint8Array, pdu: string, template: asn1js.Sequence, fields: readonly { tag: number; name: string; inner: Inner }[]) {
  try {
    const generic = (): DecodeError => new DecodeError(pdu, 0, { kind: 'invalid_field', field: pdu, reason: 'does not match the schema' });
    const { root, named } = decodeWithSchema(bytes, pdu, template, (r) => fixedFieldsError(r, pdu, fields) ?? generic());
    const e = fixedFieldsError(root, pdu, fields);
    if (e) throw e;
    return named;
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError(pdu, 0, { kind: 'invalid_field', field: pdu, reason: e instanceof Error ? e.message : String(e) });
  }
}

export function decodeTsCredentials(bytes: Uint8Array): TsCredentials {
  const named = strictDecode(bytes, TS_CREDENTIALS_PDU, tsCredentialsSchema(), [
    { tag: 0, name: 'credType', inner: 'INTEGER' },
    { tag: 1, name: 'credentials', inner: 'OCTET STRING' },
  ]);
  const typeBlock = named['credType']!;
  const credType = integerValue(typeBlock);
  if (credType < -0x80000000n || credType > 0x7fffffffn) {
    throw new DecodeError(TS_CREDENTIALS_PDU, offsetOf(typeBlock), { kind: 'invalid_field', field: 'credType', reason: 'out of range' });
  }
  return { credType: Number(credType), credentials: octetsValue(named['credentials']!) };
}

export function decodeTsPasswordCreds(bytes: Uint8Array): TsPasswordCreds {
  const named = strictDecode(bytes, TS_PASSWORD_CREDS_PDU, tsPasswordCredsSchema(), [
    { tag: 0, name: 'domainName', inner: 'OCTET STRING' },
    { tag: 1, name: 'userName', inner: 'OCTET STRING' },
    { tag: 2, name: 'password', inner: 'OCTET STRING' },
  ]);
  const str = (name: string): string => {
    const b = named[name]!;
    const v = octetsValue(b);
    if (v.length % 2 !== 0) {
      throw new DecodeError(TS_PASSWORD_CREDS_PDU, offsetOf(b), { kind: 'invalid_field', field: name, reason: `UTF-16 value of odd length ${v.length}` });
    }
    return fromUtf16le(v);
  };
  return { domainName: str('domainName'), userName: str('userName'), password: str('password') };
}
