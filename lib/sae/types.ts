// What an architecture is: one plain object (its descriptor) that owns everything about it: its
// options schema, how sparsity is set, its loss terms, the tfjs reference maths, an optional fast
// kernel, the SAELens export, bench calibration and parity cases. lib/sae/registry.ts lists them.
// Shapes: B batch, D d_model, F latents.
import type { z } from "zod";
import type { Rng } from "../data/rng.ts";
import type {
  ArchContext,
  HostTensor,
  HostTensors,
  InitResult,
  LossResult,
  SaeConfig,
  TensorMap,
} from "../engine/types.ts";
import type { EngineArchitecture } from "../engine/architecture.ts";
import type { Blas } from "../engine/cpu/blas.ts";
import type { SharedSaeKey } from "../engine/sae_keys.ts";

export type { ArchContext, HostTensor, HostTensors, InitResult, LossResult, SaeConfig, TensorMap };

export interface ExportResult {
  /** Tensors in SAELens's names and layout, raw activation units. */
  tensors: HostTensors;
  /** Architecture-specific keys for cfg.json (architecture name as SAELens spells it, k, ...). */
  cfg: Record<string, unknown>;
}

/**
 * How sparsity is set: `penalty` architectures have a coefficient lambda (options `lambda` and
 * `controller_gain`) that the L0 controller calibrates to target_l0; `k` architectures keep
 * k = target_l0 latents (an integer).
 */
export type Sparsity = "penalty" | "k";

/**
 * The shape of a penalty architecture's sparsity term, as the unit of lambda of
 * `train.lambda.mode normalized` needs it (lib/train/lambda_scale.ts): a plain L0 count, the
 * quadratic L0 of the Anthropic recipe, GDM's quadratic-frequency L0, tanh of the activations, or
 * an L1 of the activations.
 */
export type PenaltyShape =
  | { kind: "l0" }
  | { kind: "quadratic" }
  | { kind: "quadratic_frequency"; frequencyScale: number }
  | { kind: "tanh"; tanhScale: number }
  | { kind: "l1" };

/** Keys of the shared `sae` section an architecture may read besides width and target_l0. */
export type { SharedSaeKey } from "../engine/sae_keys.ts";

/** A problem involving several keys of one run config (`paths` most specific first). */
export interface ConfigProblem {
  paths: string[];
  message: string;
}

/** A calibration batch's pre-activations x W through an encoder matrix W [D, F], computed lazily. */
export interface CalibrationSample {
  /** Each latent's (1 - target_l0 / F) quantile: a threshold there fires on target_l0 / F. */
  quantiles(weightParam: string): Float32Array;
  /** Standard deviation of every pre-activation x W (tokens and latents pooled). */
  preActStd(weightParam: string): number;
  /**
   * The factor s minimising ||(x - b_dec) - s (f W_dec)||^2 over the batch, where f keeps each
   * pre-activation x W above its latent's `threshold` (a JumpReLU of the initial SAE): scaling
   * the encoder by s makes the initial reconstruction the best of its shape. 1 when nothing fires.
   */
  reconstructionScale(weightParam: string, threshold: Float32Array): number;
}

/** One configuration a parity test runs the fast kernel and the reference on. */
export interface ParityCase {
  label: string;
  /** Overrides of the `sae` section (e.g. `{ jumprelu: { threshold_param: "linear" } }`). */
  sae: Record<string, unknown>;
}

