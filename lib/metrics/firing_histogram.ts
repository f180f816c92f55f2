// Histogram of latent firing frequencies on a log10 scale, as SAELens logs its
// `log_feature_density` (log10(freq + 1e-10)): bins of log10(freq) for latents that fire, and the
// latents that never fire (freq = 0, log10 -10 in SAELens) counted apart. Pure.

/** Fixed bins, so histograms of different runs line up. */
export interface FiringHistogram {
  /** Left edge of the first bin, log10 density (lower densities are counted in the first bin). */
  lo: number;
  /** Bin width in log10 density; bin i covers [lo + i bin, lo + (i + 1) bin), the last ends at 0. */
  bin: number;
  /** Latents with freq > 0 per bin. */
  counts: number[];
  /** Latents with freq = 0 (never fired on the data measured). */
  dead: number;
}

/** Default range: 10^-7 (one firing in ten million tokens) to 1, in half-decade bins. */
export const FIRING_HIST_LO = -7;
export const FIRING_HIST_BIN = 0.5;

/** Histogram of `frequencies` (active tokens / tokens per latent, each in [0, 1]). */
export function firingHistogram(
  frequencies: ArrayLike<number>,
  options: { lo?: number; bin?: number } = {},
): FiringHistogram {
  const lo = options.lo ?? FIRING_HIST_LO;
  const bin = options.bin ?? FIRING_HIST_BIN;
  const nBins = Math.round(-lo / bin);
  const counts = new Array<number>(nBins).fill(0);
  let dead = 0;
  for (let i = 0; i < frequencies.length; i++) {
    const p = frequencies[i];
    if (!(p > 0)) {
      dead++;
      continue;
    }
    const at = Math.floor((Math.log10(p) - lo) / bin);
    counts[Math.min(nBins - 1, Math.max(0, at))]++;
  }
  return { lo, bin, counts, dead };
}
