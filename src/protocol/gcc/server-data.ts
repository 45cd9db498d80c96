/**
 * Server data blocks of the GCC Conference Create Response ([MS-RDPBCGR] 2.2.1.4.2-2.2.1.4.6): SC_CORE,
 * SC_SECURITY (with the server random and the proprietary or X.509 server certificate, 2.2.1.4.3.1),
 * SC_NET, SC_MCS_MSGCHANNEL, SC_MULTITRANSPORT. Each block decodes strictly against its own length; unknown
 * block types are kept as { type, length }.
 */
import { decodeServerCertificate, type ServerCertificate } from '../security/proprietary-cert.js';
import { ByteReader } from '../codec/reader.js';
import { ByteWriter } from '../codec/writer.js';
import { EncodeError, nested } from '../codec/errors.js';
import { concat } from '../codec/bytes.js';
import { decodeMcsConnectResponse, encodeMcsConnectResponse, type McsConnectResponse, type McsConnectResponseInput } from '../mcs/connect.js';
import { decodeGccConferenceCreateResponse, encodeGccConferenceCreateResponse, type GccResponseOptions } from './conference.js';
import { bitNames, block, duplicateBlock, shiftOffset, splitBlocks, UserDataType, userDataTypeName, valueName, type RawBlock } from './blocks.js';
import { EncryptionMethod } from './client-data.js';

/** TS_UD_SC_CORE.version, verified against [MS-RDPBCGR] 2.2.1.4.2. */
export const SERVER_VERSIONS: Readonly<Record<number, string>> = Object.freeze({
  0x00080001: 'RDP 4.0',
  0x00080004: 'RDP 5.0-8.1',
  0x00080005: 'RDP 10.0',
  0x00080006: 'RDP 10.1',
  0x00080007: 'RDP 10.2',
  0x00080008: 'RDP 10.3',
  0x00080009: 'RDP 10.4',
  0x0008000a: 'RDP 10.5',
  0x0008000b: 'RDP 10.6',
  0x0008000c: 'RDP 10.7',
  0x0008000d: 'RDP 10.8',
  0x0008000e: 'RDP 10.9',
  0x0008000f: 'RDP 10.10',
  0x00080010: 'RDP 10.11',
  0x00080011: 'RDP 10.12',
});

export function serverVersionName(version: number): string {
  return SERVER_VERSIONS[version] ?? `unknown (0x${version.toString(16).padStart(8, '0')})`;
}

/** TS_UD_SC_CORE.earlyCapabilityFlags. */
export const ServerEarlyCapabilityFlags = {
  RNS_UD_SC_EDGE_ACTIONS_SUPPORTED_V1: 0x00000001,
  RNS_UD_SC_DYNAMIC_DST_SUPPORTED: 0x00000002,
  RNS_UD_SC_EDGE_ACTIONS_SUPPORTED_V2: 0x00000004,
  RNS_UD_SC_SKIP_CHANNELJOIN_SUPPORTED: 0x00000008,
} as const;

export const EncryptionLevel = {
  ENCRYPTION_LEVEL_NONE: 0,
  ENCRYPTION_LEVEL_LOW: 1,
  ENCRYPTION_LEVEL_CLIENT_COMPATIBLE: 2,
  ENCRYPTION_LEVEL_HIGH: 3,
  ENCRYPTION_LEVEL_FIPS: 4,
} as const;

const ENCRYPTION_METHODS = { ENCRYPTION_METHOD_NONE: 0, ...EncryptionMethod } as const;

/** TS_UD_SC_MULTITRANSPORT.flags. */
export const MultitransportFlags = {
  TRANSPORTTYPE_UDPFECR: 0x00000001,
  TRANSPORTTYPE_UDPFECL: 0x00000004,
  TRANSPORTTYPE_UDP_PREFERRED: 0x00000100,
  SOFTSYNC_TCP_TO_UDP: 0x00000200,
} as const;

export interface ServerCoreData {
  version: number;
  versionName: string;
  clientRequestedProtocols?: number;
  earlyCapabilityFlags?: number;
  earlyCapabilityFlagNames?: string[];
}

export interface ServerSecurityData {
  encryptionMethod: number;
  encryptionMethodName: string;
  encryptionLevel: number;
  encryptionLevelName: string;
  /** Absent when method and level are both NONE (then the block ends after them). */
  serverRandom?: Uint8Array;
  serverCertificate?: Uint8Array;
  /** The serverCertificate decoded (one codec for both: src/protocol/security/proprietary-cert.ts). */
  certificate?: ServerCertificate;
}

export interface ServerNetworkData {
  mcsChannelId: number;
  channelIds: number[];
}

export interface ServerMessageChannelData {
  mcsChannelId: number;
}

export interface ServerMultitransportData {
  flags: number;
  flagNames: string[];
}

