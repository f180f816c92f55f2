// TopK SAE (Gao et al. 2024): f = TopK_k(ReLU((x - b_dec) W_enc + b_enc)) with k = target_l0, unit
// norm decoder, and the AuxK loss that reconstructs the residual from the top k_aux pre-activations
// of dead latents (no activation in the last `dead_tokens` training tokens).
// Shapes: B batch, D d_model, F latents.
import * as tf from "@tensorflow/tfjs";
import { matMul } from "./ste.ts";
import type { Architecture, TensorMap } from "./types.ts";
import {
  encoderInput,
  foldEncoderBias,
  initDecoder,
  reconstructionLoss,
  scaleHost,
  transposeHost,
  zerosHost,
} from "./_common.ts";
import { stopGradient, topkSelect } from "./ste.ts";
import type { SaeSpec } from "../spec/schema.ts";

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

export const topk: Architecture = {
  name: "topk",
  termNames: ["recon", "aux"],
  usesLambda: false,
  unitNormDecoder: true,
  decoderParam: "W_dec",

  init({ d, f }, { rng }) {
    const wDec = initDecoder(f, d, rng);
    return {
      params: { W_enc: transposeHost(wDec), b_enc: zerosHost(f), W_dec: wDec, b_dec: zerosHost(d) },
      state: { since_fired: zerosHost(f) },
    };
  },

  loss(params, state, x, { sae }) {
    const r = reluPre(params, x, sae);
    const f = topkSelect(r, sae.target_l0);
    const wDec = params.W_dec as tf.Tensor2D;
    const xHat = tf.add(matMul(f, wDec), params.b_dec) as tf.Tensor2D;
    const recon = reconstructionLoss(x, xHat);
    const aux = auxKLoss(r, x, xHat, {
      wDec,
      sinceFired: state.since_fired,
      deadTokens: sae.topk.dead_tokens,
      k: auxK(sae.topk, x.shape[1]),
      alpha: sae.topk.aux_alpha,
    });
    return { total: tf.add(recon, aux) as tf.Scalar, terms: { recon, aux }, f, xHat };
  },

  encode(params, _state, x, sae) {
    return tf.tidy(() => topkSelect(reluPre(params, x, sae), sae.target_l0));
  },

  decode(params, f) {
    return tf.tidy(() => tf.add(matMul(f, params.W_dec as tf.Tensor2D), params.b_dec));
  },

  updateState(state, { f }) {
    return { since_fired: tickSinceFired(state.since_fired, f) };
  },

  adamBetas(sae) {
    return [sae.topk.adam_beta1, sae.topk.adam_beta2];
  },

  exportTensors(params, _state, { sae, scale }) {
    return {
      tensors: {
        W_enc: params.W_enc,
        b_enc: foldEncoderBias(params.b_enc, params.W_enc, params.b_dec, {
          scale,
          preEncoderBias: sae.pre_encoder_bias,
        }),
        W_dec: params.W_dec,
        b_dec: scaleHost(params.b_dec, scale),
      },
      cfg: { architecture: "topk", k: sae.target_l0, apply_b_dec_to_input: false },
    };
  },
};
