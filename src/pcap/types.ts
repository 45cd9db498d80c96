/** Shared result types of the capture-file readers (classic pcap and pcapng). */

export type CaptureFormat = 'pcap' | 'pcapng';

export interface Packet {
  /** 1-based frame number, counted over the whole file (all sections), as Wireshark numbers frames. */
  index: number;
  /**
   * Microseconds since 1970-01-01 UTC (fractional for finer resolutions). pcapng Simple Packet Blocks
   * carry no timestamp: they repeat the previous packet's timestamp (0 if none).
   */
  timestampUs: number;
  /** LINKTYPE_* value (the low 16 bits of the pcap header's LinkType field, or the IDB's LinkType). */
  linkType: number;
  /** Captured bytes: a view into the input buffer, not a copy. */
  data: Uint8Array;
  /** Length of the packet on the wire; larger than data.length when the snapshot length cut it. */
  originalLength: number;
  /** pcapng interface number within its section (always 0 for classic pcap). */
  interfaceId: number;
}

export type TruncationReason =
  /** The file ends inside a record/block header or its body (typical of a capture still being written). */
  | 'cut_record'
  /** More packets than ReadCaptureOptions.maxPackets; the rest was not read. */
  | 'packet_limit';

export interface Capture {
  format: CaptureFormat;
  /** The packets, when collected (empty when they were streamed to a callback). */
  packets: Packet[];
  /** Packets read (collected or streamed). */
  packetCount: number;
  /** True when reading stopped before the end of the file; see `truncation`. */
  truncated: boolean;
  truncation?: { reason: TruncationReason; offset: number };
  /** Distinct link types of the file (classic pcap: one; pcapng: one per IDB), in first-seen order. */
  linkTypes: number[];
  /** Byte order of the file header (first section for pcapng). */
  littleEndian: boolean;
  /** pcapng Decryption Secrets Blocks (type 0x0A), in file order: secrets type and the secrets data. */
  secrets?: { type: number; data: Uint8Array }[];
}

export interface ReadCaptureOptions {
  /** Stop after this many packets and mark the capture truncated. Default 5,000,000. */
  maxPackets?: number;
}

export const DEFAULT_MAX_PACKETS = 5_000_000;

/**
 * Collects packets (or hands each one on, when streaming) and enforces the packet limit; shared by both file-format
 * readers. A streamed packet's data is a view into the reader's buffer, valid only during the call.
 */
export class PacketSink {
  readonly packets: Packet[] = [];
  readonly linkTypes: number[] = [];
  truncation: Capture['truncation'];
  count = 0;

  constructor(
    private readonly maxPackets: number,
    private readonly onPacket?: (p: Packet) => void,
  ) {}

  get full(): boolean {
    return this.count >= this.maxPackets;
  }

  noteLinkType(linkType: number): void {
    if (!this.linkTypes.includes(linkType)) this.linkTypes.push(linkType);
  }

  /** Returns false (and records the truncation) when the limit is reached before adding. */
  add(p: Omit<Packet, 'index'>, offset: number): boolean {
    if (this.full) {
      this.truncation = { reason: 'packet_limit', offset };
      return false;
    }
    this.count++;
    const packet: Packet = { index: this.count, timestampUs: p.timestampUs, linkType: p.linkType, data: p.data, originalLength: p.originalLength, interfaceId: p.interfaceId };
    if (this.onPacket) this.onPacket(packet);
    else this.packets.push(packet);
    return true;
  }

  cut(offset: number): void {
    this.truncation = { reason: 'cut_record', offset };
  }
}
