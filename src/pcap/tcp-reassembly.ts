/**
 * Groups decoded TCP segments into connections and reassembles both directions of each.
 *
 * Connections: segments are keyed by their unordered 4-tuple. A SYN (without ACK) starts a new connection
 * on that 4-tuple unless it repeats the current connection's SYN (same sender, same ISN, no FIN seen yet):
 * so SYN retransmissions, including the SYN retries some stacks send after an RST, stay in one flow,
 * while a reused 4-tuple after FIN/RST gets a new flow. A SYN/ACK on a connection already closed by FIN
 * or RST also starts a new one unless it repeats that connection's SYN/ACK.
 *
 * Roles: the sender of the SYN without ACK is the client; failing that, the sender of the SYN/ACK is the
 * server; for a capture that starts mid-stream the server is the side whose port is `opts.port`, else
 * 3389, else the lower port (a well-known one, or at least not from the ephemeral range).
 *
 * Per-direction reassembly rules (gaps, duplicates, wrap-around, byte limit) are in tcp-stream.ts.
 */
import type { TcpSegment } from './decode-packet.js';
import { DEFAULT_MAX_STREAM_BYTES, reassembleDirection, type Chunk } from './tcp-stream.js';

export { locate, type Chunk } from './tcp-stream.js';

export interface Endpoint {
  address: string;
  port: number;
}

/**
 * - complete: SYN/ACK and then the client's ACK seen (or the server sent data after a SYN whose SYN/ACK
 *   was not captured);
 * - syn_synack: SYN answered by SYN/ACK, but no ACK from the client followed (client reset, capture cut);
 * - syn_rst: SYN answered by RST (port closed / connection refused);
 * - syn_only: SYN(s) and no answer at all (filtered, host down, capture cut);
 * - none: no SYN from the client in the capture (it starts mid-stream).
 */
export type Handshake = 'complete' | 'syn_synack' | 'syn_only' | 'syn_rst' | 'none';

export interface TcpFlow {
  /** 1-based, in order of the flows' first frames. */
  id: number;
  client: Endpoint;
  server: Endpoint;
  /** How client and server were told apart. */
  roleEvidence: 'syn' | 'syn_ack' | 'port';
  firstFrame: number;
  lastFrame: number;
  startUs: number;
  endUs: number;
  /** Number of TCP segments in the flow. */
  segments: number;
  handshake: Handshake;
  /** Frames of the client's SYNs (the first one and its retransmissions). */
  synFrames: number[];
  clientBytes: Uint8Array;
  serverBytes: Uint8Array;
  clientChunks: Chunk[];
  serverChunks: Chunk[];
  end: { fin?: 'client' | 'server' | 'both'; rst?: 'client' | 'server'; rstFrame?: number };
  /** The first FIN and the first RST each side sent, in capture order: who closed, and when. */
  closes: { by: 'client' | 'server'; how: 'fin' | 'rst'; frame: number; timestampUs: number }[];
  /** Holes in both directions together; each direction's bytes stop at its first hole. */
  gaps: number;
  /** Offsets where clientBytes / serverBytes stop because of a hole. */
  clientGapAt?: number;
  serverGapAt?: number;
  /** A direction exceeded maxBytesPerDirection; the excess was dropped. */
  truncated: boolean;
}

export interface ReassemblyOptions {
  /** The service port, used to tell the server when the handshake is not in the capture. */
  port?: number;
  /** Cap per direction; default 64 MiB. */
  maxBytesPerDirection?: number;
}

const RDP_PORT = 3389;

interface FlowBuilder {
  segments: TcpSegment[];
  clientSyn?: { sender: string; seq: number };
  synAck?: { sender: string; seq: number };
  closed: boolean;
  finSeen: boolean;
}

function endpointKey(address: string, port: number): string {
  return `${address}|${port}`;
}

/** Segments must be given in capture order. */
export function reassembleFlows(segments: Iterable<TcpSegment>, opts: ReassemblyOptions = {}): TcpFlow[] {
  const current = new Map<string, FlowBuilder>();
  const builders: FlowBuilder[] = [];

  for (const seg of segments) {
    const from = endpointKey(seg.src, seg.srcPort);
    const to = endpointKey(seg.dst, seg.dstPort);
    const key = from < to ? `${from}>${to}` : `${to}>${from}`;
    let flow = current.get(key);
    const isSyn = seg.flags.syn && !seg.flags.ack;
    const isSynAck = seg.flags.syn && seg.flags.ack;

    if (flow && isSyn) {
      const s = flow.clientSyn;
      if (!(s && s.sender === from && s.seq === seg.seq && !flow.finSeen)) flow = undefined;
    } else if (flow && isSynAck && flow.closed) {
      const s = flow.synAck;
      if (!(s && s.sender === from && s.seq === seg.seq)) flow = undefined;
    }
    if (!flow) {
      flow = { segments: [], closed: false, finSeen: false };
      current.set(key, flow);
      builders.push(flow);
    }

    flow.segments.push(seg);
    if (isSyn) flow.clientSyn ??= { sender: from, seq: seg.seq };
    if (isSynAck) flow.synAck ??= { sender: from, seq: seg.seq };
    if (seg.flags.fin) flow.finSeen = true;
    if (seg.flags.fin || seg.flags.rst) flow.closed = true;
  }

  const maxBytes = opts.maxBytesPerDirection ?? DEFAULT_MAX_STREAM_BYTES;
  return builders.map((b, i) => buildFlow(i + 1, b, opts.port, maxBytes));
}

