/**
 * Just enough of the TLS record layer (RFC 8446 5.1, RFC 5246 6.2) to explain a failed handshake from the bytes
 * the server sent: alerts, the ServerHello's version, or a reply that is not TLS at all.
 */
import { ByteReader } from './codec/reader.js';

/** RFC 8446 6 / RFC 5246 7.2 AlertDescription. */
export const TLS_ALERTS: Record<number, string> = {
  0: 'close_notify',
  10: 'unexpected_message',
  20: 'bad_record_mac',
  21: 'decryption_failed',
  22: 'record_overflow',
  30: 'decompression_failure',
  40: 'handshake_failure',
  41: 'no_certificate',
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  44: 'certificate_revoked',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  47: 'illegal_parameter',
  48: 'unknown_ca',
  49: 'access_denied',
  50: 'decode_error',
  51: 'decrypt_error',
  60: 'export_restriction',
  70: 'protocol_version',
  71: 'insufficient_security',
  80: 'internal_error',
  86: 'inappropriate_fallback',
  90: 'user_canceled',
  100: 'no_renegotiation',
  109: 'missing_extension',
  110: 'unsupported_extension',
  112: 'unrecognized_name',
  113: 'bad_certificate_status_response',
  115: 'unknown_psk_identity',
  116: 'certificate_required',
  120: 'no_application_protocol',
};

export function tlsVersionName(v: number): string {
  switch (v) {
    case 0x0300:
      return 'SSLv3';
    case 0x0301:
      return 'TLSv1';
    case 0x0302:
      return 'TLSv1.1';
    case 0x0303:
      return 'TLSv1.2';
    case 0x0304:
      return 'TLSv1.3';
    default:
      return `0x${v.toString(16).padStart(4, '0')}`;
  }
}

export type ServerFlight =
  | { kind: 'empty' }
  | { kind: 'alert'; level: number; description: number; descriptionName: string; recordVersion: number; encrypted: boolean }
  | { kind: 'server_hello'; version: number; versionName: string; cipherSuite: number }
  | { kind: 'handshake_other'; handshakeType: number }
  | { kind: 'tpkt'; length: number }
  | { kind: 'not_tls' };

/** Looks at the first record of what the server sent during the handshake. Never throws. */
export function inspectServerFlight(bytes: Uint8Array): ServerFlight {
  if (bytes.length === 0) return { kind: 'empty' };
  if (bytes[0] === 0x03 && bytes[1] === 0x00 && bytes.length >= 4) return { kind: 'tpkt', length: (bytes[2]! << 8) | bytes[3]! };
  try {
    const r = new ByteReader(bytes, 'TLS record');
    const type = r.u8();
    const recordVersion = r.u16be();
    const length = r.u16be();
    if ((recordVersion >> 8) !== 3) return { kind: 'not_tls' };
    if (type === 21) {
      // A plaintext alert is 2 bytes; a longer one is encrypted (after a TLS 1.3 ServerHello).
      if (length !== 2) return { kind: 'alert', level: 2, description: -1, descriptionName: 'encrypted alert', recordVersion, encrypted: true };
      const level = r.u8();
      const description = r.u8();
      return { kind: 'alert', level, description, descriptionName: TLS_ALERTS[description] ?? `unknown (${description})`, recordVersion, encrypted: false };
    }
    if (type !== 22) return type >= 20 && type <= 24 ? { kind: 'handshake_other', handshakeType: -1 } : { kind: 'not_tls' };
    const record = new ByteReader(r.bytesN(Math.min(length, r.remaining)), 'TLS handshake');
    const hsType = record.u8();
    if (hsType !== 2) return { kind: 'handshake_other', handshakeType: hsType };
    // The ServerHello ends where its own 24-bit length says: a TLS 1.0-1.2 server often puts Certificate and
    // ServerHelloDone in the same record, and those bytes are not ServerHello extensions.
    const hsLength = record.u8() * 0x10000 + record.u16be();
    const body = new ByteReader(record.bytesN(Math.min(hsLength, record.remaining)), 'ServerHello');
    let version = body.u16be();
    body.skip(32);
    const sidLen = body.u8();
    body.skip(sidLen);
    const cipherSuite = body.u16be();
    body.skip(1);
    if (body.remaining >= 2) {
      const extLen = body.u16be();
      const ext = new ByteReader(body.bytesN(Math.min(extLen, body.remaining)), 'extensions');
      while (ext.remaining >= 4) {
        const et = ext.u16be();
        const el = ext.u16be();
        const data = ext.bytesN(Math.min(el, ext.remaining));
        if (et === 43 && data.length === 2) version = (data[0]! << 8) | data[1]!; // supported_versions
      }
    }
    return { kind: 'server_hello', version, versionName: tlsVersionName(version), cipherSuite };
  } catch {
    return { kind: 'not_tls' };
  }
}

export interface TlsRecord {
  type: number;
  version: number;
  /** Offset of the record header in the stream. */
  offset: number;
  fragment: Uint8Array;
}

/** Splits a TLS byte stream into whole records; stops at the first incomplete or non-TLS record. Never throws. */
export function splitTlsRecords(stream: Uint8Array, maxRecords = 10_000): { records: TlsRecord[]; consumed: number; stoppedAt?: 'incomplete' | 'not_tls' } {
  const records: TlsRecord[] = [];
  let off = 0;
  while (off < stream.length && records.length < maxRecords) {
    if (stream.length - off < 5) return { records, consumed: off, stoppedAt: 'incomplete' };
    const type = stream[off]!;
    const version = (stream[off + 1]! << 8) | stream[off + 2]!;
    const len = (stream[off + 3]! << 8) | stream[off + 4]!;
    if (type < 20 || type > 24 || stream[off + 1] !== 3 || len > 18432) return { records, consumed: off, stoppedAt: 'not_tls' };
    if (stream.length - off - 5 < len) return { records, consumed: off, stoppedAt: 'incomplete' };
    records.push({ type, version, offset: off, fragment: stream.subarray(off + 5, off + 5 + len) });
    off += 5 + len;
  }
  return { records, consumed: off };
}

/**
 * The plaintext handshake messages in a run of records (TLS 1.2 and older show the Certificate in the clear; under
 * TLS 1.3 everything after the ServerHello is encrypted). Stops at the first ChangeCipherSpec or encrypted record.
 */
export function plaintextHandshakeMessages(records: TlsRecord[]): { type: number; body: Uint8Array }[] {
  const parts: Uint8Array[] = [];
  for (const r of records) {
    if (r.type !== 22) break;
    parts.push(r.fragment);
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const buf = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    buf.set(p, at);
    at += p.length;
  }
  const out: { type: number; body: Uint8Array }[] = [];
  let off = 0;
  while (buf.length - off >= 4) {
    const type = buf[off]!;
    const len = (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!;
    if (buf.length - off - 4 < len) break;
    out.push({ type, body: buf.subarray(off + 4, off + 4 + len) });
    off += 4 + len;
  }
  return out;
}

/** RFC 5246 7.4.2 Certificate message body → the DER certificates. Throws DecodeError on a malformed list. */
export function certificateList(body: Uint8Array): Uint8Array[] {
  const r = new ByteReader(body, 'TLS Certificate');
  const u24 = (): number => (r.u8() << 16) | (r.u8() << 8) | r.u8();
  const listLen = u24();
  const list = new ByteReader(r.bytesN(listLen), 'TLS Certificate list');
  const certs: Uint8Array[] = [];
  while (list.remaining > 0 && certs.length < 32) {
    const n = (list.u8() << 16) | (list.u8() << 8) | list.u8();
    certs.push(list.bytesN(n));
  }
  return certs;
}
