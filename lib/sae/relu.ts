// Standard ReLU SAE with the decoder-norm-weighted L1 penalty (Anthropic's April 2024 update):
// f = ReLU(x W_enc + b_enc), loss = ||x - x_hat||^2 + lambda sum_i f_i ||W_dec,i||; free decoder.
// The encoder sees x itself (no pre-encoder bias), as in that recipe.
// Shapes: B batch, D d_model, F latents.
import * as tf from "@tensorflow/tfjs";
import { matMul } from "./ste.ts";
import type { Architecture } from "./types.ts";
import {
  foldEncoderBias,
  initDecoder,
  reconstructionLoss,
  scaleHost,
  transposeHost,
  zerosHost,
} from "./_common.ts";

export const relu: Architecture = {
  name: "relu",
  termNames: ["recon", "sparsity"],
  usesLambda: true,
  unitNormDecoder: false,
  decoderParam: "W_dec",

  init({ d, f }, { rng }) {
    const wDec = initDecoder(f, d, rng);
    return {
      params: { W_enc: transposeHost(wDec), b_enc: zerosHost(f), W_dec: wDec, b_dec: zerosHost(d) },
      state: {},
    };
  },

  loss(params, _state, x, { lambda }) {
    const f = tf.relu(tf.add(matMul(x, params.W_enc as tf.Tensor2D), params.b_enc)) as tf.Tensor2D;
    const xHat = tf.add(matMul(f, params.W_dec as tf.Tensor2D), params.b_dec) as tf.Tensor2D;
    const recon = reconstructionLoss(x, xHat);
    const decNorms = tf.norm(params.W_dec, "euclidean", 1); // [F]
    const sparsity = tf.mul(lambda, tf.mean(tf.sum(tf.mul(f, decNorms), 1))) as tf.Scalar;
    return { total: tf.add(recon, sparsity) as tf.Scalar, terms: { recon, sparsity }, f, xHat };
  },

  encode(params, _state, x) {
    return tf.tidy(() => tf.relu(tf.add(matMul(x, params.W_enc as tf.Tensor2D), params.b_enc)));
  },

  decode(params, f) {
    return tf.tidy(() => tf.add(matMul(f, params.W_dec as tf.Tensor2D), params.b_dec));
  },

  adamBetas(sae) {
    return [sae.relu.adam_beta1, sae.relu.adam_beta2];
  },

  exportTensors(params, _state, { scale }) {
    return {
      tensors: {
        W_enc: params.W_enc,
        b_enc: foldEncoderBias(params.b_enc, params.W_enc, params.b_dec, {
          scale,
          preEncoderBias: false,
        }),
        W_dec: params.W_dec,
        b_dec: scaleHost(params.b_dec, scale),
      },
      // SAELens calls the plain ReLU SAE "standard"; it subtracts b_dec from the input unless
      // apply_b_dec_to_input is false.
      cfg: { architecture: "standard", apply_b_dec_to_input: false },
    };
  },
};
