// Runs a model over token sequences and collects the activations of one or several hook sites from
// one forward pass, row by row in sequence order (BOS positions optionally left out). Pure compute:
// caching is activation_cache.ts.
//
// Shapes: B batch, T sequence length, N = B*T positions, D dim, n harvested rows.
import * as tf from "@tensorflow/tfjs";
import { hookKey, type HookPoint, type LlamaModel, type LmSite } from "./model.ts";
import { activationRows, gatherRows, groupSequences, packSequences } from "./token_batch.ts";

/** Padded tokens per forward pass. */
export const MAX_BATCH_TOKENS = 4096;

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
  const point = { site: options.site, layer: options.layer };
  return (await harvestSites(model, sequences, { ...options, points: [point] }))[0];
}

export interface HarvestSitesOptions {
  points: HookPoint[];
  excludeBos: boolean;
  maxRows?: number;
  /** Called after each forward pass with the rows harvested so far and the total. */
  onRows?: (done: number, total: number) => void;
}

/**
 * Activations [n, D] of `sequences` at each of `points` (in that order), all from the same
 * forward passes: the pass runs up to the deepest point's block once, whatever the number of points.
 */
export async function harvestSites(
  model: LlamaModel,
  sequences: ArrayLike<number>[],
  options: HarvestSitesOptions,
): Promise<Float32Array[]> {
  const D = model.config.dim;
  const { points } = options;
  // Rows of a sequence: its positions, less the BOS at position 0 (token_batch.ts).
  const perSeq = (s: ArrayLike<number>) => s.length - (options.excludeBos ? 1 : 0);
  const total = Math.min(
    options.maxRows ?? Infinity,
    sequences.reduce((sum, s) => sum + Math.max(0, perSeq(s)), 0),
  );
  const outs = points.map(() => new Float32Array(total * D)); // each [n, D]
  let filled = 0;
  for (const group of groupSequences(sequences, { maxTokens: MAX_BATCH_TOKENS })) {
    if (filled >= total) break;
    const batch = packSequences(group);
    const { captured } = model.forward(batch, { capture: points, logits: false });
    let acts: Float32Array[];
    try {
      acts = await Promise.all(points.map((p) => captured[hookKey(p)].data())) as Float32Array[];
    } finally {
      tf.dispose(Object.values(captured));
    }
    const rows = activationRows(batch, { excludeBos: options.excludeBos });
    const take = rows.subarray(0, Math.min(rows.length, total - filled));
    acts.forEach((a, i) => outs[i].set(gatherRows(a, take, { dim: D }), filled * D));
    filled += take.length;
    options.onRows?.(filled, total);
  }
  return outs;
}
