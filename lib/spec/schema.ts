// The experiment spec language: one zod schema that is the single source of defaults, validation,
// the generated JSON Schema and the key reference in experiments/README.md. The `sae` section is
// built from the architecture registry (each architecture owns its options). No I/O here.
import { z } from "zod";
import { DataSpec } from "../data/data_spec.ts";
import { architectures, FEATURED_ARCHITECTURE, registryVersion } from "../sae/registry.ts";
import type { SaeConfig } from "../engine/types.ts";
import { SAE_SHARED_KEYS, type SaeCoreKey } from "../engine/sae_keys.ts";
import { ExecutorSpec } from "./executor_schema.ts";
import { DEFAULT_L0_TOLERANCE } from "../metrics/l0_miss.ts";

import { BACKENDS, ENGINES, PRECISIONS } from "../engine/names.ts";

export { BACKENDS, ENGINES } from "../engine/names.ts";
export type { BackendName, EngineName } from "../engine/names.ts";

const positiveInt = () => z.int().min(1);
const fraction = () => z.number().min(0).max(1);

// ---------------------------------------------------------------------------------------------
// data
// ---------------------------------------------------------------------------------------------

export { DataSpec, FilesData, LM_SITES, LmData, SyntheticData } from "../data/data_spec.ts";

// ---------------------------------------------------------------------------------------------
// sae: the shared keys (lib/engine/sae_keys.ts), then one options section per registered
// architecture (lib/sae/registry.ts)
// ---------------------------------------------------------------------------------------------

function buildSaeSpec() {
  const archs = architectures();
  const names = archs.map((a) => a.name) as [string, ...string[]];
  const sections = Object.fromEntries(archs.map((a) => [a.name, a.options.prefault({})]));
  return z.strictObject({
    architecture: z.enum(names).default(FEATURED_ARCHITECTURE).describe(
      `SAE architecture (usually swept: sweep.sae.architecture): ${
        archs.map((a) => `${a.name}: ${a.summary}`).join("; ")
      }`,
    ),
    ...SAE_SHARED_KEYS,
    ...sections,
  });
}

// ---------------------------------------------------------------------------------------------
// train
// ---------------------------------------------------------------------------------------------

/** Where the controller's held-out vectors sit (train.lambda.validation_layout; control_set.ts). */
export const VALIDATION_LAYOUTS = ["interleaved", "after"] as const;
export type ValidationLayout = (typeof VALIDATION_LAYOUTS)[number];

