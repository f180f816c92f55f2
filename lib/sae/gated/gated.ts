// Gated SAE (Rajamanoharan et al. 2024a): a gate path decides which latents fire, a magnitude path
// (sharing W_gate, rescaled by exp(r_mag)) sets their values. Unit-norm decoder, so the L1 on the
// gate needs no decoder-norm weights; the auxiliary loss reconstructs through a frozen decoder copy.
// Shapes: B batch, D d_model, F latents.
import * as tf from "@tensorflow/tfjs";
import type { Architecture, TensorMap } from "../types.ts";
import {
  encoderInput,
  foldEncoderBias,
  initDecoder,
  linearDecode,
  reconstructionLoss,
  scaleHost,
  transposeHost,
  zerosHost,
} from "../linear_sae.ts";
import { matMul, stopGradient } from "../ste.ts";
import type { SaeConfig } from "../types.ts";
import { GatedOptions, gatedOptions } from "./options.ts";
import { gatedKernel } from "./kernel.ts";
import { gatedWebGpu } from "./webgpu.ts";

/** Gate and magnitude pre-activations, each [B, F]. */
function paths(params: TensorMap, x: tf.Tensor2D, sae: SaeConfig): [tf.Tensor2D, tf.Tensor2D] {
  const xIn = encoderInput(x, params.b_dec, sae.pre_encoder_bias);
  const gate = tf.add(matMul(xIn, params.W_gate as tf.Tensor2D), params.b_gate) as tf.Tensor2D;
  const wMag = tf.mul(params.W_gate, tf.exp(params.r_mag)) as tf.Tensor2D; // [D, F]
  const mag = tf.add(matMul(xIn, wMag), params.b_mag) as tf.Tensor2D;
  return [gate, mag];
}

export const gated: Architecture = {
  name: "gated",
  summary:
    "Gated SAE: a gate path picks latents, a magnitude path sizes them (Rajamanoharan et al. 2024a)",
  options: GatedOptions,
  defaultsVersion: 2,
  sparsity: "penalty",
  // lambda * sum_i relu(gate_i): an L1 of the gate path.
  penaltyShape: () => ({ kind: "l1" }),
  uses: ["pre_encoder_bias", "b_dec_init"],
  kernels: { cpu: gatedKernel, webgpu: gatedWebGpu },
  saelens: {
    loads: "gated",
    required: ["W_enc", "b_gate", "r_mag", "b_mag", "W_dec", "b_dec"],
    encode(t, xIn) {
      const wEnc = t("W_enc");
      const gate = tf.add(tf.matMul(xIn, wEnc), t("b_gate"));
      const mag = tf.add(tf.matMul(xIn, tf.mul(wEnc, tf.exp(t("r_mag")))), t("b_mag"));
      return tf.mul(tf.step(gate), tf.relu(mag));
    },
  },
  parityCases: [{ label: "without pre-encoder bias", sae: { pre_encoder_bias: false } }],
  // The aux term reconstructs through a frozen decoder: W_dec sees recon + sparsity only.
  gradientCheck: { params: ["W_dec", "b_mag", "r_mag"], terms: ["recon", "sparsity"] },
  termNames: () => ["recon", "sparsity", "aux"],
  unitNormDecoder: true,
  decoderParam: "W_dec",

  init({ d, f }, { rng }) {
    const wDec = initDecoder(f, d, rng);
    return {
      params: {
        W_gate: transposeHost(wDec),
        b_gate: zerosHost(f),
        r_mag: zerosHost(f),
        b_mag: zerosHost(f),
        W_dec: wDec,
        b_dec: zerosHost(d),
      },
      state: {},
    };
  },

  loss(params, _state, x, { sae, lambda }) {
    const [gate, mag] = paths(params, x, sae);
    // H(gate) has zero gradient: tf.step's registered gradient is zero.
    const f = tf.mul(tf.step(gate), tf.relu(mag)) as tf.Tensor2D;
    const wDec = params.W_dec as tf.Tensor2D;
    const xHat = linearDecode(params, f);
    const recon = reconstructionLoss(x, xHat);
    const gateAct = tf.relu(gate) as tf.Tensor2D;
    const sparsity = tf.mul(lambda, tf.mean(tf.sum(gateAct, 1))) as tf.Scalar;
    const xAux = tf.add(
      matMul(gateAct, stopGradient(wDec)),
      stopGradient(params.b_dec),
    ) as tf.Tensor2D;
    const aux = reconstructionLoss(x, xAux);
    return {
      total: tf.addN([recon, sparsity, aux]) as tf.Scalar,
      terms: { recon, sparsity, aux },
      f,
      xHat,
    };
  },

  encode(params, _state, x, sae) {
    return tf.tidy(() => {
      const [gate, mag] = paths(params, x, sae);
      return tf.mul(tf.step(gate), tf.relu(mag)) as tf.Tensor2D;
    });
  },

  decode(params, f) {
    return tf.tidy(() => linearDecode(params, f));
  },

  adamBetas(sae) {
    return [gatedOptions(sae).adam_beta1, gatedOptions(sae).adam_beta2];
  },

  calibrate(init, sample) {
    const q = sample.quantiles("W_gate").map((v) => -v);
    init.params.b_gate.data.set(q);
    init.params.b_mag.data.set(q);
  },

  exportTensors(params, _state, { sae, scale }) {
    // SAELens gated layout: W_enc is the gate matrix, magnitudes use W_enc * exp(r_mag).
    const [d, f] = params.W_gate.shape;
    const wMag = {
      shape: [d, f],
      data: params.W_gate.data.map((v, i) => v * Math.exp(params.r_mag.data[i % f])),
    };
    const fold = { scale, preEncoderBias: sae.pre_encoder_bias };
    return {
      tensors: {
        W_enc: params.W_gate,
        b_gate: foldEncoderBias(params.b_gate, params.W_gate, params.b_dec, fold),
        r_mag: params.r_mag,
        b_mag: foldEncoderBias(params.b_mag, wMag, params.b_dec, fold),
        W_dec: params.W_dec,
        b_dec: scaleHost(params.b_dec, scale),
      },
      cfg: { architecture: "gated", apply_b_dec_to_input: false },
    };
  },
};
