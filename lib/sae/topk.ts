// TopK SAE (Gao et al. 2024): f = TopK_k(ReLU((x - b_dec) W_enc + b_enc)) with k = target_l0, unit
// norm decoder, and the AuxK loss that reconstructs the residual from the top k_aux pre-activations
// of dead latents (no activation in the last `dead_tokens` training tokens). BatchTopK shares all
// of this but the selection (batchtopk.ts).
// Shapes: B batch, D d_model, F latents.
import * as tf from "@tensorflow/tfjs";
import { matMul, stopGradient, topkSelect } from "./ste.ts";
import type { Architecture, LossResult, TensorMap } from "./types.ts";
import {
  encoderInput,
  exportLinearSae,
  initLinearSae,
  linearDecode,
  reconstructionLoss,
  zerosHost,
} from "./_common.ts";
import type { BatchTopKOptions, SaeSpec, TopKOptions } from "../spec/schema.ts";

/** ReLU of the encoder pre-activations [B, F]. */
export function reluPre(params: TensorMap, x: tf.Tensor2D, sae: SaeSpec): tf.Tensor2D {
  const xIn = encoderInput(x, params.b_dec, sae.pre_encoder_bias);
  return tf.relu(tf.add(matMul(xIn, params.W_enc as tf.Tensor2D), params.b_enc));
}

/** Number of dead latents AuxK may use: the configured value or min(512, D / 2). */
export function auxK(options: { aux_k: number | null }, d: number): number {
  return options.aux_k ?? Math.min(512, Math.max(1, Math.floor(d / 2)));
}

/**
 * AuxK term: alpha * ||e - e_hat||^2 / ||e - mean(e)||^2 (summed over the batch), where
 * e = x - x_hat (frozen) and e_hat decodes the top k_aux ReLU pre-activations among dead latents.
 * Zero when no latent is dead.
 */
export function auxKLoss(
  r: tf.Tensor2D,
  x: tf.Tensor2D,
  xHat: tf.Tensor2D,
  options: {
    wDec: tf.Tensor2D;
    sinceFired: tf.Tensor;
    deadTokens: number;
    k: number;
    alpha: number;
  },
): tf.Scalar {
  const dead = tf.cast(tf.greaterEqual(options.sinceFired, options.deadTokens), "float32"); // [F]
  const k = Math.min(options.k, r.shape[1]);
  if (k === 0 || options.alpha === 0) return tf.scalar(0);
  const fAux = topkSelect(tf.mul(r, dead) as tf.Tensor2D, k); // [B, F]
  const e = stopGradient(tf.sub(x, xHat)) as tf.Tensor2D; // [B, D]
  const eHat = matMul(fAux, options.wDec); // [B, D]
  const err = tf.sum(tf.square(tf.sub(e, eHat)));
  const spread = tf.add(tf.sum(tf.square(tf.sub(e, tf.mean(e, 0)))), 1e-12);
  const anyDead = tf.cast(tf.greater(tf.sum(dead), 0), "float32");
  return tf.mul(tf.mul(options.alpha, anyDead), tf.div(err, spread)) as tf.Scalar;
}

/** Dead-latent clock: tokens since each latent last fired, reset where f fired in this batch. */
export function tickSinceFired(sinceFired: tf.Tensor, f: tf.Tensor2D): tf.Tensor {
  const fired = tf.greater(tf.max(f, 0), 0); // [F]
  return tf.where(fired, tf.zerosLike(sinceFired), tf.add(sinceFired, f.shape[0]));
}

/** Training loss of TopK (per row) or BatchTopK (across the batch) selection, plus AuxK. */
export function topkFamilyLoss(
  params: TensorMap,
  state: TensorMap,
  x: tf.Tensor2D,
  options: { sae: SaeSpec; batch: boolean; aux: TopKOptions | BatchTopKOptions },
): LossResult {
  const r = reluPre(params, x, options.sae);
  const f = topkSelect(r, options.sae.target_l0, { batch: options.batch });
  const xHat = linearDecode(params, f);
  const recon = reconstructionLoss(x, xHat);
  const aux = auxKLoss(r, x, xHat, {
    wDec: params.W_dec as tf.Tensor2D,
    sinceFired: state.since_fired,
    deadTokens: options.aux.dead_tokens,
    k: auxK(options.aux, x.shape[1]),
    alpha: options.aux.aux_alpha,
  });
  return { total: tf.add(recon, aux) as tf.Scalar, terms: { recon, aux }, f, xHat };
}

export const topk: Architecture = {
  name: "topk",
  termNames: ["recon", "aux"],
  usesLambda: false,
  unitNormDecoder: true,
  decoderParam: "W_dec",

  init({ d, f }, { rng }) {
    return { params: initLinearSae(d, f, rng), state: { since_fired: zerosHost(f) } };
  },

  loss(params, state, x, { sae }) {
    return topkFamilyLoss(params, state, x, { sae, batch: false, aux: sae.topk });
  },

  encode(params, _state, x, sae) {
    return tf.tidy(() => topkSelect(reluPre(params, x, sae), sae.target_l0));
  },

  decode(params, f) {
    return tf.tidy(() => linearDecode(params, f));
  },

  updateState(state, { f }) {
    return { since_fired: tickSinceFired(state.since_fired, f) };
  },

  adamBetas(sae) {
    return [sae.topk.adam_beta1, sae.topk.adam_beta2];
  },

  exportTensors(params, _state, { sae, scale }) {
    return {
      tensors: exportLinearSae(params, { scale, preEncoderBias: sae.pre_encoder_bias }),
      cfg: { architecture: "topk", k: sae.target_l0, apply_b_dec_to_input: false },
    };
  },
};
