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
  packets: Packet[];
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

/** Collects packets and enforces the packet limit; shared by both file-format readers. */
export class PacketSink {
  readonly packets: Packet[] = [];
  readonly linkTypes: number[] = [];
  truncation: Capture['truncation'];

  constructor(private readonly maxPackets: number) {}

  get full(): boolean {
    return this.packets.length >= this.maxPackets;
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
    this.packets.push({ index: this.packets.length + 1, ...p });
    return true;
  }

  cut(offset: number): void {
    this.truncation = { reason: 'cut_record', offset };
  }
}
