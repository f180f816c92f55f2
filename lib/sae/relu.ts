// Standard ReLU SAE with the decoder-norm-weighted L1 penalty (Anthropic's April 2024 update):
// f = ReLU(x W_enc + b_enc), loss = ||x - x_hat||^2 + lambda sum_i f_i ||W_dec,i||; free decoder.
// The encoder sees x itself (no pre-encoder bias), as in that recipe.
// Shapes: B batch, D d_model, F latents.
import * as tf from "@tensorflow/tfjs";
import { matMul } from "./ste.ts";
import type { Architecture } from "./types.ts";
import { exportLinearSae, initLinearSae, linearDecode, reconstructionLoss } from "./_common.ts";

export const relu: Architecture = {
  name: "relu",
  termNames: ["recon", "sparsity"],
  usesLambda: true,
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
    return [sae.relu.adam_beta1, sae.relu.adam_beta2];
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
