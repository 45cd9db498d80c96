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
 *
 * Streaming (FlowTracker): segments are pushed one at a time and each flow is handed on once no segment can join it
 * any more (its 4-tuple was reused, it went idle in capture time, or the capture ended). A flow keeps only what its
 * reassembly needs: its first SYN and its data and FIN segments per direction, up to a byte budget; a flow whose
 * first client bytes the caller does not want is dropped to a few counters; a flow that so far is only a client's
 * SYN (and its retransmissions) is a slot in a compact table, so a SYN scan costs tens of bytes per target.
 */
import type { TcpFlags, TcpSegment } from './decode-packet.js';
import { DEFAULT_MAX_STREAM_BYTES, reassembleDirection, type Chunk } from './tcp-stream.js';
import { flat } from './address.js';

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

export interface FlowTrackerOptions extends ReassemblyOptions {
  /** Each finished flow, once no later segment can join it. */
  onFlow(flow: TcpFlow): void;
  /** Payloads are views into a reused buffer (streamed capture): kept payloads are copied. */
  copyPayloads?: boolean;
  /**
   * Asked once, at the client's first payload bytes, for flows that neither end's port marks (`port`): false drops
   * the flow's bytes (it still counts, and still ends as a flow, but is never handed on); a number keeps it with that
   * many bytes per direction at most (a flow that needs only its first exchanges).
   */
  keep?(f: { client: Endpoint; server: Endpoint; firstClientByte: number }): boolean | number;
  /**
   * Capture-time idle limits after which a flow is handed on before the end: closed (FIN or RST seen), open, and
   * SYN-only. Without them flows are handed on only at the end (batch use).
   */
  idleUs?: { closed: number; open: number; synOnly: number };
  /** SYN-only flows to any other server port are only counted, never handed on (a scan of other ports costs nothing more). */
  synOnlyPort?: number;
}

/** One end of a live flow: what its segments said, and what its reassembly needs. */
interface Side {
  key: string;
  address: string;
  port: number;
  /** Its first SYN, then its data and FIN segments, in capture order. */
  data: TcpSegment[];
  synKept: boolean;
  retained: number;
  /** Frames of its SYNs without ACK. */
  synFrames: number[];
  sentSynAck: boolean;
  /** Sent an ACK (no SYN, no RST) after the other end's SYN/ACK. */
  acked: boolean;
  sentRst: boolean;
  /** Sent anything other than a SYN/ACK or an RST. */
  sentOther: boolean;
  sentFin: boolean;
}

interface LiveFlow {
  id: number;
  key: string;
  /** A: the sender of the flow's first segment. */
  a: Side;
  z: Side;
  firstFrame: number;
  startUs: number;
  lastFrame: number;
  endUs: number;
  count: number;
  clientSyn?: { side: Side; seq: number };
  synAck?: { side: Side; seq: number };
  closed: boolean;
  finSeen: boolean;
  rst?: { side: Side; frame: number };
  closes: { side: Side; how: 'fin' | 'rst'; frame: number; timestampUs: number }[];
  /** 0: not decided, 1: kept, 2: dropped (counters only). */
  state: 0 | 1 | 2;
  /** Bytes kept per direction, when `keep` set a smaller budget than the tracker's. */
  budget?: number;
}

function endpointKey(address: string, port: number): string {
  return `${address}|${port}`;
}

function splitEndpointKey(k: string): Endpoint {
  const bar = k.lastIndexOf('|');
  return { address: k.slice(0, bar), port: Number(k.slice(bar + 1)) };
}

const SYN_ONLY: TcpFlags = { syn: true, ack: false, fin: false, rst: false, psh: false };
const EMPTY = new Uint8Array(0);
/** Segments between two idle sweeps. */
const SWEEP_EVERY = 16_384;

/**
 * Flows whose every segment so far is one client's SYN (same ISN: retransmissions) in struct-of-arrays slots: about
 * 40 bytes a flow plus its key, instead of a flow object with segment objects.
 */
