// JumpReLU SAE (Rajamanoharan et al. 2024, arXiv 2407.14435): f = pi * H(pi - theta) with a
// trained per-latent threshold and a direct L0 penalty trained through straight-through
// estimators (lib/sae/ste.ts). Options for the points the field disagrees on live in sae.jumprelu
// (options.ts); the fast kernel is kernel.ts.
// Shapes: B batch, D d_model, F latents.
import * as tf from "@tensorflow/tfjs";
import { matMul } from "../ste.ts";
import type {
  Architecture,
  CalibrationSample,
  HostTensors,
  InitResult,
  SaeConfig,
  TensorMap,
} from "../types.ts";
import {
  encoderInput,
  exportLinearSae,
  fullHost,
  initLinearSae,
  linearDecode,
  reconstructionLoss,
  scaleHost,
  zerosHost,
} from "../linear_sae.ts";
import { jumpRelu as jumpReluOp, rectangle, stepSte } from "../ste.ts";
import { JumpReluOptions, jumpreluOptions, steBandwidth, thresholdValues } from "./options.ts";
import { jumpreluKernel } from "./kernel.ts";
import { thresholdHealth } from "./health.ts";
import { auxK, auxKLoss } from "../shared/aux_k.ts";
import { tickSinceFired } from "../shared/dead_latents.ts";
import { jumpreluWebGpu } from "./webgpu.ts";

/**
 * The data-resolved bandwidth per state tensor data (tfjs data never changes under one dataId;
 * assign() gives a new one): one device read per value instead of a blocking read every step.
 */
const resolvedBandwidth = new WeakMap<object, number>();

/**
 * The STE bandwidth eps: the option itself, or (bandwidth_unit: pre_act_std) the value resolved
 * from the data at the start and kept in the state.
 */
function bandwidth(state: TensorMap, sae: SaeConfig): number {
  const t = state.bandwidth;
  if (!t) return steBandwidth(sae);
  let eps = resolvedBandwidth.get(t.dataId);
  if (eps === undefined) {
    eps = steBandwidth(sae, t.dataSync()[0]);
    resolvedBandwidth.set(t.dataId, eps);
  }
  return eps;
}

/** Threshold theta [F] from its trainable parameter (log theta or theta). */
function threshold(params: TensorMap, sae: SaeConfig): tf.Tensor1D {
  return (jumpreluOptions(sae).threshold_param === "log"
    ? tf.exp(params.log_threshold)
    : params.threshold) as tf.Tensor1D;
}

/** sum_i p_i (1 + p_i / s) over the firing frequencies p [F] (GDM's quadratic-frequency penalty). */
function frequencyPenalty(p: tf.Tensor1D, s: number): tf.Scalar {
  return tf.sum(tf.mul(p, tf.add(1, tf.div(p, s))));
}

function preActivations(params: TensorMap, x: tf.Tensor2D, sae: SaeConfig): tf.Tensor2D {
  const xIn = encoderInput(x, params.b_dec, sae.pre_encoder_bias);
  return tf.add(matMul(xIn, params.W_enc as tf.Tensor2D), params.b_enc); // [B, F]
}

/** Each latent's threshold at its quantile for target_l0, floored so the log stays finite. */
function quantileThresholds(init: InitResult, sample: CalibrationSample): void {
  const theta = sample.quantiles("W_enc").map((v) => Math.max(v, 1e-4));
  const p = init.params;
  if (p.log_threshold) p.log_threshold.data.set(theta.map(Math.log));
  else p.threshold.data.set(theta);
}

/** The thresholds theta of host parameters (the initial SAE, a snapshot). */
function hostThresholds(p: HostTensors): Float32Array {
  return thresholdValues({ log_threshold: p.log_threshold?.data, threshold: p.threshold?.data });
}

/** Multiplies W_enc, b_enc and theta by s > 0 (latents scale by s, the firing pattern stays). */
function scaleEncoder(init: InitResult, s: number): void {
  const p = init.params;
  for (const name of ["W_enc", "b_enc", "threshold"]) {
    if (p[name]) p[name].data.set(p[name].data.map((v) => v * s));
  }
  if (p.log_threshold) p.log_threshold.data.set(p.log_threshold.data.map((v) => v + Math.log(s)));
}

