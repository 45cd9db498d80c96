/**
 * MS-TSGU HTTP transport packets (2.2.10): the RD Gateway's own framing inside the RDG_IN_DATA / RDG_OUT_DATA bodies
 * (or websocket frames). Header {packetType u16le, reserved u16le, packetLength u32le (header included)}; the fields
 * the analyzer names are decoded, the optional trailing fields are kept raw. Decoders are strict (ByteReader); an
 * incomplete packet at the end of a stream is left as `rest`, not an error.
 */
import { ByteReader } from '../protocol/codec/reader.js';
import { ByteWriter } from '../protocol/codec/writer.js';

export const TsguPacketType = {
  HANDSHAKE_REQUEST: 0x1,
  HANDSHAKE_RESPONSE: 0x2,
  EXTENDED_AUTH_MSG: 0x3,
  TUNNEL_CREATE: 0x4,
  TUNNEL_RESPONSE: 0x5,
  TUNNEL_AUTH: 0x6,
  TUNNEL_AUTH_RESPONSE: 0x7,
  CHANNEL_CREATE: 0x8,
  CHANNEL_RESPONSE: 0x9,
  DATA: 0xa,
  SERVICE_MESSAGE: 0xb,
  REAUTH_MESSAGE: 0xc,
  KEEPALIVE: 0xd,
  CLOSE_CHANNEL: 0x10,
  CLOSE_CHANNEL_RESPONSE: 0x11,
} as const;

const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(TsguPacketType).map(([k, v]) => [v, `PKT_TYPE_${k}`]));

export function tsguTypeName(t: number): string {
  return TYPE_NAMES[t] ?? `packet type 0x${t.toString(16)}`;
}

/** HRESULTs an RD Gateway answers with (MS-TSGU 2.2.6 E_PROXY_*, and the common Windows ones). */
const HRESULTS: Record<number, string> = {
  0x00000000: 'S_OK',
  0x80070005: 'E_ACCESSDENIED',
  0x80070057: 'E_INVALIDARG',
  0x8007000e: 'E_OUTOFMEMORY',
  0x80004005: 'E_FAIL',
  0x80004001: 'E_NOTIMPL',
  0x00000005: 'ERROR_ACCESS_DENIED',
  0x000004d4: 'E_PROXY_CONNECTIONABORTED',
  0x800759d8: 'E_PROXY_INTERNALERROR',
  0x800759da: 'E_PROXY_RAP_ACCESSDENIED',
  0x800759db: 'E_PROXY_NAP_ACCESSDENIED',
  0x800759dd: 'E_PROXY_TS_CONNECTFAILED',
  0x000059dd: 'HRESULT_CODE(E_PROXY_TS_CONNECTFAILED)',
  0x800759df: 'E_PROXY_ALREADYDISCONNECTED',
  0x000059e6: 'E_PROXY_MAXCONNECTIONSREACHED',
  0x000059e8: 'E_PROXY_NOTSUPPORTED',
  0x800759e9: 'E_PROXY_CAPABILITYMISMATCH',
  0x800759ed: 'E_PROXY_QUARANTINE_ACCESSDENIED',
  0x800759ee: 'E_PROXY_NOCERTAVAILABLE',
  0x000059f6: 'E_PROXY_SESSIONTIMEOUT',
  0x800759f7: 'E_PROXY_COOKIE_BADPACKET',
  0x800759f8: 'E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED',
  0x800759f9: 'E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD',
  0x000059fa: 'E_PROXY_REAUTH_AUTHN_FAILED',
  0x000059fb: 'E_PROXY_REAUTH_CAP_FAILED',
  0x000059fc: 'E_PROXY_REAUTH_RAP_FAILED',
  0x000059fd: 'E_PROXY_SDR_NOT_SUPPORTED_BY_TS',
  0x00005a00: 'E_PROXY_REAUTH_NAP_FAILED',
};

/** What a refusal means for the user, for the codes that have one clear reading. */
const MEANINGS: Record<string, string> = {
  E_PROXY_RAP_ACCESSDENIED: 'the gateway\'s resource authorization policy (RD RAP) does not let this user reach that computer',
  E_PROXY_NAP_ACCESSDENIED: 'the gateway\'s connection authorization policy (RD CAP / NAP) refused this user or client',
  E_PROXY_TS_CONNECTFAILED: 'the gateway could not connect to the RDP server (name, port, or reachability from the gateway)',
  'HRESULT_CODE(E_PROXY_TS_CONNECTFAILED)': 'the gateway could not connect to the RDP server (name, port, or reachability from the gateway)',
  E_PROXY_QUARANTINE_ACCESSDENIED: 'the client failed the gateway\'s health (quarantine) check',
  E_PROXY_MAXCONNECTIONSREACHED: 'the gateway is at its connection limit',
  E_PROXY_NOCERTAVAILABLE: 'the gateway has no server certificate registered',
  E_PROXY_CAPABILITYMISMATCH: 'client and gateway share no capabilities',
  E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD: 'the gateway does not accept this authentication method',
  E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED: 'the gateway refused the pluggable-authentication cookie',
  E_PROXY_SESSIONTIMEOUT: 'the gateway\'s session timeout ended the connection',
};

