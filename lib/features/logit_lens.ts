// The logit lens of decoder directions: the tokens each latent's decoder row promotes and
// suppresses most when read out through the model's final RMSNorm weights and unembedding.
// Runs on the active tfjs backend in blocks of latents; holds no tensors between calls.
//
// Shapes: F latents, D d_model, V vocab, L tokens per list.
import * as tf from "@tensorflow/tfjs";

/** Latents per matmul block: bounds the [block, V] logits held at once. */
const BLOCK = 256;

export interface LogitLensInputs {
  /** Unembedding (output classifier) [V, D], row per token. */
  unembed: Float32Array;
  /** Final RMSNorm weights g [D]: logits of direction d are W_U (g * d). */
  finalNorm: Float32Array;
  dModel: number;
}

export interface LogitLists {
  promotedIds: Float32Array; // [F, L], largest logit first
  promotedValues: Float32Array; // [F, L]
  suppressedIds: Float32Array; // [F, L], most negative logit first
  suppressedValues: Float32Array; // [F, L]
}

/**
 * For every decoder row d_i of `decoder` [F, D]: the L tokens with the largest and the smallest
 * logit W_U (g * d_i). The RMSNorm's division by the residual's norm is a positive scalar per
 * position, so it changes the values' scale but not the lists; it is left out, as in the usual
 * logit lens of a direction.
 */
export async function logitLens(
  decoder: Float32Array,
  inputs: LogitLensInputs,
  options: { tokens: number },
): Promise<LogitLists> {
  const D = inputs.dModel;
  const F = decoder.length / D, V = inputs.unembed.length / D;
  const L = Math.min(options.tokens, V);
  const out: LogitLists = {
    promotedIds: new Float32Array(F * L),
    promotedValues: new Float32Array(F * L),
    suppressedIds: new Float32Array(F * L),
    suppressedValues: new Float32Array(F * L),
  };
  // (g * W_U^T) [D, V]: folding g into the unembedding once equals scaling every direction by g.
  const readout = tf.tidy(() =>
    tf.mul(tf.transpose(tf.tensor2d(inputs.unembed, [V, D])), tf.tensor2d(inputs.finalNorm, [D, 1]))
  );
  try {
    for (let a = 0; a < F; a += BLOCK) {
      const rows = Math.min(BLOCK, F - a);
      const [top, bottom] = tf.tidy(() => {
        const logits = tf.matMul(
          tf.tensor2d(decoder.subarray(a * D, (a + rows) * D), [rows, D]),
          readout,
        );
        return [tf.topk(logits, L), tf.topk(tf.neg(logits), L)];
      });
      const [tv, ti, bv, bi] = await Promise.all([
        top.values.data(),
        top.indices.data(),
        bottom.values.data(),
        bottom.indices.data(),
      ]);
      tf.dispose([top.values, top.indices, bottom.values, bottom.indices]);
      out.promotedValues.set(tv, a * L);
      out.promotedIds.set(ti, a * L);
      out.suppressedValues.set(bv.map((v) => -v), a * L);
      out.suppressedIds.set(bi, a * L);
    }
  } finally {
    readout.dispose();
  }
  return out;
}
