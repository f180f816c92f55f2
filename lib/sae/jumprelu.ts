// JumpReLU SAE (Rajamanoharan et al. 2024, arXiv 2407.14435): f = pi * H(pi - theta) with a
// trained per-latent threshold and a direct L0 penalty trained through straight-through
// estimators (lib/sae/ste.ts). Options for the points the field disagrees on live in sae.jumprelu.
// Shapes: B batch, D d_model, F latents.
import * as tf from "@tensorflow/tfjs";
import { matMul } from "./ste.ts";
import type { Architecture, HostTensors, TensorMap } from "./types.ts";
import {
  encoderInput,
  exportLinearSae,
  fullHost,
  initLinearSae,
  linearDecode,
  reconstructionLoss,
  scaleHost,
} from "./_common.ts";
import { jumpRelu as jumpReluOp, stepSte } from "./ste.ts";
import type { SaeSpec } from "../spec/schema.ts";

/** Threshold theta [F] from its trainable parameter (log theta or theta). */
function threshold(params: TensorMap, sae: SaeSpec): tf.Tensor1D {
  return (sae.jumprelu.threshold_param === "log"
    ? tf.exp(params.log_threshold)
    : params.threshold) as tf.Tensor1D;
}

function preActivations(params: TensorMap, x: tf.Tensor2D, sae: SaeSpec): tf.Tensor2D {
  const xIn = encoderInput(x, params.b_dec, sae.pre_encoder_bias);
  return tf.add(matMul(xIn, params.W_enc as tf.Tensor2D), params.b_enc); // [B, F]
}

export const jumprelu: Architecture = {
  name: "jumprelu",
  termNames: ["recon", "sparsity"],
  usesLambda: true,
  unitNormDecoder: true,
  decoderParam: "W_dec",

  init({ d, f }, { sae, rng }) {
    const theta = sae.jumprelu.init_threshold;
    const thresholdParam: HostTensors = sae.jumprelu.threshold_param === "log"
      ? { log_threshold: fullHost(Math.log(theta), f) }
      : { threshold: fullHost(theta, f) };
    return {
      params: { ...initLinearSae(d, f, rng), ...thresholdParam },
      state: {},
    };
  },

  loss(params, _state, x, { sae, lambda }) {
    const opts = sae.jumprelu;
    const pi = preActivations(params, x, sae); // [B, F]
    const theta = threshold(params, sae); // [F]
    const f = jumpReluOp(pi, theta, opts.bandwidth) as tf.Tensor2D; // [B, F]
    const xHat = linearDecode(params, f);
    const recon = reconstructionLoss(x, xHat);
    const stepInput = opts.step_input === "pre" ? pi : f;
    const l0 = tf.mean(tf.sum(stepSte(stepInput, theta, opts.bandwidth), 1)); // scalar
    const sparsity = opts.penalty === "l0"
      ? tf.mul(lambda, l0)
      : tf.mul(lambda, tf.square(tf.sub(tf.div(l0, sae.target_l0), 1)));
    return {
      total: tf.add(recon, sparsity) as tf.Scalar,
      terms: { recon, sparsity: sparsity as tf.Scalar },
      f,
      xHat,
    };
  },

  encode(params, _state, x, sae) {
    return tf.tidy(() => {
      const pi = preActivations(params, x, sae);
      return tf.mul(pi, tf.cast(tf.greater(pi, threshold(params, sae)), "float32")) as tf.Tensor2D;
    });
  },

  decode(params, f) {
    return tf.tidy(() => linearDecode(params, f));
  },

  lrScale(param, sae) {
    return param === "log_threshold" || param === "threshold" ? sae.jumprelu.threshold_lr_scale : 1;
  },

  adamBetas(sae) {
    return [sae.jumprelu.adam_beta1, sae.jumprelu.adam_beta2];
  },

  constrain(params, sae) {
    // A linear threshold must stay positive (the log parameterisation guarantees it).
    const out: TensorMap = {};
    if (sae.jumprelu.threshold_param === "linear") {
      out.threshold = tf.maximum(params.threshold, 1e-6);
    }
    return out;
  },

  exportTensors(params, _state, { sae, scale }) {
    const theta = sae.jumprelu.threshold_param === "log"
      ? { shape: params.log_threshold.shape, data: params.log_threshold.data.map(Math.exp) }
      : params.threshold;
    return {
      tensors: {
        ...exportLinearSae(params, { scale, preEncoderBias: sae.pre_encoder_bias }),
        threshold: scaleHost(theta, scale),
      },
      cfg: { architecture: "jumprelu", apply_b_dec_to_input: false },
    };
  },
};
