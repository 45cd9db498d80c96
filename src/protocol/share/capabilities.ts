/**
 * [MS-RDPBCGR] 2.2.7 capability sets (TS_CAPS_SET, 2.2.1.13.1.1.1): a type and a length (header included)
 * in front of each set. The probe names every type and reads the facts a report needs from General, Bitmap
 * and Virtual Channel; every other set is kept as its type, length and bytes.
 */
import { ByteReader } from '../codec/reader.js';
import { ByteWriter } from '../codec/writer.js';
import { EncodeError, nested } from '../codec/errors.js';
import { bitNames, nameOf } from './text.js';

export const CapabilitySetType = {
  CAPSTYPE_GENERAL: 0x0001,
  CAPSTYPE_BITMAP: 0x0002,
  CAPSTYPE_ORDER: 0x0003,
  CAPSTYPE_BITMAPCACHE: 0x0004,
  CAPSTYPE_CONTROL: 0x0005,
  CAPSTYPE_ACTIVATION: 0x0007,
  CAPSTYPE_POINTER: 0x0008,
  CAPSTYPE_SHARE: 0x0009,
  CAPSTYPE_COLORCACHE: 0x000a,
  CAPSTYPE_SOUND: 0x000c,
  CAPSTYPE_INPUT: 0x000d,
  CAPSTYPE_FONT: 0x000e,
  CAPSTYPE_BRUSH: 0x000f,
  CAPSTYPE_GLYPHCACHE: 0x0010,
  CAPSTYPE_OFFSCREENCACHE: 0x0011,
  CAPSTYPE_BITMAPCACHE_HOSTSUPPORT: 0x0012,
  CAPSTYPE_BITMAPCACHE_REV2: 0x0013,
  CAPSTYPE_VIRTUALCHANNEL: 0x0014,
  CAPSTYPE_DRAWNINEGRIDCACHE: 0x0015,
  CAPSTYPE_DRAWGDIPLUS: 0x0016,
  CAPSTYPE_RAIL: 0x0017,
  CAPSTYPE_WINDOW: 0x0018,
  CAPSETTYPE_COMPDESK: 0x0019,
  CAPSETTYPE_MULTIFRAGMENTUPDATE: 0x001a,
  CAPSETTYPE_LARGE_POINTER: 0x001b,
  CAPSETTYPE_SURFACE_COMMANDS: 0x001c,
  CAPSETTYPE_BITMAP_CODECS: 0x001d,
  /** Defined in [MS-RDPRFX] 2.2.1.3. */
  CAPSSETTYPE_FRAME_ACKNOWLEDGE: 0x001e,
} as const;

/** Short readable names for reports, by type. */
const READABLE: Record<number, string> = {
  0x01: 'General',
  0x02: 'Bitmap',
  0x03: 'Order',
  0x04: 'BitmapCache',
  0x05: 'Control',
  0x07: 'Activation',
  0x08: 'Pointer',
  0x09: 'Share',
  0x0a: 'ColorCache',
  0x0c: 'Sound',
  0x0d: 'Input',
  0x0e: 'Font',
  0x0f: 'Brush',
  0x10: 'GlyphCache',
  0x11: 'OffscreenCache',
  0x12: 'BitmapCacheHostSupport',
  0x13: 'BitmapCacheRev2',
  0x14: 'VirtualChannel',
  0x15: 'DrawNineGridCache',
  0x16: 'DrawGdiPlus',
  0x17: 'Rail',
  0x18: 'Window',
  0x19: 'DesktopComposition',
  0x1a: 'MultifragmentUpdate',
  0x1b: 'LargePointer',
  0x1c: 'SurfaceCommands',
  0x1d: 'BitmapCodecs',
  0x1e: 'FrameAcknowledge',
};

export function capabilitySetName(type: number): string {
  return READABLE[type] ?? `unknown (0x${type.toString(16).padStart(4, '0')})`;
}

