// Interpretability measures that need no language-model API, from a run's feature data and its
// decoder: top-context token entropy, same-token fraction, decoder redundancy (MMCS).
//
// Shapes: F latents, D d_model, C context slots, W window tokens.
import * as tf from "@tensorflow/tfjs";
import { contextSlots, type FeatureData, windowLength } from "./feature_data.ts";

/** Latents per block of the cosine matrix. */
const BLOCK = 512;

/** The measures as summary.json fields (null where no latent qualifies). */
export interface FeatureMeasures {
  /**
   * Mean over latents that fire of the entropy (bits) of the current token across their top-k
   * contexts: 0 for a latent whose top contexts all sit on one token (a single-token latent).
   */
  top_token_entropy: number | null;
  /** Fraction of latents with at least 2 top contexts whose top contexts all share one token. */
  same_token_frac: number | null;
  /**
   * Mean over latents that fire of the largest cosine similarity between its decoder direction
   * and that of any other latent that fires: high values mean redundant latents.
   */
  decoder_mmcs: number | null;
}

/** The current (centre) token of each filled top-k context of latent `i`. */
export function topContextTokens(data: FeatureData, i: number): number[] {
  const o = data.options, C = contextSlots(o), W = windowLength(o);
  const out: number[] = [];
  for (let slot = 0; slot < o.topK; slot++) {
    if (data.contextRow[i * C + slot] < 0) break;
    out.push(data.contextTokens[(i * C + slot) * W + o.before]);
  }
  return out;
}

/** Entropy in bits of the empirical distribution of `tokens`. */
export function tokenEntropy(tokens: number[]): number {
  const counts = new Map<number, number>();
  for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / tokens.length;
    h -= p * Math.log2(p);
  }
  return h === 0 ? 0 : h; // no -0
}

/** The measures of one run: `decoder` [F, D] in any units (cosines ignore scale). */
export async function featureMeasures(
  data: FeatureData,
  decoder: Float32Array,
  dModel: number,
): Promise<FeatureMeasures> {
  let entropySum = 0, firing = 0, multi = 0, same = 0;
  const alive: number[] = [];
  for (let i = 0; i < data.width; i++) {
    if (data.frequency[i] === 0) continue;
    alive.push(i);
    const tokens = topContextTokens(data, i);
    entropySum += tokenEntropy(tokens);
    firing++;
    if (tokens.length >= 2) {
      multi++;
      if (tokens.every((t) => t === tokens[0])) same++;
    }
  }
  return {
    top_token_entropy: firing > 0 ? entropySum / firing : null,
    same_token_frac: multi > 0 ? same / multi : null,
    decoder_mmcs: alive.length >= 2 ? await meanMaxCosine(decoder, dModel, alive) : null,
  };
}

/** Mean over `rows` of each row's largest cosine with another of `rows` (of `m` [F, D]). */
export async function meanMaxCosine(m: Float32Array, D: number, rows: number[]): Promise<number> {
  const n = rows.length;
  const unit = new Float32Array(n * D);
  rows.forEach((r, k) => {
    let norm = 0;
    for (let d = 0; d < D; d++) norm += m[r * D + d] ** 2;
    const s = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let d = 0; d < D; d++) unit[k * D + d] = m[r * D + d] * s;
  });
  const all = tf.tensor2d(unit, [n, D]);
  const allT = tf.transpose(all); // [D, n]; explicit, as transposeB is slow on wasm
  let sum = 0;
  try {
    for (let a = 0; a < n; a += BLOCK) {
      const b = Math.min(n, a + BLOCK);
      const best = tf.tidy(() => {
        const cos = tf.matMul(all.slice([a, 0], [b - a, D]), allT); // [block, n]
        // Exclude each row's cosine with itself.
        const self = tf.mul(tf.cast(tf.oneHot(tf.range(a, b, 1, "int32"), n), "float32"), -4);
        return tf.max(tf.add(cos, self), 1);
      });
      const values = await best.data();
      best.dispose();
      for (const v of values) sum += v;
    }
  } finally {
    tf.dispose([all, allT]);
  }
  return sum / n;
}
