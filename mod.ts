// saesweep's public API: every name a library user may import, listed explicitly.

// Spec language and sweeps
export {
  ARCHITECTURES,
  type ArchName,
  type BackendName,
  BACKENDS,
  type DataSpec,
  ExperimentSpec,
  type RunConfig,
} from "./lib/spec/schema.ts";
export { type LoadedExperiment, loadExperiment, parseExperiment } from "./lib/spec/load.ts";
export { experimentJsonSchema } from "./lib/spec/json_schema.ts";
export { expandSweep } from "./lib/sweep/expand.ts";
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
export type { Architecture, HostTensor, HostTensors } from "./lib/sae/types.ts";
export { ARCHITECTURE_REGISTRY, getArchitecture } from "./lib/sae/registry.ts";
export { jumpRelu, stepSte } from "./lib/sae/ste.ts";
export type { Engine, EngineSnapshot, StepStats } from "./lib/engine/engine.ts";
export { TfjsEngine } from "./lib/train/tfjs_engine.ts";
export { createEngine } from "./lib/train/create_engine.ts";
export { trainRun, type TrainRunOptions } from "./lib/train/train_run.ts";
export { selectBackend } from "./lib/backend/select.ts";

// Data
export type { ActivationSource, LmEvaluation, Reconstructor } from "./lib/data/source.ts";
export { openSource } from "./lib/train/open_source.ts";
export { createSyntheticSource } from "./lib/data/synthetic.ts";
export { openFilesSource } from "./lib/data/files.ts";
export { readNpyHeader, readNpyRows, writeNpy } from "./lib/formats/npy.ts";
export { Rng } from "./lib/data/rng.ts";

// Language models
export { loadCheckpoint as loadLlamaCheckpoint } from "./lib/lm/checkpoint.ts";
export { loadTokenizer } from "./lib/lm/tokenizer.ts";
export { createModel as createLlamaModel } from "./lib/lm/model.ts";
export { evaluateSplice, meanCrossEntropy } from "./lib/lm/evaluate.ts";
export { openLmSource } from "./lib/lm/source.ts";

// Metrics
export { ReconstructionAccumulator } from "./lib/metrics/reconstruction.ts";
export { SparsityAccumulator } from "./lib/metrics/sparsity.ts";
export { featureRecovery } from "./lib/metrics/recovery.ts";

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