/** 2.2.7.1.1 osMajorType. */
export const OsMajorType = {
  OSMAJORTYPE_UNSPECIFIED: 0x0000,
  OSMAJORTYPE_WINDOWS: 0x0001,
  OSMAJORTYPE_OS2: 0x0002,
  OSMAJORTYPE_MACINTOSH: 0x0003,
  OSMAJORTYPE_UNIX: 0x0004,
  OSMAJORTYPE_IOS: 0x0005,
  OSMAJORTYPE_OSX: 0x0006,
  OSMAJORTYPE_ANDROID: 0x0007,
  OSMAJORTYPE_CHROME_OS: 0x0008,
} as const;

/** 2.2.7.1.1 osMinorType. */
export const OsMinorType = {
  OSMINORTYPE_UNSPECIFIED: 0x0000,
  OSMINORTYPE_WINDOWS_31X: 0x0001,
  OSMINORTYPE_WINDOWS_95: 0x0002,
  OSMINORTYPE_WINDOWS_NT: 0x0003,
  OSMINORTYPE_OS2_V21: 0x0004,
  OSMINORTYPE_POWER_PC: 0x0005,
  OSMINORTYPE_MACINTOSH: 0x0006,
  OSMINORTYPE_NATIVE_XSERVER: 0x0007,
  OSMINORTYPE_PSEUDO_XSERVER: 0x0008,
  OSMINORTYPE_WINDOWS_RT: 0x0009,
} as const;

/** 2.2.7.1.1 extraFlags. */
export const GeneralExtraFlags = {
  FASTPATH_OUTPUT_SUPPORTED: 0x0001,
  LONG_CREDENTIALS_SUPPORTED: 0x0004,
  AUTORECONNECT_SUPPORTED: 0x0008,
  ENC_SALTED_CHECKSUM: 0x0010,
  NO_BITMAP_COMPRESSION_HDR: 0x0400,
} as const;

/** 2.2.7.1.10 flags. */
export const VirtualChannelCapsFlags = {
  VCCAPS_COMPR_SC: 0x00000001,
  VCCAPS_COMPR_CS_8K: 0x00000002,
} as const;

export const TS_CAPS_PROTOCOLVERSION = 0x0200;

export interface GeneralCapability {
  osMajorType: number;
  osMinorType: number;
  protocolVersion: number;
  generalCompressionTypes: number;
  extraFlags: number;
  updateCapabilityFlag: number;
  remoteUnshareFlag: number;
  generalCompressionLevel: number;
  refreshRectSupport: number;
  suppressOutputSupport: number;
}

export interface BitmapCapability {
  preferredBitsPerPixel: number;
  receive1BitPerPixel: number;
  receive4BitsPerPixel: number;
  receive8BitsPerPixel: number;
  desktopWidth: number;
  desktopHeight: number;
  desktopResizeFlag: number;
  bitmapCompressionFlag: number;
  highColorFlags: number;
  drawingFlags: number;
  multipleRectangleSupport: number;
}

export interface VirtualChannelCapability {
  flags: number;
  /** Absent in servers older than RDP 5.1 (the set is then 8 bytes). */
  chunkSize?: number;
}

interface SetCommon {
  type: number;
  name: string;
  /** lengthCapability, the 4-byte header included. */
  length: number;
  /** capabilityData: the bytes after the 4-byte header. */
  data: Uint8Array;
}

export type CapabilitySet =
  | (SetCommon & { kind: 'general'; general: GeneralCapability & { osMajorTypeName: string; osMinorTypeName: string; extraFlagNames: string[] } })
  | (SetCommon & { kind: 'bitmap'; bitmap: BitmapCapability })
  | (SetCommon & { kind: 'virtual_channel'; virtualChannel: VirtualChannelCapability & { flagNames: string[] } })
  | (SetCommon & { kind: 'other' });