export interface Architecture extends EngineArchitecture {
  readonly name: string;
  /** One sentence for the key reference and `--help`: what it is and its source. */
  readonly summary: string;
  /** zod strict object of `sae.<name>` with a default and a documented line per hyperparameter. */
  readonly options: z.ZodObject;
  /**
   * Version of the option defaults, hashed into run ids instead of the defaults themselves: bump
   * it when a default changes (renaming this architecture's runs); a new option whose default
   * keeps the old behaviour needs no bump and renames nothing.
   */
  readonly defaultsVersion: number;
  readonly sparsity: Sparsity;
  /**
   * Penalty architectures: the shape of the sparsity term under the run's options, from which
   * `train.lambda.mode normalized` (the default) derives the starting lambda. A penalty
   * architecture without it needs `train.lambda.mode controller` (checked at spec load).
   */
  penaltyShape?(sae: SaeConfig): PenaltyShape;
  /** Shared `sae` keys the architecture reads: only these go into the effective config. */
  readonly uses: readonly SharedSaeKey[];
  /** Problems specific to this architecture in a resolved `sae` section (beyond the schema). */
  check?(sae: SaeConfig): ConfigProblem[];
  init(dims: { d: number; f: number }, options: { sae: SaeConfig; rng: Rng }): InitResult;
  /** Folds the normalisation scale into the parameters and names them as SAELens does. */
  exportTensors(
    params: HostTensors,
    state: HostTensors,
    options: { sae: SaeConfig; scale: number },
  ): ExportResult;
  /**
   * Bench calibration: adjusts `init` in place so each latent fires on about target_l0 / F of the
   * calibration batch (`sample.quantiles` gives each latent's (1 - target_l0 / F) quantile).
   * Absent when sparsity needs no calibration (k architectures).
   */
  calibrate?(init: InitResult, sample: CalibrationSample): void;
  /**
   * Data-dependent start of training (e.g. JumpReLU thresholds from quantiles, a bandwidth from
   * the pre-activations' scale): adjusts `init` in place from the normalisation sample, as the
   * options ask. Called once before the first step, never on resume.
   */
  initFromSample?(init: InitResult, sample: CalibrationSample, sae: SaeConfig): void;
  /**
   * Health numbers of the trained parameters and state (external layout) on normalised held-out
   * inputs x [n, D], merged into summary.json (JumpReLU: thresholds no input reaches, STE window).
   */
  heldOutHealth?(
    params: HostTensors,
    state: HostTensors,
    options: { sae: SaeConfig; x: Float32Array; n: number; blas: Blas },
  ): Record<string, number>;
  /**
   * Option values as the run used them after resolving them from the data at its start, keyed by
   * spec path (JumpReLU: `sae.jumprelu.bandwidth`, the STE eps in normalised units), from the final
   * state (external layout); recorded in summary.json and run.json as `resolved_options`.
   */
  resolvedOptions?(state: HostTensors, sae: SaeConfig): Record<string, number>;
  /**
   * Inference of SAELens directories whose `cfg.architecture` is `loads` (lib/export/saelens.ts,
   * for ours and SAELens-written ones): the weights it needs, and the latents [N, F] of the encoder
   * input xIn [N, D] (b_dec already subtracted where the cfg asks) from the tensors by name.
   */
  readonly saelens?: SaeLensInference;
  /** Option combinations the fast-kernel parity tests cover (the defaults are always covered). */
  readonly parityCases?: readonly ParityCase[];
  /** What the finite-difference test of the reference loss checks. */
  readonly gradientCheck: GradientCheck;
}

/**
 * Parameters whose loss is smooth around a generic point (no selection or gate can flip), the
 * terms whose gradient reaches them (default: the total), and `sae` overrides for the check
 * (e.g. an auxiliary loss switched off because its target is frozen).
 */
export interface GradientCheck {
  params: readonly string[];
  terms?: readonly string[];
  sae?: Record<string, unknown>;
}

/** How an architecture reads one SAELens architecture for inference (`Architecture.saelens`). */
export interface SaeLensInference {
  /** SAELens's name in cfg.json (`standard`, `jumprelu`, `gated`, `topk`). */
  loads: string;
  required: readonly string[];
  encode(
    tensor: (name: string) => TensorMap[string],
    xIn: TensorMap[string],
    cfg: Record<string, unknown>,
  ): TensorMap[string];
}

/** Typed view of an architecture's options in a resolved `sae` section. */
export function optionsOf<T>(sae: SaeConfig, name: string): T {
  return sae[name] as T;
}

/** lambda (fixed value or controller start) and controller gain of a penalty architecture. */
export interface PenaltyOptions {
  lambda: number;
  controller_gain: number;
}
