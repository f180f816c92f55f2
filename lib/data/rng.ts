// Deterministic, splittable PRNG: xoshiro128** seeded through a murmur3-style hash of a seed and
// stream ids. Pure 32-bit integer arithmetic, so the same seed gives the same numbers everywhere.
// Knows nothing about data; callers pick stream ids (one per purpose) to get independent streams.

const TWO_POW_32 = 4294967296;
const INV_TWO_POW_32 = 1 / TWO_POW_32;

/** murmur3's 32-bit finaliser: a bijective avalanche mix of one 32-bit word. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function checkInteger(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`${what} must be a safe integer, got ${value}`);
  }
}

/**
 * Hashes integers (any safe integer, negative allowed) into one 32-bit seed. Order matters:
 * `hashSeed(1, 2) !== hashSeed(2, 1)`.
 */
export function hashSeed(...parts: number[]): number {
  let h = fmix32(0x9e3779b9 ^ parts.length);
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    checkInteger(p, `hashSeed part ${i}`);
    const lo = p >>> 0;
    const hi = Math.floor(p / TWO_POW_32) >>> 0;
    h = fmix32((h ^ fmix32(lo + 0x7f4a7c15)) + 0x9e3779b9);
    h = fmix32((h ^ fmix32(hi + 0x2545f491)) + 0x9e3779b9);
  }
  return h;
}

/** JSON form of an Rng's state (see `Rng.state`). */
export interface RngState {
  /** The four xoshiro128** state words, unsigned. */
  s: [number, number, number, number];
  /** A cached second Box-Muller normal, or null. */
  spare: number | null;
}

/** xoshiro128** generator with uniform, integer and normal draws. */
export class Rng {
  #s0 = 0;
  #s1 = 0;
  #s2 = 0;
  #s3 = 0;
  #spare = 0;
  #hasSpare = false;

  /** Seeds from `seed` and any number of stream ids; different ids give independent streams. */
  constructor(seed: number, ...streams: number[]) {
    // splitmix32 over the hashed seed fills the state; it is never all zero in practice, and we
    // guard against it anyway (xoshiro's only invalid state).
    let x = hashSeed(seed, ...streams);
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      return fmix32(x);
    };
    this.#s0 = next();
    this.#s1 = next();
    this.#s2 = next();
    this.#s3 = next();
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /** Next raw 32-bit unsigned integer. */
  nextU32(): number {
    const s1 = this.#s1;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = (this.#s3 << 11) | (this.#s3 >>> 21);
    return result;
  }

  /** Uniform in [0, 1), with 32 bits of resolution. */
  uniform(): number {
    return this.nextU32() * INV_TWO_POW_32;
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling); n in [1, 2^32]. */
  int(n: number): number {
    if (!(Number.isInteger(n) && n >= 1 && n <= TWO_POW_32)) {
      throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let u = this.nextU32();
    while (u >= limit) u = this.nextU32();
    return u % n;
  }

  /** Standard normal N(0, 1) (Box-Muller; the second value of each pair is cached). */
  normal(): number {
    if (this.#hasSpare) {
      this.#hasSpare = false;
      return this.#spare;
    }
    const u1 = 1 - this.uniform(); // (0, 1]: log stays finite
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    const a = 2 * Math.PI * u2;
    this.#spare = r * Math.sin(a);
    this.#hasSpare = true;
    return r * Math.cos(a);
  }

  /**
   * Fills `out` with N(0, std^2) draws. Gives exactly the values of `out.length` calls to
   * `normal()` (times std), only faster.
   */
  fillNormal(out: Float32Array | Float64Array, std = 1): void {
    const n = out.length;
    let i = 0;
    if (n > 0 && this.#hasSpare) {
      this.#hasSpare = false;
      out[i++] = this.#spare * std;
    }
    for (; i + 1 < n; i += 2) {
      const u1 = 1 - this.nextU32() * INV_TWO_POW_32;
      const u2 = this.nextU32() * INV_TWO_POW_32;
      const r = Math.sqrt(-2 * Math.log(u1));
      const a = 2 * Math.PI * u2;
      out[i] = r * Math.cos(a) * std;
      out[i + 1] = r * Math.sin(a) * std;
    }
    if (i < n) out[i] = this.normal() * std;
  }

  /** JSON-serialisable state; `Rng.fromState(rng.state())` continues the same sequence. */
  state(): RngState {
    return {
      s: [this.#s0 >>> 0, this.#s1 >>> 0, this.#s2 >>> 0, this.#s3 >>> 0],
      spare: this.#hasSpare ? this.#spare : null,
    };
  }

  /** Restores a generator from `state()`; throws TypeError on anything else. */
  static fromState(state: unknown): Rng {
    const st = state as Partial<RngState> | null;
    const s = st?.s;
    const valid = Array.isArray(s) && s.length === 4 &&
      s.every((w) => Number.isInteger(w) && w >= 0 && w < TWO_POW_32) &&
      (st!.spare === null || typeof st!.spare === "number");
    if (!valid) throw new TypeError(`not an Rng state: ${JSON.stringify(state)}`);
    const rng = new Rng(0);
    rng.#s0 = s[0] | 0;
    rng.#s1 = s[1] | 0;
    rng.#s2 = s[2] | 0;
    rng.#s3 = s[3] | 0;
    rng.#hasSpare = st!.spare !== null;
    rng.#spare = st!.spare ?? 0;
    return rng;
  }
}