/** One set to encode: its type and its capabilityData (without the 4-byte header). */
export interface RawCapabilitySet {
  type: number;
  data: Uint8Array;
}

/**
 * Reads `count` capability sets filling exactly `bytes`. The known sets are decoded leniently past their
 * fixed fields (newer peers append fields), but a set shorter than its fixed fields is malformed.
 */
export function decodeCapabilitySets(bytes: Uint8Array, count: number): CapabilitySet[] {
  const r = new ByteReader(bytes, 'capabilitySets');
  const out: CapabilitySet[] = [];
  for (let i = 0; i < count; i++) {
    const at = r.offset;
    const type = r.u16le();
    const length = r.u16le();
    if (length < 4) r.fail(`capabilitySet[${i}].lengthCapability`, `${length} is shorter than the 4-byte header`, at + 2);
    if (length - 4 > r.remaining) r.fail(`capabilitySet[${i}].lengthCapability`, `${length} but only ${r.remaining + 4} byte(s) left`, at + 2);
    const data = r.bytesN(length - 4);
    const name = capabilitySetName(type);
    out.push(nested(`capabilitySet[${i}]`, at + 4, () => decodeOne(type, name, length, data)));
  }
  r.expectEnd();
  return out;
}

function decodeOne(type: number, name: string, length: number, data: Uint8Array): CapabilitySet {
  const common = { type, name, length, data };
  const r = new ByteReader(data, name);
  switch (type) {
    case CapabilitySetType.CAPSTYPE_GENERAL: {
      const osMajorType = r.u16le();
      const osMinorType = r.u16le();
      const protocolVersion = r.u16le();
      r.u16le(); // pad2octetsA
      const generalCompressionTypes = r.u16le();
      const extraFlags = r.u16le();
      const updateCapabilityFlag = r.u16le();
      const remoteUnshareFlag = r.u16le();
      const generalCompressionLevel = r.u16le();
      // refreshRectSupport and suppressOutputSupport came with RDP 5.2; older peers send a 20-byte set.
      const refreshRectSupport = r.remaining > 0 ? r.u8() : 0;
      const suppressOutputSupport = r.remaining > 0 ? r.u8() : 0;
      return {
        ...common,
        kind: 'general',
        general: {
          osMajorType,
          osMajorTypeName: nameOf(osMajorType, OsMajorType, 4),
          osMinorType,
          osMinorTypeName: nameOf(osMinorType, OsMinorType, 4),
          protocolVersion,
          generalCompressionTypes,
          extraFlags,
          extraFlagNames: bitNames(extraFlags, GeneralExtraFlags),
          updateCapabilityFlag,
          remoteUnshareFlag,
          generalCompressionLevel,
          refreshRectSupport,
          suppressOutputSupport,
        },
      };
    }
    case CapabilitySetType.CAPSTYPE_BITMAP: {
      const preferredBitsPerPixel = r.u16le();
      const receive1BitPerPixel = r.u16le();
      const receive4BitsPerPixel = r.u16le();
      const receive8BitsPerPixel = r.u16le();
      const desktopWidth = r.u16le();
      const desktopHeight = r.u16le();
      r.u16le(); // pad2octets
      const desktopResizeFlag = r.u16le();
      const bitmapCompressionFlag = r.u16le();
      const highColorFlags = r.u8();
      const drawingFlags = r.u8();
      const multipleRectangleSupport = r.u16le();
      return {
        ...common,
        kind: 'bitmap',
        bitmap: {
          preferredBitsPerPixel,
          receive1BitPerPixel,
          receive4BitsPerPixel,
          receive8BitsPerPixel,
          desktopWidth,
          desktopHeight,
          desktopResizeFlag,
          bitmapCompressionFlag,
          highColorFlags,
          drawingFlags,
          multipleRectangleSupport,
        },
      };
    }
    case CapabilitySetType.CAPSTYPE_VIRTUALCHANNEL: {
      const flags = r.u32le();
      const chunkSize = r.remaining >= 4 ? r.u32le() : undefined;
      return {
        ...common,
        kind: 'virtual_channel',
        virtualChannel: { flags, flagNames: bitNames(flags, VirtualChannelCapsFlags), ...(chunkSize !== undefined ? { chunkSize } : {}) },
      };
    }
    default:
      return { ...common, kind: 'other' };
  }
}

