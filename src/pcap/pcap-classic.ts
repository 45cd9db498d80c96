/**
 * Classic libpcap savefile reader, after pcap-savefile(5) and draft-ietf-opsawg-pcap.
 *
 * File header (24 bytes, in the writer's byte order):
 *   magic u32 | version_major u16 | version_minor u16 | thiszone i32 | sigfigs u32 | snaplen u32 | LinkType u32
 * magic 0xA1B2C3D4 means second + microsecond timestamps, 0xA1B23C4D second + nanosecond; read in the
 * other byte order they identify a file written on a machine of the opposite endianness.
 * The LinkType field's low 16 bits are the LINKTYPE_ value; the upper bits carry FCS information.
 *
 * Each record: ts_sec u32 | ts_frac u32 | incl_len u32 | orig_len u32 | incl_len bytes of packet data.
 */
import { DecodeError } from '../protocol/codec/errors.js';
import { OrderedReader, invalid, peekU32 } from './endian.js';
import { memorySource, type ByteSource } from './source.js';
import { PacketSink, type Capture, type Packet } from './types.js';

const PDU = 'pcap';
const FILE_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;
/** libpcap's MAXIMUM_SNAPLEN; a record may exceed it only if the header's snaplen says so. */
const DEFAULT_MAX_RECORD = 262_144;
/** Hard ceiling whatever the header claims. */
const ABSOLUTE_MAX_RECORD = 16 * 1024 * 1024;

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;

/** Identifies a classic pcap magic in either byte order; undefined if the bytes are not one. */
export function classicMagic(bytes: Uint8Array): { littleEndian: boolean; nanoseconds: boolean } | undefined {
  if (bytes.length < 4) return undefined;
  const be = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  const le = ((bytes[3]! << 24) | (bytes[2]! << 16) | (bytes[1]! << 8) | bytes[0]!) >>> 0;
  if (be === PCAP_MAGIC_US) return { littleEndian: false, nanoseconds: false };
  if (be === PCAP_MAGIC_NS) return { littleEndian: false, nanoseconds: true };
  if (le === PCAP_MAGIC_US) return { littleEndian: true, nanoseconds: false };
  if (le === PCAP_MAGIC_NS) return { littleEndian: true, nanoseconds: true };
  return undefined;
}

export function readClassicPcap(bytes: Uint8Array, maxPackets: number): Capture {
  return streamClassicPcap(memorySource(bytes), maxPackets);
}

/**
 * Record by record from `src`; with `onPacket`, each packet is handed on (its data a view valid during the call)
 * instead of collected, so memory does not follow the file's size.
 */
export function streamClassicPcap(src: ByteSource, maxPackets: number, onPacket?: (p: Packet) => void): Capture {
  const first = src.view(0, FILE_HEADER_LEN);
  const magic = classicMagic(first);
  if (!magic) throw invalid(PDU, 0, 'magic', 'not a classic pcap magic number');
  const { littleEndian, nanoseconds } = magic;

  const header = new OrderedReader(first, PDU, littleEndian);
  header.skip(4);
  const major = header.u16();
  header.u16(); // version_minor: 4 in every file written since 1998; older minors use the same layout
  header.skip(8); // thiszone, sigfigs: always 0 in practice and unused by readers
  const snaplen = header.u32();
  const linkType = header.u32() & 0xffff;
  if (major !== 2) {
    throw new DecodeError(PDU, 4, { kind: 'unsupported_value', name: 'version_major', value: major });
  }

  const maxRecord = Math.min(ABSOLUTE_MAX_RECORD, Math.max(DEFAULT_MAX_RECORD, snaplen));
  const fracPerUs = nanoseconds ? 1000 : 1;
  const sink = new PacketSink(maxPackets, onPacket);
  sink.noteLinkType(linkType);

  let pos = FILE_HEADER_LEN;
  for (;;) {
    const h = src.view(pos, RECORD_HEADER_LEN);
    if (h.length === 0) break;
    if (h.length < RECORD_HEADER_LEN) {
      sink.cut(pos);
      break;
    }
    const start = pos;
    const sec = peekU32(h, 0, littleEndian);
    const frac = peekU32(h, 4, littleEndian);
    const inclLen = peekU32(h, 8, littleEndian);
    const origLen = peekU32(h, 12, littleEndian);
    if (inclLen > maxRecord) {
      throw invalid(PDU, start + 8, 'incl_len', `${inclLen} exceeds the maximum record size ${maxRecord}`);
    }
    const dataStart = start + RECORD_HEADER_LEN;
    const data = src.view(dataStart, inclLen);
    if (data.length < inclLen) {
      // Plausible length but the file stops inside this packet: a capture cut while being written.
      sink.cut(start);
      break;
    }
    const added = sink.add({ timestampUs: sec * 1e6 + frac / fracPerUs, linkType, data, originalLength: origLen, interfaceId: 0 }, start);
    if (!added) break;
    pos = dataStart + inclLen;
  }

  return {
    format: 'pcap',
    packets: sink.packets,
    packetCount: sink.count,
    truncated: sink.truncation !== undefined,
    ...(sink.truncation ? { truncation: sink.truncation } : {}),
    linkTypes: sink.linkTypes,
    littleEndian,
  };
}
