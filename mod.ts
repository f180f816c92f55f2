// saesweep's public API: every name a library user may import, listed explicitly.
/**
 * saesweep: sparse-autoencoder sweeps on Deno. Library users import from here; the command line is
 * `deno task sweep|run|report` (see the README).
 *
 * Architectures live in an open registry. Besides the built-ins (`architectureNames()`), your own
 * module can register one and then train it from a spec whose `sae.architecture` names it (in your
 * process: the CLI's specs cannot load code). Its options become the spec section `sae.<name>`,
 * validated like the built-ins'. A complete, runnable example (`deno task test` runs it as a doc
 * test):
 *
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { z } from "zod";
 * import {
 *   expandSweep,
 *   exportLinearSae,
 *   initLinearSae,
 *   linearDecode,
 *   loadExperiment,
 *   reconstructionLoss,
 *   registerArchitecture,
 *   trainRun,
 * } from "@saesweep/saesweep";
 *
 * // f = ReLU(x W_enc + b_enc) with an unweighted L1 penalty and a unit-norm decoder.
 * const encode = (p: Record<string, tf.Tensor>, x: tf.Tensor2D) =>
 *   tf.relu(tf.add(tf.matMul(x, p.W_enc), p.b_enc)) as tf.Tensor2D; // [B, F]
 *
 * registerArchitecture({
 *   name: "plain_l1",
 *   summary: "ReLU SAE with an unweighted L1 penalty and a unit-norm decoder",
 *   options: z.strictObject({
 *     lambda: z.number().positive().default(0.01).describe("L1 coefficient (controller start)"),
 *     controller_gain: z.number().min(0).default(0.1).describe("L0 controller gain"),
 *   }),
 *   defaultsVersion: 1, // bump when a default changes (renames this architecture's runs)
 *   sparsity: "penalty", // lambda is calibrated to sae.target_l0 by the L0 controller
 *   // The penalty is an L1 of the activations: train.lambda.mode normalized (the default) derives
 *   // lambda's start from it, the target, the width and the data.
 *   penaltyShape: () => ({ kind: "l1" }),
 *   uses: ["b_dec_init"], // shared sae keys it reads (they and sae.plain_l1 make the run id)
 *   gradientCheck: { params: ["W_enc", "b_enc", "W_dec", "b_dec"] },
 *   termNames: () => ["recon", "sparsity"],
 *   unitNormDecoder: true,
 *   decoderParam: "W_dec",
 *   init: ({ d, f }, { rng }) => ({ params: initLinearSae(d, f, rng), state: {} }),
 *   loss(params, _state, x, { lambda }) {
 *     const f = encode(params, x);
 *     const xHat = linearDecode(params, f);
 *     const recon = reconstructionLoss(x, xHat);
 *     const sparsity = tf.mul(lambda, tf.mean(tf.sum(f, 1))) as tf.Scalar;
 *     return { total: tf.add(recon, sparsity) as tf.Scalar, terms: { recon, sparsity }, f, xHat };
 *   },
 *   encode: (params, _state, x) => tf.tidy(() => encode(params, x)),
 *   decode: (params, f) => tf.tidy(() => linearDecode(params, f)),
 *   adamBetas: () => [0.9, 0.999],
 *   exportTensors: (params, _state, { scale }) => ({
 *     tensors: exportLinearSae(params, { scale, preEncoderBias: false }),
 *     cfg: { architecture: "standard", apply_b_dec_to_input: false },
 *   }),
 * });
 *
 * // A spec that names it, trained run by run (here in a temporary directory).
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(
 *   `${dir}/plain.yaml`,
 *   [
 *     "name: plain",
 *     "data: { source: synthetic, d_model: 8, n_features: 16 }",
 *     "sae: { architecture: plain_l1, width: 32, target_l0: 4 }",
 *     "train: { tokens: 32768, batch_size: 256, lr: 0.01, backend: wasm, log_every: 16 }",
 *     "eval: { tokens: 256 }",
 *   ].join("\n"),
 * );
 * for (const plan of expandSweep(await loadExperiment(`${dir}/plain.yaml`), { outDir: dir })) {
 *   const summary = await trainRun(plan);
 *   console.log(plan.runId, summary.l0, summary.fvu);
 *   assert.ok(summary.fvu > 0 && summary.fvu < 1);
 *   // The run's folder holds the SAE in SAELens's layout, loadable as a standard SAE.
 *   const cfg = JSON.parse(await Deno.readTextFile(`${plan.runDir}/sae/cfg.json`));
 *   assert.equal(cfg.architecture, "standard");
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

// Spec language and sweeps
export {
  type BackendName,
  BACKENDS,
  type DataSpec,
  experimentSchema,
  type ExperimentSpec,
  type RunConfig,
  saeSchema,
} from "./lib/spec/schema.ts";
export { type LoadedExperiment, loadExperiment, parseExperiment } from "./lib/spec/load.ts";
export { experimentJsonSchema } from "./lib/spec/json_schema.ts";
export { expandSweep } from "./lib/sweep/expand.ts";
export { effectiveConfig, RUN_ID_SCHEME } from "./lib/sweep/effective_config.ts";
export { ExecutorSpec, SlurmSpec } from "./lib/spec/executor_schema.ts";
export type { RunPlan } from "./lib/sweep/plan.ts";

// Errors
export {
  BackendUnavailableError,
  DataError,
  DivergenceError,
  ExecutorError,
  formatSpecIssue,
  InterruptedError,
  LockError,
  SaeSweepError,
  SpecError,
  type SpecIssue,
  UsageError,
} from "./lib/errors.ts";

// Executors
export {
  readManifestPlan,
  type SweepManifest,
  writeSweepManifest,
} from "./lib/executor/sweep_manifest.ts";
export {
  slurmOutcomes,
  type SlurmSubmission,
  submitSlurm,
  waitForArray,
} from "./lib/executor/slurm.ts";

// Run directories
export type { MetricsLine, RunManifest, RunStatus, RunSummary } from "./lib/store/records.ts";
export { listRuns, readManifest, readSummary, runStatus } from "./lib/store/run_dir.ts";
export { writeFileAtomic, writeJsonAtomic } from "./lib/store/atomic.ts";

// Architectures and training
export {
  type ArchContext,
  type Architecture,
  type ExportResult,
  type HostTensor,
  type HostTensors,
  type InitResult,
  type LossResult,
  optionsOf,
  type SaeConfig,
  type TensorMap,
} from "./lib/sae/types.ts";
export {
  architectureNames,
  architectures,
  getArchitecture,
  registerArchitecture,
} from "./lib/sae/registry.ts";
export {
  exportLinearSae,
  initLinearSae,
  linearDecode,
  reconstructionLoss,
} from "./lib/sae/linear_sae.ts";
export { jumpRelu, stepSte } from "./lib/sae/ste.ts";
export type { Engine, EngineSnapshot, StepStats } from "./lib/engine/engine.ts";
export { TfjsEngine } from "./lib/engine/reference/tfjs_engine.ts";
export { createEngine } from "./lib/engine/create_engine.ts";
export { trainRun, type TrainRunOptions } from "./lib/train/train_run.ts";
export { selectBackend } from "./lib/engine/reference/select_backend.ts";

// Data
export type {
  ActivationSource,
  LmEvaluation,
  LmFeatureInputs,
  Reconstructor,
} from "./lib/data/source.ts";
export { openSource } from "./lib/train/open_source.ts";
export { createSyntheticSource } from "./lib/data/synthetic.ts";
export { openFilesSource } from "./lib/data/files.ts";
export { readNpyHeader, readNpyRows, writeNpy } from "./lib/formats/npy.ts";
export { Rng } from "./lib/data/rng.ts";

// Language models
export { loadCheckpoint as loadLlamaCheckpoint } from "./lib/lm/checkpoint.ts";
export { loadTokenizer } from "./lib/lm/tokenizer.ts";
export { loadModelCheckpoint, loadModelTokenizer } from "./lib/lm/load_model.ts";
export { createModel as createLlamaModel } from "./lib/lm/model.ts";
export { evaluateSplice, meanCrossEntropy } from "./lib/lm/evaluate.ts";
export { openLmSource } from "./lib/lm/source.ts";
export { greedyDecode, sampleSequences } from "./lib/lm/generate.ts";
export { createKvDecoder } from "./lib/lm/kv_decode.ts";
export { drawToken, tokenDistribution } from "./lib/lm/sample.ts";
export { prepareLmCaches } from "./lib/lm/lm_caches.ts";

// Metrics
export { ReconstructionAccumulator } from "./lib/metrics/reconstruction.ts";
export { SparsityAccumulator } from "./lib/metrics/sparsity.ts";
export { featureRecovery } from "./lib/metrics/recovery.ts";
export { type FiringHistogram, firingHistogram } from "./lib/metrics/firing_histogram.ts";
export { type ThresholdHealth, thresholdHealth } from "./lib/sae/jumprelu/health.ts";

// Feature data of LM runs (dashboards, interpretability measures)
export {
  FEATURE_DEFAULTS,
  type FeatureData,
  type FeatureOptions,
} from "./lib/features/feature_data.ts";
export { FeatureAccumulator } from "./lib/features/collect.ts";
export { logitLens } from "./lib/features/logit_lens.ts";
export { type FeatureMeasures, featureMeasures } from "./lib/features/measures.ts";
export { computeRunFeatures } from "./lib/features/compute_run.ts";
export { readFeatureData, writeFeatureData } from "./lib/features/store.ts";

// Export and file formats
export { type LoadedSae, loadSaeDirectory, writeSaeDirectory } from "./lib/export/saelens.ts";
export {
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
} from "./lib/formats/safetensors.ts";

// Reports
export { loadRuns } from "./lib/report/load_runs.ts";
export { paretoFrontier } from "./lib/report/pareto.ts";
export { interpolateAt } from "./lib/report/interpolate.ts";
export { compareAtTargets } from "./lib/report/compare.ts";
export { writeReport } from "./lib/report/write.ts";
