/**
 * pcapng reader, after the IETF OPSAWG draft "PCAP Next Generation (pcapng) Capture File Format"
 * (draft-ietf-opsawg-pcapng).
 *
 * Every block: Block Type u32 | Block Total Length u32 | body | Block Total Length u32, padded to 32 bits,
 * in the byte order of the enclosing Section Header Block (SHB). The SHB's type 0x0A0D0D0A reads the same
 * in both orders; its Byte-Order Magic 0x1A2B3C4D tells the order of the rest of the section.
 *
 * Read here: SHB (type 0x0A0D0D0A; Section Length may be -1 = unknown), Interface Description Block
 * (1: LinkType, SnapLen, options if_tsresol (9) and if_tsoffset (14)), Enhanced Packet Block (6),
 * Simple Packet Block (3), the obsolete Packet Block (2) and Decryption Secrets Blocks (0x0A: Secrets Type u32,
 * Secrets Length u32, the secrets, padding, options; returned as they are, the TLS key log is 0x544C534B). Every
 * other block (Name Resolution 4, Interface Statistics 5, custom 0xBAD / 0x40000BAD, ...) is skipped by its
 * length. A new SHB starts a new section: interface numbers restart and the byte order may change.
 */
import { DecodeError } from '../protocol/codec/errors.js';
import { OrderedReader, atFileOffset, invalid, peekU32 } from './endian.js';
import { memorySource, type ByteSource } from './source.js';
import { PacketSink, type Capture, type Packet } from './types.js';

const PDU = 'pcapng';
export const PCAPNG_SHB_TYPE = 0x0a0d0d0a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const BLOCK_OVERHEAD = 12;
const MIN_SHB_LEN = 28;
/** Same ceiling Wireshark applies to one block; anything larger is taken as corruption. */
const MAX_BLOCK_LEN = 16 * 1024 * 1024;

const BlockType = {
  InterfaceDescription: 1,
  ObsoletePacket: 2,
  SimplePacket: 3,
  EnhancedPacket: 6,
  DecryptionSecrets: 0x0a,
} as const;

const OPT_END = 0;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;

interface Interface {
  linkType: number;
  snaplen: number;
  /** Timestamp units per second (if_tsresol; default 10^6). */
  unitsPerSec: bigint;
  /** if_tsoffset: seconds added to every timestamp of this interface. */
  offsetSec: bigint;
}

interface Section {
  littleEndian: boolean;
  interfaces: Interface[];
}

export function readPcapng(bytes: Uint8Array, maxPackets: number): Capture {
  return streamPcapng(memorySource(bytes), maxPackets);
}

/**
 * Block by block from `src`; with `onPacket`, each packet is handed on (its data a view valid during the call)
 * instead of collected. Decryption Secrets are copied out, and `onSecrets` hears each one as it is read.
 */
