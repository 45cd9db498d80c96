/**
 * Client data blocks of the GCC Conference Create Request ([MS-RDPBCGR] 2.2.1.3.2-2.2.1.3.5): CS_CORE,
 * CS_SECURITY, CS_NET, CS_CLUSTER. Encoders for the probe, strict decoders for the lab server and for captures.
 * CS_CORE's optional tail is a chain: a field is present only when all before it are, so the encoder stops at
 * the first absent one and the decoder reads while bytes remain (a field cut in half is a DecodeError).
 */
import { ByteReader } from '../codec/reader.js';
import { ByteWriter } from '../codec/writer.js';
import { EncodeError, nested } from '../codec/errors.js';
import { concat } from '../codec/bytes.js';
import { decodeMcsConnectInitial, encodeMcsConnectInitial, type McsConnectInitial, type McsConnectInitialOptions } from '../mcs/connect.js';
import { decodeGccConferenceCreateRequest, encodeGccConferenceCreateRequest } from './conference.js';
import {
  bitNames,
  block,
  duplicateBlock,
  shiftOffset,
  readAnsiField,
  readUtf16Field,
  splitBlocks,
  UserDataType,
  userDataTypeName,
  writeAnsiField,
  writeUtf16Field,
  type RawBlock,
} from './blocks.js';

/** TS_UD_CS_CORE.version. */
export const RDP_VERSION_5_PLUS = 0x00080004;
export const RDP_VERSION_10_0 = 0x00080005;
export const RDP_VERSION_10_12 = 0x00080011;

/** TS_UD_CS_CORE.earlyCapabilityFlags. */
export const ClientEarlyCapabilityFlags = {
  RNS_UD_CS_SUPPORT_ERRINFO_PDU: 0x0001,
  RNS_UD_CS_WANT_32BPP_SESSION: 0x0002,
  RNS_UD_CS_SUPPORT_STATUSINFO_PDU: 0x0004,
  RNS_UD_CS_STRONG_ASYMMETRIC_KEYS: 0x0008,
  RNS_UD_CS_RELATIVE_MOUSE_INPUT: 0x0010,
  RNS_UD_CS_VALID_CONNECTION_TYPE: 0x0020,
  RNS_UD_CS_SUPPORT_MONITOR_LAYOUT_PDU: 0x0040,
  RNS_UD_CS_SUPPORT_NETCHAR_AUTODETECT: 0x0080,
  RNS_UD_CS_SUPPORT_DYNVC_GFX_PROTOCOL: 0x0100,
  RNS_UD_CS_SUPPORT_DYNAMIC_TIME_ZONE: 0x0200,
  RNS_UD_CS_SUPPORT_HEARTBEAT_PDU: 0x0400,
  RNS_UD_CS_SUPPORT_SKIP_CHANNELJOIN: 0x0800,
} as const;

/** colorDepth / postBeta2ColorDepth. */
export const RnsColorDepth = {
  RNS_UD_COLOR_4BPP: 0xca00,
  RNS_UD_COLOR_8BPP: 0xca01,
  RNS_UD_COLOR_16BPP_555: 0xca02,
  RNS_UD_COLOR_16BPP_565: 0xca03,
  RNS_UD_COLOR_24BPP: 0xca04,
} as const;

export const RNS_UD_SAS_DEL = 0xaa03;

/** supportedColorDepths. */
export const SupportedColorDepths = {
  RNS_UD_24BPP_SUPPORT: 0x0001,
  RNS_UD_16BPP_SUPPORT: 0x0002,
  RNS_UD_15BPP_SUPPORT: 0x0004,
  RNS_UD_32BPP_SUPPORT: 0x0008,
} as const;

/** connectionType (meaningful with RNS_UD_CS_VALID_CONNECTION_TYPE). */
export const ConnectionType = {
  CONNECTION_TYPE_MODEM: 0x01,
  CONNECTION_TYPE_BROADBAND_LOW: 0x02,
  CONNECTION_TYPE_SATELLITE: 0x03,
  CONNECTION_TYPE_BROADBAND_HIGH: 0x04,
  CONNECTION_TYPE_WAN: 0x05,
  CONNECTION_TYPE_LAN: 0x06,
  CONNECTION_TYPE_AUTODETECT: 0x07,
} as const;

