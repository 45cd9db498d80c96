/**
 * [MS-RDPBCGR] 2.2.1.11.1.1 Client Info PDU data (TS_INFO_PACKET) and 2.2.1.11.1.1.1 its extended part
 * (TS_EXTENDED_INFO_PACKET): the bytes inside the security header flagged SEC_INFO_PKT.
 *
 * Without NLA a password here is the credential itself (auto-logon), so the encoder writes one only when the
 * caller passes it, which the probe does only when the user asked to delegate. With no password the field is
 * empty: cbPassword 0 and just the 2-byte terminator.
 */
import { ByteReader } from './codec/reader.js';
import { ByteWriter } from './codec/writer.js';
import { EncodeError } from './codec/errors.js';
import { utf16le } from './codec/bytes.js';
import { bitNames, fromLatin1, fromUtf16le, writeFixed } from './share/text.js';

/** TS_INFO_PACKET flags. */
export const InfoFlags = {
  INFO_MOUSE: 0x00000001,
  INFO_DISABLECTRLALTDEL: 0x00000002,
  INFO_AUTOLOGON: 0x00000008,
  INFO_UNICODE: 0x00000010,
  INFO_MAXIMIZESHELL: 0x00000020,
  INFO_LOGONNOTIFY: 0x00000040,
  INFO_COMPRESSION: 0x00000080,
  INFO_ENABLEWINDOWSKEY: 0x00000100,
  INFO_REMOTECONSOLEAUDIO: 0x00002000,
  INFO_FORCE_ENCRYPTED_CS_PDU: 0x00004000,
  INFO_RAIL: 0x00008000,
  INFO_LOGONERRORS: 0x00010000,
  INFO_MOUSE_HAS_WHEEL: 0x00020000,
  INFO_PASSWORD_IS_SC_PIN: 0x00040000,
  INFO_NOAUDIOPLAYBACK: 0x00080000,
  INFO_USING_SAVED_CREDS: 0x00100000,
  INFO_AUDIOCAPTURE: 0x00200000,
  INFO_VIDEO_DISABLE: 0x00400000,
  INFO_RESERVED1: 0x00800000,
  INFO_RESERVED2: 0x01000000,
  INFO_HIDEF_RAIL_SUPPORTED: 0x02000000,
} as const;

/** Bits 9-12 of flags: the highest bulk-compression type the client supports (with INFO_COMPRESSION). */
export const INFO_COMPRESSION_TYPE_MASK = 0x00001e00;

/**
 * What the probe sends: a mouse, no Ctrl+Alt+Del, Unicode, a maximized shell, the logon notification (the
 * Save Session Info PDU), the Windows key and logon errors reported to the client; no compression, no
 * auto-logon.
 */
export const DEFAULT_INFO_FLAGS =
  InfoFlags.INFO_MOUSE |
  InfoFlags.INFO_DISABLECTRLALTDEL |
  InfoFlags.INFO_UNICODE |
  InfoFlags.INFO_MAXIMIZESHELL |
  InfoFlags.INFO_LOGONNOTIFY |
  InfoFlags.INFO_ENABLEWINDOWSKEY |
  InfoFlags.INFO_LOGONERRORS |
  InfoFlags.INFO_MOUSE_HAS_WHEEL;

/** 2.2.1.11.1.1.1 performanceFlags. */
export const PerformanceFlags = {
  PERF_DISABLE_WALLPAPER: 0x00000001,
  PERF_DISABLE_FULLWINDOWDRAG: 0x00000002,
  PERF_DISABLE_MENUANIMATIONS: 0x00000004,
  PERF_DISABLE_THEMING: 0x00000008,
  PERF_RESERVED1: 0x00000010,
  PERF_DISABLE_CURSOR_SHADOW: 0x00000020,
  PERF_DISABLE_CURSORSETTINGS: 0x00000040,
  PERF_ENABLE_FONT_SMOOTHING: 0x00000080,
  PERF_ENABLE_DESKTOP_COMPOSITION: 0x00000100,
  PERF_RESERVED2: 0x80000000,
} as const;

export const AddressFamily = { AF_INET: 0x0002, AF_INET6: 0x0017 } as const;

/** TS_SYSTEMTIME (2.2.1.11.1.1.1.1.1): wYear is 0 for the relative "day-in-month" form. */
export interface SystemTime {
  year: number;
  month: number;
  dayOfWeek: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  milliseconds: number;
}

/** TS_TIME_ZONE_INFORMATION (2.2.1.11.1.1.1.1), 172 bytes. Biases are minutes, signed. */
export interface TimeZoneInfo {
  bias: number;
  standardName: string;
  standardDate: SystemTime;
  standardBias: number;
  daylightName: string;
  daylightDate: SystemTime;
  daylightBias: number;
}