/** 'E_PROXY_RAP_ACCESSDENIED (0x800759DA)', or the hex alone when unnamed. */
export function hresultName(code: number): string {
  const hex = `0x${(code >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
  const n = HRESULTS[code >>> 0];
  return n ? `${n} (${hex})` : hex;
}

export function hresultMeaning(code: number): string | undefined {
  const n = HRESULTS[code >>> 0];
  return n ? MEANINGS[n] : undefined;
}

export type TsguPacket =
  | { type: 'handshake_request'; verMajor: number; verMinor: number; clientVersion: number; extendedAuth: number }
  | { type: 'handshake_response'; errorCode: number; verMajor: number; verMinor: number; serverVersion: number; extendedAuth: number }
  | { type: 'tunnel_create'; capsFlags: number; fieldsPresent: number; tail: Uint8Array }
  | { type: 'tunnel_response'; serverVersion: number; statusCode: number; fieldsPresent: number; tail: Uint8Array }
  | { type: 'tunnel_auth'; clientName: string; fieldsPresent: number; tail: Uint8Array }
  | { type: 'tunnel_auth_response'; errorCode: number; fieldsPresent: number; tail: Uint8Array }
  | { type: 'channel_create'; resources: string[]; altResources: string[]; port: number; protocol: number }
  | { type: 'channel_response'; errorCode: number; fieldsPresent: number; tail: Uint8Array }
  | { type: 'data'; data: Uint8Array }
  | { type: 'close_channel' | 'close_channel_response'; statusCode: number }
  | { type: 'other'; packetType: number; body: Uint8Array };

const HEADER = 8;
/** A packet longer than this is not TSGU (DATA carries at most a u16 of bytes). */
const MAX_PACKET = 0x20000;

/** HTTP_UNICODE_STRING: cbLen u16le then UTF-16LE (a terminating NUL, when present, is dropped). */
function unicode(r: ByteReader): string {
  const n = r.u16le();
  if (n % 2 !== 0) r.fail('cbLen', 'odd length of a UTF-16 string');
  return Buffer.from(r.bytesN(n)).toString('utf16le').replace(/\0+$/, '');
}

function unicodeBytes(w: ByteWriter, s: string): void {
  const b = Buffer.from(`${s}\0`, 'utf16le');
  w.u16le(b.length).bytes(b);
}

function decodeBody(type: number, body: Uint8Array): TsguPacket {
  const r = new ByteReader(body, tsguTypeName(type));
  switch (type) {
    case TsguPacketType.HANDSHAKE_REQUEST:
      return { type: 'handshake_request', verMajor: r.u8(), verMinor: r.u8(), clientVersion: r.u16le(), extendedAuth: r.u16le() };
    case TsguPacketType.HANDSHAKE_RESPONSE:
      return { type: 'handshake_response', errorCode: r.u32le(), verMajor: r.u8(), verMinor: r.u8(), serverVersion: r.u16le(), extendedAuth: r.u16le() };
    case TsguPacketType.TUNNEL_CREATE: {
      const capsFlags = r.u32le();
      const fieldsPresent = r.u16le();
      r.u16le();
      return { type: 'tunnel_create', capsFlags, fieldsPresent, tail: r.rest() };
    }
    case TsguPacketType.TUNNEL_RESPONSE: {
      const serverVersion = r.u16le();
      const statusCode = r.u32le();
      const fieldsPresent = r.u16le();
      r.u16le();
      return { type: 'tunnel_response', serverVersion, statusCode, fieldsPresent, tail: r.rest() };
    }
    case TsguPacketType.TUNNEL_AUTH: {
      const fieldsPresent = r.u16le();
      const clientName = unicode(r);
      return { type: 'tunnel_auth', clientName, fieldsPresent, tail: r.rest() };
    }
    case TsguPacketType.TUNNEL_AUTH_RESPONSE:
    case TsguPacketType.CHANNEL_RESPONSE: {
      const errorCode = r.u32le();
      const fieldsPresent = r.u16le();
      r.u16le();
      return { type: type === TsguPacketType.CHANNEL_RESPONSE ? 'channel_response' : 'tunnel_auth_response', errorCode, fieldsPresent, tail: r.rest() };
    }
    case TsguPacketType.CHANNEL_CREATE: {
      const nRes = r.u8();
      const nAlt = r.u8();
      const port = r.u16le();
      const protocol = r.u16le();
      const resources: string[] = [];
      const altResources: string[] = [];
      for (let i = 0; i < nRes; i++) resources.push(unicode(r));
      for (let i = 0; i < nAlt; i++) altResources.push(unicode(r));
      return { type: 'channel_create', resources, altResources, port, protocol };
    }
    case TsguPacketType.DATA: {
      const n = r.u16le();
      return { type: 'data', data: r.bytesN(n) };
    }
    case TsguPacketType.CLOSE_CHANNEL:
    case TsguPacketType.CLOSE_CHANNEL_RESPONSE:
      return { type: type === TsguPacketType.CLOSE_CHANNEL ? 'close_channel' : 'close_channel_response', statusCode: r.u32le() };
    default:
      return { type: 'other', packetType: type, body };
  }
}

/**
 * The packets at the start of `stream`: whole ones decoded, an incomplete last one left in `rest`. A header that
 * cannot be TSGU (length under 8 or over 128 KiB) stops the split with `error`.
 */
export function splitTsgu(stream: Uint8Array, maxPackets = 100_000): { packets: TsguPacket[]; rest: Uint8Array; error?: string } {
  const packets: TsguPacket[] = [];
  let at = 0;
  while (at + HEADER <= stream.length && packets.length < maxPackets) {
    const h = new ByteReader(stream.subarray(at, at + HEADER), 'HTTP_PACKET_HEADER');
    const type = h.u16le();
    h.u16le();
    const len = h.u32le();
    if (len < HEADER || len > MAX_PACKET) return { packets, rest: stream.subarray(at), error: `packetLength ${len} of ${tsguTypeName(type)} is not TSGU` };
    if (at + len > stream.length) break;
    packets.push(decodeBody(type, stream.subarray(at + HEADER, at + len)));
    at += len;
  }
  return { packets, rest: stream.subarray(at) };
}

/** The packet's bytes, header included (for tests and the lab's synthetic gateway). */
export function encodeTsgu(p: TsguPacket): Uint8Array {
  const w = new ByteWriter(64);
  let type: number;
  switch (p.type) {
    case 'handshake_request':
      type = TsguPacketType.HANDSHAKE_REQUEST;
      w.u8(p.verMajor).u8(p.verMinor).u16le(p.clientVersion).u16le(p.extendedAuth);
      break;
    case 'handshake_response':
      type = TsguPacketType.HANDSHAKE_RESPONSE;
      w.u32le(p.errorCode >>> 0).u8(p.verMajor).u8(p.verMinor).u16le(p.serverVersion).u16le(p.extendedAuth);
      break;
    case 'tunnel_create':
      type = TsguPacketType.TUNNEL_CREATE;
      w.u32le(p.capsFlags).u16le(p.fieldsPresent).u16le(0).bytes(p.tail);
      break;
    case 'tunnel_response':
      type = TsguPacketType.TUNNEL_RESPONSE;
      w.u16le(p.serverVersion).u32le(p.statusCode >>> 0).u16le(p.fieldsPresent).u16le(0).bytes(p.tail);
      break;
    case 'tunnel_auth':
      type = TsguPacketType.TUNNEL_AUTH;
      w.u16le(p.fieldsPresent);
      unicodeBytes(w, p.clientName);
      w.bytes(p.tail);
      break;
    case 'tunnel_auth_response':
    case 'channel_response':
      type = p.type === 'channel_response' ? TsguPacketType.CHANNEL_RESPONSE : TsguPacketType.TUNNEL_AUTH_RESPONSE;
      w.u32le(p.errorCode >>> 0).u16le(p.fieldsPresent).u16le(0).bytes(p.tail);
      break;
    case 'channel_create':
      type = TsguPacketType.CHANNEL_CREATE;
      w.u8(p.resources.length).u8(p.altResources.length).u16le(p.port).u16le(p.protocol);
      for (const s of [...p.resources, ...p.altResources]) unicodeBytes(w, s);
      break;
    case 'data':
      type = TsguPacketType.DATA;
      w.u16le(p.data.length).bytes(p.data);
      break;
    case 'close_channel':
    case 'close_channel_response':
      type = p.type === 'close_channel' ? TsguPacketType.CLOSE_CHANNEL : TsguPacketType.CLOSE_CHANNEL_RESPONSE;
      w.u32le(p.statusCode >>> 0);
      break;
    case 'other':
      type = p.packetType;
      w.bytes(p.body);
      break;
  }
  const body = w.finish();
  return new ByteWriter(HEADER + body.length).u16le(type).u16le(0).u32le(HEADER + body.length).bytes(body).finish();
}
