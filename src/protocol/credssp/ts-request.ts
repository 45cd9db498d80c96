/** [MS-CSSP] 2.2.1 TSRequest and 2.2.1.1 NegoData, DER with explicit context tags. */

import * as asn1js from 'asn1js';
import { DecodeError, EncodeError } from '../codec/errors.js';
import {
  children,
  decodeWithSchema,
  explicit,
  integer,
  integerValue,
  octets,
  octetsValue,
  offsetOf,
  tagName,
  toDer,
} from './asn1.js';

export const TS_REQUEST_PDU = 'TSRequest';
export const NEGO_DATA_PDU = 'NegoData';

/** The CredSSP version this client speaks (MS-CSSP 1.7: 6 since the CVE-2018-0886 updates). */
export const CREDSSP_VERSION = 6;
/** MS-CSSP 2.2.1: clientNonce is 32 bytes. */
export const CLIENT_NONCE_LENGTH = 32;

export interface TsRequest {
  /** [0] version. 2..6 today; a higher value is kept as received (a peer treats it as its own maximum). */
  version: number;
  /** [1] negoTokens: NegoData ::= SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING } (here: the NTLM messages). */
  negoTokens?: Uint8Array[];
  /** [2] authInfo: the encrypted TSCredentials. */
  authInfo?: Uint8Array;
  /** [3] pubKeyAuth: the encrypted public key (v2–4) or binding hash (v5+), signature first. */
  pubKeyAuth?: Uint8Array;
  /** [4] errorCode: an NTSTATUS, always returned unsigned (0xC000006D, never -1073741715). */
  errorCode?: number;
  /** [5] clientNonce (32 bytes, v5+). */
  clientNonce?: Uint8Array;
}

interface FieldSpec {
  tag: number;
  name: keyof TsRequest;
  inner: 'INTEGER' | 'OCTET STRING' | 'NegoData';
}

const FIELDS: readonly FieldSpec[] = [
  { tag: 0, name: 'version', inner: 'INTEGER' },
  { tag: 1, name: 'negoTokens', inner: 'NegoData' },
  { tag: 2, name: 'authInfo', inner: 'OCTET STRING' },
  { tag: 3, name: 'pubKeyAuth', inner: 'OCTET STRING' },
  { tag: 4, name: 'errorCode', inner: 'INTEGER' },
  { tag: 5, name: 'clientNonce', inner: 'OCTET STRING' },
];

/** NegoData: the template (no value) or the value (a non-empty list of tokens). */
function negoDataSchema(tokens?: readonly Uint8Array[]): asn1js.Sequence {
  const item = (t?: Uint8Array): asn1js.Sequence =>
    new asn1js.Sequence({ value: [explicit(0, octets('negoToken', t), 'negoTokenTag')] });
  if (tokens === undefined) {
    return new asn1js.Sequence({ name: 'negoData', value: [new asn1js.Repeated({ name: 'negoDataItems', value: item() })] });
  }
  return new asn1js.Sequence({ value: tokens.map((t) => item(t)) });
}

/**
 * The one TSRequest schema, used both ways: without `v` it is the template that decoding matches against
 * (every optional field present and named); with `v` it is the value to encode (absent fields left out).
 */
export function tsRequestSchema(v?: TsRequest): asn1js.Sequence {
  const t = v === undefined;
  const value: asn1js.AsnType[] = [explicit(0, integer('version', v?.version), 'tag0')];
  if (t || v.negoTokens !== undefined) value.push(explicit(1, negoDataSchema(v?.negoTokens), 'tag1', true));
  if (t || v.authInfo !== undefined) value.push(explicit(2, octets('authInfo', v?.authInfo), 'tag2', true));
  if (t || v.pubKeyAuth !== undefined) value.push(explicit(3, octets('pubKeyAuth', v?.pubKeyAuth), 'tag3', true));
  if (t || v.errorCode !== undefined) {
    value.push(explicit(4, integer('errorCode', v?.errorCode === undefined ? undefined : v.errorCode | 0), 'tag4', true));
  }
  if (t || v.clientNonce !== undefined) value.push(explicit(5, octets('clientNonce', v?.clientNonce), 'tag5', true));
  return new asn1js.Sequence({ name: 'TSRequest', value });
}

