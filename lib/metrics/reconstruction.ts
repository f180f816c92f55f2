// Streaming reconstruction metrics (mse, fvu, explained_variance, l2_ratio, shrinkage_gamma) over
// chunks of [n, D] activations and reconstructions. Pure arithmetic in float64; no tensors, no I/O.

/** Reconstruction fidelity over every row added so far (DESIGN.md section 7). */
export interface ReconstructionMetrics {
  /** Mean over tokens of sum over dims (x - x_hat)^2. */
  mse: number;
  /** Fraction of variance unexplained: sum ||x - x_hat||^2 / sum ||x - mean(x)||^2. */
  fvu: number;
  /** 1 - fvu. */
  explained_variance: number;
  /** Mean over tokens (with ||x|| > 0) of ||x_hat|| / ||x||. */
  l2_ratio: number;
  /** argmin_g sum ||x_hat / g - x||^2 = sum ||x_hat||^2 / sum <x_hat, x>; g < 1 means shrinkage. */
  shrinkage_gamma: number;
}

/**
 * Accumulates reconstruction metrics chunk by chunk; one pass, the same result however the rows
 * are split (up to float64 rounding).
 *
 * Variance: each chunk's mean and sum of squared deviations are merged with Chan et al.'s
 * pairwise update, M2 = M2_a + M2_b + ||mean_b - mean_a||^2 n_a n_b / (n_a + n_b), which equals
 * sum ||x||^2 - n ||mean||^2 without its cancellation when the mean is large.
 *
 * Shrinkage: with h = 1/g, J(h) = sum ||h x_hat - x||^2 = h^2 A - 2 h B + C where
 * A = sum ||x_hat||^2, B = sum <x_hat, x>, C = sum ||x||^2; dJ/dh = 2 h A - 2 B = 0 gives
 * h = B / A, so g = A / B.
 */
export class ReconstructionAccumulator {
  readonly d: number;
  private n = 0;
  private sumSqErr = 0;
  private m2 = 0;
  private readonly mean: Float64Array;
  private readonly chunkMean: Float64Array;
  private sumRatio = 0;
  private ratioTokens = 0;
  private sumHatSq = 0;
  private sumDot = 0;

  constructor(d: number) {
    if (!(Number.isInteger(d) && d >= 1)) throw new RangeError(`d must be >= 1, got ${d}`);
    this.d = d;
    this.mean = new Float64Array(d);
    this.chunkMean = new Float64Array(d);
  }

  /** Adds n rows of x and x_hat (row-major [n, d]; n defaults to x.length / d). */
  add(x: Float32Array, xHat: Float32Array, n: number = x.length / this.d): void {
    const d = this.d;
    if (!Number.isInteger(n) || n < 0 || x.length < n * d || xHat.length < n * d) {
      throw new RangeError(
        `add(): need ${n} rows of ${d} values, got x ${x.length} and xHat ${xHat.length}`,
      );
    }
    if (n === 0) return;
    const cm = this.chunkMean;
    cm.fill(0);
    for (let t = 0; t < n; t++) {
      const o = t * d;
      let err = 0, xx = 0, hh = 0, xh = 0;
      for (let j = 0; j < d; j++) {
        const a = x[o + j], b = xHat[o + j];
        err += (a - b) * (a - b);
        xx += a * a;
        hh += b * b;
        xh += a * b;
        cm[j] += a;
      }
      this.sumSqErr += err;
      this.sumHatSq += hh;
      this.sumDot += xh;
      if (xx > 0) {
        this.sumRatio += Math.sqrt(hh / xx);
        this.ratioTokens++;
      }
    }
    for (let j = 0; j < d; j++) cm[j] /= n;
    let chunkM2 = 0;
    for (let t = 0; t < n; t++) {
      const o = t * d;
      for (let j = 0; j < d; j++) chunkM2 += (x[o + j] - cm[j]) ** 2;
    }
    const na = this.n, total = na + n;
    let delta2 = 0;
    for (let j = 0; j < d; j++) {
      const delta = cm[j] - this.mean[j];
      delta2 += delta * delta;
      this.mean[j] += delta * (n / total);
    }
    this.m2 += chunkM2 + delta2 * (na * n) / total;
    this.n = total;
  }

  /** Tokens added so far. */
  get tokens(): number {
    return this.n;
  }

  /** The metrics so far; NaN everywhere before the first row. */
  result(): ReconstructionMetrics {
    const fvu = this.sumSqErr / this.m2;
    return {
      mse: this.sumSqErr / this.n,
      fvu,
      explained_variance: 1 - fvu,
      l2_ratio: this.sumRatio / this.ratioTokens,
      shrinkage_gamma: this.sumHatSq / this.sumDot,
    };
  }
}
