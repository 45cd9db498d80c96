/**
 * Reassembly of one direction of a TCP connection (RFC 9293 sequence space) from captured segments.
 *
 * - Offsets are relative to the first data byte: ISN + 1 when the direction's SYN was captured, otherwise
 *   the lowest sequence number among its data-bearing segments (compared modulo 2^32 from the first one).
 *   All arithmetic is modulo 2^32, so streams that wrap past 0xFFFFFFFF reassemble like any other.
 * - Segments are applied in capture order and the first copy of a byte wins: retransmissions, duplicates
 *   and the overlapping parts of later segments are dropped, out-of-order segments land at their offset.
 * - Gap policy: the returned bytes are the contiguous prefix of the stream and STOP at the first hole
 *   (`gapAt`). Later data is not appended after a hole, because a decoder would mis-frame it; `gaps`
 *   counts every hole (bytes never captured between data, before a FIN, or cut by the snapshot length).
 * - Memory bound: bytes at offsets >= maxBytes are discarded and `truncated` is set.
 */
import type { TcpSegment } from './decode-packet.js';

export interface Chunk {
  frame: number;
  timestampUs: number;
  /** Offset of the chunk's first byte in the reassembled direction (clientBytes / serverBytes). */
  offset: number;
  length: number;
  /** Offset of the chunk's first byte within that frame's TCP payload (non-zero when the frame's start was a retransmission). */
  frameOffset: number;
}

export interface DirectionStream {
  bytes: Uint8Array;
  chunks: Chunk[];
  /** Number of holes in the sequence space that never arrived. */
  gaps: number;
  /** Offset at which `bytes` stops because of the first hole (undefined: no hole). */
  gapAt?: number;
  /** Data beyond the per-direction byte limit was discarded. */
  truncated: boolean;
}

export const DEFAULT_MAX_STREAM_BYTES = 64 * 1024 * 1024;

interface Piece {
  start: number;
  end: number;
  seg: TcpSegment;
  /** Offset of `start` within seg.payload. */
  from: number;
}

/** Signed 32-bit distance from `base` to `seq` (both unsigned sequence numbers). */
export function seqDiff(seq: number, base: number): number {
  return (seq - base) | 0;
}

/** Sequence number of the first payload byte (a SYN occupies one sequence number before the data). */
function dataSeq(s: TcpSegment): number {
  return s.flags.syn ? (s.seq + 1) >>> 0 : s.seq;
}

/** Work counters of one reassembly, for tests that hold it to O(n log n) in segments. */
export interface ReassemblyStats {
  /** Sweep steps plus heap sift steps. */
  steps: number;
}

/**
 * First copy wins, in O(n log n) for n segments whatever their order: the segments' byte ranges are sorted by start,
 * and a sweep over the offsets keeps the ranges covering the current offset in a heap ordered by capture order; the
 * earliest-captured covering range owns each byte. (Inserting into a sorted interval list instead is quadratic for
 * scattered out-of-order segments.)
 */
export function reassembleDirection(segments: readonly TcpSegment[], maxBytes = DEFAULT_MAX_STREAM_BYTES, stats?: ReassemblyStats): DirectionStream {
  const base = streamBase(segments);
  if (base === undefined) return { bytes: new Uint8Array(0), chunks: [], gaps: 0, truncated: false };

  const ranges: Range[] = [];
  let truncated = false;
  /** Highest offset the sender claimed to have sent: data (incl. snapped-off bytes) or a FIN. */
  let claimedEnd = 0;

  for (const seg of segments) {
    if (seg.flags.rst) continue; // RST payload is diagnostic text, not stream data
    const rel = seqDiff(dataSeq(seg), base);
    const finEnd = rel + seg.payloadLength;
    if (seg.payloadLength > 0 || seg.flags.fin) claimedEnd = Math.max(claimedEnd, Math.min(finEnd, maxBytes));
    if (seg.payload.length === 0) continue;

    let start = rel;
    let end = rel + seg.payload.length;
    if (end <= 0) continue; // entirely before the stream start: an old retransmission
    if (start < 0) start = 0;
    if (end > maxBytes) {
      truncated = true;
      end = maxBytes;
      if (start >= end) continue;
    }
    ranges.push({ start, end, order: ranges.length, seg, rel });
  }

  const { pieces, holes } = sweep(ranges, claimedEnd, stats);
  let length = 0;
  for (const p of pieces) {
    if (p.start !== length) break;
    length = p.end;
  }
  const bytes = new Uint8Array(length);
  const chunks: Chunk[] = [];
  for (const p of pieces) {
    if (p.start >= length) break;
    bytes.set(p.seg.payload.subarray(p.from, p.from + (p.end - p.start)), p.start);
    const last = chunks[chunks.length - 1];
    if (last && last.frame === p.seg.frame && last.offset + last.length === p.start) {
      last.length += p.end - p.start;
    } else {
      chunks.push({ frame: p.seg.frame, timestampUs: p.seg.timestampUs, offset: p.start, length: p.end - p.start, frameOffset: p.from });
    }
  }

  const result: DirectionStream = { bytes, chunks, gaps: holes, truncated };
  if (holes > 0) result.gapAt = length;
  return result;
}