/** Encodes a TSRequest as DER. EncodeError for values DER or the spec cannot carry. */
export function encodeTsRequest(req: TsRequest): Uint8Array {
  if (!Number.isInteger(req.version) || req.version < 0 || req.version > 0x7fffffff) {
    throw new EncodeError(`TSRequest version ${req.version} out of range`);
  }
  if (req.negoTokens !== undefined && req.negoTokens.length === 0) throw new EncodeError('negoTokens must not be empty');
  if (req.errorCode !== undefined && (!Number.isInteger(req.errorCode) || req.errorCode < 0 || req.errorCode > 0xffffffff)) {
    throw new EncodeError(`errorCode ${req.errorCode} is not an unsigned 32-bit NTSTATUS`);
  }
  if (req.clientNonce !== undefined && req.clientNonce.length !== CLIENT_NONCE_LENGTH) {
    throw new EncodeError(`clientNonce must be ${CLIENT_NONCE_LENGTH} bytes, got ${req.clientNonce.length}`);
  }
  return toDer(tsRequestSchema(req));
}

function isUniversal(b: asn1js.AsnType, tagNumber: number, constructed: boolean): boolean {
  return b.idBlock.tagClass === 1 && b.idBlock.tagNumber === tagNumber && b.idBlock.isConstructed === constructed;
}

/** The precise structural problem with a decoded TSRequest tree, if any (what compareSchema would not say). */
function structuralError(root: asn1js.AsnType): DecodeError | undefined {
  const fail = (at: asn1js.AsnType, field: string, reason: string): DecodeError =>
    new DecodeError(TS_REQUEST_PDU, offsetOf(at), { kind: 'invalid_field', field, reason });
  const items = children(root);
  let next = 0;
  for (const el of items) {
    const { tagClass, tagNumber, isConstructed } = el.idBlock;
    const spec = tagClass === 3 && isConstructed ? FIELDS.find((f) => f.tag === tagNumber) : undefined;
    if (spec === undefined || spec.tag < next) {
      const expected = next <= 5 ? `[${next}]..[5]` : 'end of TSRequest';
      return new DecodeError(TS_REQUEST_PDU, offsetOf(el), { kind: 'unexpected_type', got: tagName(el), expected });
    }
    if (next === 0 && spec.tag !== 0) return fail(el, 'version', 'missing');
    next = spec.tag + 1;
    const inner = children(el);
    if (inner.length !== 1) return fail(el, spec.name, `explicit tag holds ${inner.length} values, expected 1`);
    const v = inner[0]!;
    if (spec.inner === 'INTEGER' && !isUniversal(v, 2, false)) return fail(v, spec.name, `expected INTEGER, got ${tagName(v)}`);
    if (spec.inner === 'OCTET STRING' && !isUniversal(v, 4, false)) {
      return fail(v, spec.name, `expected OCTET STRING, got ${tagName(v)}`);
    }
    if (spec.inner === 'NegoData') {
      const e = negoDataError(v);
      if (e) return e.within(TS_REQUEST_PDU);
    }
  }
  if (next === 0) return new DecodeError(TS_REQUEST_PDU, offsetOf(root), { kind: 'invalid_field', field: 'version', reason: 'missing' });
  return undefined;
}

