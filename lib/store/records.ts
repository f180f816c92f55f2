// The files of a run directory `runs/<experiment>/<run_id>/` and their shapes. This is the contract
// between the trainer (writer), the executor (status), and reports (readers): the record types,
// and the one declaration of the report's run columns and of where each summary field goes.
import type { EffectiveConfig } from "../spec/schema.ts";
import type { FiringHistogram } from "../metrics/firing_histogram.ts";
import type { DataFingerprint } from "../data/fingerprint.ts";

/** File names inside a run directory. */
export const RUN_FILES = {
  manifest: "run.json",
  metrics: "metrics.jsonl",
  summary: "summary.json",
  done: "DONE",
  lock: "LOCK",
  checkpoint: "checkpoint",
  sae: "sae",
} as const;

/**
 * `damaged`: DONE exists but the files it lists are missing or changed, or run.json is unreadable
 * (repaired on resume). `stale`: the data files recorded in run.json changed since the run read
 * them (finished or not); only --restart trains it again.
 */
export type RunStatus =
  | "pending"
  | "running"
  | "partial"
  | "done"
  | "failed"
  | "damaged"
  | "stale";

/** `run.json`: what the run is and how it was produced. Rewritten atomically as the run progresses. */
export interface RunManifest {
  run_id: string;
  experiment: string;
  /** Index of the run in the expanded sweep (stable for a given spec). */
  index: number;
  /** Path of the spec file as given on the command line. */
  spec_path: string;
  /** sha256 (hex, first 16 chars) of the canonical JSON of the validated spec. */
  spec_hash: string;
  /** Swept values that produced this run, keyed by dotted path (`sae.target_l0`: 16). */
  overrides: Record<string, unknown>;
  /**
   * How run_id was hashed: absent in runs from before schemes were versioned (the whole resolved
   * config), 2 for the effective config (lib/sweep/effective_config.ts).
   */
  run_id_scheme?: number;
  /** The effective config (scheme 2): the chosen architecture's options and the keys it reads. */
  config: EffectiveConfig;
  status: "running" | "done" | "failed" | "interrupted";
  error?: { message: string; step?: number; quantity?: string };
  backend?: { requested: string; used: string; adapter?: string; fallback?: boolean };
  /** Choices the run made that are not visible in the config (e.g. controller freeze step). */
  notes?: Record<string, unknown>;
  /** Normalisation: activations were divided by this scalar (E||x/scale||^2 = 1). */
  norm_scale?: number;
  /**
   * The files the run read, with sizes and hashes (lib/data/fingerprint.ts); absent in runs from
   * before it was recorded, whose data cannot be checked.
   */
  data_fingerprint?: DataFingerprint;
  versions: { saesweep: string; deno: string; v8: string; typescript: string; tfjs?: string };
  git_commit: string | null;
  host: string;
  started_at: string;
  ended_at?: string;
}

/** One line of `metrics.jsonl`, written every `train.log_every` steps. */
export interface MetricsLine {
  step: number;
  tokens: number;
  /** Total loss and each named term (recon, sparsity, aux, ...), averaged since the last line. */
  loss: number;
  losses: Record<string, number>;
  l0: number;
  /**
   * The controller's latest held-out L0 reading, when train.lambda.validation_tokens is set
   * (lib/train/control_set.ts).
   */
  l0_validation?: number;
  /** Training-batch FVU averaged since the last line. */
  fvu: number;
  lambda: number | null;
  lr: number;
  tokens_per_s: number;
  elapsed_s: number;
  /**
   * Health (absent in older files and where the architecture has none): fraction of training
   * pre-activation entries inside the threshold STE window, |pi - theta| < eps / 2, averaged over
   * the steps since the last line (JumpReLU).
   */
  ste_window_frac?: number;
  /** Fraction of latents not fired for dead_tokens training tokens, at this line's step. */
  dead_frac?: number;
}

/**
 * `summary.json`: flat final evaluation on held-out data (normalised units unless `_raw`).
 * Metric definitions live in lib/metrics/; optional fields exist only for some data sources.
 */
export interface RunSummary {
  run_id: string;
  experiment: string;
  architecture: string;
  width: number;
  d_model: number;
  seed: number;
  l0_target: number;
  l0: number;
  l0_rel_error: number;
  mse: number;
  mse_raw: number;
  fvu: number;
  explained_variance: number;
  dead_frac: number;
  dense_frac: number;
  /**
   * Held-out firing frequencies as log10 density bins (lib/metrics/firing_histogram.ts), never
   * firing latents apart; absent in runs from before it was recorded.
   */
  firing_hist?: FiringHistogram;
  /** JumpReLU health on held-out data (lib/sae/jumprelu/health.ts); absent elsewhere. */
  thr_unreachable_frac?: number;
  thr_stranded_frac?: number;
  ste_window_frac?: number;
  /**
   * Options as the run used them, resolved from the data at its start (`Architecture.
   * resolvedOptions`: JumpReLU's STE bandwidth `sae.jumprelu.bandwidth` in normalised units);
   * absent for architectures without any and in runs from before it was recorded.
   */
  resolved_options?: Record<string, number>;
  l2_ratio: number;
  shrinkage_gamma: number;
  /** Final (frozen) sparsity coefficient; null for topk/batchtopk. */
  lambda: number | null;
  mmcs?: number;
  recovered_frac?: number;
  ce_clean?: number;
  ce_spliced?: number;
  delta_lm_loss?: number;
  ce_zero_ablated?: number;
  ce_loss_recovered?: number;
  /** lm only (lib/features/measures.ts): mean top-context token entropy (bits) of firing latents. */
  top_token_entropy?: number | null;
  /** lm only: fraction of latents whose top contexts all share one current token. */
  same_token_frac?: number | null;
  /** lm only: mean max cosine between decoder rows of firing latents (redundancy). */
  decoder_mmcs?: number | null;
  steps: number;
  train_tokens: number;
  eval_tokens: number;
  tokens_per_s: number;
  train_seconds: number;
  backend: string;
}

