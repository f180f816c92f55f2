// Streaming sparsity metrics of SAE latents (l0, dead_frac, dense_frac, per-latent frequencies).
// Counts only; which latents count as active (non-zero) is the caller's encoding.

/** Sparsity over every token added so far (DESIGN.md section 7). */
export interface SparsityMetrics {
  /** Mean number of non-zero latents per token. */
  l0: number;
  /** Fraction of latents never active. */
  dead_frac: number;
  /** Fraction of latents active on more than `denseThreshold` of tokens. */
  dense_frac: number;
  /** Firing frequency of each latent (active tokens / tokens), [width]. */
  frequencies: Float32Array;
}

/** Accumulates per-latent fire counts chunk by chunk. */
export class SparsityAccumulator {
  readonly width: number;
  private readonly counts: Float64Array;
  private n = 0;

  constructor(width: number) {
    if (!(Number.isInteger(width) && width >= 1)) {
      throw new RangeError(`width must be >= 1, got ${width}`);
    }
    this.width = width;
    this.counts = new Float64Array(width);
  }

  /** Adds n tokens of latents f (row-major [n, width]; n defaults to f.length / width). */
  add(f: Float32Array, n: number = f.length / this.width): void {
    const w = this.width;
    if (!Number.isInteger(n) || n < 0 || f.length < n * w) {
      throw new RangeError(`add(): need ${n} rows of ${w} latents, got ${f.length} values`);
    }
    const counts = this.counts;
    for (let t = 0; t < n; t++) {
      const o = t * w;
      for (let i = 0; i < w; i++) if (f[o + i] !== 0) counts[i]++;
    }
    this.n += n;
  }

  /** Adds fire counts the caller gathered itself: counts[i] = tokens (of `tokens`) where i fired. */
  addActiveCounts(counts: ArrayLike<number>, tokens: number): void {
    if (counts.length !== this.width) {
      throw new RangeError(`addActiveCounts(): ${counts.length} counts for width ${this.width}`);
    }
    for (let i = 0; i < this.width; i++) {
      if (counts[i] < 0 || counts[i] > tokens) {
        throw new RangeError(
          `addActiveCounts(): count ${counts[i]} of latent ${i} not in [0, ${tokens}]`,
        );
      }
      this.counts[i] += counts[i];
    }
    this.n += tokens;
  }

  /** Tokens added so far. */
  get tokens(): number {
    return this.n;
  }

  /** The metrics so far; l0 and frequencies are NaN before the first token. */
  result(denseThreshold = 0.1): SparsityMetrics {
    const w = this.width;
    const frequencies = new Float32Array(w);
    let total = 0, dead = 0, dense = 0;
    for (let i = 0; i < w; i++) {
      const c = this.counts[i];
      total += c;
      if (c === 0) dead++;
      // Compare the fraction, not c with denseThreshold * n: the product of a decimal threshold
      // rounds (0.29 * 100 = 28.999999999999996), which counted a latent on exactly 29 of 100.
      if (c / this.n > denseThreshold) dense++;
      frequencies[i] = c / this.n;
    }
    return { l0: total / this.n, dead_frac: dead / w, dense_frac: dense / w, frequencies };
  }
}
