// The run.json a run writes when it starts: what it is (config, swept values, spec hash), where
// and how it runs (backend, engine, versions, commit, host) and the choices it made.
import * as tf from "@tensorflow/tfjs";
import { hostname } from "node:os";
import type { RunPlan } from "../sweep/plan.ts";
import { effectiveConfig, RUN_ID_SCHEME } from "../sweep/effective_config.ts";
import { getArchitecture } from "../sae/registry.ts";
import type { RunManifest } from "../store/records.ts";
import type { DataFingerprint } from "../data/fingerprint.ts";
import type { BackendChoice } from "../engine/reference/backend_choice.ts";
import type { EngineChoice } from "../engine/create_engine.ts";
import { readGitCommit, VERSION } from "../version.ts";

export interface ManifestFacts {
  backend: BackendChoice;
  /** The engine that trains and why (lib/engine/create_engine.ts). */
  engine: EngineChoice;
  totalSteps: number;
  /** Step a resumed run restarts from, or null for a fresh run. */
  resumedFrom: number | null;
  /** Normalisation scalar (inputs are divided by it). */
  normScale: number;
  /** The data source's description (shapes, files, cache keys). */
  data: Record<string, unknown>;
  /** Sizes and hashes of the files the run reads (lib/data/fingerprint.ts). */
  dataFingerprint?: DataFingerprint;
}

export async function startManifest(plan: RunPlan, facts: ManifestFacts): Promise<RunManifest> {
  const { sae, train } = plan.config;
  const b = facts.backend;
  return {
    run_id: plan.runId,
    experiment: plan.config.experiment,
    index: plan.index,
    spec_path: plan.specPath,
    spec_hash: plan.specHash,
    overrides: plan.overrides,
    run_id_scheme: RUN_ID_SCHEME,
    config: plan.effective ?? effectiveConfig(plan.config),
    status: "running",
    backend: {
      requested: b.requested,
      used: b.used,
      ...(b.adapter ? { adapter: b.adapter } : {}),
      ...(b.fallback !== undefined ? { fallback: b.fallback } : {}),
    },
    notes: {
      backend_notes: b.notes,
      engine: facts.engine.backend,
      engine_choice: {
        requested: facts.engine.requested,
        used: facts.engine.used,
        ...(facts.engine.adapter ? { adapter: facts.engine.adapter } : {}),
        notes: facts.engine.notes,
      },
      ...(facts.engine.gemm ? { gemm: facts.engine.gemm } : {}),
      total_steps: facts.totalSteps,
      resumed_from_step: facts.resumedFrom,
      lambda_mode: getArchitecture(sae.architecture).sparsity === "penalty"
        ? train.lambda.mode
        : "none (k = target_l0)",
      data: facts.data,
    },
    norm_scale: facts.normScale,
    ...(facts.dataFingerprint ? { data_fingerprint: facts.dataFingerprint } : {}),
    versions: {
      saesweep: VERSION,
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      typescript: Deno.version.typescript,
      tfjs: tf.version.tfjs,
    },
    git_commit: await readGitCommit(),
    host: hostname(),
    started_at: new Date().toISOString(),
  };
}