export const jumprelu: Architecture = {
  name: "jumprelu",
  summary:
    "JumpReLU SAE with STE-trained thresholds and a direct L0 penalty (Rajamanoharan et al. 2024)",
  options: JumpReluOptions,
  defaultsVersion: 2,
  sparsity: "penalty",
  penaltyShape(sae) {
    const o = jumpreluOptions(sae);
    if (o.penalty === "quadratic_frequency") {
      return { kind: o.penalty, frequencyScale: o.frequency_scale };
    }
    if (o.penalty === "tanh") return { kind: o.penalty, tanhScale: o.tanh_scale };
    return { kind: o.penalty };
  },
  uses: ["pre_encoder_bias", "b_dec_init"],
  kernels: { cpu: jumpreluKernel, webgpu: jumpreluWebGpu },
  saelens: {
    loads: "jumprelu",
    required: ["W_enc", "b_enc", "W_dec", "b_dec", "threshold"],
    encode(t, xIn) {
      const pre = tf.add(tf.matMul(xIn, t("W_enc")), t("b_enc")); // [N, F]
      return tf.mul(tf.relu(pre), tf.cast(tf.greater(pre, t("threshold")), "float32"));
    },
  },
  parityCases: [
    { label: "linear theta", sae: { jumprelu: { threshold_param: "linear" } } },
    {
      label: "post step input, quadratic penalty, theta inside the kernel at 0",
      sae: {
        target_l0: 20,
        jumprelu: { step_input: "post", penalty: "quadratic", init_threshold: 0.02 },
      },
    },
    { label: "without pre-encoder bias", sae: { pre_encoder_bias: false } },
    // Half the parity case's 96 latents are dead: more than k_aux (8 by default), then fewer (64).
    { label: "AuxK on dead latents", sae: { jumprelu: { aux_alpha: 1 } } },
    { label: "tanh penalty", sae: { jumprelu: { penalty: "tanh" } } },
    {
      // The case's pre-activations have std ~0.25: eps ~0.05 instead of the option's 0.2.
      label: "bandwidth from the pre-activations' scale, quantile thresholds",
      sae: {
        jumprelu: { bandwidth_unit: "pre_act_std", bandwidth: 0.2, threshold_init: "quantile" },
      },
    },
    {
      label: "quadratic-frequency penalty, linear theta",
      sae: { jumprelu: { penalty: "quadratic_frequency", threshold_param: "linear" } },
    },
    {
      label: "quadratic-frequency penalty, post step input",
      sae: {
        jumprelu: { penalty: "quadratic_frequency", step_input: "post", init_threshold: 0.02 },
      },
    },
    { label: "pre-activation loss on dead latents", sae: { jumprelu: { pre_act_alpha: 0.3 } } },
    {
      label: "pre-activation loss on all latents, linear theta, AuxK",
      sae: {
        jumprelu: {
          pre_act_alpha: 0.3,
          pre_act_dead_only: false,
          threshold_param: "linear",
          aux_alpha: 1,
        },
      },
    },
    {
      label: "tanh penalty, linear theta, AuxK",
      sae: { jumprelu: { penalty: "tanh", threshold_param: "linear", aux_alpha: 1 } },
    },
    {
      label: "AuxK, fewer dead latents than k_aux",
      sae: { jumprelu: { aux_alpha: 1, aux_k: 64 } },
    },
  ],
  // AuxK freezes its residual target, so the finite-difference check runs without it.
  gradientCheck: { params: ["W_dec"], sae: { jumprelu: { aux_alpha: 0 } } },
  termNames: (sae) => {
    const o = jumpreluOptions(sae);
    return [
      "recon",
      "sparsity",
      ...(o.aux_alpha > 0 ? ["aux"] : []),
      ...(o.pre_act_alpha > 0 ? ["pre_act"] : []),
    ];
  },
  unitNormDecoder: true,
  decoderParam: "W_dec",

  init({ d, f }, { sae, rng }) {
    const opts = jumpreluOptions(sae);
    const theta = opts.init_threshold;
    const thresholdParam: HostTensors = opts.threshold_param === "log"
      ? { log_threshold: fullHost(Math.log(theta), f) }
      : { threshold: fullHost(theta, f) };
    return {
      params: { ...initLinearSae(d, f, rng), ...thresholdParam },
      // Dead-latent clocks: the AuxK and pre-activation recipes read them, and every run reports
      // its dead fraction over training from them (the paper's maths never reads them); the
      // bandwidth only when it comes from the data.
      state: {
        since_fired: zerosHost(f),
        ...(opts.bandwidth_unit === "pre_act_std"
          ? { bandwidth: fullHost(opts.bandwidth, 1) }
          : {}),
      } as HostTensors,
    };
  },

  loss(params, state, x, { sae, lambda }) {
    const opts = jumpreluOptions(sae);
    const pi = preActivations(params, x, sae); // [B, F]
    const theta = threshold(params, sae); // [F]
    const eps = bandwidth(state, sae);
    const f = jumpReluOp(pi, theta, eps) as tf.Tensor2D; // [B, F]
    const xHat = linearDecode(params, f);
    const recon = reconstructionLoss(x, xHat);
    const stepInput = opts.step_input === "pre" ? pi : f;
    const h = stepSte(stepInput, theta, eps); // [B, F]
    const l0 = tf.mean(tf.sum(h, 1)); // scalar
    const sparsity = opts.penalty === "l0"
      ? tf.mul(lambda, l0)
      : opts.penalty === "quadratic"
      ? tf.mul(lambda, tf.square(tf.sub(tf.div(l0, sae.target_l0), 1)))
      : opts.penalty === "quadratic_frequency"
      ? tf.mul(lambda, frequencyPenalty(tf.mean(h, 0) as tf.Tensor1D, opts.frequency_scale))
      : tf.mul(lambda, tf.mean(tf.sum(tf.tanh(tf.mul(f, opts.tanh_scale)), 1))); // via f's STE
    const terms: Record<string, tf.Scalar> = { recon, sparsity: sparsity as tf.Scalar };
    if (opts.aux_alpha > 0) {
      // AuxK recipe: dead latents' ReLU pre-activations reconstruct the detached residual.
      terms.aux = auxKLoss(tf.relu(pi) as tf.Tensor2D, x, xHat, {
        wDec: params.W_dec as tf.Tensor2D,
        sinceFired: state.since_fired,
        deadTokens: opts.dead_tokens,
        k: auxK(opts, x.shape[1]),
        alpha: opts.aux_alpha,
        scaleByDead: true,
      });
    }
    if (opts.pre_act_alpha > 0) {
      // Pre-activation loss: pulls pi up to theta where it is below (dead latents, or all).
      const below = tf.relu(tf.sub(theta, pi)); // [B, F]
      const mask = opts.pre_act_dead_only
        ? tf.cast(tf.greaterEqual(state.since_fired, opts.dead_tokens), "float32") // [F]
        : tf.onesLike(theta);
      terms.pre_act = tf.mul(
        opts.pre_act_alpha,
        tf.mean(tf.sum(tf.mul(below, mask), 1)),
      ) as tf.Scalar;
    }
    // Health: fraction of entries inside the threshold STE window, K((pi - theta) / eps) != 0.
    const steWindow = tf.mean(rectangle(pi, theta, eps)) as tf.Scalar;
    return { total: tf.addN(Object.values(terms)) as tf.Scalar, terms, f, xHat, steWindow };
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

  updateState(state, { f }) {
    const out: TensorMap = {};
    if (state.since_fired) out.since_fired = tickSinceFired(state.since_fired, f);
    return out;
  },

  lrScale(param, sae) {
    return param === "log_threshold" || param === "threshold"
      ? jumpreluOptions(sae).threshold_lr_scale
      : 1;
  },

  adamBetas(sae) {
    return [jumpreluOptions(sae).adam_beta1, jumpreluOptions(sae).adam_beta2];
  },

  deadTokens: (sae) => jumpreluOptions(sae).dead_tokens,

  heldOutHealth(params, state, options) {
    return { ...thresholdHealth(params, { ...options, resolvedEps: state.bandwidth?.data[0] }) };
  },

  resolvedOptions(state, sae) {
    // The eps every step used: the option, or its value resolved from the data (bandwidth_unit).
    return { "sae.jumprelu.bandwidth": steBandwidth(sae, state.bandwidth?.data[0]) };
  },

  initFromSample(init, sample, sae) {
    const opts = jumpreluOptions(sae);
    if (opts.threshold_init === "quantile") quantileThresholds(init, sample);
    // Every quantity below is read on the unscaled encoder and scales with it.
    const s = opts.encoder_scale_init === "least_squares"
      ? sample.reconstructionScale("W_enc", hostThresholds(init.params))
      : 1;
    if (opts.bandwidth_unit === "pre_act_std") {
      init.state.bandwidth.data[0] = opts.bandwidth * s * sample.preActStd("W_enc");
    }
    if (s !== 1) scaleEncoder(init, s);
  },

  calibrate: quantileThresholds,

  constrain(params, sae) {
    // A linear threshold must stay positive (the log parameterisation guarantees it).
    const out: TensorMap = {};
    if (jumpreluOptions(sae).threshold_param === "linear") {
      out.threshold = tf.maximum(params.threshold, 1e-6);
    }
    return out;
  },

  exportTensors(params, _state, { sae, scale }) {
    const theta = { shape: [sae.width], data: hostThresholds(params) };
    return {
      tensors: {
        ...exportLinearSae(params, { scale, preEncoderBias: sae.pre_encoder_bias }),
        threshold: scaleHost(theta, scale),
      },
      cfg: { architecture: "jumprelu", apply_b_dec_to_input: false },
    };
  },
};