/** encryptionMethods (CS_SECURITY) and encryptionMethod (SC_SECURITY). */
export const EncryptionMethod = {
  ENCRYPTION_METHOD_40BIT: 0x00000001,
  ENCRYPTION_METHOD_128BIT: 0x00000002,
  ENCRYPTION_METHOD_56BIT: 0x00000008,
  ENCRYPTION_METHOD_FIPS: 0x00000010,
} as const;

/** CHANNEL_DEF.options. */
export const ChannelOption = {
  CHANNEL_OPTION_INITIALIZED: 0x80000000,
  CHANNEL_OPTION_ENCRYPT_RDP: 0x40000000,
  CHANNEL_OPTION_ENCRYPT_SC: 0x20000000,
  CHANNEL_OPTION_ENCRYPT_CS: 0x10000000,
  CHANNEL_OPTION_PRI_HIGH: 0x08000000,
  CHANNEL_OPTION_PRI_MED: 0x04000000,
  CHANNEL_OPTION_PRI_LOW: 0x02000000,
  CHANNEL_OPTION_COMPRESS_RDP: 0x00800000,
  CHANNEL_OPTION_COMPRESS: 0x00400000,
  CHANNEL_OPTION_SHOW_PROTOCOL: 0x00200000,
  REMOTE_CONTROL_PERSISTENT: 0x00100000,
} as const;

/** CS_CLUSTER.Flags (the redirection version sits in bits 2-5). */
export const ClusterFlags = {
  REDIRECTION_SUPPORTED: 0x00000001,
  REDIRECTED_SESSIONID_FIELD_VALID: 0x00000002,
  REDIRECTED_SMARTCARD: 0x00000040,
} as const;
export const REDIRECTION_VERSION_MASK = 0x0000003c;
/** REDIRECTION_VERSION1..6 are 0..5 in the mask; mstsc 6+ sends REDIRECTION_VERSION4 (3). */
export const REDIRECTION_VERSION4 = 3;

/** [MS-RDPBCGR] 2.2.1.3.6: at most 31 static channels. */
export const MAX_STATIC_CHANNELS = 31;

export interface ClientCoreData {
  version: number;
  desktopWidth: number;
  desktopHeight: number;
  colorDepth: number;
  sasSequence: number;
  keyboardLayout: number;
  clientBuild: number;
  /** At most 15 characters on the wire (16 UTF-16 code units with the NUL). */
  clientName: string;
  keyboardType: number;
  keyboardSubType: number;
  keyboardFunctionKey: number;
  imeFileName: string;
  postBeta2ColorDepth?: number;
  clientProductId?: number;
  serialNumber?: number;
  highColorDepth?: number;
  supportedColorDepths?: number;
  earlyCapabilityFlags?: number;
  clientDigProductId?: string;
  connectionType?: number;
  pad1octet?: number;
  serverSelectedProtocol?: number;
  desktopPhysicalWidth?: number;
  desktopPhysicalHeight?: number;
  desktopOrientation?: number;
  desktopScaleFactor?: number;
  deviceScaleFactor?: number;
}

export interface ClientSecurityData {
  encryptionMethods: number;
  /** Used only by French-locale clients instead of encryptionMethods. */
  extEncryptionMethods: number;
}

export interface ChannelDef {
  /** ANSI, at most 7 characters. */
  name: string;
  options: number;
}

export interface ClientNetworkData {
  channels: ChannelDef[];
}

export interface ClientClusterData {
  flags: number;
  redirectedSessionId: number;
}

export interface ClientSettings {
  core: ClientCoreData;
  security: ClientSecurityData;
  net?: ClientNetworkData;
  cluster?: ClientClusterData;
}

type OptionalField = { key: keyof ClientCoreData; size: 1 | 2 | 4 | 64 };
/** The optional tail of TS_UD_CS_CORE, in wire order. */
const CORE_TAIL: readonly OptionalField[] = [
  { key: 'postBeta2ColorDepth', size: 2 },
  { key: 'clientProductId', size: 2 },
  { key: 'serialNumber', size: 4 },
  { key: 'highColorDepth', size: 2 },
  { key: 'supportedColorDepths', size: 2 },
  { key: 'earlyCapabilityFlags', size: 2 },
  { key: 'clientDigProductId', size: 64 },
  { key: 'connectionType', size: 1 },
  { key: 'pad1octet', size: 1 },
  { key: 'serverSelectedProtocol', size: 4 },
  { key: 'desktopPhysicalWidth', size: 4 },
  { key: 'desktopPhysicalHeight', size: 4 },
  { key: 'desktopOrientation', size: 2 },
  { key: 'desktopScaleFactor', size: 4 },
  { key: 'deviceScaleFactor', size: 4 },
];

