// What an architecture tells the GPU engines about its training step: how latents are kept
// (selection), which loss terms it adds besides the reconstruction, and its state. The webgpu
// engine (step_programs.ts) turns that into WGSL kernels and the cuda engine
// (lib/engine/cuda/step_plan.ts) into CUDA C ones; each architecture folder supplies one of these
// as `kernels?.webgpu`. Types, and the linear encoder's parameter names.
import type { SaeConfig } from "../types.ts";

/** How the kept latents f are chosen from the pre-activations pi [B, F]. */
export type Selection =
  /** f = ReLU(pi). */
  | { kind: "rectify" }
  /** f = pi H(pi - theta), theta from `log_threshold` (exp) or `threshold`; STE bandwidth eps. */
  | { kind: "threshold"; log: boolean }
  /** The k largest positive pre-activations of each row. */
  | { kind: "row_topk"; k: number }
  /**
   * The k * B largest positive pre-activations of the batch; at inference a JumpReLU with the one
   * running threshold `state.threshold` (updated with `momentum` from the smallest kept value).
   */
  | { kind: "batch_topk"; k: number; momentum: number }
  /**
   * The Gated SAE (Rajamanoharan et al. 2024a): with pi = xIn W (the encoder without a bias),
   * gate = pi + b_gate and mag = pi exp(r_mag) + b_mag, f = H(gate) ReLU(mag); H has no gradient,
   * so d pi = d gate H(gate) + exp(r_mag) d mag (d mag = d f where f > 0).
   */
  | { kind: "gate_magnitude" };

/** A loss term besides the reconstruction, in the architecture's termNames order. */
export type Term =
  /** lambda / B sum_b sum_i f_bi ||W_dec,i|| with the norms' gradient reaching W_dec (ReLU). */
  | { kind: "decoder_norm_l1" }
  /**
   * JumpReLU's step penalty through the step STE: lambda L0 (`l0`), lambda (L0 / targetL0 - 1)^2
   * (`quadratic`), or lambda sum_i p_i (1 + p_i / s) (`quadratic_frequency`), with L0 and p_i
   * counting H(z - theta) for z the pre-activations (`input: "pre"`) or the outputs f (`post`).
   */
  | {
    kind: "step";
    penalty: "l0" | "quadratic" | "quadratic_frequency";
    targetL0: number;
    s: number;
    input: "pre" | "post";
  }
  /**
   * lambda / B sum_b sum_i tanh(c f_bi) (Anthropic, January 2025) through the JumpReLU STE: its
   * gradient lambda c sech^2(c f) / B reaches the encoder where f > 0 and the thresholds on every
   * entry inside the STE window (with f = 0 below the threshold).
   */
  | { kind: "tanh"; c: number }
  /**
   * AuxK (Gao et al. 2024): the frozen residual reconstructed from the top k positive
   * pre-activations of dead latents, alpha ||e - e_hat||^2 / ||e - mean(e)||^2, alpha scaled by
   * min(n_dead / k, 1) with `scaleByDead`.
   */
  | { kind: "auxk"; k: number; alpha: number; deadTokens: number; scaleByDead: boolean }
  /**
   * Anthropic's pre-activation loss (JumpReLU): alpha / B sum_b sum_i ReLU(theta_i - pi_bi) over
   * dead latents (`deadOnly`) or all, reaching the thresholds and the encoder.
   */
  | { kind: "pre_act"; alpha: number; deadOnly: boolean; deadTokens: number }
  /**
   * Matryoshka's nested reconstructions (Bussmann et al. 2025): one term ||x - x_hat_w||^2 / B per
   * inner prefix width w (ascending, each below F), x_hat_w decoding the kept latents i < w only;
   * its gradient reaches the encoder through the kept latents of each prefix, W_dec's first w rows
   * and b_dec. One value per width, in this order.
   */
  | { kind: "prefix_recon"; widths: number[] }
  /** The gated selection's L1 on its gate path: lambda / B sum_b sum_i ReLU(gate_bi). */
  | { kind: "gate_l1" }
  /**
   * The Gated SAE's auxiliary reconstruction ||x - (ReLU(gate) W_dec + b_dec)||^2 / B through a
   * frozen decoder: its gradient reaches the gate path (where gate > 0) only, not W_dec or b_dec.
   */
  | { kind: "frozen_gate_recon" };

/** An encoder's parameters: pre = xIn weight (+ bias, none when null). */
export interface EncoderParams {
  weight: string;
  bias: string | null;
}

/** The linear SAE's encoder, unless a step names another. */
export const LINEAR_ENCODER: EncoderParams = { weight: "W_enc", bias: "b_enc" };

/** One architecture's step on the webgpu engine, read from its resolved `sae` section. */
export interface WebGpuStep {
  /** The encoder sees x - b_dec. */
  preEncoderBias: boolean;
  /** The encoder's parameters, LINEAR_ENCODER when unset. */
  encoder?: EncoderParams;
  selection: Selection;
  terms: Term[];
  /** Keep the `since_fired` clock (tokens since each latent fired) in the state. */
  deadClock: boolean;
  /** STE bandwidth: a number, or `state` for the value resolved from the data (state.bandwidth). */
  bandwidth?: number | "state";
  /** Floor of the linear threshold parameter after each update. */
  thresholdFloor?: number;
}

export interface WebGpuKernel {
  /** Why these options cannot train on the webgpu engine (it lacks their kernels), or null. */
  unsupported(sae: SaeConfig): string | null;
  /** The step of a config the engine builds its kernels from. */
  step(sae: SaeConfig, dims: { d: number; f: number }): WebGpuStep;
}
