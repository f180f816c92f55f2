// The small interface every SAE architecture implements (one file per architecture, one registry
// line). Architectures are plain objects: pure tensor maths, no optimiser, no I/O.
// Shapes: B batch, D d_model, F latents.
import type * as tf from "@tensorflow/tfjs";
import type { ArchName, SaeSpec } from "../spec/schema.ts";
import type { Rng } from "../data/rng.ts";

/** A tensor held on the host: row-major float32 data and its shape. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}
export type HostTensors = Record<string, HostTensor>;

/** Device tensors by name (parameters or non-trainable state). */
export type TensorMap = Record<string, tf.Tensor>;

export interface ArchContext {
  /** The resolved `sae` section of the run config. */
  sae: SaeSpec;
  /** Current sparsity coefficient (scalar tensor); unused by topk and batchtopk. */
  lambda: tf.Scalar;
}

export interface LossResult {
  /** Mean over the batch of all terms. */
  total: tf.Scalar;
  /** Named loss terms (each already averaged over the batch and weighted): recon, sparsity, aux... */
  terms: Record<string, tf.Scalar>;
  /** Latent activations used for the reconstruction [B, F]. */
  f: tf.Tensor2D;
  /** Reconstruction [B, D]. */
  xHat: tf.Tensor2D;
}

export interface InitResult {
  /** Trainable parameters. */
  params: HostTensors;
  /** Non-trainable state updated outside the gradient step (dead-latent clocks, running thresholds). */
  state: HostTensors;
}

export interface ExportResult {
  /** Tensors in SAELens's names and layout, raw activation units. */
  tensors: HostTensors;
  /** Architecture-specific keys for cfg.json (architecture name as SAELens spells it, k, ...). */
  cfg: Record<string, unknown>;
}

export interface Architecture {
  readonly name: ArchName;
  /** Names of the loss terms `loss` returns, in a fixed order. */
  readonly termNames: readonly string[];
  /** Sparsity is set by a coefficient lambda (calibrated by the L0 controller). */
  readonly usesLambda: boolean;
  /** Decoder rows are kept at unit norm (gradient projected, rows renormalised after each step). */
  readonly unitNormDecoder: boolean;
  /** Name of the decoder weight [F, D] among the parameters. */
  readonly decoderParam: string;
  init(dims: { d: number; f: number }, options: { sae: SaeSpec; rng: Rng }): InitResult;
  /** Training loss on a normalised batch x [B, D]. */
  loss(params: TensorMap, state: TensorMap, x: tf.Tensor2D, ctx: ArchContext): LossResult;
  /** Inference-time latents [B, F] (what the exported SAE computes). */
  encode(params: TensorMap, state: TensorMap, x: tf.Tensor2D, sae: SaeSpec): tf.Tensor2D;
  decode(params: TensorMap, f: tf.Tensor2D): tf.Tensor2D;
  /** New values of non-trainable state after a step, from the step's batch and latents. */
  updateState?(
    state: TensorMap,
    step: { x: tf.Tensor2D; f: tf.Tensor2D; sae: SaeSpec },
  ): TensorMap;
  /** Learning-rate multiplier of a parameter (default 1). */
  lrScale?(param: string, sae: SaeSpec): number;
  /** Adam (beta1, beta2) for this architecture. */
  adamBetas(sae: SaeSpec): [number, number];
  /** Projects parameters back onto their domain after an update (e.g. a positive threshold). */
  constrain?(params: TensorMap, sae: SaeSpec): TensorMap;
  /** Folds the normalisation scale into the parameters and names them as SAELens does. */
  exportTensors(
    params: HostTensors,
    state: HostTensors,
    options: { sae: SaeSpec; scale: number },
  ): ExportResult;
}
