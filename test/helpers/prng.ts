/** mulberry32: a tiny seeded PRNG for reproducible fuzz inputs (no dependency, same sequence everywhere). */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  bytes(n: number): Uint8Array;
  pick<T>(xs: readonly T[]): T;
}

export function prng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return { next, int, bytes: (n) => Uint8Array.from({ length: n }, () => int(256)), pick: (xs) => xs[int(xs.length)]! };
}