export interface ExtendedInfo {
  clientAddressFamily: number;
  clientAddress: string;
  clientDir: string;
  timeZone?: TimeZoneInfo;
  clientSessionId?: number;
  performanceFlags?: number;
  /** Auto-reconnect cookie (ARC_CS_PRIVATE_PACKET, 28 bytes) as bytes; the probe never sends one. */
  autoReconnectCookie?: Uint8Array;
  dynamicDSTTimeZoneKeyName?: string;
  dynamicDaylightTimeDisabled?: boolean;
}

export interface ClientInfoInput {
  codePage?: number;
  /** Defaults to DEFAULT_INFO_FLAGS. INFO_UNICODE is always set; INFO_AUTOLOGON is refused without a password. */
  flags?: number;
  domain: string;
  user: string;
  /** Only when the user asked to delegate: this is the credential itself. */
  password?: string;
  alternateShell: string;
  workingDir: string;
  /** Omit for an RDP 4.0-style packet with no extended part. */
  extra?: ExtendedInfo;
}

export const TIME_ZONE_INFO_LENGTH = 172;

function z(s: string): Uint8Array {
  const b = utf16le(s);
  const out = new Uint8Array(b.length + 2);
  out.set(b);
  return out;
}

/** The TS_INFO_PACKET bytes (to go inside a security header flagged SEC_INFO_PKT). */
export function encodeClientInfo(info: ClientInfoInput): Uint8Array {
  const hasPassword = info.password !== undefined && info.password.length > 0;
  let flags = (info.flags ?? DEFAULT_INFO_FLAGS) | InfoFlags.INFO_UNICODE;
  if (flags & InfoFlags.INFO_AUTOLOGON && !hasPassword) throw new EncodeError('INFO_AUTOLOGON needs a password');
  if (hasPassword) flags |= InfoFlags.INFO_AUTOLOGON;
  const fields = [info.domain, info.user, hasPassword ? info.password! : '', info.alternateShell, info.workingDir].map(utf16le);
  for (const [i, f] of fields.entries()) {
    // cb fields are u16 and the server limits each string far below that (512 bytes for most).
    if (f.length > 0xfffd) throw new EncodeError(`Client Info field ${i} is ${f.length} bytes`);
  }
  const w = new ByteWriter(512);
  w.u32le(info.codePage ?? 0).u32le(flags >>> 0);
  for (const f of fields) w.u16le(f.length);
  for (const f of fields) w.bytes(f).u16le(0);
  if (info.extra) writeExtended(w, info.extra);
  return w.finish();
}

function writeExtended(w: ByteWriter, x: ExtendedInfo): void {
  const addr = z(x.clientAddress);
  const dir = z(x.clientDir);
  w.u16le(x.clientAddressFamily).u16le(addr.length).bytes(addr).u16le(dir.length).bytes(dir);
  writeTimeZone(w, x.timeZone ?? UTC_TIME_ZONE);
  w.u32le(x.clientSessionId ?? 0).u32le((x.performanceFlags ?? 0) >>> 0);
  // The rest is optional; like the spec's 4.1.10 example, stop after performanceFlags when none of it is given.
  const dst = x.dynamicDSTTimeZoneKeyName !== undefined || x.dynamicDaylightTimeDisabled !== undefined;
  if (x.autoReconnectCookie === undefined && !dst) return;
  const cookie = x.autoReconnectCookie ?? new Uint8Array(0);
  w.u16le(cookie.length).bytes(cookie);
  if (dst) {
    const key = utf16le(x.dynamicDSTTimeZoneKeyName ?? '');
    w.u16le(0).u16le(0).u16le(key.length).bytes(key).u16le(x.dynamicDaylightTimeDisabled ? 1 : 0);
  }
}

const ZERO_TIME: SystemTime = { year: 0, month: 0, dayOfWeek: 0, day: 0, hour: 0, minute: 0, second: 0, milliseconds: 0 };

/** UTC with no daylight saving: what the probe sends (it has no reason to tell a server its time zone). */
export const UTC_TIME_ZONE: TimeZoneInfo = {
  bias: 0,
  standardName: 'GMT Standard Time',
  standardDate: ZERO_TIME,
  standardBias: 0,
  daylightName: 'GMT Daylight Time',
  daylightDate: ZERO_TIME,
  daylightBias: 0,
};

function writeSystemTime(w: ByteWriter, t: SystemTime): void {
  w.u16le(t.year).u16le(t.month).u16le(t.dayOfWeek).u16le(t.day).u16le(t.hour).u16le(t.minute).u16le(t.second).u16le(t.milliseconds);
}

function writeTimeZone(w: ByteWriter, tz: TimeZoneInfo): void {
  w.u32le(tz.bias >>> 0);
  writeFixed(w, utf16le(tz.standardName), 64);
  writeSystemTime(w, tz.standardDate);
  w.u32le(tz.standardBias >>> 0);
  writeFixed(w, utf16le(tz.daylightName), 64);
  writeSystemTime(w, tz.daylightDate);
  w.u32le(tz.daylightBias >>> 0);
}