class SynTable {
  readonly slots = new Map<string, number>();
  private cap = 0;
  private free: number[] = [];
  private used = 0;
  id = new Uint32Array(0);
  seq = new Uint32Array(0);
  firstFrame = new Uint32Array(0);
  lastFrame = new Uint32Array(0);
  count = new Uint32Array(0);
  /** 1 when the SYN's sender is the lower endpoint key of the flow key. */
  low = new Uint8Array(0);
  firstUs = new Float64Array(0);
  lastUs = new Float64Array(0);
  /** SYN frames after the first, for slots with retransmissions. */
  readonly more = new Map<number, number[]>();

  add(key: string, id: number, seg: TcpSegment, low: boolean): void {
    let k = this.free.pop();
    if (k === undefined) {
      if (this.used === this.cap) this.grow();
      k = this.used++;
    }
    this.id[k] = id;
    this.seq[k] = seg.seq;
    this.firstFrame[k] = seg.frame;
    this.lastFrame[k] = seg.frame;
    this.count[k] = 1;
    this.low[k] = low ? 1 : 0;
    this.firstUs[k] = seg.timestampUs;
    this.lastUs[k] = seg.timestampUs;
    this.slots.set(flat(key), k);
  }

  repeat(k: number, seg: TcpSegment): void {
    this.count[k]!++;
    this.lastFrame[k] = seg.frame;
    this.lastUs[k] = seg.timestampUs;
    const m = this.more.get(k);
    if (m) m.push(seg.frame);
    else this.more.set(k, [seg.frame]);
  }

  frames(k: number): number[] {
    return [this.firstFrame[k]!, ...(this.more.get(k) ?? [])];
  }

  remove(key: string, k: number): void {
    this.slots.delete(key);
    this.more.delete(k);
    this.free.push(k);
  }

  private grow(): void {
    const n = Math.max(1024, this.cap * 2);
    const g = <T extends Uint32Array | Uint8Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.id = g(this.id, (n) => new Uint32Array(n));
    this.seq = g(this.seq, (n) => new Uint32Array(n));
    this.firstFrame = g(this.firstFrame, (n) => new Uint32Array(n));
    this.lastFrame = g(this.lastFrame, (n) => new Uint32Array(n));
    this.count = g(this.count, (n) => new Uint32Array(n));
    this.low = g(this.low, (n) => new Uint8Array(n));
    this.firstUs = g(this.firstUs, (n) => new Float64Array(n));
    this.lastUs = g(this.lastUs, (n) => new Float64Array(n));
    this.cap = n;
  }
}

/** Segments in capture order in, finished flows out through `onFlow`. */
export class FlowTracker {
  private readonly current = new Map<string, LiveFlow>();
  private readonly syns = new SynTable();
  private nextId = 0;
  private pushed = 0;
  private readonly maxBytes: number;
  /** Retransmitted bytes count against the budget too, so keep twice the stream cap. */
  private readonly retainBytes: number;

  constructor(private readonly opts: FlowTrackerOptions) {
    this.maxBytes = opts.maxBytesPerDirection ?? DEFAULT_MAX_STREAM_BYTES;
    this.retainBytes = this.maxBytes * 2;
  }

  /** Flows started so far (kept, dropped and SYN-only alike). */
  get flows(): number {
    return this.nextId;
  }

  /** Flows held right now: live ones and SYN-only slots. */
  get live(): number {
    return this.current.size + this.syns.slots.size;
  }

