/** Offline capture analysis: pcap/pcapng reading, packet decoding and TCP reassembly. */
export { readCapture, streamCapture, type StreamCaptureOptions } from './capture.js';
export { FileSource, memorySource, type ByteSource } from './source.js';
export type { Capture, CaptureFormat, Packet, ReadCaptureOptions, TruncationReason } from './types.js';
export { DEFAULT_MAX_PACKETS } from './types.js';
export {
  decodePacket,
  tcpSegmentOf,
  LINKTYPE,
  type DecodedPacket,
  type TcpFlags,
  type TcpSegment,
  type UdpDatagram,
} from './decode-packet.js';
export { formatIpv4, formatIpv6 } from './address.js';
export { FlowTracker, reassembleFlows, type FlowTrackerOptions, type Endpoint, type Handshake, type ReassemblyOptions, type TcpFlow } from './tcp-reassembly.js';
export {
  locate,
  reassembleDirection,
  DEFAULT_MAX_STREAM_BYTES,
  type Chunk,
  type DirectionStream,
} from './tcp-stream.js';
export { flowsFromCapture, type FlowsOptions, type FlowsResult } from './flows.js';
export { analyzeCapture, analyzeSource, MAX_SYN_ONLY_REPORTS, type AnalyzeOptions, type CaptureAnalysis, type SynOnlySummary } from './analyze.js';
