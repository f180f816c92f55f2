// Trains one run end to end: lock, backend, data, normalisation, initialisation or resumption,
// the training loop (schedules, L0 controller, logging, checkpoints, divergence checks), held-out
// evaluation, SAELens export, summary and DONE. Reads the device only at sync points.
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { hostname } from "node:os";
import type { RunPlan } from "../sweep/plan.ts";
import type { BackendName } from "../spec/schema.ts";
import type { MetricsLine, RunManifest, RunSummary } from "../store/records.ts";
import { RUN_FILES } from "../store/records.ts";
import { appendLine, writeFileAtomic, writeJsonAtomic } from "../store/atomic.ts";
import { acquireRunLock } from "../store/lock.ts";
import { readSummary } from "../store/run_dir.ts";
import { type BackendChoice, selectBackend } from "../backend/select.ts";
import { openSource } from "../data/open_source.ts";
import type { ActivationSource } from "../data/source.ts";
import { Rng } from "../data/rng.ts";
import { getArchitecture } from "../sae/registry.ts";
import { createEngine } from "./create_engine.ts";
import type { Engine, StepStats } from "./engine.ts";
import { lambdaWarmup, learningRate } from "./schedules.ts";
import {
  controllerLambda,
  type ControllerState,
  initController,
  updateController,
} from "./controller.ts";
import { geometricMedian, mean, normalizationScale, scaleInPlace } from "./normalize.ts";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { evaluateEngine } from "./evaluate.ts";
import { writeSaeDirectory } from "../export/saelens.ts";
import type { TrainProgress } from "./progress.ts";
import { DivergenceError, InterruptedError } from "../errors.ts";
import { readGitCommit, VERSION } from "../version.ts";

export interface TrainRunOptions {
  /** Aborting checkpoints at the next sync point and throws InterruptedError. */
  signal?: AbortSignal;
  /** Overrides train.backend. */
  backend?: BackendName;
  onProgress?: (p: TrainProgress) => void;
  /** Called once the backend is active (tasks/run.ts prints it at start). */
  onBackend?: (choice: BackendChoice) => void;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Per-architecture sparsity coefficient of the config (fixed value or controller start). */
function configuredLambda(plan: RunPlan): number | null {
  const sae = plan.config.sae;
  switch (sae.architecture) {
    case "jumprelu":
      return sae.jumprelu.lambda;
    case "relu":
      return sae.relu.lambda;
    case "gated":
      return sae.gated.lambda;
    default:
      return null;
  }
}

function controllerGain(plan: RunPlan): number {
  const sae = plan.config.sae;
  if (sae.architecture === "jumprelu") return sae.jumprelu.controller_gain;
  if (sae.architecture === "relu") return sae.relu.controller_gain;
  return sae.gated.controller_gain;
}

/** Accumulates StepStats readings into means for one metrics line. */
class LogWindow {
  steps = 0;
  loss = 0;
  l0 = 0;
  fvu = 0;
  terms: Record<string, number> = {};
  add(s: StepStats): void {
    this.steps += s.steps;
    this.loss += s.loss * s.steps;
    this.l0 += s.l0 * s.steps;
    this.fvu += s.fvu * s.steps;
    for (const [k, v] of Object.entries(s.terms)) {
      this.terms[k] = (this.terms[k] ?? 0) + v * s.steps;
    }
  }
  mean(): { loss: number; l0: number; fvu: number; losses: Record<string, number> } {
    const n = Math.max(1, this.steps);
    const losses = Object.fromEntries(Object.entries(this.terms).map(([k, v]) => [k, v / n]));
    return { loss: this.loss / n, l0: this.l0 / n, fvu: this.fvu / n, losses };
  }
}

/** Keeps only metrics lines up to `step` (lines written after the last checkpoint are redone). */
async function truncateMetrics(path: string, step: number): Promise<void> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return;
  }
  const kept = text.split("\n").filter((line) => {
    if (!line.trim()) return false;
    try {
      return (JSON.parse(line) as MetricsLine).step <= step;
    } catch {
      return false;
    }
  });
  await writeFileAtomic(path, kept.map((l) => l + "\n").join(""));
}

export async function trainRun(plan: RunPlan, options: TrainRunOptions = {}): Promise<RunSummary> {
  const { runDir } = plan;
  await Deno.mkdir(runDir, { recursive: true });
  const done = await readSummary(runDir);
  try {
    await Deno.stat(join(runDir, RUN_FILES.done));
    if (done) return done;
  } catch { /* not done */ }
  const lock = await acquireRunLock(runDir);
  try {
    const backend = await selectBackend(options.backend ?? plan.config.train.backend);
    options.onBackend?.(backend);
    const source = await openSource(plan.config.data, {
      specDir: plan.specDir,
      streamSeed: plan.config.train.seed,
      evalSequences: plan.config.eval.lm_sequences,
    });
    try {
      return await trainWithSource(plan, source, { ...options, backendInfo: backend });
    } finally {
      source.close();
    }
  } finally {
    await lock.release();
  }
}

interface InnerOptions extends TrainRunOptions {
  backendInfo: RunManifest["backend"] & { notes: string[] };
}