/** Concatenated TS_CAPS_SETs. */
export function encodeCapabilitySets(sets: readonly RawCapabilitySet[]): Uint8Array {
  const w = new ByteWriter();
  for (const s of sets) {
    const len = s.data.length + 4;
    if (len > 0xffff) throw new EncodeError(`capability set 0x${s.type.toString(16)} of ${len} bytes exceeds 65535`);
    w.u16le(s.type).u16le(len).bytes(s.data);
  }
  return w.finish();
}

export function encodeGeneralCapability(g: Partial<GeneralCapability> = {}): RawCapabilitySet {
  const data = new ByteWriter(20)
    .u16le(g.osMajorType ?? OsMajorType.OSMAJORTYPE_WINDOWS)
    .u16le(g.osMinorType ?? OsMinorType.OSMINORTYPE_WINDOWS_NT)
    .u16le(g.protocolVersion ?? TS_CAPS_PROTOCOLVERSION)
    .u16le(0)
    .u16le(g.generalCompressionTypes ?? 0)
    .u16le(g.extraFlags ?? GeneralExtraFlags.FASTPATH_OUTPUT_SUPPORTED | GeneralExtraFlags.LONG_CREDENTIALS_SUPPORTED | GeneralExtraFlags.NO_BITMAP_COMPRESSION_HDR)
    .u16le(g.updateCapabilityFlag ?? 0)
    .u16le(g.remoteUnshareFlag ?? 0)
    .u16le(g.generalCompressionLevel ?? 0)
    .u8(g.refreshRectSupport ?? 1)
    .u8(g.suppressOutputSupport ?? 1)
    .finish();
  return { type: CapabilitySetType.CAPSTYPE_GENERAL, data };
}

export function encodeBitmapCapability(b: Partial<BitmapCapability> = {}): RawCapabilitySet {
  const data = new ByteWriter(24)
    .u16le(b.preferredBitsPerPixel ?? 32)
    .u16le(b.receive1BitPerPixel ?? 1)
    .u16le(b.receive4BitsPerPixel ?? 1)
    .u16le(b.receive8BitsPerPixel ?? 1)
    .u16le(b.desktopWidth ?? 1024)
    .u16le(b.desktopHeight ?? 768)
    .u16le(0)
    .u16le(b.desktopResizeFlag ?? 1)
    .u16le(b.bitmapCompressionFlag ?? 1)
    .u8(b.highColorFlags ?? 0)
    .u8(b.drawingFlags ?? 0)
    .u16le(b.multipleRectangleSupport ?? 1)
    .u16le(0)
    .finish();
  return { type: CapabilitySetType.CAPSTYPE_BITMAP, data };
}

export function encodeVirtualChannelCapability(v: VirtualChannelCapability = { flags: 0, chunkSize: 1600 }): RawCapabilitySet {
  const w = new ByteWriter(8).u32le(v.flags);
  if (v.chunkSize !== undefined) w.u32le(v.chunkSize);
  return { type: CapabilitySetType.CAPSTYPE_VIRTUALCHANNEL, data: w.finish() };
}

function zeros(n: number): Uint8Array {
  return new Uint8Array(n);
}

/**
 * A plausible server set for the lab's Demand Active: General, Bitmap, Order, BitmapCacheHostSupport,
 * Pointer, Input, Font, Share, ColorCache, VirtualChannel, MultifragmentUpdate, LargePointer, SurfaceCommands,
 * with the sizes of 2.2.7 and neutral contents (no orders, no codecs).
 */
