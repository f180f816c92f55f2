// Options of the JumpReLU SAE (sae.jumprelu): one documented line per hyperparameter with its source.
import { z } from "zod";
import { optionsOf, type SaeConfig } from "../types.ts";
import { adamBeta2, auxKShape, controllerGain } from "../_options.ts";

export const JumpReluOptions = z.strictObject({
  bandwidth: z.number().positive().default(0.001).describe(
    "STE kernel bandwidth eps, in the unit bandwidth_unit names (paper: 0.001 with E||x||^2 = 1)",
  ),
  bandwidth_unit: z.enum(["absolute", "pre_act_std"]).default("absolute").describe(
    "absolute: eps = bandwidth in normalised units (paper); pre_act_std: eps = bandwidth times " +
      "the standard deviation of the initial SAE's pre-activations on the normalisation sample " +
      "(tokens and latents pooled), fixed at the start, so one value carries across data scales " +
      "and widths (Anthropic's eps = 2 and Llamascopium's 4 are in per-coordinate units)",
  ),
  init_threshold: z.number().positive().default(0.001).describe(
    "Initial threshold theta for every latent with threshold_init: constant (paper: 0.001)",
  ),
  threshold_init: z.enum(["constant", "quantile"]).default("constant").describe(
    "constant: every theta = init_threshold (paper); quantile: each latent's theta at the " +
      "(1 - target_l0 / width) quantile of its pre-activations on the normalisation sample, so " +
      "training starts at the target L0 (Lagrangian-SAE, raymondzmc; PAPER.md 9.5)",
  ),
  encoder_scale_init: z.enum(["none", "least_squares"]).default("none").describe(
    "none: the encoder starts as the decoder's transpose (paper); least_squares: after the " +
      "thresholds are set, the encoder weights, bias and thresholds are scaled by the one factor " +
      "that minimises the initial reconstruction error on the normalisation sample (the firing " +
      "pattern is unchanged), so training does not start by shrinking every pre-activation, " +
      "which drops L0 far below a quantile start (quickstart, target 24: to 4.6 in 200 steps)",
  ),
  threshold_param: z.enum(["log", "linear"]).default("log").describe(
    "Trainable threshold parameter: log theta (paper) or theta itself (SAELens >= 2026, dictionary_learning)",
  ),
  threshold_lr_scale: z.number().positive().default(1).describe(
    "Multiplier on the learning rate of the threshold parameter (short runs need > 1 with log theta)",
  ),
  step_input: z.enum(["pre", "post"]).default("pre").describe(
    "Input of the L0 step function: pre-activations (paper, Eq 10) or JumpReLU outputs",
  ),
  penalty: z.enum(["l0", "quadratic", "tanh", "quadratic_frequency"]).default("l0").describe(
    "Sparsity penalty: lambda * L0 (paper); lambda * (L0 / target_l0 - 1)^2 (SAELens " +
      "quadratic); lambda * sum_i tanh(c f_i) through the JumpReLU STE, which also trains the " +
      "encoder (Anthropic, January 2025; with unit-norm decoder rows ||W_d,i|| = 1); or lambda * " +
      "sum_i p_i (1 + p_i / s), p_i latent i's firing frequency in the batch through the step " +
      "STE (GDM progress update #2, March 2025: against latents that fire on many tokens)",
  ),
  tanh_scale: z.number().positive().default(4).describe(
    "c of the tanh penalty (Anthropic, January 2025 and SAELens: 4); unused by the others",
  ),
  frequency_scale: z.number().positive().default(0.1).describe(
    "s of the quadratic_frequency penalty: a latent firing on a fraction s of the tokens pays " +
      "twice the L0 rate per firing (GDM aims it at latents above ~10%; no value is published); " +
      "unused by the others",
  ),
  lambda: z.number().positive().default(0.001).describe(
    "Sparsity coefficient: the fixed value, or the controller's starting value, under train.lambda.mode fixed / controller; the default mode normalized derives the start and refuses a value set here",
  ),
  controller_gain: controllerGain(),
  ...auxKShape(),
  aux_alpha: z.number().min(0).default(0).describe(
    "AuxK loss on dead latents, weighted alpha * min(n_dead / k_aux, 1), residual detached " +
      "(SynthSAEBench's JumpReLU, Chanin & Garriga-Alonso 2026: 1.0); 0 (paper) disables it",
  ),
  pre_act_alpha: z.number().min(0).default(0).describe(
    "Pre-activation loss alpha * mean_b sum_i ReLU(theta_i - pi_bi) ||W_d,i|| (unit-norm rows " +
      "here) pulling latents' pre-activations up to their thresholds (Anthropic, January 2025; " +
      "SAELens 3e-6 in its units); 0 (paper) disables it",
  ),
  pre_act_dead_only: z.boolean().default(true).describe(
    "Apply the pre-activation loss to dead latents only (SAELens) rather than to all (Anthropic)",
  ),
  adam_beta1: z.number().min(0).lt(1).default(0).describe("Adam beta1 (paper: 0)"),
  adam_beta2: adamBeta2(),
});

export type JumpReluOptions = z.output<typeof JumpReluOptions>;

/** The `sae.jumprelu` options of a resolved config. */
export function jumpreluOptions(sae: SaeConfig): JumpReluOptions {
  return optionsOf<JumpReluOptions>(sae, "jumprelu");
}

/**
 * The STE bandwidth eps a run uses, in normalised units: the value resolved from the data at the
 * start (bandwidth_unit pre_act_std, kept in the state tensor `bandwidth`), else the option.
 */
export function steBandwidth(sae: SaeConfig, resolved?: number): number {
  return resolved ?? jumpreluOptions(sae).bandwidth;
}

/**
 * The thresholds theta [F] from whichever trainable parameter holds them (threshold_param log:
 * exp(log_threshold) rounded to float32; linear: threshold itself), into `out` when given.
 */
export function thresholdValues(
  params: { log_threshold?: Float32Array; threshold?: Float32Array },
  out?: Float32Array,
): Float32Array {
  const source = (params.log_threshold ?? params.threshold)!;
  const theta = out ?? new Float32Array(source.length);
  if (params.log_threshold) {
    for (let i = 0; i < theta.length; i++) theta[i] = Math.exp(source[i]);
  } else theta.set(source);
  return theta;
}
