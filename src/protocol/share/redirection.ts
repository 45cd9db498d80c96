/**
 * [MS-RDPBCGR] 2.2.13.1 Server Redirection Packet (RDP_SERVER_REDIRECTION_PACKET), which a broker or a farm
 * member sends to send the client elsewhere. Under TLS/CredSSP it comes as 2.2.13.3.1 (Share Control pduType
 * 0x0A, pad2Octets, the packet, an optional pad byte); under standard RDP security as 2.2.13.2.1 (the packet
 * right after a security header flagged SEC_REDIRECTION_PKT, which the caller removes). Passwords or password
 * cookies are recorded as present and long, never kept.
 */
import { ByteReader } from '../codec/reader.js';
import { ByteWriter } from '../codec/writer.js';
import { utf16le } from '../codec/bytes.js';
import { EncodeError } from '../codec/errors.js';
import { encodeShareControl, SharePduType } from './control.js';
import { bitNames, fromUtf16le } from './text.js';

/** The packet's own Flags field, and the security-header flag of the standard-security form. */
export const SEC_REDIRECTION_PKT = 0x0400;

export const RedirFlags = {
  LB_TARGET_NET_ADDRESS: 0x00000001,
  LB_LOAD_BALANCE_INFO: 0x00000002,
  LB_USERNAME: 0x00000004,
  LB_DOMAIN: 0x00000008,
  LB_PASSWORD: 0x00000010,
  LB_DONTSTOREUSERNAME: 0x00000020,
  LB_SMARTCARD_LOGON: 0x00000040,
  LB_NOREDIRECT: 0x00000080,
  LB_TARGET_FQDN: 0x00000100,
  LB_TARGET_NETBIOS_NAME: 0x00000200,
  LB_TARGET_NET_ADDRESSES: 0x00000800,
  LB_CLIENT_TSV_URL: 0x00001000,
  LB_SERVER_TSV_CAPABLE: 0x00002000,
  LB_PASSWORD_IS_PK_ENCRYPTED: 0x00004000,
  LB_REDIRECTION_GUID: 0x00008000,
  LB_TARGET_CERTIFICATE: 0x00010000,
} as const;

export interface ServerRedirection {
  flags: number;
  length: number;
  sessionId: number;
  redirFlags: number;
  redirFlagNames: string[];
  targetNetAddress?: string;
  /** Often ASCII ("Cookie: msts=...\r\n" or a routing token); kept as bytes and as Latin-1 text. */
  loadBalanceInfo?: Uint8Array;
  loadBalanceInfoText?: string;
  userName?: string;
  domain?: string;
  /** LB_PASSWORD: only that it came and how long it was. */
  password?: { present: true; length: number };
  targetFqdn?: string;
  targetNetBiosName?: string;
  tsvUrl?: string;
  redirectionGuid?: Uint8Array;
  /** The base64-in-UTF-16 certificate blob, as received. */
  targetCertificate?: Uint8Array;
  targetNetAddresses?: string[];
}

/** Decodes one RDP_SERVER_REDIRECTION_PACKET at the start of `bytes`; the optional 8-byte pad may follow. */
export function decodeServerRedirectionPacket(bytes: Uint8Array): ServerRedirection {
  const r = new ByteReader(bytes, 'RDP_SERVER_REDIRECTION_PACKET');
  const flags = r.u16le();
  if (flags !== SEC_REDIRECTION_PKT) r.fail('Flags', `must be 0x0400 (SEC_REDIRECTION_PKT), got 0x${flags.toString(16)}`, 0);
  const length = r.u16le();
  // Length counts the 8-byte pad, which some servers leave out; the fields below are bounds-checked on their own.
  if (length < 12) r.fail('Length', `${length} is shorter than the 12-byte fixed part`, 2);
  const sessionId = r.u32le();
  const redirFlags = r.u32le();
  const out: ServerRedirection = { flags, length, sessionId, redirFlags, redirFlagNames: bitNames(redirFlags, RedirFlags) };
  const blob = (field: string): Uint8Array => {
    const at = r.offset;
    const n = r.u32le();
    if (n > r.remaining) r.fail(`${field}Length`, `${n} but only ${r.remaining} byte(s) left`, at);
    return r.bytesN(n);
  };
  const has = (f: number): boolean => (redirFlags & f) !== 0;
  if (has(RedirFlags.LB_TARGET_NET_ADDRESS)) out.targetNetAddress = fromUtf16le(blob('TargetNetAddress'));
  if (has(RedirFlags.LB_LOAD_BALANCE_INFO)) {
    const b = blob('LoadBalanceInfo');
    out.loadBalanceInfo = b;
    out.loadBalanceInfoText = String.fromCharCode(...b.subarray(0, 1024));
  }
  if (has(RedirFlags.LB_USERNAME)) out.userName = fromUtf16le(blob('UserName'));
  if (has(RedirFlags.LB_DOMAIN)) out.domain = fromUtf16le(blob('Domain'));
  if (has(RedirFlags.LB_PASSWORD)) out.password = { present: true, length: blob('Password').length };
  if (has(RedirFlags.LB_TARGET_FQDN)) out.targetFqdn = fromUtf16le(blob('TargetFQDN'));
  if (has(RedirFlags.LB_TARGET_NETBIOS_NAME)) out.targetNetBiosName = fromUtf16le(blob('TargetNetBiosName'));
  if (has(RedirFlags.LB_CLIENT_TSV_URL)) out.tsvUrl = fromUtf16le(blob('TsvUrl'));
  if (has(RedirFlags.LB_REDIRECTION_GUID)) out.redirectionGuid = blob('RedirectionGuid');
  if (has(RedirFlags.LB_TARGET_CERTIFICATE)) out.targetCertificate = blob('TargetCertificate');
  if (has(RedirFlags.LB_TARGET_NET_ADDRESSES)) {
    const body = new ByteReader(blob('TargetNetAddresses'), 'TARGET_NET_ADDRESSES');
    const count = body.u32le();
    const list: string[] = [];
    for (let i = 0; i < count; i++) {
      const at = body.offset;
      const n = body.u32le();
      if (n > body.remaining) body.fail(`address[${i}].length`, `${n} but only ${body.remaining} byte(s) left`, at);
      list.push(fromUtf16le(body.bytesN(n)));
    }
    body.expectEnd();
    out.targetNetAddresses = list;
  }
  // Whatever follows (pad, or the 2.2.13.3.1 trailing pad byte) is padding.
  return out;
}

