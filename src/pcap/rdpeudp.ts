/**
 * RDP-UDP (MS-RDPEUDP, the UDP side channel of a multitransport session): the SYN and SYN+ACK datagrams of each UDP
 * flow, told apart from other UDP by their shape, and summarised per flow: who offered which version and MTUs,
 * whether the server answered, and how many datagrams followed. Only the handshake is decoded; the data after it
 * (RDPEUDP's reliable/lossy transport, or RDPEUDP2 for version 3) is counted, not read.
 *
 * Wire (network byte order): RDPUDP_FEC_HEADER (2.2.2.1) snSourceAck u32 | uReceiveWindowSize u16 | uFlags u16,
 * then in a SYN or SYN+ACK: RDPUDP_SYNDATA_PAYLOAD (2.2.2.5) snInitialSequenceNumber u32 | uUpStreamMtu u16 |
 * uDownStreamMtu u16; RDPUDP_CORRELATION_ID_PAYLOAD (2.2.2.8, 32 bytes) when CORRELATION_ID is set;
 * RDPUDP_SYNDATAEX_PAYLOAD (2.2.2.7) uSynExFlags u16 | uUdpVer u16 (| cookieHash 32 bytes for version 3) when SYNEX is.
 */
import { DecodeError } from '../protocol/codec/errors.js';
import { ByteReader } from '../protocol/codec/reader.js';
import { formatHostPort } from '../probe/host-port.js';
import type { UdpDatagram } from './decode-packet.js';

export const RDPUDP_FLAG = {
  SYN: 0x0001,
  FIN: 0x0002,
  ACK: 0x0004,
  DATA: 0x0008,
  FEC: 0x0010,
  CN: 0x0020,
  CWR: 0x0040,
  SACK_OPTION: 0x0080,
  ACK_OF_ACKS: 0x0100,
  SYNLOSSY: 0x0200,
  ACKDELAYED: 0x0400,
  CORRELATION_ID: 0x0800,
  SYNEX: 0x1000,
} as const;

const VERSIONS: Record<number, string> = {
  0x0001: 'RDPUDP_PROTOCOL_VERSION_1',
  0x0002: 'RDPUDP_PROTOCOL_VERSION_2',
  0x0101: 'RDPUDP_PROTOCOL_VERSION_3 (MS-RDPEUDP2)',
};
/** MS-RDPEUDP 2.2.2.5: both MTUs lie in [1132, 1232]. */
const MIN_MTU = 1132;
const MAX_MTU = 1232;

export interface RdpUdpSyn {
  ack: boolean;
  lossy: boolean;
  initialSequenceNumber: number;
  upstreamMtu: number;
  downstreamMtu: number;
  correlationId?: string;
  /** uUdpVer of the SYNDATAEX payload, when there is one. */
  version?: number;
}