export function defaultServerCapabilities(desktop: { width: number; height: number } = { width: 1024, height: 768 }): RawCapabilitySet[] {
  const order = new ByteWriter(84);
  order.bytes(zeros(16)).u32le(0).u16le(1).u16le(20).u16le(0).u16le(1).u16le(0);
  order.u16le(0x0022); // orderFlags: NEGOTIATEORDERSUPPORT | ZEROBOUNDSDELTASSUPPORT
  order.bytes(zeros(32)).u16le(0).u16le(0).u32le(0).u32le(230400).u16le(0).u16le(0).u16le(0).u16le(0);
  const input = new ByteWriter(84).u16le(0x0001 | 0x0004 | 0x0020).u16le(0).u32le(0x409).u32le(4).u32le(0).u32le(12).bytes(zeros(64));
  return [
    encodeGeneralCapability(),
    encodeBitmapCapability({ desktopWidth: desktop.width, desktopHeight: desktop.height }),
    { type: CapabilitySetType.CAPSTYPE_ORDER, data: order.finish() },
    { type: CapabilitySetType.CAPSTYPE_BITMAPCACHE_HOSTSUPPORT, data: new ByteWriter(4).u8(1).u8(0).u16le(0).finish() },
    { type: CapabilitySetType.CAPSTYPE_POINTER, data: new ByteWriter(6).u16le(1).u16le(25).u16le(25).finish() },
    // inputFlags: INPUT_FLAG_SCANCODES | INPUT_FLAG_MOUSEX | INPUT_FLAG_UNICODE
    { type: CapabilitySetType.CAPSTYPE_INPUT, data: input.finish() },
    { type: CapabilitySetType.CAPSTYPE_FONT, data: new ByteWriter(4).u16le(1).u16le(0).finish() },
    { type: CapabilitySetType.CAPSTYPE_SHARE, data: new ByteWriter(4).u16le(0x03ea).u16le(0).finish() },
    { type: CapabilitySetType.CAPSTYPE_COLORCACHE, data: new ByteWriter(4).u16le(6).u16le(0).finish() },
    encodeVirtualChannelCapability({ flags: 0, chunkSize: 1600 }),
    { type: CapabilitySetType.CAPSETTYPE_MULTIFRAGMENTUPDATE, data: new ByteWriter(4).u32le(0x0003f000).finish() },
    { type: CapabilitySetType.CAPSETTYPE_LARGE_POINTER, data: new ByteWriter(2).u16le(1).finish() },
    { type: CapabilitySetType.CAPSETTYPE_SURFACE_COMMANDS, data: new ByteWriter(8).u32le(0x52).u32le(0).finish() },
  ];
}

/**
 * The smallest client set a Confirm Active needs for a server to go on (General, Bitmap, Order, Pointer, Input,
 * Font, VirtualChannel); the probe leaves after Demand Active, so this serves tests and the lab.
 */
export function minimalClientCapabilities(desktop: { width: number; height: number } = { width: 1024, height: 768 }): RawCapabilitySet[] {
  const server = defaultServerCapabilities(desktop);
  const wanted: number[] = [
    CapabilitySetType.CAPSTYPE_ORDER,
    CapabilitySetType.CAPSTYPE_POINTER,
    CapabilitySetType.CAPSTYPE_INPUT,
    CapabilitySetType.CAPSTYPE_FONT,
  ];
  return [
    encodeGeneralCapability({ extraFlags: GeneralExtraFlags.LONG_CREDENTIALS_SUPPORTED | GeneralExtraFlags.NO_BITMAP_COMPRESSION_HDR, refreshRectSupport: 0, suppressOutputSupport: 0 }),
    encodeBitmapCapability({ preferredBitsPerPixel: 16, desktopWidth: desktop.width, desktopHeight: desktop.height }),
    ...server.filter((s) => wanted.includes(s.type)),
    encodeVirtualChannelCapability({ flags: 0, chunkSize: 1600 }),
  ];
}