export interface ServerData {
  core?: ServerCoreData;
  security?: ServerSecurityData;
  net?: ServerNetworkData;
  messageChannel?: ServerMessageChannelData;
  multitransport?: ServerMultitransportData;
  /** Every block in order, with its type name. */
  blocks: { type: number; name: string; length: number }[];
  /** Blocks of a type not decoded here. */
  unknown: { type: number; length: number }[];
}

// ---- SC_CORE ----

export function encodeServerCoreData(c: { version: number; clientRequestedProtocols?: number; earlyCapabilityFlags?: number }): Uint8Array {
  const w = new ByteWriter(12).u32le(c.version);
  if (c.clientRequestedProtocols !== undefined) w.u32le(c.clientRequestedProtocols);
  if (c.earlyCapabilityFlags !== undefined) {
    if (c.clientRequestedProtocols === undefined) throw new EncodeError('SC_CORE earlyCapabilityFlags needs clientRequestedProtocols before it');
    w.u32le(c.earlyCapabilityFlags);
  }
  return block(UserDataType.SC_CORE, w.finish());
}

export function decodeServerCoreData(body: Uint8Array): ServerCoreData {
  const r = new ByteReader(body, 'SC_CORE');
  const version = r.u32le();
  const out: ServerCoreData = { version, versionName: serverVersionName(version) };
  if (r.remaining > 0) out.clientRequestedProtocols = r.u32le();
  if (r.remaining > 0) {
    out.earlyCapabilityFlags = r.u32le();
    out.earlyCapabilityFlagNames = bitNames(out.earlyCapabilityFlags, ServerEarlyCapabilityFlags);
  }
  r.expectEnd();
  return out;
}

// ---- SC_SECURITY ----

export function encodeServerSecurityData(s: {
  encryptionMethod: number;
  encryptionLevel: number;
  serverRandom?: Uint8Array;
  serverCertificate?: Uint8Array;
}): Uint8Array {
  const w = new ByteWriter(16).u32le(s.encryptionMethod).u32le(s.encryptionLevel);
  if (s.serverRandom !== undefined || s.serverCertificate !== undefined) {
    const random = s.serverRandom ?? new Uint8Array(0);
    const cert = s.serverCertificate ?? new Uint8Array(0);
    w.u32le(random.length).u32le(cert.length).bytes(random).bytes(cert);
  }
  return block(UserDataType.SC_SECURITY, w.finish());
}

export function decodeServerSecurityData(body: Uint8Array): ServerSecurityData {
  const r = new ByteReader(body, 'SC_SECURITY');
  const encryptionMethod = r.u32le();
  const encryptionLevel = r.u32le();
  const out: ServerSecurityData = {
    encryptionMethod,
    encryptionMethodName: valueName(encryptionMethod, ENCRYPTION_METHODS),
    encryptionLevel,
    encryptionLevelName: valueName(encryptionLevel, EncryptionLevel),
  };
  if (r.remaining === 0) return out;
  const randomLen = r.u32le();
  const certLen = r.u32le();
  out.serverRandom = r.bytesN(randomLen);
  const certAt = r.offset;
  out.serverCertificate = r.bytesN(certLen);
  r.expectEnd();
  if (certLen > 0) {
    const cert = out.serverCertificate;
    out.certificate = shiftOffset(certAt, () => nested('SC_SECURITY', 0, () => decodeServerCertificate(cert)));
  }
  return out;
}


// ---- SC_NET, SC_MCS_MSGCHANNEL, SC_MULTITRANSPORT ----

export function encodeServerNetworkData(n: ServerNetworkData): Uint8Array {
  const w = new ByteWriter(8 + 2 * n.channelIds.length).u16le(n.mcsChannelId).u16le(n.channelIds.length);
  for (const id of n.channelIds) w.u16le(id);
  if (n.channelIds.length % 2 === 1) w.u16le(0);
  return block(UserDataType.SC_NET, w.finish());
}

/** The 2-byte pad after an odd channel count is accepted present or absent (servers differ). */
export function decodeServerNetworkData(body: Uint8Array): ServerNetworkData {
  const r = new ByteReader(body, 'SC_NET');
  const mcsChannelId = r.u16le();
  const count = r.u16le();
  const channelIds: number[] = [];
  for (let i = 0; i < count; i++) channelIds.push(r.u16le());
  if (count % 2 === 1 && r.remaining === 2) r.skip(2);
  r.expectEnd();
  return { mcsChannelId, channelIds };
}

export function encodeServerMessageChannelData(m: ServerMessageChannelData): Uint8Array {
  return block(UserDataType.SC_MCS_MSGCHANNEL, new ByteWriter(2).u16le(m.mcsChannelId).finish());
}

export function decodeServerMessageChannelData(body: Uint8Array): ServerMessageChannelData {
  const r = new ByteReader(body, 'SC_MCS_MSGCHANNEL');
  const out = { mcsChannelId: r.u16le() };
  r.expectEnd();
  return out;
}

export function encodeServerMultitransportData(flags: number): Uint8Array {
  return block(UserDataType.SC_MULTITRANSPORT, new ByteWriter(4).u32le(flags).finish());
}