/** The SYN or SYN+ACK of RDP-UDP, or undefined for any other datagram (RDP-UDP data, or not RDP-UDP at all). */
export function decodeRdpUdpSyn(b: Uint8Array): RdpUdpSyn | undefined {
  if (b.length < 16) return undefined;
  try {
    const r = new ByteReader(b, 'RDPUDP');
    const sourceAck = r.u32be();
    r.u16be(); // uReceiveWindowSize
    const flags = r.u16be();
    if (!(flags & RDPUDP_FLAG.SYN)) return undefined;
    const ack = (flags & RDPUDP_FLAG.ACK) !== 0;
    // The client's SYN acknowledges nothing yet (snSourceAck -1).
    if (!ack && sourceAck !== 0xffffffff) return undefined;
    const initialSequenceNumber = r.u32be();
    const upstreamMtu = r.u16be();
    const downstreamMtu = r.u16be();
    if (upstreamMtu < MIN_MTU || upstreamMtu > MAX_MTU || downstreamMtu < MIN_MTU || downstreamMtu > MAX_MTU) return undefined;
    const syn: RdpUdpSyn = { ack, lossy: (flags & RDPUDP_FLAG.SYNLOSSY) !== 0, initialSequenceNumber, upstreamMtu, downstreamMtu };
    if (flags & RDPUDP_FLAG.CORRELATION_ID) {
      const id = r.bytesN(16);
      r.skip(16); // reserved
      syn.correlationId = Buffer.from(id).toString('hex');
    }
    if (flags & RDPUDP_FLAG.SYNEX) {
      r.u16be(); // uSynExFlags (RDPUDP_VERSION_INFO_VALID)
      syn.version = r.u16be();
    }
    return syn;
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}

export function rdpUdpVersionName(v: number): string {
  return VERSIONS[v] ?? `unknown version 0x${v.toString(16).padStart(4, '0')}`;
}

/** One UDP flow that carried an RDP-UDP handshake (or RDP-UDP-port datagrams without one). */
export interface RdpUdpFlow {
  client: string;
  server: string;
  firstFrame: number;
  lastFrame: number;
  /** The client's SYNs: frames, and what the first one offered. */
  syn?: { frames: number[]; version?: string; upstreamMtu: number; downstreamMtu: number; lossy: boolean; correlationId?: string };
  /** The server's SYN+ACK, when it answered. */
  synAck?: { frame: number; ms: number; version?: string; upstreamMtu: number; downstreamMtu: number };
  answered: boolean;
  datagrams: { client: number; server: number };
  summary: string;
}

interface Live {
  flow: RdpUdpFlow;
  clientKey: string;
  startUs: number;
  lastUs: number;
}

/** Bounds: tracked flows, and SYN frames listed per flow. */
const MAX_UDP_FLOWS = 10_000;
const MAX_SYN_FRAMES = 32;

/** UDP datagrams in capture order in, RDP-UDP flows out (in order of their first datagram). */
export class RdpUdpTracker {
  private readonly flows = new Map<string, Live>();
  /** Flows not tracked because MAX_UDP_FLOWS were already. */
  untracked = 0;

  constructor(private readonly port = 3389) {}

  push(d: UdpDatagram): void {
    const from = formatHostPort(d.src, d.srcPort);
    const to = formatHostPort(d.dst, d.dstPort);
    const key = from < to ? `${from} ${to}` : `${to} ${from}`;
    let live = this.flows.get(key);
    const syn = decodeRdpUdpSyn(d.payload);
    if (!live) {
      if (!syn && d.srcPort !== this.port && d.dstPort !== this.port) return;
      if (this.flows.size >= MAX_UDP_FLOWS) {
        this.untracked++;
        return;
      }
      // Without a SYN in the capture, the end on the RDP port is the server.
      const clientIsSender = syn ? !syn.ack : d.dstPort === this.port;
      live = {
        flow: { client: clientIsSender ? from : to, server: clientIsSender ? to : from, firstFrame: d.frame, lastFrame: d.frame, answered: false, datagrams: { client: 0, server: 0 }, summary: '' },
        clientKey: clientIsSender ? from : to,
        startUs: d.timestampUs,
        lastUs: d.timestampUs,
      };
      this.flows.set(key, live);
    }
    const f = live.flow;
    const byClient = from === live.clientKey;
    f.lastFrame = d.frame;
    live.lastUs = d.timestampUs;
    if (byClient) f.datagrams.client++;
    else f.datagrams.server++;
    if (!syn) return;
    const version = syn.version === undefined ? {} : { version: rdpUdpVersionName(syn.version) };
    if (byClient && !syn.ack) {
      if (!f.syn) f.syn = { frames: [d.frame], ...version, upstreamMtu: syn.upstreamMtu, downstreamMtu: syn.downstreamMtu, lossy: syn.lossy, ...(syn.correlationId ? { correlationId: syn.correlationId } : {}) };
      else if (f.syn.frames.length < MAX_SYN_FRAMES) f.syn.frames.push(d.frame);
    } else if (!byClient && syn.ack && !f.synAck) {
      f.synAck = { frame: d.frame, ms: round((d.timestampUs - live.startUs) / 1000), ...version, upstreamMtu: syn.upstreamMtu, downstreamMtu: syn.downstreamMtu };
      f.answered = true;
    }
  }

  /** The flows, each with its one-line summary. */
  finish(): RdpUdpFlow[] {
    const out: RdpUdpFlow[] = [];
    for (const live of this.flows.values()) {
      const f = live.flow;
      const span = ((live.lastUs - live.startUs) / 1e6).toFixed(1);
      const kind = f.syn?.lossy ? 'lossy (UDP-L)' : 'reliable (UDP-R)';
      if (f.syn && f.synAck) {
        f.summary = `RDP-UDP ${kind} handshake answered: the client offered ${f.syn.version ?? 'no version (version 1)'}, the server chose ${f.synAck.version ?? 'version 1'} with MTU ${f.synAck.upstreamMtu}/${f.synAck.downstreamMtu} (frame #${f.synAck.frame}, ${f.synAck.ms} ms after the SYN); ${f.datagrams.client + f.datagrams.server} datagrams in all`;
      } else if (f.syn) {
        f.summary = `RDP-UDP ${kind} handshake not answered: ${f.syn.frames.length} SYN(s) over ${span} s (frames ${f.syn.frames.slice(0, 8).join(', ')}), no SYN+ACK from the server (UDP to ${f.server} blocked on the way, or RDP-UDP turned off on the server): the client carries on over TCP alone`;
      } else if (f.synAck) {
        f.summary = `RDP-UDP: the server's SYN+ACK (frame #${f.synAck.frame}, ${f.synAck.version ?? 'version 1'}) without the client's SYN in the capture`;
      } else {
        f.summary = `RDP-UDP port datagrams without a handshake in the capture (it starts mid-flow): ${f.datagrams.client} from the client, ${f.datagrams.server} from the server`;
      }
      out.push(f);
    }
    return out;
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
