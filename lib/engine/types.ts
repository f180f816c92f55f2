// Plain data shared by the engines and the architectures: host tensors, the resolved `sae` config
// as every architecture sees it, and what an engine needs of an architecture to train it (its
// layout, its tfjs reference maths, its kernels per engine). Types only; lib/sae implements them,
// the engines under lib/engine/ and lib/train consume them.
import type * as tf from "@tensorflow/tfjs";
import type { SharedSaeValues } from "./sae_keys.ts";

/** A tensor held on the host: row-major float32 data and its shape. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}
export type HostTensors = Record<string, HostTensor>;

/**
 * The resolved `sae` section of a run config: the keys every architecture shares (declared once
 * in lib/engine/sae_keys.ts: width, target_l0, pre_encoder_bias, b_dec_init), plus one options
 * object per registered architecture under its name (`sae.jumprelu`, `sae.topk`, ...), which each
 * architecture reads through its own typed accessor.
 */
export interface SaeConfig extends SharedSaeValues {
  /** Registered architecture name. */
  architecture: string;
  readonly [options: string]: unknown;
}

export interface InitResult {
  /** Trainable parameters. */
  params: HostTensors;
  /** Non-trainable state updated outside the gradient step (dead-latent clocks, running thresholds). */
  state: HostTensors;
}

/** What an engine needs of an architecture besides its maths: names, optimiser settings, constraints. */
export interface TrainingLayout {
  readonly name: string;
  /** Names of the loss terms of a config, in the order engines report them. */
  termNames(sae: SaeConfig): readonly string[];
  /** Decoder rows are kept at unit norm (gradient projected, rows renormalised after each step). */
  readonly unitNormDecoder: boolean;
  /** Name of the decoder weight [F, D] among the parameters. */
  readonly decoderParam: string;
  /** Adam (beta1, beta2). */
  adamBetas(sae: SaeConfig): [number, number];
  /** Learning-rate multiplier of a parameter (default 1). */
  lrScale?(param: string, sae: SaeConfig): number;
  /**
   * Training tokens without firing after which a latent counts as dead, for architectures that
   * keep the `since_fired` clock in their state (engines report the dead fraction from it).
   */
  deadTokens?(sae: SaeConfig): number;
}

/** Device tensors by name (parameters or non-trainable state). */
export type TensorMap = Record<string, tf.Tensor>;

export interface ArchContext {
  /** The resolved `sae` section of the run config. */
  sae: SaeConfig;
  /** Current sparsity coefficient (scalar tensor); unused by k-sparse architectures. */
  lambda: tf.Scalar;
}

export interface LossResult {
  /** Mean over the batch of all terms. */
  total: tf.Scalar;
  /** Named loss terms (each already averaged over the batch and weighted), as in termNames(sae). */
  terms: Record<string, tf.Scalar>;
  /** Latent activations used for the reconstruction [B, F]. */
  f: tf.Tensor2D;
  /** Reconstruction [B, D]. */
  xHat: tf.Tensor2D;
  /**
   * Health statistic (no gradient needed): fraction of pre-activation entries inside the threshold
   * STE window, for architectures with trained thresholds.
   */
  steWindow?: tf.Scalar;
}

/** An architecture's maths in tfjs: the readable definition the reference engine differentiates. */
export interface ReferenceMaths {
  /** Training loss on a normalised batch x [B, D]. */
  loss(params: TensorMap, state: TensorMap, x: tf.Tensor2D, ctx: ArchContext): LossResult;
  /** Inference-time latents [B, F] (what the exported SAE computes). */
  encode(params: TensorMap, state: TensorMap, x: tf.Tensor2D, sae: SaeConfig): tf.Tensor2D;
  decode(params: TensorMap, f: tf.Tensor2D): tf.Tensor2D;
  /** New values of non-trainable state after a step, from the step's batch and latents. */
  updateState?(
    state: TensorMap,
    step: { x: tf.Tensor2D; f: tf.Tensor2D; sae: SaeConfig },
  ): TensorMap;
  /** Projects parameters back onto their domain after an update (e.g. a positive threshold). */
  constrain?(params: TensorMap, sae: SaeConfig): TensorMap;
}
