/** Offline capture analysis: pcap/pcapng reading, packet decoding and TCP reassembly. */
export { readCapture } from './capture.js';
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
export { reassembleFlows, type Endpoint, type Handshake, type ReassemblyOptions, type TcpFlow } from './tcp-reassembly.js';
export {
  locate,
  reassembleDirection,
  DEFAULT_MAX_STREAM_BYTES,
  type Chunk,
  type DirectionStream,
} from './tcp-stream.js';
export { flowsFromCapture, type FlowsOptions, type FlowsResult } from './flows.js';