function negoDataError(nd: asn1js.AsnType): DecodeError | undefined {
  const fail = (at: asn1js.AsnType, field: string, reason: string): DecodeError =>
    new DecodeError(NEGO_DATA_PDU, offsetOf(at), { kind: 'invalid_field', field, reason });
  if (!isUniversal(nd, 16, true)) return fail(nd, 'NegoData', `expected SEQUENCE OF, got ${tagName(nd)}`);
  const items = children(nd);
  if (items.length === 0) return fail(nd, 'NegoData', 'empty');
  for (const item of items) {
    if (!isUniversal(item, 16, true)) return fail(item, 'NegoDataItem', `expected SEQUENCE, got ${tagName(item)}`);
    const fields = children(item);
    if (fields.length !== 1) return fail(item, 'NegoDataItem', `holds ${fields.length} values, expected negoToken [0] only`);
    const tag = fields[0]!;
    if (!(tag.idBlock.tagClass === 3 && tag.idBlock.tagNumber === 0 && tag.idBlock.isConstructed)) {
      return new DecodeError(NEGO_DATA_PDU, offsetOf(tag), { kind: 'unexpected_type', got: tagName(tag), expected: '[0]' });
    }
    const inner = children(tag);
    if (inner.length !== 1) return fail(tag, 'negoToken', `explicit tag holds ${inner.length} values, expected 1`);
    if (!isUniversal(inner[0]!, 4, false)) return fail(inner[0]!, 'negoToken', `expected OCTET STRING, got ${tagName(inner[0]!)}`);
  }
  return undefined;
}

/**
 * Decodes one TSRequest (the whole buffer). Strict DER; fields in tag order, each at most once; version ≥ 2
 * (higher than 6 is kept as is); errorCode may be encoded negative, as Windows does, and comes back unsigned;
 * clientNonce must be 32 bytes. Throws only DecodeError.
 */
export function decodeTsRequest(bytes: Uint8Array): TsRequest {
  try {
    return decode(bytes);
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError(TS_REQUEST_PDU, 0, { kind: 'invalid_field', field: 'TSRequest', reason: e instanceof Error ? e.message : String(e) });
  }
}

function decode(bytes: Uint8Array): TsRequest {
  const { root, named } = decodeWithSchema(bytes, TS_REQUEST_PDU, tsRequestSchema(), (r) => {
    return (
      structuralError(r) ??
      new DecodeError(TS_REQUEST_PDU, 0, { kind: 'invalid_field', field: 'TSRequest', reason: 'does not match the schema' })
    );
  });
  const structural = structuralError(root);
  if (structural) throw structural;

  const versionBlock = named['version']!;
  const version = integerValue(versionBlock);
  if (version < 2n || version > 0x7fffffffn) {
    throw new DecodeError(TS_REQUEST_PDU, offsetOf(versionBlock), {
      kind: 'unsupported_value',
      name: 'version',
      value: version >= -0x80000000n && version <= 0xffffffffn ? Number(version) : version.toString(),
    });
  }
  const out: TsRequest = { version: Number(version) };

  if (named['tag1'] !== undefined) {
    const nd = children(named['tag1'])[0]!;
    out.negoTokens = children(nd).map((item) => octetsValue(children(children(item)[0]!)[0]!));
  }
  if (named['authInfo'] !== undefined) out.authInfo = octetsValue(named['authInfo']);
  if (named['pubKeyAuth'] !== undefined) out.pubKeyAuth = octetsValue(named['pubKeyAuth']);
  if (named['errorCode'] !== undefined) {
    const b = named['errorCode'];
    const v = integerValue(b);
    if (v < -0x80000000n || v > 0xffffffffn) {
      throw new DecodeError(TS_REQUEST_PDU, offsetOf(b), { kind: 'invalid_field', field: 'errorCode', reason: `${v} is not a 32-bit NTSTATUS` });
    }
    out.errorCode = Number(BigInt.asUintN(32, v));
  }
  if (named['clientNonce'] !== undefined) {
    const b = named['clientNonce'];
    const nonce = octetsValue(b);
    if (nonce.length !== CLIENT_NONCE_LENGTH) {
      throw new DecodeError(TS_REQUEST_PDU, offsetOf(b), {
        kind: 'invalid_field',
        field: 'clientNonce',
        reason: `${nonce.length} bytes, expected ${CLIENT_NONCE_LENGTH}`,
      });
    }
    out.clientNonce = nonce;
  }
  return out;
}
