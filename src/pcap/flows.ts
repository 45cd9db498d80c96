/**
 * One call from capture-file bytes to reassembled TCP flows: readCapture -> decodePacket ->
 * reassembleFlows. Pure: no file or network access.
 */
import { readCapture } from './capture.js';
import { decodePacket, type TcpSegment } from './decode-packet.js';
import { reassembleFlows, type TcpFlow } from './tcp-reassembly.js';
import type { CaptureFormat } from './types.js';
import { DSB_TLS_KEY_LOG } from './keylog.js';

export interface FlowsOptions {
  /** Keep only flows whose server port is this (and use it to pick the server of mid-stream flows). */
  port?: number;
  /** Per-direction reassembly cap (default 64 MiB). */
  maxBytesPerDirection?: number;
  /** Packet cap for the reader (default 5,000,000). */
  maxPackets?: number;
}

export interface FlowsResult {
  format: CaptureFormat;
  /** Packets read from the file. */
  packets: number;
  flows: TcpFlow[];
  /** UDP datagrams seen (RDP-UDP side channels show up here). */
  udpPackets: number;
  /** Link types the decoder does not handle (each listed once); their packets were skipped. */
  unsupportedLinkTypes: number[];
  /** Packets whose headers were too short or inconsistent to decode. */
  malformedPackets: number;
  /** The capture file ended mid-record or hit the packet limit. */
  truncated: boolean;
  /** The TLS key logs of the file's Decryption Secrets Blocks (pcapng), concatenated. */
  tlsKeyLog?: string;
}

/** Throws only DecodeError (when the bytes are not a readable capture file). */
export function flowsFromCapture(bytes: Uint8Array, opts: FlowsOptions = {}): FlowsResult {
  const capture = readCapture(bytes, opts.maxPackets === undefined ? {} : { maxPackets: opts.maxPackets });
  const segments: TcpSegment[] = [];
  const unsupported: number[] = [];
  let udpPackets = 0;
  let malformedPackets = 0;

  for (const packet of capture.packets) {
    const d = decodePacket(packet);
    switch (d.kind) {
      case 'tcp':
        segments.push(d.segment);
        break;
      case 'udp':
        udpPackets++;
        break;
      case 'unsupported_link':
        if (!unsupported.includes(d.linkType)) unsupported.push(d.linkType);
        break;
      case 'malformed':
        malformedPackets++;
        break;
      case 'other':
        break;
    }
  }

  const reassemblyOpts = {
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.maxBytesPerDirection !== undefined ? { maxBytesPerDirection: opts.maxBytesPerDirection } : {}),
  };
  let flows = reassembleFlows(segments, reassemblyOpts);
  if (opts.port !== undefined) flows = flows.filter((f) => f.server.port === opts.port);

  return {
    format: capture.format,
    packets: capture.packets.length,
    flows,
    udpPackets,
    unsupportedLinkTypes: unsupported,
    malformedPackets,
    truncated: capture.truncated,
    ...tlsKeyLogOf(capture.secrets),
  };
}

function tlsKeyLogOf(secrets: { type: number; data: Uint8Array }[] | undefined): { tlsKeyLog?: string } {
  const logs = (secrets ?? []).filter((s) => s.type === DSB_TLS_KEY_LOG).map((s) => Buffer.from(s.data).toString('latin1'));
  return logs.length > 0 ? { tlsKeyLog: logs.join('\n') } : {};
}