async function trainWithSource(
  plan: RunPlan,
  source: ActivationSource,
  options: InnerOptions,
): Promise<RunSummary> {
  const { config, runDir } = plan;
  const { sae, train } = config;
  const arch = getArchitecture(sae.architecture);
  const d = source.dModel;
  const width = sae.width;
  const totalSteps = Math.ceil(train.tokens / train.batch_size);
  const ckptDir = join(runDir, RUN_FILES.checkpoint);
  const metricsPath = join(runDir, RUN_FILES.metrics);
  const manifestPath = join(runDir, RUN_FILES.manifest);
  const previous = await loadCheckpoint(ckptDir);

  // Normalisation scalar and initial parameters (or everything from the checkpoint).
  let scale: number;
  let startStep = 0;
  let trainSecondsBefore = 0;
  let controller: ControllerState | null = null;
  const baseLambda = configuredLambda(plan);
  const useController = arch.usesLambda && train.lambda.mode === "controller";
  const sample = previous ? undefined : await source.sample(train.norm_sample_tokens);
  if (previous) {
    scale = previous.meta.normScale;
  } else {
    scale = train.normalize ? normalizationScale(sample!, d) : 1;
    scaleInPlace(sample!, scale);
  }
  const init = arch.init({ d, f: width }, { sae, rng: new Rng(train.seed, 0x5ae) });
  if (!previous && sae.b_dec_init !== "zeros") {
    const bDec = sae.b_dec_init === "mean" ? mean(sample!, d) : geometricMedian(sample!, d);
    init.params.b_dec = { shape: [d], data: bDec };
  }
  const engine: Engine = createEngine(arch, init, {
    sae,
    adamEps: train.adam_eps,
    gradClip: train.grad_clip,
  });
  try {
    if (previous) {
      engine.restore(previous.snapshot);
      source.seek(previous.meta.cursor);
      startStep = previous.meta.step;
      trainSecondsBefore = previous.meta.trainSeconds;
      controller = previous.meta.controller;
      await truncateMetrics(metricsPath, startStep);
    } else {
      controller = useController && baseLambda !== null ? initController(baseLambda) : null;
      await writeFileAtomic(metricsPath, "");
    }

    const manifest: RunManifest = {
      run_id: plan.runId,
      experiment: config.experiment,
      index: plan.index,
      spec_path: plan.specPath,
      spec_hash: plan.specHash,
      overrides: plan.overrides,
      config,
      status: "running",
      backend: {
        requested: options.backendInfo.requested,
        used: options.backendInfo.used,
        ...(options.backendInfo.adapter ? { adapter: options.backendInfo.adapter } : {}),
        ...(options.backendInfo.fallback !== undefined
          ? { fallback: options.backendInfo.fallback }
          : {}),
      },
      notes: {
        backend_notes: options.backendInfo.notes,
        engine: engine.backend,
        total_steps: totalSteps,
        resumed_from_step: previous ? startStep : null,
        lambda_mode: arch.usesLambda ? train.lambda.mode : "none (k = target_l0)",
        ...(sae.architecture === "jumprelu"
          ? {
            threshold_param: sae.jumprelu.threshold_param,
            threshold_lr_scale: sae.jumprelu.threshold_lr_scale,
          }
          : {}),
        data: source.describe(),
      },
      norm_scale: scale,
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
    await writeJsonAtomic(manifestPath, manifest);

    const interval = useController ? train.lambda.interval : train.log_every;
    const syncEvery = (interval * train.log_every) / gcd(interval, train.log_every);
    const freezeStep = Math.floor(train.lambda.freeze_at * totalSteps);
    const lrSchedule = {
      lr: train.lr,
      warmupSteps: train.lr_warmup_steps,
      decay: train.lr_decay,
      decayStart: Math.floor(train.lr_decay_start * totalSteps),
      totalSteps,
    };
    const lambdaNow = () =>
      !arch.usesLambda ? 0 : controller ? controllerLambda(controller) : (baseLambda ?? 0);

    const t0 = performance.now();
    let window = new LogWindow();
    let lastLogTime = t0;
    let lastLogStep = startStep;
    let checkpointDue = false;
    const saveNow = async (step: number) => {
      const snapshot = await engine.snapshot(); // one device read
      await saveCheckpoint(ckptDir, {
        meta: {
          step,
          controller,
          cursor: source.cursor(),
          normScale: scale,
          optimizerT: snapshot.optimizer.t,
          trainSeconds: trainSecondsBefore + (performance.now() - t0) / 1000,
        },
        snapshot,
      });
    };
    const fail = async (error: RunManifest["error"]) => {
      manifest.status = "failed";
      manifest.error = error;
      manifest.ended_at = new Date().toISOString();
      await writeJsonAtomic(manifestPath, manifest);
    };

    for (let step = startStep; step < totalSteps; step++) {
      const x = scaleInPlace(await source.nextBatch(train.batch_size), scale);
      const lr = learningRate(step, lrSchedule);
      const lambda = lambdaNow() * lambdaWarmup(step, train.lambda.warmup_steps);
      engine.step(x, { lr, lambda });
      const s = step + 1; // steps completed
      if (s % train.checkpoint_every === 0 || options.signal?.aborted) checkpointDue = true;
      if (s % interval !== 0 && s !== totalSteps) continue;

      const stats = await engine.readStats();
      if (!Number.isFinite(stats.loss) || stats.nonFinite.length > 0) {
        const quantity = stats.nonFinite.length
          ? `parameter ${stats.nonFinite.join(", ")}`
          : "loss";
        await fail({ message: `non-finite ${quantity}`, step: s, quantity });
        throw new DivergenceError(s, quantity);
      }
      window.add(stats);
      if (controller) {
        controller = updateController(controller, { step: s, l0: stats.l0 }, {
          target: sae.target_l0,
          gain: controllerGain(plan),
          freezeStep,
          startStep: train.lambda.warmup_steps,
          damping: train.lambda.damping,
        });
      }
      if (s % train.log_every === 0 || s === totalSteps) {
        const now = performance.now();
        const m = window.mean();
        const tokensPerS = ((s - lastLogStep) * train.batch_size) / ((now - lastLogTime) / 1000);
        const line: MetricsLine = {
          step: s,
          tokens: s * train.batch_size,
          loss: m.loss,
          losses: m.losses,
          l0: m.l0,
          fvu: m.fvu,
          lambda: arch.usesLambda ? lambda : null,
          lr,
          tokens_per_s: tokensPerS,
          elapsed_s: trainSecondsBefore + (now - t0) / 1000,
        };
        await appendLine(metricsPath, JSON.stringify(line));
        options.onProgress?.({
          runId: plan.runId,
          step: s,
          totalSteps,
          tokensPerS,
          l0: m.l0,
          fvu: m.fvu,
          lambda: line.lambda,
          elapsedS: line.elapsed_s,
          etaS: ((totalSteps - s) * train.batch_size) / Math.max(tokensPerS, 1e-9),
        });
        window = new LogWindow();
        lastLogTime = now;
        lastLogStep = s;
      }
      if (s % syncEvery === 0 && (checkpointDue || options.signal?.aborted)) {
        await saveNow(s);
        checkpointDue = false;
        if (options.signal?.aborted) {
          manifest.status = "interrupted";
          manifest.ended_at = new Date().toISOString();
          await writeJsonAtomic(manifestPath, manifest);
          throw new InterruptedError(`run ${plan.runId} interrupted at step ${s}`, {
            hint: "run the same command again to resume from this checkpoint",
          });
        }
      }
    }
    const trainSeconds = trainSecondsBefore + (performance.now() - t0) / 1000;
    if (startStep < totalSteps) await saveNow(totalSteps);

    const evaluation = await evaluateEngine(engine, source, {
      tokens: config.eval.tokens,
      width,
      scale,
      decoderParam: arch.decoderParam,
      denseThreshold: config.eval.dense_threshold,
      recoveredCos: config.eval.recovered_cos,
    });
    const snapshot = await engine.snapshot();
    const exported = arch.exportTensors(snapshot.params, snapshot.state, { sae, scale });
    await writeSaeDirectory(join(runDir, RUN_FILES.sae), {
      tensors: exported.tensors,
      cfg: {
        ...exported.cfg,
        d_in: d,
        d_sae: width,
        dtype: "float32",
        device: "cpu",
        apply_b_dec_to_input: exported.cfg.apply_b_dec_to_input ?? false,
        normalize_activations: "none",
        model_name: source.describe().model ?? null,
        hook_name: source.describe().hook_name ?? null,
        saesweep: {
          run_id: plan.runId,
          experiment: config.experiment,
          trained_architecture: sae.architecture,
          norm_scale_folded: scale,
          target_l0: sae.target_l0,
          version: VERSION,
        },
      },
    });
    const finalLambda = arch.usesLambda ? lambdaNow() : null;
    const summary: RunSummary = {
      run_id: plan.runId,
      experiment: config.experiment,
      architecture: sae.architecture,
      width,
      d_model: d,
      seed: train.seed,
      l0_target: sae.target_l0,
      l0_rel_error: (evaluation.l0 - sae.target_l0) / sae.target_l0,
      ...evaluation,
      lambda: finalLambda,
      steps: totalSteps,
      train_tokens: totalSteps * train.batch_size,
      tokens_per_s: (totalSteps * train.batch_size) / Math.max(trainSeconds, 1e-9),
      train_seconds: trainSeconds,
      backend: engine.backend,
    };
    if (controller) {
      manifest.notes = {
        ...manifest.notes,
        lambda_final: finalLambda,
        lambda_freeze_step: freezeStep,
        lambda_trajectory: controller.trajectory,
      };
    }
    await writeJsonAtomic(join(runDir, RUN_FILES.summary), summary);
    manifest.status = "done";
    manifest.ended_at = new Date().toISOString();
    await writeJsonAtomic(manifestPath, manifest);
    await writeFileAtomic(join(runDir, RUN_FILES.done), new Date().toISOString() + "\n");
    return summary;
  } finally {
    engine.dispose();
  }
}