interface Range {
  start: number;
  end: number;
  /** Capture order among the direction's data segments: the lower wins an overlap. */
  order: number;
  seg: TcpSegment;
  /** Stream offset of seg.payload[0]. */
  rel: number;
}

/** The owner of every covered offset, as pieces sorted by start, and the holes in [0, claimedEnd). */
function sweep(ranges: Range[], claimedEnd: number, stats?: ReassemblyStats): { pieces: Piece[]; holes: number } {
  const sorted = ranges.slice().sort((a, b) => a.start - b.start || a.order - b.order);
  const heap = new OrderHeap(stats);
  const pieces: Piece[] = [];
  let holes = 0;
  let i = 0;
  let pos = 0;
  if (sorted.length === 0) return { pieces, holes: claimedEnd > 0 ? 1 : 0 };
  if (sorted[0]!.start > 0) {
    holes++;
    pos = sorted[0]!.start;
  }
  for (;;) {
    if (stats) stats.steps++;
    while (i < sorted.length && sorted[i]!.start <= pos) heap.push(sorted[i++]!);
    while (heap.size > 0 && heap.top!.end <= pos) heap.pop();
    const top = heap.top;
    if (!top) {
      if (i >= sorted.length) break;
      holes++; // nothing covers pos: a hole up to the next range
      pos = sorted[i]!.start;
      continue;
    }
    const next = i < sorted.length ? sorted[i]!.start : Infinity;
    const stop = Math.min(top.end, next);
    const last = pieces[pieces.length - 1];
    if (last && last.seg === top.seg && last.end === pos) last.end = stop;
    else pieces.push({ start: pos, end: stop, seg: top.seg, from: pos - top.rel });
    pos = stop;
  }
  if (claimedEnd > pos) holes++;
  return { pieces, holes };
}

/** A binary min-heap of ranges by capture order. */
class OrderHeap {
  private readonly a: Range[] = [];
  constructor(private readonly stats?: ReassemblyStats) {}

  get size(): number {
    return this.a.length;
  }

  get top(): Range | undefined {
    return this.a[0];
  }

  push(r: Range): void {
    const a = this.a;
    a.push(r);
    let k = a.length - 1;
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (a[p]!.order <= a[k]!.order) break;
      [a[p], a[k]] = [a[k]!, a[p]!];
      k = p;
      if (this.stats) this.stats.steps++;
    }
  }

  pop(): void {
    const a = this.a;
    const last = a.pop()!;
    if (a.length === 0) return;
    a[0] = last;
    let k = 0;
    for (;;) {
      const l = 2 * k + 1;
      const r = l + 1;
      let m = k;
      if (l < a.length && a[l]!.order < a[m]!.order) m = l;
      if (r < a.length && a[r]!.order < a[m]!.order) m = r;
      if (m === k) break;
      [a[m], a[k]] = [a[k]!, a[m]!];
      k = m;
      if (this.stats) this.stats.steps++;
    }
  }
}

/** Where offset 0 of the stream lies in sequence space, or undefined if the direction carried nothing. */
function streamBase(segments: readonly TcpSegment[]): number | undefined {
  const syn = segments.find((s) => s.flags.syn);
  if (syn) return dataSeq(syn);
  let base: number | undefined;
  for (const s of segments) {
    if (s.flags.rst || (s.payloadLength === 0 && !s.flags.fin)) continue;
    if (base === undefined || seqDiff(s.seq, base) < 0) base = s.seq;
  }
  return base;
}

/**
 * Maps an offset of a reassembled direction back to the frame that carried it:
 * "server frame #14, offset 7" = { frame: 14, offsetInFrame: 7 } (offset within that frame's TCP payload).
 */
export function locate(chunks: readonly Chunk[], offset: number): { frame: number; offsetInFrame: number } | undefined {
  let lo = 0;
  let hi = chunks.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = chunks[mid]!;
    if (offset < c.offset) hi = mid - 1;
    else if (offset >= c.offset + c.length) lo = mid + 1;
    else return { frame: c.frame, offsetInFrame: c.frameOffset + (offset - c.offset) };
  }
  return undefined;
}