  push(seg: TcpSegment): void {
    // Idle is judged against the segment in hand at every SWEEP_EVERY-th segment: a stray timestamp far ahead (merged
    // or re-stamped captures) then misjudges one sweep at most, instead of stopping the clock for the rest.
    if (this.opts.idleUs && ++this.pushed % SWEEP_EVERY === 0) this.sweep(seg.timestampUs);
    // The 4-tuple key "addr|port>addr|port", lower endpoint first; built in one concatenation per segment.
    const low = seg.src < seg.dst || (seg.src === seg.dst && seg.srcPort < seg.dstPort);
    const key = low ? `${seg.src}|${seg.srcPort}>${seg.dst}|${seg.dstPort}` : `${seg.dst}|${seg.dstPort}>${seg.src}|${seg.srcPort}`;
    const f = seg.flags;
    const isSyn = f.syn && !f.ack;
    const isSynAck = f.syn && f.ack;
    const pureSyn = isSyn && !f.fin && !f.rst && seg.payloadLength === 0;

    let flow = this.current.get(key);
    if (!flow) {
      const k = this.syns.slots.get(key);
      if (k !== undefined) {
        if (pureSyn && this.syns.low[k] === (low ? 1 : 0) && this.syns.seq[k] === seg.seq) {
          this.syns.repeat(k, seg);
          return;
        }
        if (isSyn) this.finishSyn(key, k); // a new ISN: a new connection on the same 4-tuple
        else flow = this.promote(key, k);
      }
    }
    if (flow && isSyn) {
      const s = flow.clientSyn;
      if (!(s && isSender(s.side, seg) && s.seq === seg.seq && !flow.finSeen)) flow = this.replace(key, flow);
    } else if (flow && isSynAck && flow.closed) {
      const s = flow.synAck;
      if (!(s && isSender(s.side, seg) && s.seq === seg.seq)) flow = this.replace(key, flow);
    }
    if (!flow) {
      if (pureSyn) {
        this.syns.add(key, ++this.nextId, seg, low);
        return;
      }
      flow = this.open(key, ++this.nextId, seg, endpointKey(seg.src, seg.srcPort), endpointKey(seg.dst, seg.dstPort));
    }
    this.apply(flow, seg, isSyn, isSynAck);
  }

  /**
   * The capture ended: every flow still held is handed on, in the order they started. SYN-only slots are iterated in
   * their table's insertion order, which is their id order, and merged with the (few) live flows: no list of a
   * million entries is built here.
   */
  finish(): void {
    const live = [...this.current.values()].sort((x, y) => x.id - y.id);
    this.current.clear();
    let i = 0;
    for (const [key, k] of this.syns.slots) {
      const id = this.syns.id[k]!;
      while (i < live.length && live[i]!.id < id) this.emit(live[i++]!);
      this.finishSyn(key, k);
    }
    while (i < live.length) this.emit(live[i++]!);
  }

  private sweep(nowUs: number): void {
    const idle = this.opts.idleUs!;
    for (const [key, flow] of this.current) {
      if (nowUs - flow.endUs > (flow.closed ? idle.closed : idle.open)) {
        this.current.delete(key);
        this.emit(flow);
      }
    }
    for (const [key, k] of this.syns.slots) if (nowUs - this.syns.lastUs[k]! > idle.synOnly) this.finishSyn(key, k);
  }

  private replace(key: string, old: LiveFlow): undefined {
    this.current.delete(key);
    this.emit(old);
    return undefined;
  }

  private open(key: string, id: number, seg: TcpSegment, from: string, to: string): LiveFlow {
    const flow: LiveFlow = {
      id,
      key: flat(key),
      a: side(from, seg.src, seg.srcPort),
      z: side(to, seg.dst, seg.dstPort),
      firstFrame: seg.frame,
      startUs: seg.timestampUs,
      lastFrame: seg.frame,
      endUs: seg.timestampUs,
      count: 0,
      closed: false,
      finSeen: false,
      closes: [],
      state: this.opts.keep === undefined || seg.srcPort === this.opts.port || seg.dstPort === this.opts.port ? 1 : 0,
    };
    this.current.set(flow.key, flow);
    return flow;
  }

