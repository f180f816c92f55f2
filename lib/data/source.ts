// The interface every activation data source implements (synthetic, files, lm). Sources hand out
// plain row-major Float32Arrays of raw (unnormalised) activations; the trainer normalises.

/** Progress of a long preparation of data (sampling a corpus, harvesting activations); tasks print it. */
export interface DataProgress {
  /** What is being done, e.g. "sampling train text". */
  what: string;
  done: number;
  total: number;
  /** Unit of done/total, e.g. "tokens". */
  unit: string;
  elapsedSeconds: number;
  /** Estimated seconds left (NaN until something was measured). */
  etaSeconds: number;
}

/** Ground truth of a synthetic source, for feature-recovery metrics. */
export interface GroundTruth {
  /** Unit feature directions, row-major [n_features, d_model]. */
  directions: Float32Array;
  nFeatures: number;
}

/** Cross-entropies of an LM with an activation site replaced (lm sources only). */
export interface LmEvaluation {
  ce_clean: number;
  ce_spliced: number;
  ce_zero_ablated: number;
  /** Predicted tokens the means are taken over (BOS positions excluded). */
  tokens: number;
}

/** Maps raw activations [n, d_model] to their reconstruction [n, d_model] (raw units). */
export type Reconstructor = (x: Float32Array, n: number) => Float32Array | Promise<Float32Array>;

/** What an lm source gives feature dashboards beyond activations (see lib/features/). */
export interface LmFeatureInputs {
  /** Held-out token sequences; `heldout()`'s rows are their positions from `firstPosition` on. */
  sequences: Int32Array[];
  /** First position of each sequence with an activation row (1 when BOS is left out). */
  firstPosition: number;
  /** Display text of every token id. */
  vocab: string[];
  /** Output classifier [V, D] and final RMSNorm weights [D], for the logit lens. */
  unembed: Float32Array;
  finalNorm: Float32Array;
}

export interface ActivationSource {
  /** Width of each activation vector. */
  readonly dModel: number;
  /**
   * Next training batch, row-major [batchSize, dModel]. Deterministic given the source's
   * configuration and its cursor, so a resumed run sees the same batches.
   */
  nextBatch(batchSize: number): Promise<Float32Array>;
  /** JSON-serialisable position in the training stream (saved in checkpoints). */
  cursor(): unknown;
  /** Restores a position returned by `cursor()`. */
  seek(cursor: unknown): void;
  /** `n` training-distribution vectors for normalisation and b_dec init; does not move the cursor. */
  sample(n: number): Promise<Float32Array>;
  /** The first `n` held-out vectors (fewer if the source has fewer); never overlaps training data. */
  heldout(n: number): Promise<Float32Array>;
  /** Present on synthetic sources. */
  groundTruth?: GroundTruth;
  /** Present on lm sources: cross-entropy with `reconstruct` spliced in at the site. */
  evaluateLm?(reconstruct: Reconstructor): Promise<LmEvaluation>;
  /** Present on lm sources: held-out tokens and readout weights for feature dashboards. */
  lmFeatureInputs?(): LmFeatureInputs;
  /** Facts about the source recorded in run.json (shapes, cache keys, file names). */
  describe(): Record<string, unknown>;
  /** Releases files or tensors. */
  close(): void;
}
