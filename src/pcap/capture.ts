/**
 * Entry point for capture files: detects classic pcap (pcap-savefile(5)) or pcapng
 * (draft-ietf-opsawg-pcapng) by the first four bytes and hands over to the matching reader.
 *
 * Error policy (both formats):
 * - a file that is not a capture, or whose headers are inconsistent (unknown magic, version, a record or
 *   block length beyond the format's sane maximum, a block trailer that does not repeat its length, a
 *   packet block naming an undeclared interface) => DecodeError whose path starts with 'capture';
 * - a record or block with a plausible length that runs past the end of the file, or a file ending inside a
 *   record header => no error: the packets before it are returned with `truncated: true`
 *   (tcpdump -w / dumpcap files copied while still being written end like this);
 * - more than `maxPackets` packets => the first maxPackets are returned with `truncated: true`.
 */
import { DecodeError, nested } from '../protocol/codec/errors.js';
import { classicMagic, streamClassicPcap } from './pcap-classic.js';
import { PCAPNG_SHB_TYPE, streamPcapng } from './pcapng.js';
import { peekU32 } from './endian.js';
import { memorySource, type ByteSource } from './source.js';
import { DEFAULT_MAX_PACKETS, type Capture, type Packet, type ReadCaptureOptions } from './types.js';

export interface StreamCaptureOptions extends ReadCaptureOptions {
  onPacket?: (p: Packet) => void;
  /** Each pcapng Decryption Secrets Block as it is read (before the packets after it). */
  onSecrets?: (s: { type: number; data: Uint8Array }) => void;
}

export type { Capture, CaptureFormat, Packet, ReadCaptureOptions, TruncationReason } from './types.js';

export function readCapture(bytes: Uint8Array, opts: ReadCaptureOptions = {}): Capture {
  return streamCapture(memorySource(bytes), opts);
}

/**
 * The same, from any byte source; with `opts.onPacket` the packets are handed on one at a time (each packet's data
 * is a view valid only during the call) and `packets` stays empty: memory is a window of the file, not the file.
 */
export function streamCapture(src: ByteSource, opts: StreamCaptureOptions = {}): Capture {
  const maxPackets = Math.max(0, opts.maxPackets ?? DEFAULT_MAX_PACKETS);
  const bytes = src.view(0, 4);
  if (bytes.length < 4) {
    throw new DecodeError('capture', 0, { kind: 'not_enough_bytes', received: bytes.length, expected: 4 });
  }
  if (classicMagic(bytes)) return nested('capture', 0, () => streamClassicPcap(src, maxPackets, opts.onPacket));
  if (peekU32(bytes, 0, true) === PCAPNG_SHB_TYPE) return nested('capture', 0, () => streamPcapng(src, maxPackets, opts.onPacket, opts.onSecrets));
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    throw new DecodeError('capture', 0, { kind: 'unsupported_value', name: 'format', value: 'gzip-compressed file' });
  }
  throw new DecodeError('capture', 0, {
    kind: 'unexpected_type',
    got: `magic ${Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('')}`,
    expected: 'pcap (a1b2c3d4 / a1b23c4d, either byte order) or pcapng (0a0d0d0a)',
  });
}
