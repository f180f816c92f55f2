// TopK SAE (Gao et al. 2024): f = TopK_k(ReLU((x - b_dec) W_enc + b_enc)) with k = target_l0, unit
// norm decoder, and the AuxK loss that reconstructs the residual from the top k_aux pre-activations
// of dead latents (no activation in the last `dead_tokens` training tokens). BatchTopK shares all
// of this but the selection (batchtopk.ts).
// Shapes: B batch, D d_model, F latents.
import * as tf from "@tensorflow/tfjs";
import { matMul, stopGradient, topkSelect } from "../ste.ts";
import type { Architecture, LossResult, SaeConfig, TensorMap } from "../types.ts";
import {
  encoderInput,
  exportLinearSae,
  initLinearSae,
  linearDecode,
  reconstructionLoss,
  zerosHost,
} from "../linear_sae.ts";
import { auxK, type AuxSettings, TopKOptions, topkOptions } from "./options.ts";
import { topkKernel } from "./kernel.ts";
import { topkFamilyWebGpu } from "./webgpu.ts";

/** ReLU of the encoder pre-activations [B, F]. */
export function reluPre(params: TensorMap, x: tf.Tensor2D, sae: SaeConfig): tf.Tensor2D {
  const xIn = encoderInput(x, params.b_dec, sae.pre_encoder_bias);
  return tf.relu(tf.add(matMul(xIn, params.W_enc as tf.Tensor2D), params.b_enc));
}

/**
 * AuxK term: alpha * ||e - e_hat||^2 / ||e - mean(e)||^2 (summed over the batch), where
 * e = x - x_hat (frozen) and e_hat decodes the top k_aux ReLU pre-activations among dead latents.
 * Zero when no latent is dead. With `scaleByDead`, alpha is multiplied by min(n_dead / k_aux, 1)
 * (SynthSAEBench's JumpReLU, Chanin & Garriga-Alonso 2026).
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
    scaleByDead?: boolean;
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
  const weight = options.scaleByDead
    ? tf.minimum(tf.div(tf.sum(dead), k), 1) // min(n_dead / k_aux, 1), 0 with no dead latent
    : tf.cast(tf.greater(tf.sum(dead), 0), "float32");
  return tf.mul(tf.mul(options.alpha, weight), tf.div(err, spread)) as tf.Scalar;
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
  options: { sae: SaeConfig; batch: boolean; aux: AuxSettings },
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
  summary:
    "TopK SAE keeping the k = target_l0 largest latents per token, with AuxK (Gao et al. 2024)",
  options: TopKOptions,
  defaultsVersion: 1,
  sparsity: "k",
  uses: ["pre_encoder_bias", "b_dec_init"],
  kernels: { cpu: topkKernel, webgpu: topkFamilyWebGpu(false, topkOptions) },
  parityCases: [
    { label: "without pre-encoder bias", sae: { pre_encoder_bias: false } },
    // Half the latents of a parity case are dead: 48 of 96, against k_aux 8 by default.
    { label: "fewer dead latents than k_aux", sae: { topk: { aux_k: 64 } } },
  ],
  // AuxK freezes its residual target, so the check runs without it.
  gradientCheck: { params: ["W_dec"], sae: { topk: { aux_alpha: 0 } } },
  termNames: () => ["recon", "aux"],
  unitNormDecoder: true,
  decoderParam: "W_dec",

  init({ d, f }, { rng }) {
    return { params: initLinearSae(d, f, rng), state: { since_fired: zerosHost(f) } };
  },

  loss(params, state, x, { sae }) {
    return topkFamilyLoss(params, state, x, { sae, batch: false, aux: topkOptions(sae) });
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
    return [topkOptions(sae).adam_beta1, topkOptions(sae).adam_beta2];
  },

  deadTokens: (sae) => topkOptions(sae).dead_tokens,

  exportTensors(params, _state, { sae, scale }) {
    return {
      tensors: exportLinearSae(params, { scale, preEncoderBias: sae.pre_encoder_bias }),
      cfg: { architecture: "topk", k: sae.target_l0, apply_b_dec_to_input: false },
    };
  },
};
