// Standard ReLU SAE with the decoder-norm-weighted L1 penalty (Anthropic's April 2024 update):
// f = ReLU(x W_enc + b_enc), loss = ||x - x_hat||^2 + lambda sum_i f_i ||W_dec,i||; free decoder.
// The encoder sees x itself (no pre-encoder bias), as in that recipe.
// Shapes: B batch, D d_model, F latents.
import * as tf from "@tensorflow/tfjs";
import { matMul } from "../ste.ts";
import type { Architecture } from "../types.ts";
import { exportLinearSae, initLinearSae, linearDecode, reconstructionLoss } from "../linear_sae.ts";
import { ReluOptions, reluOptions } from "./options.ts";
import { reluKernel } from "./kernel.ts";
import { reluWebGpu } from "./webgpu.ts";

export const relu: Architecture = {
  name: "relu",
  summary: "ReLU SAE with the decoder-norm-weighted L1 penalty (Anthropic, April 2024 update)",
  options: ReluOptions,
  defaultsVersion: 2,
  sparsity: "penalty",
  // lambda * sum_i f_i ||W_dec,i||: an L1 of the activations.
  penaltyShape: () => ({ kind: "l1" }),
  // The encoder sees x itself, so pre_encoder_bias is not read (and not part of the run id).
  uses: ["b_dec_init"],
  kernels: { cpu: reluKernel, webgpu: reluWebGpu },
  saelens: {
    loads: "standard",
    required: ["W_enc", "b_enc", "W_dec", "b_dec"],
    encode: (t, xIn) => tf.relu(tf.add(tf.matMul(xIn, t("W_enc")), t("b_enc"))),
  },
  gradientCheck: { params: ["W_enc", "b_enc", "W_dec", "b_dec"] },
  termNames: () => ["recon", "sparsity"],
  unitNormDecoder: false,
  decoderParam: "W_dec",

  init({ d, f }, { rng }) {
    return { params: initLinearSae(d, f, rng), state: {} };
  },

  loss(params, _state, x, { lambda }) {
    const f = tf.relu(tf.add(matMul(x, params.W_enc as tf.Tensor2D), params.b_enc)) as tf.Tensor2D;
    const xHat = linearDecode(params, f);
    const recon = reconstructionLoss(x, xHat);
    const decNorms = tf.norm(params.W_dec, "euclidean", 1); // [F]
    const sparsity = tf.mul(lambda, tf.mean(tf.sum(tf.mul(f, decNorms), 1))) as tf.Scalar;
    return { total: tf.add(recon, sparsity) as tf.Scalar, terms: { recon, sparsity }, f, xHat };
  },

  encode(params, _state, x) {
    return tf.tidy(() => tf.relu(tf.add(matMul(x, params.W_enc as tf.Tensor2D), params.b_enc)));
  },

  decode(params, f) {
    return tf.tidy(() => linearDecode(params, f));
  },

  adamBetas(sae) {
    return [reluOptions(sae).adam_beta1, reluOptions(sae).adam_beta2];
  },

  calibrate(init, sample) {
    init.params.b_enc.data.set(sample.quantiles("W_enc").map((v) => -v));
  },

  exportTensors(params, _state, { scale }) {
    return {
      tensors: exportLinearSae(params, { scale, preEncoderBias: false }),
      // SAELens calls the plain ReLU SAE "standard"; it subtracts b_dec from the input unless
      // apply_b_dec_to_input is false.
      cfg: { architecture: "standard", apply_b_dec_to_input: false },
    };
  },
};
