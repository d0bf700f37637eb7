// test/support/prng.ts: a small seeded PRNG (mulberry32) for tests that must be random yet replayable: the same seed
// gives the same sequence on every machine and every run, so a failure quotes its seed and replays exactly.

/** A deterministic source of random choices. */
export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** Returns a float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Returns an integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Returns an integer in [lo, hi] (both included). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** Returns true with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Returns one element of a non-empty array. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  /** Returns a new generator seeded from this one (independent streams for sub-tasks). */
  fork(): Prng {
    return new Prng(Math.floor(this.next() * 4294967296));
  }

  /** Returns `count` distinct indexes of [0, n), sorted, spread over the whole range (all of them when count >= n). */
  spread(n: number, count: number): number[] {
    if (count >= n) return Array.from({ length: n }, (_, i) => i);
    // One index from each of `count` equal strata, so early, middle and late points are all covered.
    const out: number[] = [];
    for (let s = 0; s < count; s++) {
      const lo = Math.floor((s * n) / count);
      const hi = Math.floor(((s + 1) * n) / count) - 1;
      out.push(this.range(lo, Math.max(lo, hi)));
    }
    return out;
  }
}

/** Returns the seed from an env variable (decimal or 0x hex), or `fallback`. */
export function seedFrom(env: string | undefined, fallback: number): number {
  if (env === undefined || env === "") return fallback;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`bad seed ${JSON.stringify(env)}: want an integer in [0, 2^32)`);
  return n;
}
