// The end of a run: held-out evaluation, the SAE exported in SAELens's layout (raw units), feature
// data for lm runs, and the flat summary.json record. Writes sae/ and features/; the caller writes
// summary.json, run.json and DONE.
import { join } from "node:path";
import type { RunPlan } from "../sweep/plan.ts";
import { RUN_FILES, type RunSummary } from "../store/records.ts";
import type { ActivationSource } from "../data/source.ts";
import type { Architecture } from "../sae/types.ts";
import type { Engine } from "../engine/engine.ts";
import { evaluateEngine } from "./evaluate.ts";
import { heldoutSplit } from "../spec/heldout_split.ts";
import { writeSaeDirectory } from "../export/saelens.ts";
import { VERSION } from "../version.ts";
import { computeRunFeatures } from "../features/compute_run.ts";
import { hostGemm } from "../engine/host_gemm.ts";
import { l0RelError } from "../metrics/l0_miss.ts";

export interface FinishFacts {
  arch: Architecture;
  /** Normalisation scalar folded into the exported weights. */
  scale: number;
  totalSteps: number;
  trainSeconds: number;
  /** Final (frozen) sparsity coefficient, or null. */
  lambda: number | null;
}

export async function finishRun(
  plan: RunPlan,
  run: { engine: Engine; source: ActivationSource; facts: FinishFacts },
): Promise<RunSummary> {
  const { engine, source, facts } = run;
  const { config } = plan;
  const { sae, train } = config;
  const d = source.dModel;
  const evaluation = await evaluateEngine(engine, source, {
    tokens: config.eval.tokens,
    split: heldoutSplit(config),
    width: sae.width,
    scale: facts.scale,
    decoderParam: facts.arch.decoderParam,
    denseThreshold: config.eval.dense_threshold,
    recoveredCos: config.eval.recovered_cos,
    health: facts.arch.heldOutHealth
      ? ({ params, state }, x, n) =>
        facts.arch.heldOutHealth!(params, state, {
          sae,
          x,
          n,
          blas: hostGemm(),
        })
      : undefined,
  });
  const snapshot = await engine.snapshot();
  const exported = facts.arch.exportTensors(snapshot.params, snapshot.state, {
    sae,
    scale: facts.scale,
  });
  const described = source.describe();
  await writeSaeDirectory(join(plan.runDir, RUN_FILES.sae), {
    tensors: exported.tensors,
    cfg: {
      ...exported.cfg,
      d_in: d,
      d_sae: sae.width,
      dtype: "float32",
      device: "cpu",
      apply_b_dec_to_input: exported.cfg.apply_b_dec_to_input ?? false,
      normalize_activations: "none",
      model_name: described.model ?? null,
      hook_name: described.hook_name ?? null,
      saesweep: {
        run_id: plan.runId,
        experiment: config.experiment,
        trained_architecture: sae.architecture,
        norm_scale_folded: facts.scale,
        target_l0: sae.target_l0,
        version: VERSION,
      },
    },
  });
  // LM runs: feature dashboards' data in features/, and the measures that need no LM API.
  const features = await computeRunFeatures(plan.runDir, { engine, source }, {
    tokens: config.eval.tokens,
    scale: facts.scale,
    width: sae.width,
    decoder: exported.tensors.W_dec.data,
  });
  const tokens = facts.totalSteps * train.batch_size;
  return {
    run_id: plan.runId,
    experiment: config.experiment,
    architecture: sae.architecture,
    width: sae.width,
    d_model: d,
    seed: train.seed,
    l0_target: sae.target_l0,
    l0_rel_error: l0RelError(evaluation.l0, sae.target_l0),
    ...evaluation,
    ...(facts.arch.resolvedOptions
      ? { resolved_options: facts.arch.resolvedOptions(snapshot.state, sae) }
      : {}),
    ...features?.measures,
    lambda: facts.lambda,
    steps: facts.totalSteps,
    train_tokens: tokens,
    tokens_per_s: tokens / Math.max(facts.trainSeconds, 1e-9),
    train_seconds: facts.trainSeconds,
    backend: engine.backend,
  };
}
