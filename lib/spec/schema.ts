// The experiment spec language: one zod schema that is the single source of defaults, validation,
// the generated JSON Schema and the key reference in experiments/README.md. No I/O here.
import { z } from "zod";
import { ExecutorSpec } from "./executor_schema.ts";

/** Architectures the registry knows; `lib/sae/registry.ts` maps each name to its implementation. */
export const ARCHITECTURES = ["jumprelu", "relu", "gated", "topk", "batchtopk"] as const;
export type ArchName = typeof ARCHITECTURES[number];

/** Architectures whose sparsity comes from a penalty coefficient lambda (calibrated to target_l0). */
export const PENALTY_ARCHITECTURES: readonly ArchName[] = ["jumprelu", "relu", "gated"];

export const BACKENDS = ["auto", "cpu", "wasm", "webgpu", "tensorflow"] as const;
export type BackendName = typeof BACKENDS[number];

const positiveInt = () => z.int().min(1);
const fraction = () => z.number().min(0).max(1);

// ---------------------------------------------------------------------------------------------
// data
// ---------------------------------------------------------------------------------------------

export const SyntheticData = z.strictObject({
  source: z.literal("synthetic"),
  d_model: positiveInt().default(32).describe("Activation dimension D of the generated vectors"),
  n_features: positiveInt().default(256).describe(
    "Number of ground-truth feature directions (random unit vectors in R^D)",
  ),
  mean_active: z.number().positive().default(8).describe(
    "Expected number of active true features per token; sets the scale of the firing probabilities",
  ),
  firing_exponent: z.number().min(0).default(0.5).describe(
    "Power-law exponent: feature i fires with probability proportional to (i + 1)^-exponent",
  ),
  magnitude_mean: z.number().positive().default(1).describe(
    "Mean magnitude of an active feature (magnitudes are non-negative)",
  ),
  magnitude_std: z.number().min(0).default(0.25).describe(
    "Standard deviation of active magnitudes, before clipping at zero",
  ),
  correlated_groups: z.int().min(0).default(0).describe(
    "Number of groups of features that tend to fire together (0 disables correlation)",
  ),
  group_size: z.int().min(2).default(4).describe("Features per correlated group"),
  group_prob: fraction().default(0.5).describe(
    "Probability that the other members of a group also fire when its first member fires",
  ),
  noise_std: z.number().min(0).default(0.01).describe(
    "Standard deviation of isotropic Gaussian noise added to every dimension",
  ),
  seed: z.int().min(0).default(1234).describe(
    "Seed of the data generator (feature directions, firing, held-out set); independent of train.seed",
  ),
});

export const FilesData = z.strictObject({
  source: z.literal("files"),
  path: z.string().min(1).describe(
    "A .npy or .safetensors file, or a directory of them (shards); relative to the spec file",
  ),
  tensor: z.string().nullable().default(null).describe(
    "Name of the tensor inside .safetensors files (null: the only tensor)",
  ),
  heldout_fraction: z.number().gt(0).lt(1).default(0.05).describe(
    "Fraction of rows (taken by shard/document, deterministically) held out for evaluation",
  ),
  shuffle_buffer: positiveInt().default(65536).describe(
    "Rows in the shuffle buffer of the training stream",
  ),
});

export const LM_SITES = ["resid_pre", "resid_post", "attn_out", "mlp_out"] as const;