export const LambdaSchedule = z.strictObject({
  mode: z.enum(["controller", "normalized", "controller_v1", "fixed"]).default("normalized")
    .describe(
      "normalized (the default since 2026-12-05; before: controller): the L0 controller, " +
        "started at train.lambda.start times the lambda that the target, the width, the penalty " +
        "and the data give at initialisation (V / T over the penalty's cost per unit of L0, " +
        "README 'Choosing lambda'), so one start serves every target and penalty (sae.<arch>." +
        "lambda must stay unset); controller: the same controller started at sae.<arch>.lambda " +
        "(specs written before 2026-12-05 that set no mode ran this); controller_v1: the controller before " +
        "2026-11-29 (derivative weight 10 updates at every lr, gain 0.1, freeze at 0.7, no " +
        "floor; ignores horizon, damping, freeze_at, max_drop and sae.<arch>.controller_gain); " +
        "fixed: use sae.<arch>.lambda",
    ),
  start: z.number().positive().optional().describe(
    "mode normalized: the starting lambda in units of the derived lambda (absent: 1); the " +
      "floor is start / max_drop in the same units. Unused by the other modes",
  ),
  warmup_steps: z.int().min(0).default(0).describe(
    "Linear warmup of lambda from 0 over this many steps (paper: 10,000)",
  ),
  interval: positiveInt().default(10).describe("Steps between controller updates"),
  horizon: z.number().positive().default(0.1).describe(
    "Derivative horizon of the controller as learning rate x steps: L0 lags lambda by a time " +
      "that grows as 1 / lr, so the derivative weight is horizon / (lr x interval) updates " +
      "(3.3 at lr 3e-3, 10 at lr 1e-3 with interval 10)",
  ),
  damping: z.number().min(0).nullable().default(null).describe(
    "A fixed derivative weight in updates instead of horizon (the controller before horizon: " +
      "10, with controller_gain 0.1 and freeze_at 0.7)",
  ),
  max_drop: z.number().min(1).nullable().default(30).describe(
    "The controller never lowers lambda below start / max_drop (start: sae.<arch>.lambda, or " +
      "the derived start of mode normalized), so " +
      "that L0 falling early for reasons lambda does not control cannot wind lambda down by " +
      "orders of magnitude (quickstart JumpReLU, lr 1e-3, target 24: lambda 1e-8 and L0 38 " +
      "without it); null: no floor (before this key)",
  ),
  freeze_at: fraction().default(0.95).describe(
    "Fraction of training after which lambda is frozen (the final SAE trains at fixed lambda)",
  ),
  validation_tokens: positiveInt().optional().describe(
    "Absent: the controller reads the mean L0 of the training batches. N: it reads the L0 of N " +
      "held-out vectors that the final evaluation does not read (validation_layout), so the " +
      "target holds on unseen data when a small training set is seen many times (stories260k: " +
      "60,000 vectors seen 33 times end up to 7% above the target on held-out text). Every run " +
      "of the spec, TopK included, then evaluates on the same eval.tokens vectors",
  ),
  validation_layout: z.enum(VALIDATION_LAYOUTS).default("interleaved").describe(
    "Where validation_tokens' vectors sit among the eval.tokens + validation_tokens held-out " +
      "ones: interleaved (the default since 2026-12-05), spread evenly, so that they sample the " +
      "same documents as the evaluated vectors; after (before): the block after the evaluated " +
      "ones (on stories260K its ~6 stories read 1.1% more L0 than the evaluated 26 on " +
      "average, up to 3.9%, which the evaluation then missed by)",
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
  engine: z.enum(ENGINES).default("auto").describe(
    "Where the training step runs: cpu (OpenBLAS or WebAssembly GEMM with sparse kernels), cuda " +
      "(cuBLAS and NVRTC-compiled kernels on an NVIDIA GPU; not yet run on a GPU), webgpu " +
      "(hand-written WGSL kernels on a GPU), reference (tfjs autodiff on train.backend); auto: " +
      "cuda where its libraries load and a GPU is present, else webgpu on a hardware GPU when it " +
      "is faster than cpu on the run's shape (timed at start), else cpu, else reference " +
      "(docs/GPU.md)",
  ),
  precision: z.enum(PRECISIONS).optional().describe(
    "Dense products of the cuda engine: fp32 when absent (the other engines' numbers), or tf32 / " +
      "bf16 on tensor cores (faster, less exact; the cuda engine only, not yet run on a GPU). " +
      "Recorded in run.json (notes.engine_choice.precision); absent, it leaves run ids as they were",
  ),
  backend: z.enum(BACKENDS).default("auto").describe(
    "tfjs backend of the reference engine and of the LM forward pass (auto: tensorflow when " +
      "installed, else wasm)",
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
 * together (all lists in a group have the same length); `exclude` lists rules that leave grid
 * points out (lib/spec/sweep_axes.ts).
 */
export const SweepSpec = z.record(z.string(), z.unknown()).default({}).describe(
  "Axes: dotted config path -> list of values (cartesian product); zip: list of groups of " +
    "axes that move together; exclude: list of rules (swept axis -> value or values) whose " +
    "matching points are not runs",
);

/**
 * Named recipes: name -> map of dotted config path -> value. The sweep axis `recipe` lists names;
 * each run of a recipe gets all its settings (checked in lib/spec/recipes.ts).
 */
export const RecipesSpec = z.record(z.string(), z.record(z.string(), z.unknown())).describe(
  "Named groups of settings: recipe name -> map of dotted config path -> value; sweep " +
    "`recipe: [name, ...]` trains each, and run ids, series and the report show the names",
);

export const ReportSpec = z.strictObject({
  target_l0s: z.array(z.number().positive()).default([]).describe(
    "L0 values at which architectures are compared (frontiers interpolated in log L0)",
  ),
  metrics: z.array(z.enum(["fvu", "delta_lm_loss", "mse", "explained_variance"])).default(["fvu"])
    .describe("Fidelity metrics to draw frontiers for (delta_lm_loss needs LM data)"),
  l0_tolerance: z.number().positive().default(DEFAULT_L0_TOLERANCE).describe(
    "A run missed its target when its held-out L0 is further than this relative error from " +
      "sae.target_l0, either way (lib/metrics/l0_miss.ts): the report flags it, and training " +
      "warns when a run ends below it with lambda at its floor",
  ),
  group_by: z.array(z.string()).default([]).describe(
    "Extra swept axes (dotted paths) to split frontiers by, besides sae.architecture, each value " +
      "in its own panel",
  ),
  series_by: z.array(z.string()).default([]).describe(
    "Swept axes that split an architecture into several series in the same panel, e.g. the " +
      "JumpReLU recipes of an ablation beside one TopK line (runs that do not read an axis keep " +
      "one series); with several JumpReLU series the report adds a table of each one's ratio to " +
      "the TopK baseline and its dead fraction",
  ),
});

function buildExperimentSpec() {
  return z.strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "lowercase letters, digits, - and _").describe(
      "Experiment name; runs go to runs/<name>/, reports to reports/<name>/",
    ),
    description: z.string().default("").describe("Free text shown in reports"),
    data: DataSpec.describe("Where activations come from (source: synthetic | files | lm)"),
    sae: buildSaeSpec().prefault({}),
    train: TrainSpec.prefault({}),
    eval: EvalSpec.prefault({}),
    recipes: RecipesSpec.optional(),
    sweep: SweepSpec,
    report: ReportSpec.prefault({}),
    executor: ExecutorSpec.prefault({}).describe("Where a sweep runs: local or a Slurm array job"),
  });
}

let cached: { version: number; schema: ReturnType<typeof buildExperimentSpec> } | null = null;

/**
 * The zod schema of a whole spec, built from the registry as it is now (rebuilt after a
 * registerArchitecture call), so user-registered architectures validate like built-ins.
 */
export function experimentSchema(): ReturnType<typeof buildExperimentSpec> {
  if (cached?.version !== registryVersion()) {
    cached = { version: registryVersion(), schema: buildExperimentSpec() };
  }
  return cached.schema;
}

/** The zod schema of the `sae` section (shared keys plus every architecture's options). */
export function saeSchema(): ReturnType<typeof buildSaeSpec> {
  return experimentSchema().shape.sae.unwrap() as ReturnType<typeof buildSaeSpec>;
}

export type ExperimentSpec = Omit<z.output<ReturnType<typeof buildExperimentSpec>>, "sae"> & {
  sae: SaeSpec;
};
/** The resolved `sae` section: shared keys plus `sae.<arch>` options (see lib/engine/types.ts). */
export type SaeSpec = SaeConfig;
export type TrainSpec = z.output<typeof TrainSpec>;
export type EvalSpec = z.output<typeof EvalSpec>;
export type ReportSpec = z.output<typeof ReportSpec>;

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

/**
 * What a run's result depends on (lib/sweep/effective_config.ts): the RunConfig with only the
 * chosen architecture's options and the shared keys it reads, and the lambda schedule only for
 * penalty architectures. run.json records it; run ids hash it.
 */
export interface EffectiveConfig {
  experiment: string;
  data: DataSpec;
  sae: Pick<SaeSpec, "architecture" | SaeCoreKey> & Record<string, unknown>;
  /** lambda: the whole section for penalty runs, else only the held-out split if it moves rows. */
  train: Omit<TrainSpec, "lambda"> & {
    lambda?:
      | TrainSpec["lambda"]
      | Pick<TrainSpec["lambda"], "validation_tokens" | "validation_layout">;
  };
  eval: EvalSpec;
}