/** Header plus the mandatory fields. */
export const CS_CORE_MIN_LENGTH = 132;

export function encodeClientCoreData(c: ClientCoreData): Uint8Array {
  const w = new ByteWriter(240);
  w.u32le(c.version).u16le(c.desktopWidth).u16le(c.desktopHeight).u16le(c.colorDepth).u16le(c.sasSequence);
  w.u32le(c.keyboardLayout).u32le(c.clientBuild);
  writeUtf16Field(w, c.clientName, 32);
  w.u32le(c.keyboardType).u32le(c.keyboardSubType).u32le(c.keyboardFunctionKey);
  writeUtf16Field(w, c.imeFileName, 64);
  let stopped: string | undefined;
  for (const f of CORE_TAIL) {
    const v = c[f.key];
    if (v === undefined) {
      stopped ??= f.key;
      continue;
    }
    if (stopped !== undefined) throw new EncodeError(`CS_CORE ${f.key} is set but ${stopped}, before it, is not`);
    if (f.size === 64) writeUtf16Field(w, v as string, 64);
    else if (f.size === 1) w.u8(v as number);
    else if (f.size === 2) w.u16le(v as number);
    else w.u32le(v as number);
  }
  return block(UserDataType.CS_CORE, w.finish());
}

/** Decodes a CS_CORE body (after the 4-byte header). */
export function decodeClientCoreData(body: Uint8Array): ClientCoreData {
  const r = new ByteReader(body, 'CS_CORE');
  const c: ClientCoreData = {
    version: r.u32le(),
    desktopWidth: r.u16le(),
    desktopHeight: r.u16le(),
    colorDepth: r.u16le(),
    sasSequence: r.u16le(),
    keyboardLayout: r.u32le(),
    clientBuild: r.u32le(),
    clientName: readUtf16Field(r, 32),
    keyboardType: r.u32le(),
    keyboardSubType: r.u32le(),
    keyboardFunctionKey: r.u32le(),
    imeFileName: readUtf16Field(r, 64),
  };
  const rec = c as unknown as Record<string, number | string>;
  for (const f of CORE_TAIL) {
    if (r.remaining === 0) break;
    if (f.size === 64) rec[f.key] = readUtf16Field(r, 64);
    else if (f.size === 1) rec[f.key] = r.u8();
    else if (f.size === 2) rec[f.key] = r.u16le();
    else rec[f.key] = r.u32le();
  }
  r.expectEnd();
  return c;
}

export function encodeClientSecurityData(s: ClientSecurityData): Uint8Array {
  return block(UserDataType.CS_SECURITY, new ByteWriter(8).u32le(s.encryptionMethods).u32le(s.extEncryptionMethods).finish());
}

export function decodeClientSecurityData(body: Uint8Array): ClientSecurityData {
  const r = new ByteReader(body, 'CS_SECURITY');
  const out = { encryptionMethods: r.u32le(), extEncryptionMethods: r.u32le() };
  r.expectEnd();
  return out;
}

export function encodeClientNetworkData(n: ClientNetworkData): Uint8Array {
  if (n.channels.length > MAX_STATIC_CHANNELS) throw new EncodeError(`${n.channels.length} channels (at most ${MAX_STATIC_CHANNELS})`);
  const w = new ByteWriter(4 + 12 * n.channels.length);
  w.u32le(n.channels.length);
  for (const ch of n.channels) {
    writeAnsiField(w, ch.name, 8);
    w.u32le(ch.options);
  }
  return block(UserDataType.CS_NET, w.finish());
}

