/**
 * `--shard i/n`: split one scan across n machines. Targets are numbered 0, 1, 2, … in expansion order
 * (after --exclude and duplicate removal, before --resume), and target k belongs to shard (k mod n) + 1.
 *
 * - No overlap, no gap: every k has exactly one residue mod n.
 * - Deterministic: the numbering depends only on the targets, ports and excludes given, so every machine
 *   must be given the same ones (same order, same files); only i differs.
 * - Balanced: shard sizes differ by at most one, and every shard gets a slice of every range (round-robin),
 *   so a slow subnet does not land on one machine.
 * - --resume does not renumber: skipped targets keep their ordinals, so resuming a shard keeps its slice.
 *
 * Each machine still walks the whole ordering, but the expander jumps straight from one of its ordinals to
 * the next inside a range (a division, not n steps), so a /8 split 64 ways costs each machine 1/64 of it.
 */
import { UsageError } from '../model/target-syntax.js';

export const MAX_SHARDS = 65536;

/** index is 1-based, as typed: 1 ≤ index ≤ count ≤ 65536. */
export interface Shard {
  index: number;
  count: number;
}

export function parseShard(text: string): Shard {
  const m = /^\s*(\d{1,6})\s*\/\s*(\d{1,6})\s*$/.exec(text);
  if (!m) throw new UsageError(`--shard ${JSON.stringify(text)}: expected i/n, e.g. 2/5`);
  return checkShard({ index: Number(m[1]), count: Number(m[2]) }, text);
}

/** Validates a shard given programmatically (or parsed); returns it. */
export function checkShard(s: Shard, text = `${s.index}/${s.count}`): Shard {
  const { index, count } = s;
  if (!Number.isInteger(count) || count < 1 || count > MAX_SHARDS) {
    throw new UsageError(`--shard ${text}: the shard count must be between 1 and ${MAX_SHARDS}`);
  }
  if (!Number.isInteger(index) || index < 1 || index > count) {
    throw new UsageError(`--shard ${text}: the shard number must be between 1 and ${count}`);
  }
  return { index, count };
}

/** Does target number `ordinal` (0-based, expansion order) belong to this shard? */
export function inShard(shard: Shard, ordinal: bigint): boolean {
  return ordinal % BigInt(shard.count) === BigInt(shard.index - 1);
}

/** The smallest ordinal ≥ from that belongs to the shard. */
export function nextInShard(shard: Shard, from: bigint): bigint {
  const n = BigInt(shard.count);
  const r = BigInt(shard.index - 1);
  const d = (((r - from) % n) + n) % n;
  return from + d;
}

/** How many of the ordinals 0 … total-1 belong to the shard. */
export function shardSize(shard: Shard, total: bigint): bigint {
  const r = BigInt(shard.index - 1);
  if (total <= r) return 0n;
  return (total - r - 1n) / BigInt(shard.count) + 1n;
}
