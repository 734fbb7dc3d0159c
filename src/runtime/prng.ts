/**
 * The one source of randomness: a seeded PRNG (xoshiro128**, seeded through splitmix32) owned by
 * the runtime. Fault injection and `${_RANDOM}` draw from it; probabilities are integer ratios so
 * a run is reproducible from its seed on any platform. `fork(label)` derives an independent,
 * equally reproducible stream (e.g. one per simulated link). Deterministic; holds its own state.
 */
const splitmix32 = (seed: number): (() => number) => {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
};

/** FNV-1a (32-bit) offset basis: the hash of nothing. */
export const FNV1A_SEED = 0x811c9dc5;

/** FNV-1a (32-bit) prime: one code unit `c` is `h = Math.imul(h ^ c, FNV1A_PRIME) >>> 0`. */
export const FNV1A_PRIME = 16777619;

/**
 * FNV-1a (32-bit) over UTF-16 code units, continuing from `h` (start with `FNV1A_SEED`). Unsigned at
 * every step, so nothing follows the loop: V8 compiles a long first text's loop on the stack (OSR)
 * before any code after the loop has run, and a `>>> 0` there, without type feedback, then deopted
 * on every later call that entered that code — 242 times in a daemon's first 10 s.
 */
export const fnv1a = (h: number, text: string): number => {
  let x = h >>> 0;
  for (let i = 0; i < text.length; i++) x = Math.imul(x ^ text.charCodeAt(i), FNV1A_PRIME) >>> 0;
  return x;
};

const hashLabel = (label: string): number => fnv1a(FNV1A_SEED, label);

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(readonly seed: number) {
    const sm = splitmix32(seed);
    this.#a = sm();
    this.#b = sm();
    this.#c = sm();
    this.#d = sm();
  }

  /** Next unsigned 32-bit integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.#b, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.#b << 9) >>> 0;
    this.#c = (this.#c ^ this.#a) >>> 0;
    this.#d = (this.#d ^ this.#b) >>> 0;
    this.#b = (this.#b ^ this.#c) >>> 0;
    this.#a = (this.#a ^ this.#d) >>> 0;
    this.#c = (this.#c ^ t) >>> 0;
    this.#d = rotl(this.#d, 11);
    return result;
  }

  /** Uniform integer in [min, max] (inclusive), without modulo bias. */
  int(min: number, max: number): number {
    const span = max - min + 1;
    if (!Number.isInteger(span) || span <= 0 || span > 0x1_0000_0000)
      throw new RangeError(`bad range [${min}, ${max}]`);
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % span);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return min + (x % span);
    }
  }

  /** True with probability numerator/denominator (integers, 0 <= numerator <= denominator). */
  chance(numerator: number, denominator: number): boolean {
    if (numerator <= 0) return false;
    if (numerator >= denominator) return true;
    return this.int(0, denominator - 1) < numerator;
  }

  /** An independent stream derived from this generator's seed and a label. */
  fork(label: string): Prng {
    return new Prng((this.seed ^ hashLabel(label)) >>> 0);
  }
}