export function decodeClientNetworkData(body: Uint8Array): ClientNetworkData {
  const r = new ByteReader(body, 'CS_NET');
  const count = r.u32le();
  if (count > MAX_STATIC_CHANNELS) r.fail('channelCount', `${count} (at most ${MAX_STATIC_CHANNELS})`, 0);
  const channels: ChannelDef[] = [];
  for (let i = 0; i < count; i++) channels.push({ name: readAnsiField(r, 8), options: r.u32le() });
  r.expectEnd();
  return { channels };
}

export function encodeClientClusterData(c: ClientClusterData): Uint8Array {
  return block(UserDataType.CS_CLUSTER, new ByteWriter(8).u32le(c.flags).u32le(c.redirectedSessionId).finish());
}

export function decodeClientClusterData(body: Uint8Array): ClientClusterData {
  const r = new ByteReader(body, 'CS_CLUSTER');
  const out = { flags: r.u32le(), redirectedSessionId: r.u32le() };
  r.expectEnd();
  return out;
}

export interface ClientSettingsOptions {
  /** Echoed in CS_CORE.serverSelectedProtocol: what the server chose in RDP_NEG_RSP (0 without negotiation). */
  serverSelectedProtocol?: number;
  /** RDP 10.x (0x00080005..0x00080011) or 0x00080004, the default. */
  version?: number;
  clientName?: string;
  channels?: ChannelDef[];
  encryptionMethods?: number;
  /**
   * Ask for the console session as `mstsc /admin` does: CS_CLUSTER with REDIRECTED_SESSIONID_FIELD_VALID and
   * session id 0 ([MS-RDPBCGR] 2.2.1.3.5).
   */
  console?: boolean;
}

/**
 * What the probe announces: an RDP 5+ client at 1024x768, 32 bpp, that supports the Set Error Info PDU
 * (without RNS_UD_CS_SUPPORT_ERRINFO_PDU the server never says why it disconnects), every standard
 * encryption method so the server picks, no static channels, and redirection support.
 */
export function defaultClientSettings(opts: ClientSettingsOptions = {}): ClientSettings {
  const F = ClientEarlyCapabilityFlags;
  return {
    core: {
      version: opts.version ?? RDP_VERSION_5_PLUS,
      desktopWidth: 1024,
      desktopHeight: 768,
      colorDepth: RnsColorDepth.RNS_UD_COLOR_8BPP,
      sasSequence: RNS_UD_SAS_DEL,
      keyboardLayout: 0x00000409,
      clientBuild: 19041,
      clientName: opts.clientName ?? 'rdp-probe',
      keyboardType: 4,
      keyboardSubType: 0,
      keyboardFunctionKey: 12,
      imeFileName: '',
      postBeta2ColorDepth: RnsColorDepth.RNS_UD_COLOR_8BPP,
      clientProductId: 1,
      serialNumber: 0,
      highColorDepth: 24,
      supportedColorDepths:
        SupportedColorDepths.RNS_UD_24BPP_SUPPORT |
        SupportedColorDepths.RNS_UD_16BPP_SUPPORT |
        SupportedColorDepths.RNS_UD_15BPP_SUPPORT |
        SupportedColorDepths.RNS_UD_32BPP_SUPPORT,
      earlyCapabilityFlags: F.RNS_UD_CS_SUPPORT_ERRINFO_PDU | F.RNS_UD_CS_WANT_32BPP_SESSION | F.RNS_UD_CS_VALID_CONNECTION_TYPE | F.RNS_UD_CS_STRONG_ASYMMETRIC_KEYS,
      clientDigProductId: '',
      connectionType: ConnectionType.CONNECTION_TYPE_LAN,
      pad1octet: 0,
      serverSelectedProtocol: opts.serverSelectedProtocol ?? 0,
    },
    security: {
      encryptionMethods:
        opts.encryptionMethods ??
        EncryptionMethod.ENCRYPTION_METHOD_40BIT | EncryptionMethod.ENCRYPTION_METHOD_128BIT | EncryptionMethod.ENCRYPTION_METHOD_56BIT | EncryptionMethod.ENCRYPTION_METHOD_FIPS,
      extEncryptionMethods: 0,
    },
    net: { channels: opts.channels ?? [] },
    cluster: {
      flags: ClusterFlags.REDIRECTION_SUPPORTED | (REDIRECTION_VERSION4 << 2) | (opts.console ? ClusterFlags.REDIRECTED_SESSIONID_FIELD_VALID : 0),
      redirectedSessionId: 0,
    },
  };
}