export function decodeServerMultitransportData(body: Uint8Array): ServerMultitransportData {
  const r = new ByteReader(body, 'SC_MULTITRANSPORT');
  const flags = r.u32le();
  r.expectEnd();
  return { flags, flagNames: bitNames(flags, MultitransportFlags) };
}

// ---- all blocks ----

export interface ServerDataInput {
  core: { version: number; clientRequestedProtocols?: number; earlyCapabilityFlags?: number };
  security: { encryptionMethod: number; encryptionLevel: number; serverRandom?: Uint8Array; serverCertificate?: Uint8Array };
  net: ServerNetworkData;
  messageChannel?: ServerMessageChannelData;
  multitransportFlags?: number;
}

/** SC_CORE, SC_SECURITY, SC_NET (Windows' order), then the optional message channel and multitransport blocks. */
export function encodeServerData(s: ServerDataInput): Uint8Array {
  const parts = [encodeServerCoreData(s.core), encodeServerSecurityData(s.security), encodeServerNetworkData(s.net)];
  if (s.messageChannel) parts.push(encodeServerMessageChannelData(s.messageChannel));
  if (s.multitransportFlags !== undefined) parts.push(encodeServerMultitransportData(s.multitransportFlags));
  return concat(...parts);
}

type Key = 'core' | 'security' | 'net' | 'messageChannel' | 'multitransport';
const SERVER_BLOCK_KEYS: Record<number, Key> = {
  [UserDataType.SC_CORE]: 'core',
  [UserDataType.SC_SECURITY]: 'security',
  [UserDataType.SC_NET]: 'net',
  [UserDataType.SC_MCS_MSGCHANNEL]: 'messageChannel',
  [UserDataType.SC_MULTITRANSPORT]: 'multitransport',
};

/** DecodeError paths name the block ('SC_SECURITY'), offsets count from the start of `bytes`. */
export function decodeServerData(bytes: Uint8Array): ServerData {
  const out: ServerData = { blocks: [], unknown: [] };
  for (const b of splitBlocks(bytes, 'server data')) {
    out.blocks.push({ type: b.type, name: userDataTypeName(b.type), length: b.length });
    decodeServerBlock(out, b);
  }
  return out;
}

function decodeServerBlock(out: ServerData, b: RawBlock): void {
  const key = SERVER_BLOCK_KEYS[b.type];
  if (key === undefined) {
    out.unknown.push({ type: b.type, length: b.length });
    return;
  }
  if (out[key] !== undefined) throw duplicateBlock(b);
  const body = b.body;
  shiftOffset(b.offset + 4, () => {
    switch (key) {
      case 'core':
        out.core = decodeServerCoreData(body);
        break;
      case 'security':
        out.security = decodeServerSecurityData(body);
        break;
      case 'net':
        out.net = decodeServerNetworkData(body);
        break;
      case 'messageChannel':
        out.messageChannel = decodeServerMessageChannelData(body);
        break;
      case 'multitransport':
        out.multitransport = decodeServerMultitransportData(body);
        break;
    }
  });
}

// ---- whole PDU: MCS Connect-Response > GCC Conference Create Response > server blocks ----

export interface ServerConnectResponseInput extends Omit<McsConnectResponseInput, 'userData'> {
  serverData: Uint8Array;
  gcc?: GccResponseOptions;
}

export function encodeServerConnectResponse(p: ServerConnectResponseInput): Uint8Array {
  const { serverData, gcc, ...mcs } = p;
  return encodeMcsConnectResponse({ ...mcs, userData: encodeGccConferenceCreateResponse(serverData, gcc) });
}

export interface ServerConnectResponse {
  mcs: Omit<McsConnectResponse, 'userData'>;
  /** Absent when the MCS result is not rt-successful and the user data is not a GCC response (then `userData` holds it). */
  gcc?: { nodeId: number; tag: number; result: number; resultName: string; declaredLength: number };
  serverData?: ServerData;
  userData?: Uint8Array;
}

/**
 * Decodes the whole Connect-Response; DecodeError paths read like 'MCS Connect-Response > GCC > SC_SECURITY'.
 * A failed MCS result carries whatever user data the server sent: it is decoded when it is GCC, else kept raw.
 */
export function decodeServerConnectResponse(bytes: Uint8Array): ServerConnectResponse {
  const m = decodeMcsConnectResponse(bytes);
  const { userData, ...mcs } = m;
  if (mcs.result !== 0 && userData.length === 0) return { mcs, userData };
  const at = bytes.length - userData.length;
  try {
    return nested('MCS Connect-Response', at, () => {
      const g = nested('GCC', 0, () => decodeGccConferenceCreateResponse(userData));
      const blocksAt = userData.length - g.serverData.length;
      const serverData = nested('GCC', blocksAt, () => decodeServerData(g.serverData));
      const { serverData: _s, ...gcc } = g;
      return { mcs, gcc, serverData };
    });
  } catch (e) {
    if (mcs.result !== 0) return { mcs, userData };
    throw e;
  }
}