export interface ServerRedirectionInput {
  sessionId: number;
  /** Extra flag bits (LB_NOREDIRECT, LB_DONTSTOREUSERNAME...); the field bits are set from what is given. */
  extraFlags?: number;
  targetNetAddress?: string;
  loadBalanceInfo?: Uint8Array;
  userName?: string;
  domain?: string;
  /** An opaque password cookie for the lab (never a real password). */
  passwordCookie?: Uint8Array;
  targetFqdn?: string;
  targetNetBiosName?: string;
  targetNetAddresses?: string[];
}

function zstr(s: string): Uint8Array {
  const b = utf16le(s);
  const out = new Uint8Array(b.length + 2);
  out.set(b);
  return out;
}

/** An RDP_SERVER_REDIRECTION_PACKET with its 8-byte pad. */
export function encodeServerRedirectionPacket(o: ServerRedirectionInput): Uint8Array {
  const fields = new ByteWriter(256);
  let flags = o.extraFlags ?? 0;
  const put = (flag: number, b: Uint8Array | undefined): void => {
    if (b === undefined) return;
    flags |= flag;
    fields.u32le(b.length).bytes(b);
  };
  put(RedirFlags.LB_TARGET_NET_ADDRESS, o.targetNetAddress !== undefined ? zstr(o.targetNetAddress) : undefined);
  put(RedirFlags.LB_LOAD_BALANCE_INFO, o.loadBalanceInfo);
  put(RedirFlags.LB_USERNAME, o.userName !== undefined ? zstr(o.userName) : undefined);
  put(RedirFlags.LB_DOMAIN, o.domain !== undefined ? zstr(o.domain) : undefined);
  put(RedirFlags.LB_PASSWORD, o.passwordCookie);
  put(RedirFlags.LB_TARGET_FQDN, o.targetFqdn !== undefined ? zstr(o.targetFqdn) : undefined);
  put(RedirFlags.LB_TARGET_NETBIOS_NAME, o.targetNetBiosName !== undefined ? zstr(o.targetNetBiosName) : undefined);
  if (o.targetNetAddresses !== undefined) {
    const list = new ByteWriter(128).u32le(o.targetNetAddresses.length);
    for (const a of o.targetNetAddresses) {
      const b = zstr(a);
      list.u32le(b.length).bytes(b);
    }
    put(RedirFlags.LB_TARGET_NET_ADDRESSES, list.finish());
  }
  const f = fields.finish();
  const length = 12 + f.length + 8;
  if (length > 0xffff) throw new EncodeError(`redirection packet of ${length} bytes exceeds 65535`);
  return new ByteWriter(length).u16le(SEC_REDIRECTION_PKT).u16le(length).u32le(o.sessionId).u32le(flags >>> 0).bytes(f).bytes(new Uint8Array(8)).finish();
}

/** The enhanced-security Redirection PDU (2.2.13.3.1): Share Control pduType 0x0A, pad2Octets, the packet. */
export function encodeEnhancedSecurityRedirection(o: ServerRedirectionInput & { pduSource?: number }): Uint8Array {
  const packet = encodeServerRedirectionPacket(o);
  const body = new Uint8Array(2 + packet.length);
  body.set(packet, 2);
  return encodeShareControl(SharePduType.PDUTYPE_SERVER_REDIR_PKT, o.pduSource ?? 0x03ea, body);
}