/** CS_CORE, CS_SECURITY, then CS_NET and CS_CLUSTER when present, in the order mstsc sends them. */
export function encodeClientData(s: ClientSettings): Uint8Array {
  const parts = [encodeClientCoreData(s.core)];
  // mstsc sends CS_CLUSTER before CS_SECURITY; servers accept any order.
  if (s.cluster) parts.push(encodeClientClusterData(s.cluster));
  parts.push(encodeClientSecurityData(s.security));
  if (s.net) parts.push(encodeClientNetworkData(s.net));
  return concat(...parts);
}

export interface DecodedClientData {
  core?: ClientCoreData;
  security?: ClientSecurityData;
  net?: ClientNetworkData;
  cluster?: ClientClusterData;
  /** Every block in order, with its type name; the ones not decoded above are only here. */
  blocks: { type: number; name: string; length: number }[];
}

/** Decodes the concatenated client blocks; unknown block types are listed and skipped. */
export function decodeClientData(bytes: Uint8Array): DecodedClientData {
  const out: DecodedClientData = { blocks: [] };
  for (const b of splitBlocks(bytes, 'client data')) {
    out.blocks.push({ type: b.type, name: userDataTypeName(b.type), length: b.length });
    decodeClientBlock(out, b);
  }
  return out;
}

function decodeClientBlock(out: DecodedClientData, b: RawBlock): void {
  const key = CLIENT_BLOCK_KEYS[b.type];
  if (key === undefined) return;
  if (out[key] !== undefined) throw duplicateBlock(b);
  const body = b.body;
  shiftOffset(b.offset + 4, () => {
    switch (key) {
      case 'core':
        out.core = decodeClientCoreData(body);
        break;
      case 'security':
        out.security = decodeClientSecurityData(body);
        break;
      case 'net':
        out.net = decodeClientNetworkData(body);
        break;
      case 'cluster':
        out.cluster = decodeClientClusterData(body);
        break;
    }
  });
}

const CLIENT_BLOCK_KEYS: Record<number, 'core' | 'security' | 'net' | 'cluster'> = {
  [UserDataType.CS_CORE]: 'core',
  [UserDataType.CS_SECURITY]: 'security',
  [UserDataType.CS_NET]: 'net',
  [UserDataType.CS_CLUSTER]: 'cluster',
};

export function clientEarlyCapabilityNames(flags: number): string[] {
  return bitNames(flags, ClientEarlyCapabilityFlags);
}
export function channelOptionNames(options: number): string[] {
  return bitNames(options, ChannelOption);
}
export function encryptionMethodNames(methods: number): string[] {
  return methods === 0 ? ['ENCRYPTION_METHOD_NONE'] : bitNames(methods, EncryptionMethod);
}

// ---- whole PDU: MCS Connect-Initial > GCC Conference Create Request > client blocks ----

/** The Client MCS Connect Initial PDU (the X.224 Data TPDU's user data). */
export function encodeClientConnectInitial(settings: ClientSettings, opts: McsConnectInitialOptions = {}): Uint8Array {
  return encodeMcsConnectInitial(encodeGccConferenceCreateRequest(encodeClientData(settings)), opts);
}

export interface ClientConnectInitial {
  mcs: Omit<McsConnectInitial, 'userData'>;
  conferenceName: string;
  clientData: DecodedClientData;
}

/** Decodes the whole Connect-Initial; DecodeError paths read like 'MCS Connect-Initial > GCC > CS_CORE'. */
export function decodeClientConnectInitial(bytes: Uint8Array): ClientConnectInitial {
  const mcs = decodeMcsConnectInitial(bytes);
  const at = bytes.length - mcs.userData.length;
  return nested('MCS Connect-Initial', at, () => {
    const gcc = nested('GCC', 0, () => decodeGccConferenceCreateRequest(mcs.userData));
    const blocksAt = mcs.userData.length - gcc.clientData.length;
    const clientData = nested('GCC', blocksAt, () => decodeClientData(gcc.clientData));
    const { userData: _u, ...rest } = mcs;
    return { mcs: rest, conferenceName: gcc.conferenceName, clientData };
  });
}
