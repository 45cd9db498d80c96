import { describe, expect, it } from 'vitest';
import {
  CapabilitySetType,
  decodeSharePdu,
  defaultServerCapabilities,
  encodeConfirmActive,
  encodeDeactivateAll,
  encodeDemandActive,
  encodeGeneralCapability,
  minimalClientCapabilities,
  capabilitySetName,
  type CapabilitySet,
  type SharePdu,
} from '../../../src/protocol/share/index.js';
import { hex } from '../../helpers/bytes.js';
import { decodeError } from '../../helpers/errors.js';
import { mcsPayloads } from './capture-frames.js';

function as<T extends SharePdu['type']>(p: SharePdu, t: T): Extract<SharePdu, { type: T }> {
  expect(p.type).toBe(t);
  return p as Extract<SharePdu, { type: T }>;
}
function kind<K extends CapabilitySet['kind']>(sets: CapabilitySet[], k: K): Extract<CapabilitySet, { kind: K }> {
  const s = sets.find((c) => c.kind === k);
  expect(s).toBeDefined();
  return s as Extract<CapabilitySet, { kind: K }>;
}

const SHADOW = 'shadow-rdp_xfreerdp-sec-rdp_std-security.pcap';

describe('Demand Active / Confirm Active / Deactivate All (MS-RDPBCGR 2.2.1.13, 2.2.3.1)', () => {
  it('names every capability set type of 2.2.7 and MS-RDPRFX', () => {
    expect(Object.values(CapabilitySetType)).toHaveLength(28);
    for (const t of Object.values(CapabilitySetType)) expect(capabilitySetName(t)).not.toMatch(/unknown/);
    expect(capabilitySetName(0x1e)).toBe('FrameAcknowledge');
    expect(capabilitySetName(0x06)).toBe('unknown (0x0006)');
  });

  it('decodes the Demand Active FreeRDP shadow sent (real capture): names, desktop, general and channel facts', () => {
    const { server } = mcsPayloads(SHADOW);
    // Encryption level NONE: no security header in front of share PDUs.
    const p = as(decodeSharePdu(server[1]!.data), 'demand_active');
    expect(p.header).toMatchObject({ totalLength: 383, pduType: 1, pduTypeName: 'PDUTYPE_DEMANDACTIVEPDU', version: 1, pduSource: 0x03f1 });
    const d = p.demandActive;
    expect(d.shareId).toBe(0x000103f1);
    expect(d.sourceDescriptor).toBe('RDP');
    expect(d.numberCapabilities).toBe(14);
    expect(d.capabilities).toHaveLength(14);
    expect(d.capabilities.map((c) => c.name)).toEqual(expect.arrayContaining(['General', 'Bitmap', 'Order', 'Pointer', 'Input', 'VirtualChannel']));
    const g = kind(d.capabilities, 'general').general;
    expect(g.protocolVersion).toBe(0x0200);
    expect(g.osMajorTypeName).toMatch(/^OSMAJORTYPE_/);
    expect(g.extraFlagNames).toContain('FASTPATH_OUTPUT_SUPPORTED');
    const b = kind(d.capabilities, 'bitmap').bitmap;
    expect(b.desktopWidth).toBeGreaterThan(0);
    expect(b.desktopHeight).toBeGreaterThan(0);
    expect([8, 15, 16, 24, 32]).toContain(b.preferredBitsPerPixel);
    const vc = kind(d.capabilities, 'virtual_channel').virtualChannel;
    expect(typeof vc.flags).toBe('number');
    expect(d.sessionId).toBeDefined();
    // The lengths of all sets add up to lengthCombinedCapabilities - 4 (checked by the decoder); each set keeps its bytes.
    for (const c of d.capabilities) expect(c.data.length).toBe(c.length - 4);
  });

  it('decodes the Confirm Active xfreerdp answered with (real capture)', () => {
    const { client } = mcsPayloads(SHADOW);
    const p = as(decodeSharePdu(client[1]!.data), 'confirm_active');
    expect(p.confirmActive.shareId).toBe(0x000103f1);
    expect(p.confirmActive.originatorId).toBe(0x03ea);
    expect(p.confirmActive.sourceDescriptor).toBe('FREERDP');
    expect(p.confirmActive.capabilities.length).toBe(p.confirmActive.numberCapabilities);
  });

  it('round-trips encodeDemandActive with defaultServerCapabilities', () => {
    const caps = defaultServerCapabilities({ width: 1280, height: 800 });
    const bytes = encodeDemandActive({ shareId: 0x000103ea, capabilities: caps, sessionId: 3 });
    const d = as(decodeSharePdu(bytes), 'demand_active').demandActive;
    expect(d).toMatchObject({ shareId: 0x000103ea, sourceDescriptor: 'RDP', numberCapabilities: caps.length, sessionId: 3 });
    expect(d.capabilities.map((c) => c.type)).toEqual(caps.map((c) => c.type));
    expect(kind(d.capabilities, 'bitmap').bitmap).toMatchObject({ desktopWidth: 1280, desktopHeight: 800, desktopResizeFlag: 1 });
    expect(kind(d.capabilities, 'virtual_channel').virtualChannel).toMatchObject({ flags: 0, chunkSize: 1600 });
    // Sizes from 2.2.7 (header included).
    const len = (t: number): number | undefined => d.capabilities.find((c) => c.type === t)?.length;
    expect(len(CapabilitySetType.CAPSTYPE_GENERAL)).toBe(24);
    expect(len(CapabilitySetType.CAPSTYPE_BITMAP)).toBe(28);
    expect(len(CapabilitySetType.CAPSTYPE_ORDER)).toBe(88);
    expect(len(CapabilitySetType.CAPSTYPE_INPUT)).toBe(88);
    expect(len(CapabilitySetType.CAPSTYPE_POINTER)).toBe(10);
  });

  it('round-trips encodeConfirmActive with minimalClientCapabilities', () => {
    const caps = minimalClientCapabilities();
    const c = as(decodeSharePdu(encodeConfirmActive({ shareId: 0x000103ea, capabilities: caps, pduSource: 1007 })), 'confirm_active');
    expect(c.header.pduSource).toBe(1007);
    expect(c.confirmActive).toMatchObject({ originatorId: 0x03ea, sourceDescriptor: 'MSTSC', numberCapabilities: caps.length });
  });

  it('keeps a 20-byte (pre-5.2) General set and an 8-byte Virtual Channel set', () => {
    const g = encodeGeneralCapability();
    const caps = [
      { type: g.type, data: g.data.subarray(0, 18) },
      { type: CapabilitySetType.CAPSTYPE_VIRTUALCHANNEL, data: new Uint8Array(4) },
      { type: 0x7777, data: Uint8Array.of(1, 2, 3) },
    ];
    const d = as(decodeSharePdu(encodeDemandActive({ shareId: 1, capabilities: caps })), 'demand_active').demandActive;
    expect(kind(d.capabilities, 'general').general.refreshRectSupport).toBe(0);
    expect(kind(d.capabilities, 'virtual_channel').virtualChannel.chunkSize).toBeUndefined();
    expect(d.capabilities[2]).toMatchObject({ kind: 'other', type: 0x7777, name: 'unknown (0x7777)', length: 7 });
  });

  it('is strict about capability lengths, with a path', () => {
    const bytes = encodeDemandActive({ shareId: 1, capabilities: [encodeGeneralCapability()] });
    const short = bytes.slice();
    // General set header at 6 (share control) + 4 shareId + 4 lengths + 4 "RDP\0" + 4 count/pad = 22; its length at 24.
    short[24] = 10;
    const e = decodeError(() => decodeSharePdu(short));
    expect(e.path).toEqual(['Share Control', 'Demand Active', 'capabilitySet[0]', 'General']);
    expect(e.offset).toBe(32); // the General set's data starts at 26; 6 bytes of it are there
    const tiny = bytes.slice();
    tiny[24] = 2;
    expect(decodeError(() => decodeSharePdu(tiny)).detail).toMatchObject({ kind: 'invalid_field', field: 'capabilitySet[0].lengthCapability' });
    const truncated = bytes.subarray(0, bytes.length - 6);
    expect(decodeError(() => decodeSharePdu(truncated)).detail).toMatchObject({ kind: 'invalid_field', field: 'totalLength' });
  });

  it('encodes and decodes Deactivate All, also without a source descriptor', () => {
    const b = encodeDeactivateAll({ shareId: 0x000103ea });
    expect(b).toEqual(hex`0d00 1600 ea03  ea030100  0100 00`);
    expect(as(decodeSharePdu(b), 'deactivate_all').deactivateAll).toEqual({ shareId: 0x000103ea, sourceDescriptor: '' });
    expect(as(decodeSharePdu(hex`0a00 1600 ea03 ea030100`), 'deactivate_all').deactivateAll.shareId).toBe(0x000103ea);
  });
});