function buildFlow(id: number, b: FlowBuilder, port: number | undefined, maxBytes: number): TcpFlow {
  const first = b.segments[0]!;
  const last = b.segments[b.segments.length - 1]!;
  const a: Endpoint = { address: first.src, port: first.srcPort };
  const z: Endpoint = { address: first.dst, port: first.dstPort };
  const aKey = endpointKey(a.address, a.port);

  let clientIsA: boolean;
  let roleEvidence: TcpFlow['roleEvidence'];
  if (b.clientSyn) {
    clientIsA = b.clientSyn.sender === aKey;
    roleEvidence = 'syn';
  } else if (b.synAck) {
    clientIsA = b.synAck.sender !== aKey;
    roleEvidence = 'syn_ack';
  } else {
    clientIsA = !isServerPort(a.port, z.port, port);
    roleEvidence = 'port';
  }
  const client = clientIsA ? a : z;
  const server = clientIsA ? z : a;
  const clientKey = endpointKey(client.address, client.port);

  const fromClient: TcpSegment[] = [];
  const fromServer: TcpSegment[] = [];
  const synFrames: number[] = [];
  let synAckSeen = false;
  let clientAcked = false;
  let serverRst = false;
  let serverOther = false;
  let finClient = false;
  let finServer = false;
  let rst: { by: 'client' | 'server'; frame: number } | undefined;
  const closes: TcpFlow['closes'] = [];
  const noteClose = (by: 'client' | 'server', how: 'fin' | 'rst', s: TcpSegment): void => {
    if (!closes.some((c) => c.by === by && c.how === how)) closes.push({ by, how, frame: s.frame, timestampUs: s.timestampUs });
  };

  for (const s of b.segments) {
    const isClient = endpointKey(s.src, s.srcPort) === clientKey;
    (isClient ? fromClient : fromServer).push(s);
    if (isClient) {
      if (s.flags.syn && !s.flags.ack) synFrames.push(s.frame);
      else if (synAckSeen && s.flags.ack && !s.flags.syn && !s.flags.rst) clientAcked = true;
      if (s.flags.fin) finClient = true;
    } else {
      if (s.flags.syn && s.flags.ack) synAckSeen = true;
      else if (s.flags.rst) serverRst = true;
      else serverOther = true;
      if (s.flags.fin) finServer = true;
    }
    if (s.flags.rst && !rst) rst = { by: isClient ? 'client' : 'server', frame: s.frame };
    if (s.flags.fin) noteClose(isClient ? 'client' : 'server', 'fin', s);
    if (s.flags.rst) noteClose(isClient ? 'client' : 'server', 'rst', s);
  }

  let handshake: Handshake;
  if (synFrames.length === 0) handshake = synAckSeen && clientAcked ? 'complete' : 'none';
  else if (synAckSeen) handshake = clientAcked ? 'complete' : 'syn_synack';
  else if (serverOther) handshake = 'complete';
  else if (serverRst) handshake = 'syn_rst';
  else handshake = 'syn_only';

  const c = reassembleDirection(fromClient, maxBytes);
  const sv = reassembleDirection(fromServer, maxBytes);
  const end: TcpFlow['end'] = {};
  if (finClient || finServer) end.fin = finClient && finServer ? 'both' : finClient ? 'client' : 'server';
  if (rst) {
    end.rst = rst.by;
    end.rstFrame = rst.frame;
  }

  const flow: TcpFlow = {
    closes,
    id,
    client,
    server,
    roleEvidence,
    firstFrame: first.frame,
    lastFrame: last.frame,
    startUs: first.timestampUs,
    endUs: last.timestampUs,
    segments: b.segments.length,
    handshake,
    synFrames,
    clientBytes: c.bytes,
    serverBytes: sv.bytes,
    clientChunks: c.chunks,
    serverChunks: sv.chunks,
    end,
    gaps: c.gaps + sv.gaps,
    truncated: c.truncated || sv.truncated,
  };
  if (c.gapAt !== undefined) flow.clientGapAt = c.gapAt;
  if (sv.gapAt !== undefined) flow.serverGapAt = sv.gapAt;
  return flow;
}

/** Mid-stream role guess: is `p` (rather than `q`) the server's port? */
function isServerPort(p: number, q: number, preferred: number | undefined): boolean {
  for (const wanted of [preferred, RDP_PORT]) {
    if (wanted === undefined || p === q) continue;
    if (p === wanted) return true;
    if (q === wanted) return false;
  }
  return p < q; // well-known (< 1024) and registered ports sort below the ephemeral range
}
