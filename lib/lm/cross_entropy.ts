// Next-token cross-entropy of a batch of logits: which positions count (targets and mask, built in
// plain JS from the token batch) and the summed loss over them (a tfjs scalar).
//
// Shapes: B batch, T sequence length, N = B*T positions, V vocab.
import * as tf from "@tensorflow/tfjs";
import type { TokenBatch } from "./token_batch.ts";

/** Predicted positions of a batch: position t of a sequence predicts its token t + 1. */
export interface NextTokenTargets {
  /** Token to predict at each position [N] (0 where the position does not count). */
  targets: Int32Array;
  /** 1 where the position counts, else 0 [N]. */
  mask: Float32Array;
  /** Number of positions that count. */
  count: number;
}

/**
 * Targets and mask of `batch`: every position t with a real next token (t + 1 < length) counts,
 * except, when `excludeBos`, positions whose input token is BOS. Sequences start with a single
 * BOS, so excluding BOS drops exactly the first prediction of each sequence (the one made from
 * BOS alone), where a spliced site is left clean and the loss would only dilute the comparison.
 * BOS is found by position, not id: a Hugging Face tokenizer's BOS id is its own.
 */
export function nextTokenTargets(
  batch: TokenBatch,
  options: { excludeBos: boolean },
): NextTokenTargets {
  const { ids, batch: B, length: T, lengths } = batch;
  const targets = new Int32Array(B * T);
  const mask = new Float32Array(B * T);
  let count = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t + 1 < lengths[b]; t++) {
      const i = b * T + t;
      if (options.excludeBos && t === 0) continue;
      targets[i] = ids[i + 1];
      mask[i] = 1;
      count++;
    }
  }
  return { targets, mask, count };
}

/** Sum over counted positions of -log softmax(logits)[target], as a scalar tensor (caller owns). */
export function crossEntropySum(logits: tf.Tensor3D, targets: NextTokenTargets): tf.Scalar {
  return tf.tidy(() => {
    const [B, T, V] = logits.shape;
    const logProbs = tf.logSoftmax(tf.reshape(logits, [B * T, V])); // [N, V]
    const picked = tf.sum(tf.mul(logProbs, tf.oneHot(tf.tensor1d(targets.targets, "int32"), V)), 1); // [N]
    return tf.neg(tf.sum(tf.mul(picked, tf.tensor1d(targets.mask))));
  });
}
