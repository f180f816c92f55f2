// Runs a model over token sequences and collects the activations of one hook site, row by row in
// sequence order (BOS positions optionally left out). Pure compute: caching is activation_cache.ts.
//
// Shapes: B batch, T sequence length, N = B*T positions, D dim, n harvested rows.
import * as tf from "@tensorflow/tfjs";
import { hookKey, type LlamaModel, type LmSite } from "./model.ts";
import { activationRows, gatherRows, groupSequences, packSequences } from "./token_batch.ts";

/** Padded tokens per forward pass. */
const MAX_BATCH_TOKENS = 4096;

export interface HarvestOptions {
  site: LmSite;
  layer: number;
  /** Leave out the activations at BOS positions. */
  excludeBos: boolean;
  /** Stop after this many rows (the last sequence may be cut short); default: all. */
  maxRows?: number;
}

/** Activations [n, D] of `sequences` at the site, in sequence then position order. */
export async function harvestActivations(
  model: LlamaModel,
  sequences: ArrayLike<number>[],
  options: HarvestOptions,
): Promise<Float32Array> {
  const D = model.config.dim;
  const point = { site: options.site, layer: options.layer };
  const perSeq = (s: ArrayLike<number>) => s.length - (options.excludeBos ? 1 : 0);
  const total = Math.min(
    options.maxRows ?? Infinity,
    sequences.reduce((sum, s) => sum + Math.max(0, perSeq(s)), 0),
  );
  const out = new Float32Array(total * D); // [n, D]
  let filled = 0;
  for (const group of groupSequences(sequences, { maxTokens: MAX_BATCH_TOKENS })) {
    if (filled >= total) break;
    const batch = packSequences(group);
    const { captured } = model.forward(batch, { capture: [point], logits: false });
    let acts: Float32Array;
    try {
      acts = await captured[hookKey(point)].data() as Float32Array; // [N, D]
    } finally {
      tf.dispose(Object.values(captured));
    }
    const rows = activationRows(batch, { excludeBos: options.excludeBos });
    const take = rows.subarray(0, Math.min(rows.length, total - filled));
    out.set(gatherRows(acts, take, { dim: D }), filled * D);
    filled += take.length;
  }
  return out;
}
