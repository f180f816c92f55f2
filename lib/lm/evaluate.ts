// Mean next-token cross-entropy of a model on token sequences, clean and with one hook site
// replaced by a reconstruction (SAE splice) or by zeros: the inputs of delta LM loss.
//
// Shapes: B batch, T sequence length, N = B*T positions, D dim, n spliced positions.
import * as tf from "@tensorflow/tfjs";
import type { LmEvaluation, Reconstructor } from "../data/source.ts";
import { DataError } from "../errors.ts";
import { crossEntropySum, nextTokenTargets } from "./cross_entropy.ts";
import { hookKey, type HookReplacement, type LlamaModel, type LmSite } from "./model.ts";
import {
  activationRows,
  gatherRows,
  groupSequences,
  packSequences,
  type TokenBatch,
} from "./token_batch.ts";

/** Padded tokens per forward pass; bounds memory (the scores of one head group are [rep*T, T]). */
const MAX_BATCH_TOKENS = 4096;

export interface CrossEntropyOptions {
  /** Skip predictions made at BOS positions (see `nextTokenTargets`). */
  excludeBos: boolean;
}

/** Mean next-token cross-entropy (nats/token) of `model` over `sequences`, and the token count. */
export async function meanCrossEntropy(
  model: LlamaModel,
  sequences: ArrayLike<number>[],
  options: CrossEntropyOptions,
): Promise<{ ce: number; tokens: number }> {
  let sum = 0;
  let tokens = 0;
  for (const group of groupSequences(sequences, { maxTokens: MAX_BATCH_TOKENS })) {
    const batch = packSequences(group);
    const result = await batchLoss(model, batch, [], options);
    sum += result.sum;
    tokens += result.tokens;
  }
  return { ce: sum / tokens, tokens };
}

export interface SpliceOptions extends CrossEntropyOptions {
  site: LmSite;
  layer: number;
  /** Maps the site's raw activations [n, D] to their reconstruction [n, D]. */
  reconstruct: Reconstructor;
}

/**
 * Cross-entropy clean, with the site's activations replaced by `reconstruct`'s output, and with
 * them replaced by zeros. Every real position is replaced except, when `excludeBos`, BOS positions
 * (an SAE never sees those; they keep their clean values). Means are over the same predicted
 * positions as `meanCrossEntropy`. An identity reconstruction reproduces `ce_clean` exactly.
 */
export async function evaluateSplice(
  model: LlamaModel,
  sequences: ArrayLike<number>[],
  options: SpliceOptions,
): Promise<LmEvaluation> {
  const { site, layer, reconstruct, excludeBos } = options;
  const key = hookKey({ site, layer });
  let clean = 0, spliced = 0, zeroed = 0, tokens = 0;
  for (const group of groupSequences(sequences, { maxTokens: MAX_BATCH_TOKENS })) {
    const batch = packSequences(group);
    const rows = activationRows(batch, { excludeBos });
    // Clean pass: loss and the site's activations at once.
    const first = await batchLoss(model, batch, [], { excludeBos, capture: { site, layer } });
    const acts = first.captured!; // [N, D]
    const D = acts.length / (batch.batch * batch.length);
    const input = gatherRows(acts, rows, { dim: D }); // [n, D]
    const recon = await reconstruct(input, rows.length);
    if (recon.length !== input.length) {
      throw new DataError(
        `reconstruction at ${key} has ${recon.length} values, expected ${rows.length} x ${D}`,
      );
    }
    const zeros = new Float32Array(input.length); // [n, D]
    const withRecon = await batchLoss(model, batch, [replaceRows(site, layer, acts, rows, recon)], {
      excludeBos,
    });
    const withZeros = await batchLoss(model, batch, [replaceRows(site, layer, acts, rows, zeros)], {
      excludeBos,
    });
    clean += first.sum;
    spliced += withRecon.sum;
    zeroed += withZeros.sum;
    tokens += first.tokens;
  }
  return {
    ce_clean: clean / tokens,
    ce_spliced: spliced / tokens,
    ce_zero_ablated: zeroed / tokens,
    tokens,
  };
}

// The clean activations [N, D] with `rows` overwritten by `values` [n, D]: a full replacement
// built in JS, so positions outside `rows` keep their clean values bit for bit.
function replaceRows(
  site: LmSite,
  layer: number,
  clean: Float32Array,
  rows: Int32Array,
  values: Float32Array,
): HookReplacement {
  const D = values.length / Math.max(1, rows.length);
  const full = clean.slice();
  rows.forEach((r, i) => full.set(values.subarray(i * D, (i + 1) * D), r * D));
  return { site, layer, fn: (act) => tf.tensor2d(full, act.shape) };
}

async function batchLoss(
  model: LlamaModel,
  batch: TokenBatch,
  replace: HookReplacement[],
  options: { excludeBos: boolean; capture?: { site: LmSite; layer: number } },
): Promise<{ sum: number; tokens: number; captured?: Float32Array }> {
  const targets = nextTokenTargets(batch, options);
  const capture = options.capture ? [options.capture] : [];
  const { logits, captured } = model.forward(batch, { capture, replace });
  const loss = crossEntropySum(logits!, targets);
  try {
    const sum = (await loss.data())[0];
    const acts = options.capture
      ? await captured[hookKey(options.capture)].data() as Float32Array
      : undefined;
    return { sum, tokens: targets.count, captured: acts };
  } finally {
    tf.dispose([logits!, loss, ...Object.values(captured)]);
  }
}