/**
 * The columns every runs table of a report starts with (lib/report/load_runs.ts), in order, and
 * where each value comes from. A planned run without a directory has only some of them.
 */
export const RUN_COLUMNS = {
  experiment: "run.json experiment (else the experiment directory's name)",
  run_id: "run.json run_id (else the run directory's name)",
  status: "the run directory's state (lib/store/run_dir.ts runStatus)",
  architecture: "run.json config.sae.architecture (summary.json's when written)",
  seed: "run.json config.train.seed (summary.json's when written)",
  l0_target: "run.json config.sae.target_l0 (summary.json's when written)",
  error: "run.json error.message, with its step",
  backend: "run.json backend.used (summary.json's when written)",
  backend_requested: "run.json backend.requested",
  spec_hash: "run.json spec_hash",
  spec_path: "run.json spec_path",
  started_at: "run.json started_at",
  ended_at: "run.json ended_at",
  last_step: "step of the last metrics.jsonl line",
  elapsed_s: "elapsed_s of the last metrics.jsonl line",
  run_dir: "the run directory",
} as const;

/** Name of a run column. */
export type RunColumn = keyof typeof RUN_COLUMNS;

/**
 * Where a summary.json field goes in a report's runs table. `run`: it is a run column
 * (`RUN_COLUMNS`), filled from summary.json when written (run_id and experiment: from run.json
 * always); `metric`: a column of every runs table, in
 * the order of `SUMMARY_FIELDS`, after the swept axes; `when_present`: a column only when some run
 * has the field, after the metrics with the fields summary.json has that this declaration does
 * not know (newer runs), sorted by name.
 */
export type SummaryPlacement = "run" | "metric" | "when_present";

/**
 * Every `RunSummary` field and where the report puts it (the compiler checks that none is
 * missing, so a field added to summary.json gets its column here). Metric columns in this order.
 */
export const SUMMARY_FIELDS: { readonly [K in keyof RunSummary]-?: SummaryPlacement } = {
  run_id: "run",
  experiment: "run",
  architecture: "run",
  seed: "run",
  l0_target: "run",
  backend: "run",
  l0: "metric",
  l0_rel_error: "metric",
  fvu: "metric",
  explained_variance: "metric",
  mse: "metric",
  mse_raw: "metric",
  delta_lm_loss: "metric",
  ce_clean: "metric",
  ce_spliced: "metric",
  ce_zero_ablated: "metric",
  ce_loss_recovered: "metric",
  dead_frac: "metric",
  dense_frac: "metric",
  l2_ratio: "metric",
  shrinkage_gamma: "metric",
  lambda: "metric",
  mmcs: "metric",
  recovered_frac: "metric",
  width: "metric",
  d_model: "metric",
  steps: "metric",
  train_tokens: "metric",
  eval_tokens: "metric",
  tokens_per_s: "metric",
  train_seconds: "metric",
  firing_hist: "when_present",
  thr_unreachable_frac: "when_present",
  thr_stranded_frac: "when_present",
  ste_window_frac: "when_present",
  resolved_options: "when_present",
  top_token_entropy: "when_present",
  same_token_frac: "when_present",
  decoder_mmcs: "when_present",
};

/** The summary fields placed `placement`, in declaration order. */
export function summaryFields(placement: SummaryPlacement): string[] {
  return Object.entries(SUMMARY_FIELDS).filter(([, p]) => p === placement).map(([k]) => k);
}

/**
 * Where a sweep placed a cuda run (lib/executor/gpu_slots.ts); recorded in its run.json
 * (`notes.gpu_placement`).
 */
export interface GpuPlacement {
  /** Index of the GPU among the sweep's devices. */
  device: number;
  /** CUDA_VISIBLE_DEVICES given to the run's process (its GPU 0 is this device). */
  cuda_visible_devices: string;
  device_name: string;
  /** The engine's buffers for this run, estimated (lib/engine/cuda/run_bytes.ts). */
  estimate_bytes: number;
  /** What the run holds on the device while it trains: estimate + margin + context. */
  reservation_bytes: number;
  /** The device's free memory when the sweep started. */
  device_free_bytes: number;
  /** Runs holding reservations on the same device when this one started. */
  sharing_with: string[];
}