/**
 * MS-RDPBCGR 4.1.13 Demand Active: the annotated example's body from lengthSourceDescriptor to sessionId
 * (357 bytes; the same vector IronRDP's test suite carries). The Share Control Header and shareId in front
 * are written here: totalLength 367, PDUTYPE_DEMANDACTIVEPDU v1, pduSource 0x03EA, shareId 0x000103EA.
 */
const SPEC_4_1_13 = hex`
  6f01 1100 ea03 ea030100
  # lengthSourceDescriptor 4, lengthCombinedCapabilities 345, "RDP\0", 13 sets, pad
  04005901 52445000 0d000000
  # Share (nodeId 0x03EA)
  09000800 ea03dce2
  # General: Windows NT, protocol 0x0200, extraFlags 0x041D, refreshRect and suppressOutput
  01001800 01000300 00020000 00001d04
  00000000 00000101
  # VirtualChannel: VCCAPS_COMPR_CS_8K, chunk 1600
  14000c00 02000000 40060000
  # DrawGdiPlus
  16002800 00000000 70f613f3 01000000
  01000000 18000000 9cf613f3 61a68280
  00000000 005091bf
  # Font
  0e000800 00010000
  # Bitmap: 24 bpp, 1280x1024, desktop resize
  02001c00 18000100 01000100 00050004
  00000100 01000000 01000000
  # Order
  03005800 00000000 00000000 00000000
  00000000 00000000 01001400 00000100
  00002200 01010101 01000001 01010101
  00000001 01010101 01010100 01010101
  00000000 00000000 00000000 40420f00
  00000000 00000000
  # ColorCache
  0a000800 06000000
  # BitmapCacheHostSupport
  12000800 01000000
  # Pointer
  08000a00 01001900 1900
  # Input
  0d005800 35000000 a1060000 00000000
  0cf613f3 935a37f3 009030e1 341c38f3
  40f613f3 04000000 4c54dce2 0850dce2
  01000000 0850dce2 00000000 38f613f3
  2e0538f3 0850dce2 2cf613f3 00000000
  08000a00 01000000
  # Rail
  17000800 00000000
  # Window
  18000b00 00000000 000000
  # sessionId
  00000000
`;

