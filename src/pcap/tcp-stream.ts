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

export function reassembleDirection(segments: readonly TcpSegment[], maxBytes = DEFAULT_MAX_STREAM_BYTES): DirectionStream {
  const base = streamBase(segments);
  if (base === undefined) return { bytes: new Uint8Array(0), chunks: [], gaps: 0, truncated: false };

  const covered = new Coverage();
  const pieces: Piece[] = [];
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
    for (const [s, e] of covered.uncovered(start, end)) pieces.push({ start: s, end: e, seg, from: s - rel });
    covered.add(start, end);
  }

  pieces.sort((a, b) => a.start - b.start);
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

  const gaps = covered.holes(claimedEnd);
  const result: DirectionStream = { bytes, chunks, gaps, truncated };
  if (gaps > 0) result.gapAt = length;
  return result;
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

/** Sorted, disjoint, merged [start, end) intervals of stream offsets already filled. */
class Coverage {
  private readonly spans: Array<[number, number]> = [];

  /** Parts of [start, end) not yet covered. */
  uncovered(start: number, end: number): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    let pos = start;
    for (let i = this.firstEndingAfter(start); i < this.spans.length && pos < end; i++) {
      const [s, e] = this.spans[i]!;
      if (s >= end) break;
      if (s > pos) out.push([pos, s]);
      pos = Math.max(pos, e);
    }
    if (pos < end) out.push([pos, end]);
    return out;
  }

  add(start: number, end: number): void {
    const i = this.firstEndingAfter(start - 1); // first span with e >= start (touching spans merge)
    let s = start;
    let e = end;
    let j = i;
    while (j < this.spans.length && this.spans[j]![0] <= end) {
      s = Math.min(s, this.spans[j]![0]);
      e = Math.max(e, this.spans[j]![1]);
      j++;
    }
    this.spans.splice(i, j - i, [s, e]);
  }

  /** Holes in [0, limit): before the first span, between spans, and after the last one. */
  holes(limit: number): number {
    if (this.spans.length === 0) return limit > 0 ? 1 : 0;
    let n = this.spans.length - 1;
    if (this.spans[0]![0] > 0) n++;
    if (limit > this.spans[this.spans.length - 1]![1]) n++;
    return n;
  }

  /** Index of the first span whose end is > x (binary search). */
  private firstEndingAfter(x: number): number {
    let lo = 0;
    let hi = this.spans.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.spans[mid]![1] > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
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