export const LmData = z.strictObject({
  source: z.literal("lm"),
  checkpoint: z.string().min(1).describe(
    "llama2.c checkpoint (legacy .bin export); relative to the spec file",
  ),
  tokenizer: z.string().min(1).describe("llama2.c tokenizer (.bin); relative to the spec file"),
  train_text: z.array(z.string().min(1)).min(1).describe(
    "Text files to harvest training activations from (documents split on <|endoftext|>)",
  ),
  heldout_text: z.array(z.string().min(1)).min(1).describe(
    "Text files for held-out activations and delta LM loss",
  ),
  site: z.enum(LM_SITES).default("resid_post").describe(
    "Hook point: residual stream before/after the block, attention output or MLP output",
  ),
  layer: z.int().min(0).default(2).describe("Block index of the hook point (0-based)"),
  context: positiveInt().default(256).describe("Tokens per sequence (documents are truncated)"),
  train_tokens: positiveInt().default(200000).describe(
    "Activation vectors to harvest for training (cycled if training needs more)",
  ),
  heldout_tokens: positiveInt().default(8192).describe(
    "Held-out activation vectors for reconstruction metrics",
  ),
  exclude_bos: z.boolean().default(true).describe(
    "Drop BOS positions from training and evaluation",
  ),
  cache_dir: z.string().default(".cache/activations").describe(
    "Where harvested activation shards are cached, keyed by a hash of the inputs; relative to the spec file",
  ),
});

export const DataSpec = z.discriminatedUnion("source", [SyntheticData, FilesData, LmData]);

// ---------------------------------------------------------------------------------------------
// sae: architecture defaults and per-architecture hyperparameters
// ---------------------------------------------------------------------------------------------

const adamBeta2 = () =>
  z.number().min(0).lt(1).default(0.999).describe("Adam beta2 (second-moment decay)");

