// The per-latent feature data of an lm run (what its dashboard shows), the options that shape it,
// and a slicer. collect.ts computes it, store.ts writes and reads it.
//
// Shapes: F latents, C context slots per latent, W tokens per context window, B histogram bins,
// L tokens per logit list.
import type { LmFeatureInputs } from "../data/source.ts";

/** How feature data is collected; every field has one meaning and a default below. */
export interface FeatureOptions {
  /** Highest-activating contexts kept per latent (the paper's raters saw these first). */
  topK: number;
  /** Rank bands below the top-k (equal shares of the remaining activating tokens, high to low). */
  bands: number;
  /** Random contexts drawn from each band. */
  perBand: number;
  /** Tokens shown before the activating token. */
  before: number;
  /** Tokens shown after the activating token. */
  after: number;
  /** Equal-width histogram bins over [0, max activation] of each latent's non-zero activations. */
  bins: number;
  /** Tokens in each logit-lens list (promoted and suppressed). */
  logitTokens: number;
  /** Seed of the band samples (mixed with the latent index). */
  seed: number;
}

export const FEATURE_DEFAULTS: FeatureOptions = {
  topK: 10, // SAE-Dashboard and the paper's rating UI show ~10 top examples
  bands: 3, // three lower bands of activating tokens, as interval samples in SAE-Dashboard
  perBand: 2, // two random contexts per band keep a card short
  before: 12, // left context (tokens)
  after: 4, // right context (tokens)
  bins: 24, // histogram bins
  logitTokens: 10, // promoted / suppressed tokens per list
  seed: 0,
};

/** The held-out token sequences in activation-row order: what a latent's contexts are cut from. */
export type HeldoutTokens = Pick<LmFeatureInputs, "sequences" | "firstPosition">;

/** What collect.ts and logit_lens.ts produce for one run. Typed arrays are row-major. */
export interface FeatureData {
  /** Held-out activation rows the statistics are over. */
  rows: number;
  width: number;
  options: FeatureOptions;
  /** Display text of every token id (index = id). */
  vocab: string[];
  /** Fraction of rows where the latent is non-zero [F]. */
  frequency: Float32Array;
  /** Largest activation [F] (0 for a latent that never fires). */
  maxAct: Float32Array;
  /** Mean of the non-zero activations [F] (0 for a latent that never fires). */
  meanAct: Float32Array;
  /** Counts of non-zero activations per bin over [0, maxAct] [F, B], numpy.histogram's rule. */
  histogram: Float32Array;
  /** Token ids of each context window, -1 outside the sequence or in an empty slot [F, C, W]. */
  contextTokens: Float32Array;
  /** The latent's activation at each window token (0 where it has none) [F, C, W]. */
  contextActs: Float32Array;
  /** Activation at the window's centre token (index `before`), 0 for an empty slot [F, C]. */
  contextValue: Float32Array;
  /** Held-out row of the centre token, -1 for an empty slot [F, C]. */
  contextRow: Float32Array;
  /** Token ids the decoder direction promotes most / their logit-lens values [F, L]. */
  promotedIds: Float32Array;
  promotedValues: Float32Array;
  /** Token ids it suppresses most (most negative first) / their values [F, L]. */
  suppressedIds: Float32Array;
  suppressedValues: Float32Array;
}

/** Context slots per latent: top-k first, then `perBand` per band, band 0 highest. */
export function contextSlots(o: FeatureOptions): number {
  return o.topK + o.bands * o.perBand;
}

/** Tokens per context window. */
export function windowLength(o: FeatureOptions): number {
  return o.before + 1 + o.after;
}

/** The feature data of `latents` only (in that order), as a FeatureData of width latents.length. */
export function sliceLatents(data: FeatureData, latents: number[]): FeatureData {
  const o = data.options, C = contextSlots(o), W = windowLength(o);
  const L = data.promotedIds.length / Math.max(1, data.width);
  const pick = (a: Float32Array, per: number) => {
    const out = new Float32Array(latents.length * per);
    latents.forEach((i, k) => out.set(a.subarray(i * per, (i + 1) * per), k * per));
    return out;
  };
  return {
    rows: data.rows,
    width: latents.length,
    options: o,
    vocab: data.vocab,
    frequency: pick(data.frequency, 1),
    maxAct: pick(data.maxAct, 1),
    meanAct: pick(data.meanAct, 1),
    histogram: pick(data.histogram, o.bins),
    contextTokens: pick(data.contextTokens, C * W),
    contextActs: pick(data.contextActs, C * W),
    contextValue: pick(data.contextValue, C),
    contextRow: pick(data.contextRow, C),
    promotedIds: pick(data.promotedIds, L),
    promotedValues: pick(data.promotedValues, L),
    suppressedIds: pick(data.suppressedIds, L),
    suppressedValues: pick(data.suppressedValues, L),
  };
}