  /** A SYN-only slot gets a second kind of segment: it becomes a live flow holding its SYNs. */
  private promote(key: string, k: number): LiveFlow {
    const t = this.syns;
    const [lo, hi] = key.split('>') as [string, string];
    const fromKey = t.low[k] ? lo : hi;
    const toKey = t.low[k] ? hi : lo;
    const src = splitEndpointKey(fromKey);
    const dst = splitEndpointKey(toKey);
    const frames = t.frames(k);
    const syn: TcpSegment = {
      frame: t.firstFrame[k]!,
      timestampUs: t.firstUs[k]!,
      src: src.address,
      dst: dst.address,
      srcPort: src.port,
      dstPort: dst.port,
      seq: t.seq[k]!,
      ack: 0,
      flags: SYN_ONLY,
      payload: EMPTY,
      payloadLength: 0,
      ipVersion: src.address.includes(':') ? 6 : 4,
    };
    const flow = this.open(key, t.id[k]!, syn, fromKey, toKey);
    flow.count = t.count[k]!;
    flow.lastFrame = t.lastFrame[k]!;
    flow.endUs = t.lastUs[k]!;
    flow.clientSyn = { side: flow.a, seq: syn.seq };
    flow.a.synFrames = frames;
    flow.a.data.push(syn);
    flow.a.synKept = true;
    flow.a.sentOther = true;
    t.remove(key, k);
    return flow;
  }

  private finishSyn(key: string, k: number): void {
    const t = this.syns;
    const wanted = this.opts.synOnlyPort;
    if (wanted !== undefined && !key.endsWith(`|${wanted}`, t.low[k] ? key.length : key.indexOf('>'))) {
      t.remove(key, k);
      return;
    }
    const [lo, hi] = key.split('>') as [string, string];
    const client = splitEndpointKey(t.low[k] ? lo : hi);
    const server = splitEndpointKey(t.low[k] ? hi : lo);
    const flow: TcpFlow = {
      closes: [],
      id: t.id[k]!,
      client,
      server,
      roleEvidence: 'syn',
      firstFrame: t.firstFrame[k]!,
      lastFrame: t.lastFrame[k]!,
      startUs: t.firstUs[k]!,
      endUs: t.lastUs[k]!,
      segments: t.count[k]!,
      handshake: 'syn_only',
      synFrames: t.frames(k),
      clientBytes: EMPTY,
      serverBytes: EMPTY,
      clientChunks: [],
      serverChunks: [],
      end: {},
      gaps: 0,
      truncated: false,
    };
    t.remove(key, k);
    this.opts.onFlow(flow);
  }

  private apply(flow: LiveFlow, seg: TcpSegment, isSyn: boolean, isSynAck: boolean): void {
    const f = seg.flags;
    const me = isSender(flow.a, seg) ? flow.a : flow.z;
    const peer = me === flow.a ? flow.z : flow.a;
    flow.count++;
    flow.lastFrame = seg.frame;
    flow.endUs = seg.timestampUs;
    if (isSyn) flow.clientSyn ??= { side: me, seq: seg.seq };
    if (isSynAck) flow.synAck ??= { side: me, seq: seg.seq };
    if (f.fin) flow.finSeen = true;
    if (f.fin || f.rst) flow.closed = true;

    if (isSyn) me.synFrames.push(seg.frame);
    else if (peer.sentSynAck && f.ack && !f.syn && !f.rst) me.acked = true;
    if (isSynAck) me.sentSynAck = true;
    else if (f.rst) me.sentRst = true;
    else me.sentOther = true;
    if (f.fin) me.sentFin = true;
    if (f.rst && !flow.rst) flow.rst = { side: me, frame: seg.frame };
    if (f.fin) noteClose(flow, me, 'fin', seg);
    if (f.rst) noteClose(flow, me, 'rst', seg);

    if (flow.state === 0 && seg.payload.length > 0 && !f.rst) {
      const roles = rolesOf(flow, this.opts.port);
      if (me === roles.client) {
        const k = this.opts.keep!({ client: endpointOf(roles.client), server: endpointOf(roles.server), firstClientByte: seg.payload[0]! });
        flow.state = k === false ? 2 : 1;
        if (typeof k === 'number') flow.budget = k;
        if (flow.state === 2) flow.a.data = flow.z.data = [];
      }
    }
    if (flow.state === 2) return;
    let keep: TcpSegment | undefined;
    if (f.syn && !me.synKept) {
      me.synKept = true;
      keep = seg;
    } else if (f.rst) return;
    else if (seg.payloadLength > 0 || f.fin) keep = seg;
    if (!keep) return;
    if (me.retained >= (flow.budget ?? this.retainBytes)) {
      if (!f.fin) return;
      keep = { ...seg, payload: EMPTY };
    } else if (seg.payload.length > 0) {
      me.retained += seg.payload.length;
      if (this.opts.copyPayloads) keep = { ...seg, payload: seg.payload.slice() };
    }
    me.data.push(keep);
  }