describe('MS-RDPBCGR 4.1.13 annotated Demand Active', () => {
  it('decodes all 13 sets of a Windows server with its desktop, general and channel facts', () => {
    expect(SPEC_4_1_13.length).toBe(367);
    const d = as(decodeSharePdu(SPEC_4_1_13), 'demand_active').demandActive;
    expect(d.capabilities.map((c) => c.name)).toEqual([
      'Share', 'General', 'VirtualChannel', 'DrawGdiPlus', 'Font', 'Bitmap', 'Order', 'ColorCache', 'BitmapCacheHostSupport', 'Pointer', 'Input', 'Rail', 'Window',
    ]);
    expect(kind(d.capabilities, 'general').general).toMatchObject({
      osMajorTypeName: 'OSMAJORTYPE_WINDOWS',
      osMinorTypeName: 'OSMINORTYPE_WINDOWS_NT',
      protocolVersion: 0x0200,
      extraFlags: 0x041d,
      extraFlagNames: ['FASTPATH_OUTPUT_SUPPORTED', 'LONG_CREDENTIALS_SUPPORTED', 'AUTORECONNECT_SUPPORTED', 'ENC_SALTED_CHECKSUM', 'NO_BITMAP_COMPRESSION_HDR'],
      refreshRectSupport: 1,
      suppressOutputSupport: 1,
    });
    expect(kind(d.capabilities, 'bitmap').bitmap).toMatchObject({ preferredBitsPerPixel: 24, desktopWidth: 1280, desktopHeight: 1024, desktopResizeFlag: 1 });
    expect(kind(d.capabilities, 'virtual_channel').virtualChannel).toEqual({ flags: 2, flagNames: ['VCCAPS_COMPR_CS_8K'], chunkSize: 1600 });
    expect(d.sessionId).toBe(0);
  });

  it('is re-encoded byte for byte from its decoded sets', () => {
    const d = as(decodeSharePdu(SPEC_4_1_13), 'demand_active').demandActive;
    const again = encodeDemandActive({ shareId: d.shareId, capabilities: d.capabilities.map((c) => ({ type: c.type, data: c.data })), sessionId: 0 });
    expect(again).toEqual(SPEC_4_1_13);
  });
});
