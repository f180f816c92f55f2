// Plain data shared by the engines and the architectures: host tensors, the resolved `sae` config
// as every architecture sees it, and what an engine needs to know of an architecture to train it.
// Types only; lib/sae implements them, lib/fast and lib/train consume them.

/** A tensor held on the host: row-major float32 data and its shape. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}
export type HostTensors = Record<string, HostTensor>;

/**
 * The resolved `sae` section of a run config: the keys every architecture shares, plus one options
 * object per registered architecture under its name (`sae.jumprelu`, `sae.topk`, ...), which each
 * architecture reads through its own typed accessor.
 */
export interface SaeConfig {
  /** Registered architecture name. */
  architecture: string;
  /** Number of latents F. */
  width: number;
  /** Target mean active latents per token (k for k-sparse architectures). */
  target_l0: number;
  /** Encoder sees x - b_dec (only for architectures that declare they use it). */
  pre_encoder_bias: boolean;
  /** Initial decoder bias. */
  b_dec_init: "zeros" | "mean" | "geometric_median";
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