  private emit(flow: LiveFlow): void {
    if (flow.state === 2) return;
    this.opts.onFlow(buildFlow(flow, this.opts.port, this.maxBytes));
  }
}

function side(key: string, address: string, port: number): Side {
  return { key, address, port, data: [], synKept: false, retained: 0, synFrames: [], sentSynAck: false, acked: false, sentRst: false, sentOther: false, sentFin: false };
}

function isSender(s: Side, seg: TcpSegment): boolean {
  return s.port === seg.srcPort && s.address === seg.src;
}

function endpointOf(s: Side): Endpoint {
  return { address: s.address, port: s.port };
}

function noteClose(flow: LiveFlow, by: Side, how: 'fin' | 'rst', s: TcpSegment): void {
  if (!flow.closes.some((c) => c.side === by && c.how === how)) flow.closes.push({ side: by, how, frame: s.frame, timestampUs: s.timestampUs });
}

function rolesOf(b: LiveFlow, port: number | undefined): { client: Side; server: Side; roleEvidence: TcpFlow['roleEvidence'] } {
  let clientIsA: boolean;
  let roleEvidence: TcpFlow['roleEvidence'];
  if (b.clientSyn) {
    clientIsA = b.clientSyn.side === b.a;
    roleEvidence = 'syn';
  } else if (b.synAck) {
    clientIsA = b.synAck.side !== b.a;
    roleEvidence = 'syn_ack';
  } else {
    clientIsA = !isServerPort(b.a.port, b.z.port, port);
    roleEvidence = 'port';
  }
  return clientIsA ? { client: b.a, server: b.z, roleEvidence } : { client: b.z, server: b.a, roleEvidence };
}

/** Segments must be given in capture order. */
export function reassembleFlows(segments: Iterable<TcpSegment>, opts: ReassemblyOptions = {}): TcpFlow[] {
  const out: TcpFlow[] = [];
  const t = new FlowTracker({ ...opts, onFlow: (f) => out.push(f) });
  for (const seg of segments) t.push(seg);
  t.finish();
  return out.sort((x, y) => x.id - y.id);
}

function buildFlow(b: LiveFlow, port: number | undefined, maxBytes: number): TcpFlow {
  const { client: cs, server: ss, roleEvidence } = rolesOf(b, port);
  const synFrames = cs.synFrames;
  const synAckSeen = ss.sentSynAck;
  const clientAcked = cs.acked;
  let handshake: Handshake;
  if (synFrames.length === 0) handshake = synAckSeen && clientAcked ? 'complete' : 'none';
  else if (synAckSeen) handshake = clientAcked ? 'complete' : 'syn_synack';
  else if (ss.sentOther) handshake = 'complete';
  else if (ss.sentRst) handshake = 'syn_rst';
  else handshake = 'syn_only';

  const c = reassembleDirection(cs.data, maxBytes);
  const sv = reassembleDirection(ss.data, maxBytes);
  const end: TcpFlow['end'] = {};
  if (cs.sentFin || ss.sentFin) end.fin = cs.sentFin && ss.sentFin ? 'both' : cs.sentFin ? 'client' : 'server';
  if (b.rst) {
    end.rst = b.rst.side === cs ? 'client' : 'server';
    end.rstFrame = b.rst.frame;
  }

  const flow: TcpFlow = {
    closes: b.closes.map((x) => ({ by: x.side === cs ? 'client' : 'server', how: x.how, frame: x.frame, timestampUs: x.timestampUs })),
    id: b.id,
    client: endpointOf(cs),
    server: endpointOf(ss),
    roleEvidence,
    firstFrame: b.firstFrame,
    lastFrame: b.lastFrame,
    startUs: b.startUs,
    endUs: b.endUs,
    segments: b.count,
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