export interface ClientInfo {
  codePage: number;
  flags: number;
  flagNames: string[];
  domain: string;
  user: string;
  /** cbPassword as sent: 0 when no password came. The password itself is only behind readPassword(). */
  cbPassword: number;
  alternateShell: string;
  workingDir: string;
  extra?: ExtendedInfo & { performanceFlagNames?: string[] };
  /**
   * The password, for the lab's check of a delegated logon. A function, so that JSON, reports and loggers that
   * print the decoded object never carry it.
   */
  readPassword(): string;
}

/** Decodes a TS_INFO_PACKET (the lab's side). Strings are UTF-16LE with INFO_UNICODE, else single-byte. */
export function decodeClientInfo(bytes: Uint8Array): ClientInfo {
  const r = new ByteReader(bytes, 'TS_INFO_PACKET');
  const codePage = r.u32le();
  const flags = r.u32le();
  const unicode = (flags & InfoFlags.INFO_UNICODE) !== 0;
  const term = unicode ? 2 : 1;
  const lengths = [r.u16le(), r.u16le(), r.u16le(), r.u16le(), r.u16le()];
  const names = ['Domain', 'UserName', 'Password', 'AlternateShell', 'WorkingDir'];
  const values: string[] = [];
  for (const [i, cb] of lengths.entries()) {
    const at = r.offset;
    if (unicode && cb % 2 !== 0) r.fail(`cb${names[i]}`, `${cb} is odd for a UTF-16 string`, 8 + i * 2);
    const raw = r.bytesN(cb + term);
    for (let j = cb; j < cb + term; j++) if (raw[j] !== 0) r.fail(names[i]!, 'missing null terminator', at + j);
    values.push(unicode ? fromUtf16le(raw.subarray(0, cb)) : fromLatin1(raw.subarray(0, cb)));
  }
  const password = values[2]!;
  const out: ClientInfo = {
    codePage,
    flags,
    flagNames: bitNames(flags, InfoFlags),
    domain: values[0]!,
    user: values[1]!,
    cbPassword: lengths[2]!,
    alternateShell: values[3]!,
    workingDir: values[4]!,
    readPassword: () => password,
  };
  Object.defineProperty(out, 'readPassword', { enumerable: false });
  if (r.remaining > 0) out.extra = readExtended(r, unicode);
  r.expectEnd();
  return out;
}

function readSystemTime(r: ByteReader): SystemTime {
  return { year: r.u16le(), month: r.u16le(), dayOfWeek: r.u16le(), day: r.u16le(), hour: r.u16le(), minute: r.u16le(), second: r.u16le(), milliseconds: r.u16le() };
}

function s32(v: number): number {
  return v | 0;
}

function readExtended(r: ByteReader, unicode: boolean): ExtendedInfo & { performanceFlagNames?: string[] } {
  const clientAddressFamily = r.u16le();
  // In the extended part the lengths include the terminator.
  const text = (b: Uint8Array): string => (unicode ? fromUtf16le(b) : fromLatin1(b));
  const clientAddress = text(r.bytesN(r.u16le()));
  const clientDir = text(r.bytesN(r.u16le()));
  const x: ExtendedInfo & { performanceFlagNames?: string[] } = { clientAddressFamily, clientAddress, clientDir };
  // Everything after clientDir is optional, in order; each piece is read only if present.
  if (r.remaining === 0) return x;
  x.timeZone = {
    bias: s32(r.u32le()),
    standardName: fromUtf16le(r.bytesN(64)),
    standardDate: readSystemTime(r),
    standardBias: s32(r.u32le()),
    daylightName: fromUtf16le(r.bytesN(64)),
    daylightDate: readSystemTime(r),
    daylightBias: s32(r.u32le()),
  };
  if (r.remaining === 0) return x;
  x.clientSessionId = r.u32le();
  if (r.remaining === 0) return x;
  x.performanceFlags = r.u32le();
  x.performanceFlagNames = bitNames(x.performanceFlags, PerformanceFlags);
  if (r.remaining === 0) return x;
  const cbCookieAt = r.offset;
  const cbCookie = r.u16le();
  if (cbCookie > 28) r.fail('cbAutoReconnectCookie', `${cbCookie} exceeds 28`, cbCookieAt);
  if (cbCookie > 0) x.autoReconnectCookie = r.bytesN(cbCookie);
  if (r.remaining === 0) return x;
  r.u16le(); // reserved1
  if (r.remaining === 0) return x;
  r.u16le(); // reserved2
  if (r.remaining === 0) return x;
  const cbKey = r.u16le();
  x.dynamicDSTTimeZoneKeyName = fromUtf16le(r.bytesN(cbKey));
  if (r.remaining === 0) return x;
  x.dynamicDaylightTimeDisabled = r.u16le() !== 0;
  return x;
}