export function streamPcapng(src: ByteSource, maxPackets: number, onPacket?: (p: Packet) => void, onSecrets?: (s: { type: number; data: Uint8Array }) => void): Capture {
  const sink = new PacketSink(maxPackets, onPacket);
  let section: Section | undefined;
  let firstLittleEndian: boolean | undefined;
  let lastTimestampUs = 0;
  let pos = 0;
  const secrets: { type: number; data: Uint8Array }[] = [];

  for (;;) {
    const head = src.view(pos, MIN_SHB_LEN);
    if (head.length === 0) break;
    if (head.length < BLOCK_OVERHEAD) {
      if (pos === 0) throw notEvenAHeader(head.length, BLOCK_OVERHEAD);
      sink.cut(pos);
      break;
    }
    const start = pos;
    const type = peekU32(head, 0, true); // the SHB type is a palindrome; others are re-read below
    let littleEndian: boolean;
    if (type === PCAPNG_SHB_TYPE) {
      const bom = peekU32(head, 8, true);
      if (bom === BYTE_ORDER_MAGIC) littleEndian = true;
      else if (peekU32(head, 8, false) === BYTE_ORDER_MAGIC) littleEndian = false;
      else throw invalid(PDU, start + 8, 'byte_order_magic', 'neither 0x1A2B3C4D nor its byte swap');
    } else if (section) {
      littleEndian = section.littleEndian;
    } else {
      throw invalid(PDU, start, 'block_type', 'the first block is not a Section Header Block');
    }

    const blockType = peekU32(head, 0, littleEndian);
    const totalLen = peekU32(head, 4, littleEndian);
    if (totalLen < BLOCK_OVERHEAD || totalLen % 4 !== 0 || totalLen > MAX_BLOCK_LEN) {
      throw invalid(PDU, start + 4, 'block_total_length', `${totalLen} is not a valid block length`);
    }
    const block = src.view(start, totalLen);
    if (block.length < totalLen) {
      if (start === 0) throw notEvenAHeader(block.length, totalLen);
      sink.cut(start);
      break;
    }
    const trailer = peekU32(block, totalLen - 4, littleEndian);
    if (trailer !== totalLen) {
      throw invalid(PDU, start + totalLen - 4, 'block_total_length', `trailer ${trailer} != header ${totalLen}`);
    }
    const body = block.subarray(8, totalLen - 4);

    if (blockType === PCAPNG_SHB_TYPE) {
      if (totalLen < MIN_SHB_LEN) {
        throw invalid(PDU, start + 4, 'block_total_length', `${totalLen} is too short for a Section Header Block`);
      }
      atFileOffset(PDU, start + 8, () => readSectionHeader(body, littleEndian));
      section = { littleEndian, interfaces: [] };
      firstLittleEndian ??= littleEndian;
    } else if (section) {
      const sec = section;
      const stop = atFileOffset(PDU, start + 8, () => {
        switch (blockType) {
          case BlockType.InterfaceDescription: {
            const iface = readInterface(body, littleEndian);
            sec.interfaces.push(iface);
            sink.noteLinkType(iface.linkType);
            return false;
          }
          case BlockType.EnhancedPacket:
          case BlockType.ObsoletePacket:
          case BlockType.SimplePacket: {
            const p = readPacketBlock(blockType, body, sec, lastTimestampUs);
            lastTimestampUs = p.timestampUs;
            return !sink.add(p, start);
          }
          case BlockType.DecryptionSecrets: {
            const r = new OrderedReader(body, 'DSB', littleEndian);
            const type = r.u32();
            const len = r.u32();
            const s = { type, data: r.bytesN(len).slice() };
            secrets.push(s);
            onSecrets?.(s);
            return false;
          }
          default:
            return false; // NRB, ISB, custom and unknown blocks: skipped by length
        }
      });
      if (stop) break;
    }
    pos = start + totalLen;
  }

  return {
    format: 'pcapng',
    packets: sink.packets,
    packetCount: sink.count,
    truncated: sink.truncation !== undefined,
    ...(sink.truncation ? { truncation: sink.truncation } : {}),
    linkTypes: sink.linkTypes,
    littleEndian: firstLittleEndian ?? true,
    ...(secrets.length > 0 ? { secrets } : {}),
  };
}

/** A file whose very first Section Header Block is incomplete has nothing to return. */
function notEvenAHeader(received: number, expected: number): DecodeError {
  return new DecodeError(PDU, 0, { kind: 'not_enough_bytes', received, expected });
}

function readSectionHeader(body: Uint8Array, littleEndian: boolean): void {
  const r = new OrderedReader(body, 'SHB', littleEndian);
  r.u32(); // byte-order magic, already checked
  const major = r.u16();
  r.u16(); // minor: 0 (and the never-released 2) share the layout
  r.i64(); // Section Length: -1 when unknown; not needed for sequential reading
  if (major !== 1) throw new DecodeError('SHB', 4, { kind: 'unsupported_value', name: 'major_version', value: major });
}