export const JumpReluOptions = z.strictObject({
  bandwidth: z.number().positive().default(0.001).describe(
    "STE kernel bandwidth eps, in normalised units (paper: 0.001 with E||x||^2 = 1)",
  ),
  init_threshold: z.number().positive().default(0.001).describe(
    "Initial threshold theta for every latent (paper: 0.001)",
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
  penalty: z.enum(["l0", "quadratic"]).default("l0").describe(
    "Sparsity penalty: lambda * L0 (paper) or lambda * (L0 / target_l0 - 1)^2",
  ),
  lambda: z.number().positive().default(0.001).describe(
    "Sparsity coefficient: the fixed value, or the controller's starting value",
  ),
  controller_gain: z.number().min(0).default(0.1).describe(
    "L0 controller gain: change of log(lambda) per unit of log(L0 / target) per update",
  ),
  adam_beta1: z.number().min(0).lt(1).default(0).describe("Adam beta1 (paper: 0)"),
  adam_beta2: adamBeta2(),
});

export const ReluOptions = z.strictObject({
  lambda: z.number().positive().default(0.01).describe(
    "L1 coefficient (penalty sum_i f_i ||W_dec,i||): fixed value or controller start",
  ),
  controller_gain: z.number().min(0).default(0.1).describe(
    "L0 controller gain: change of log(lambda) per unit of log(L0 / target) per update",
  ),
  adam_beta1: z.number().min(0).lt(1).default(0.9).describe("Adam beta1"),
  adam_beta2: adamBeta2(),
});

export const GatedOptions = z.strictObject({
  lambda: z.number().positive().default(0.01).describe(
    "L1 coefficient on the gate path ReLU(pi_gate): fixed value or controller start",
  ),
  controller_gain: z.number().min(0).default(0.1).describe(
    "L0 controller gain: change of log(lambda) per unit of log(L0 / target) per update",
  ),
  adam_beta1: z.number().min(0).lt(1).default(0.9).describe("Adam beta1"),
  adam_beta2: adamBeta2(),
});

export const TopKOptions = z.strictObject({
  aux_alpha: z.number().min(0).default(1 / 32).describe(
    "AuxK loss coefficient alpha (Gao et al.: 1/32)",
  ),
  aux_k: z.int().min(0).nullable().default(null).describe(
    "Dead latents used by AuxK (null: min(512, d_model / 2))",
  ),
  dead_tokens: positiveInt().default(100000).describe(
    "A latent is dead after this many training tokens without firing",
  ),
  adam_beta1: z.number().min(0).lt(1).default(0.9).describe("Adam beta1"),
  adam_beta2: adamBeta2(),
});

export const BatchTopKOptions = z.strictObject({
  aux_alpha: z.number().min(0).default(1 / 32).describe("AuxK loss coefficient alpha"),
  aux_k: z.int().min(0).nullable().default(null).describe(
    "Dead latents used by AuxK (null: min(512, d_model / 2))",
  ),
  dead_tokens: positiveInt().default(100000).describe(
    "A latent is dead after this many training tokens without firing",
  ),
  threshold_momentum: z.number().min(0).lt(1).default(0.99).describe(
    "Decay of the running estimate of the global inference threshold",
  ),
  adam_beta1: z.number().min(0).lt(1).default(0.9).describe("Adam beta1"),
  adam_beta2: adamBeta2(),
});

export const SaeSpec = z.strictObject({
  architecture: z.enum(ARCHITECTURES).default("jumprelu").describe(
    "SAE architecture (usually swept: sweep.sae.architecture)",
  ),
  width: positiveInt().default(256).describe("Number of latents F (dictionary size)"),
  target_l0: z.number().positive().default(16).describe(
    "Target mean active latents per token: k for topk/batchtopk, the controller's target otherwise",
  ),
  pre_encoder_bias: z.boolean().default(true).describe(
    "Encoder sees x - b_dec (folded into b_enc at export)",
  ),
  b_dec_init: z.enum(["zeros", "mean", "geometric_median"]).default("zeros").describe(
    "Initial decoder bias: zeros (paper), data mean or geometric median of a sample",
  ),
  jumprelu: JumpReluOptions.prefault({}),
  relu: ReluOptions.prefault({}),
  gated: GatedOptions.prefault({}),
  topk: TopKOptions.prefault({}),
  batchtopk: BatchTopKOptions.prefault({}),
});

// ---------------------------------------------------------------------------------------------
// train
// ---------------------------------------------------------------------------------------------

export const LambdaSchedule = z.strictObject({
  mode: z.enum(["controller", "fixed"]).default("controller").describe(
    "controller: calibrate lambda online toward sae.target_l0; fixed: use sae.<arch>.lambda",
  ),
  warmup_steps: z.int().min(0).default(0).describe(
    "Linear warmup of lambda from 0 over this many steps (paper: 10,000)",
  ),
  interval: positiveInt().default(10).describe("Steps between controller updates"),
  damping: z.number().min(0).default(10).describe(
    "Derivative weight of the controller, in updates (brakes while L0 already moves to the target)",
  ),
  freeze_at: fraction().default(0.7).describe(
    "Fraction of training after which lambda is frozen (the final SAE trains at fixed lambda)",
  ),
});

export const TrainSpec = z.strictObject({
  tokens: positiveInt().default(1000000).describe("Training tokens (steps = tokens / batch_size)"),
  batch_size: positiveInt().default(1024).describe("Activation vectors per step"),
  lr: z.number().positive().default(7e-5).describe("Adam learning rate (paper: 7e-5)"),
  lr_warmup_steps: z.int().min(0).default(100).describe(
    "Warmup from 0.1 lr to lr over this many steps (cosine, as in Gemma Scope)",
  ),
  lr_decay: z.enum(["none", "linear", "cosine"]).default("linear").describe(
    "Decay after lr_decay_start: none, linear to 0, or cosine to 0",
  ),
  lr_decay_start: fraction().default(0.8).describe("Fraction of training where the decay begins"),
  adam_eps: z.number().positive().default(1e-8).describe("Adam epsilon"),
  grad_clip: z.number().positive().nullable().default(null).describe(
    "Clip the global gradient norm to this value (null: no clipping)",
  ),
  lambda: LambdaSchedule.prefault({}),
  normalize: z.boolean().default(true).describe(
    "Scale activations by one scalar so that E||x||^2 = 1 (folded back at export)",
  ),
  norm_sample_tokens: positiveInt().default(16384).describe(
    "Tokens used to estimate the normalisation scalar and b_dec initialisation",
  ),
  backend: z.enum(BACKENDS).default("auto").describe(
    "Compute backend (auto: tensorflow, then a hardware WebGPU adapter, then the fastest CPU path)",
  ),
  seed: z.int().min(0).default(0).describe("Seed of initialisation and batch order"),
  checkpoint_every: positiveInt().default(500).describe("Steps between checkpoints"),
  log_every: positiveInt().default(50).describe("Steps between metrics.jsonl lines"),
});

// ---------------------------------------------------------------------------------------------
// eval, sweep, report
// ---------------------------------------------------------------------------------------------

export const EvalSpec = z.strictObject({
  tokens: positiveInt().default(16384).describe("Held-out tokens for the final evaluation"),
  dense_threshold: fraction().default(0.1).describe(
    "A latent is dense when active on more than this fraction of tokens",
  ),
  recovered_cos: fraction().default(0.9).describe(
    "Synthetic data: a true feature counts as recovered at max cosine above this",
  ),
  lm_sequences: positiveInt().default(32).describe(
    "LM data: held-out sequences for ce_clean / ce_spliced / delta_lm_loss",
  ),
});

/**
 * Sweep axes: keys are dotted paths of the resolved config (`sae.target_l0`, `train.seed`, ...),
 * values non-empty lists, expanded as a cartesian product. `zip` lists groups whose axes move
 * together (all lists in a group have the same length).
 */
export const SweepSpec = z.record(z.string(), z.unknown()).default({}).describe(
  "Axes: dotted config path -> list of values (cartesian product); zip: list of groups of axes that move together",
);

export const ReportSpec = z.strictObject({
  target_l0s: z.array(z.number().positive()).default([]).describe(
    "L0 values at which architectures are compared (frontiers interpolated in log L0)",
  ),
  metrics: z.array(z.enum(["fvu", "delta_lm_loss", "mse", "explained_variance"])).default(["fvu"])
    .describe("Fidelity metrics to draw frontiers for (delta_lm_loss needs LM data)"),
  l0_tolerance: z.number().positive().default(0.1).describe(
    "Runs whose achieved L0 misses target_l0 by more than this relative error are flagged",
  ),
  group_by: z.array(z.string()).default([]).describe(
    "Extra swept axes (dotted paths) to split frontiers by, besides sae.architecture",
  ),
});

export const ExperimentSpec = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "lowercase letters, digits, - and _").describe(
    "Experiment name; runs go to runs/<name>/, reports to reports/<name>/",
  ),
  description: z.string().default("").describe("Free text shown in reports"),
  data: DataSpec.describe("Where activations come from (source: synthetic | files | lm)"),
  sae: SaeSpec.prefault({}),
  train: TrainSpec.prefault({}),
  eval: EvalSpec.prefault({}),
  sweep: SweepSpec,
  report: ReportSpec.prefault({}),
  executor: ExecutorSpec.prefault({}).describe("Where a sweep runs: local or a Slurm array job"),
});

export type ExperimentSpec = z.output<typeof ExperimentSpec>;
export type DataSpec = z.output<typeof DataSpec>;
export type SyntheticData = z.output<typeof SyntheticData>;
export type FilesData = z.output<typeof FilesData>;
export type LmData = z.output<typeof LmData>;
export type SaeSpec = z.output<typeof SaeSpec>;
export type TrainSpec = z.output<typeof TrainSpec>;
export type EvalSpec = z.output<typeof EvalSpec>;
export type ReportSpec = z.output<typeof ReportSpec>;
export type JumpReluOptions = z.output<typeof JumpReluOptions>;
export type ReluOptions = z.output<typeof ReluOptions>;
export type GatedOptions = z.output<typeof GatedOptions>;
export type TopKOptions = z.output<typeof TopKOptions>;
export type BatchTopKOptions = z.output<typeof BatchTopKOptions>;

/**
 * The fully resolved configuration of one run: the spec with one value of every sweep axis
 * applied. Paths inside `data` stay as written in the spec (relative to `spec_dir` of the plan), so
 * the run id hash is the same on every machine.
 */
export interface RunConfig {
  experiment: string;
  data: DataSpec;
  sae: SaeSpec;
  train: TrainSpec;
  eval: EvalSpec;
}