function readInterface(body: Uint8Array, littleEndian: boolean): Interface {
  const r = new OrderedReader(body, 'IDB', littleEndian);
  const linkType = r.u16();
  r.u16(); // reserved
  const snaplen = r.u32();
  const iface: Interface = { linkType, snaplen, unitsPerSec: 1_000_000n, offsetSec: 0n };
  readOptions(r, (code, value, at) => {
    if (code === IF_TSRESOL && value.length >= 1) {
      iface.unitsPerSec = tsresolUnits(value[0]!, at);
    } else if (code === IF_TSOFFSET && value.length >= 8) {
      iface.offsetSec = new OrderedReader(value, 'if_tsoffset', littleEndian).i64();
    }
  });
  return iface;
}

/**
 * if_tsresol: most significant bit clear => resolution 10^-v seconds, set => 2^-(v & 0x7f) seconds.
 * Resolutions finer than 10^-18 or 2^-62 are rejected rather than turned into absurd numbers.
 */
function tsresolUnits(v: number, at: number): bigint {
  const exp = v & 0x7f;
  if (v & 0x80) {
    if (exp <= 62) return 1n << BigInt(exp);
  } else if (exp <= 18) {
    return 10n ** BigInt(exp);
  }
  throw new DecodeError('IDB', at, { kind: 'unsupported_value', name: 'if_tsresol', value: v });
}

/** Option list: code u16 | length u16 | value padded to 32 bits, ended by opt_endofopt or the body's end. */
function readOptions(r: OrderedReader, onOption: (code: number, value: Uint8Array, at: number) => void): void {
  while (r.remaining >= 4) {
    const code = r.u16();
    const len = r.u16();
    if (code === OPT_END) return;
    const at = r.offset;
    const value = r.bytesN(len);
    r.skip(Math.min((4 - (len % 4)) % 4, r.remaining));
    onOption(code, value, at);
  }
}

function readPacketBlock(
  type: number,
  body: Uint8Array,
  section: Section,
  lastTimestampUs: number,
): { timestampUs: number; linkType: number; data: Uint8Array; originalLength: number; interfaceId: number } {
  const name = type === BlockType.EnhancedPacket ? 'EPB' : type === BlockType.SimplePacket ? 'SPB' : 'PB';
  const r = new OrderedReader(body, name, section.littleEndian);

  if (type === BlockType.SimplePacket) {
    // SPB: Original Packet Length, then data; captured length = min(original, SnapLen of interface 0, body).
    const iface = interfaceAt(section, 0, name);
    const originalLength = r.u32();
    let capLen = Math.min(originalLength, r.remaining);
    if (iface.snaplen > 0) capLen = Math.min(capLen, iface.snaplen);
    return {
      timestampUs: lastTimestampUs,
      linkType: iface.linkType,
      data: r.bytesN(capLen),
      originalLength,
      interfaceId: 0,
    };
  }

  let interfaceId: number;
  if (type === BlockType.EnhancedPacket) {
    interfaceId = r.u32();
  } else {
    interfaceId = r.u16();
    r.u16(); // drops count
  }
  const iface = interfaceAt(section, interfaceId, name);
  const ts = r.highLow();
  const capLen = r.u32();
  const originalLength = r.u32();
  const data = r.bytesN(capLen);
  return { timestampUs: toMicroseconds(ts.high, ts.low, iface), linkType: iface.linkType, data, originalLength, interfaceId };
}

function interfaceAt(section: Section, id: number, pdu: string): Interface {
  const iface = section.interfaces[id];
  if (!iface) {
    throw new DecodeError(pdu, 0, {
      kind: 'invalid_field',
      field: 'interface_id',
      reason: `${id} but the section has ${section.interfaces.length} interface(s)`,
    });
  }
  return iface;
}

function toMicroseconds(high: number, low: number, iface: Interface): number {
  const offsetUs = iface.offsetSec === 0n ? 0 : Number(iface.offsetSec) * 1e6;
  if (iface.unitsPerSec === 1_000_000n) return high * 0x1_0000_0000 + low + offsetUs;
  const ticks = (BigInt(high) << 32n) | BigInt(low);
  const whole = ticks / iface.unitsPerSec;
  const rest = ticks % iface.unitsPerSec;
  return Number(whole) * 1e6 + (Number(rest) * 1e6) / Number(iface.unitsPerSec) + offsetUs;
}
