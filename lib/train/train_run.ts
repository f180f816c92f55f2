// Trains one run end to end: lock, backend, data, normalisation, initialisation or resumption,
// the training loop (schedules, L0 controller, logging, checkpoints, divergence checks), held-out
// evaluation, SAELens export, summary and DONE. Reads the device only at sync points.
import type { GpuPlacement } from "../store/records.ts";
import { join } from "node:path";
import type { RunPlan } from "../sweep/plan.ts";
import type { BackendName, EngineName } from "../engine/names.ts";
import type { MetricsLine, RunManifest, RunSummary } from "../store/records.ts";
import { RUN_FILES } from "../store/records.ts";
import { appendLine, removeTempFiles, writeFileAtomic, writeJsonAtomic } from "../store/atomic.ts";
import { writeDone } from "../store/done.ts";
import { acquireRunLock } from "../store/lock.ts";
import { finishedRun } from "../store/run_dir.ts";
import { type BackendChoice, selectBackend } from "../engine/reference/select_backend.ts";
import { openSource } from "./open_source.ts";
import type { ActivationSource } from "../data/source.ts";
import { checkFinite, checkSample } from "../data/check_sample.ts";
import { Rng } from "../data/rng.ts";
import { getArchitecture, penaltyOptions } from "../sae/registry.ts";
import { createEngine, type EngineChoice, engineChoice } from "../engine/create_engine.ts";
import { calibrationSample } from "./calibrate_l0.ts";
import { hostGemm } from "../engine/host_gemm.ts";
import type { Engine } from "../engine/engine.ts";
import { lambdaWarmup, learningRate } from "./schedules.ts";
import {
  atFloor,
  controllerLambda,
  controllerSettings,
  type ControllerState,
  initController,
  lambdaFloor,
  updateController,
} from "./controller.ts";
import { geometricMedian, mean, normalizationScale, scaleInPlace } from "./normalize.ts";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { finishRun } from "./finish_run.ts";
import { startManifest } from "./manifest.ts";
import { checkDataIdentity } from "./data_identity.ts";
import { evalTokensProblem } from "./check_data.ts";
import type { DataFingerprint } from "../data/fingerprint.ts";
import { MetricsWindow, truncateMetrics } from "./metrics_log.ts";
import type { TrainProgress } from "./progress.ts";
import type { DataProgress } from "../data/source.ts";
import { DataError, DivergenceError, InterruptedError, SaeSweepError } from "../errors.ts";
import { checkDivergence } from "./divergence.ts";
import { faultPoint } from "./fault_points.ts";
import { controlL0, readHeldout } from "./control_set.ts";
import { heldoutSplit } from "../spec/heldout_split.ts";
import { centredVariance, lambdaUnit, penaltyShape } from "./lambda_scale.ts";
import { DEFAULT_L0_TOLERANCE, missedTargetL0 } from "../metrics/l0_miss.ts";

export interface TrainRunOptions {
  /** Aborting checkpoints at the next sync point and throws InterruptedError. */
  signal?: AbortSignal;
  /** Overrides train.backend. */
  backend?: BackendName;
  /** Overrides train.engine. */
  engine?: EngineName;
  onProgress?: (p: TrainProgress) => void;
  /** Progress of preparing the data before training (sampling text, harvesting activations). */
  onDataProgress?: (p: DataProgress) => void;
  /** Called once the backend is active (tasks/run.ts prints it at start). */
  onBackend?: (choice: BackendChoice) => void;
  /** Called once the engine is chosen (tasks/run.ts prints it at start). */
  onEngine?: (choice: EngineChoice) => void;
  /** Things the user should know that do not stop the run (a checkpoint fallback, a repair). */
  onWarning?: (message: string) => void;
  /**
   * The GPU and memory reservation a sweep gave this run (lib/executor/gpu_slots.ts), recorded in
   * run.json as `notes.gpu_placement`.
   */
  gpuPlacement?: GpuPlacement;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** The data a run reads, for messages: `data.path <file>`, or the source name. */
function describeData(plan: RunPlan): string {
  const data = plan.config.data;
  return data.source === "files" ? `data.path ${data.path}` : `${data.source} data`;
}

export async function trainRun(plan: RunPlan, options: TrainRunOptions = {}): Promise<RunSummary> {
  const { runDir } = plan;
  await Deno.mkdir(runDir, { recursive: true });
  // A run never resumes, repairs or returns a result on data other than it read (issue 28).
  const dataIdentity = await checkDataIdentity(plan);
  const before = await finishedRun(runDir);
  if (before && "summary" in before) return before.summary;
  const lock = await acquireRunLock(runDir);
  try {
    await removeTempFiles(runDir);
    // Finished by another process meanwhile, or damaged: then the end of the run is redone from
    // its final checkpoint.
    const now = await finishedRun(runDir);
    if (now && "summary" in now) return now.summary;
    if (now) {
      options.onWarning?.(`${plan.runId} was done but ${now.damage.join("; ")}; repairing it`);
      await Deno.remove(join(runDir, RUN_FILES.done));
    }
    const backend = await selectBackend(options.backend ?? plan.config.train.backend);
    options.onBackend?.(backend);
    const source = await openSource(plan.config.data, {
      specDir: plan.specDir,
      streamSeed: plan.config.train.seed,
      evalSequences: plan.config.eval.lm_sequences,
      onDataProgress: options.onDataProgress,
    });
    try {
      return await trainWithSource(plan, source, {
        ...options,
        backendInfo: backend,
        dataIdentity,
      });
    } finally {
      source.close();
    }
  } finally {
    await lock.release();
  }
}

interface InnerOptions extends TrainRunOptions {
  backendInfo: BackendChoice;
  dataIdentity: DataFingerprint;
}

async function trainWithSource(
  plan: RunPlan,
  source: ActivationSource,
  options: InnerOptions,
): Promise<RunSummary> {
  const { config, runDir } = plan;
  const { sae, train } = config;
  // Fewer held-out vectors than eval.tokens would shrink the evaluation without a word.
  const short = evalTokensProblem(config.eval.tokens, source.describe(), describeData(plan));
  if (short) {
    throw new DataError(short, {
      hint: "fix eval.tokens or the data; nothing was trained",
      exitCode: 2,
    });
  }
  const arch = getArchitecture(sae.architecture);
  const d = source.dModel;
  const width = sae.width;
  const totalSteps = Math.ceil(train.tokens / train.batch_size);
  const ckptDir = join(runDir, RUN_FILES.checkpoint);
  const metricsPath = join(runDir, RUN_FILES.metrics);
  const manifestPath = join(runDir, RUN_FILES.manifest);

  // Normalisation scalar and initial parameters (or everything from the checkpoint).
  let scale: number;
  let startStep = 0;
  let trainSecondsBefore = 0;
  let controller: ControllerState | null = null;
  const penalty = penaltyOptions(sae);
  const baseLambda = penalty?.lambda ?? null;
  const usesLambda = penalty !== null;
  const useController = usesLambda && train.lambda.mode !== "fixed";
  const init = arch.init({ d, f: width }, { sae, rng: new Rng(train.seed, 0x5ae) });
  const notes: Record<string, unknown> = {}; // what resuming had to do, for run.json
  if (options.gpuPlacement) notes.gpu_placement = options.gpuPlacement;
  const previous = await loadCheckpoint(ckptDir, {
    architecture: sae.architecture,
    width,
    dModel: d,
    totalSteps,
    params: init.params,
    state: init.state,
  });
  if (previous?.fellBack) {
    notes.checkpoint_fallback = {
      reason: previous.fellBack,
      resumed_from_step: previous.meta.step,
    };
    options.onWarning?.(
      `${plan.runId}: latest checkpoint unusable (${previous.fellBack}); ` +
        `resuming from the previous one at step ${previous.meta.step}`,
    );
  }
  if (previous?.stateFilled) {
    notes.checkpoint_state_filled = previous.stateFilled;
    options.onWarning?.(
      `${plan.runId}: the checkpoint predates state ${previous.stateFilled.join(", ")}; ` +
        `it starts fresh at step ${previous.meta.step}`,
    );
  }
  const sample = previous ? undefined : await source.sample(train.norm_sample_tokens);
  if (previous) {
    scale = previous.meta.normScale;
  } else {
    checkSample(sample!, d, describeData(plan));
    scale = train.normalize ? normalizationScale(sample!, d) : 1;
    scaleInPlace(sample!, scale);
  }
  if (!previous && sae.b_dec_init !== "zeros") {
    const bDec = sae.b_dec_init === "mean" ? mean(sample!, d) : geometricMedian(sample!, d);
    init.params.b_dec = { shape: [d], data: bDec };
  }
  if (!previous && arch.initFromSample) {
    // Data-dependent start (e.g. JumpReLU thresholds at the quantile that gives target_l0).
    arch.initFromSample(
      init,
      calibrationSample(init, {
        x: sample!,
        b: sample!.length / d,
        targetL0: sae.target_l0,
        blas: hostGemm(),
        subtractBDec: sae.pre_encoder_bias && arch.uses.includes("pre_encoder_bias"),
      }),
      sae,
    );
  }
  // The held-out split (before anything is written: too few vectors is a data error), and the
  // controller's rows of it.
  const split = heldoutSplit(config);
  const held = split === null ? null : await readHeldout(source, {
    evalTokens: config.eval.tokens,
    split,
    what: describeData(plan),
  });
  const controlX = useController && held?.control ? scaleInPlace(held.control, scale) : undefined;
  let l0Validation: number | undefined; // the latest held-out reading, for metrics.jsonl
  const engine: Engine = await createEngine(arch, init, {
    sae,
    adamEps: train.adam_eps,
    gradClip: train.grad_clip,
    engine: options.engine ?? train.engine,
    batch: train.batch_size,
    precision: train.precision,
  });
  const choice = engineChoice(engine)!;
  options.onEngine?.(choice);
  try {
    if (previous) {
      engine.restore(previous.snapshot);
      source.seek(previous.meta.cursor);
      startStep = previous.meta.step;
      trainSecondsBefore = previous.meta.trainSeconds;
      controller = previous.meta.controller;
      const dropped = await truncateMetrics(metricsPath, startStep);
      if (dropped > 0) {
        notes.metrics_lines_dropped = dropped;
        options.onWarning?.(
          `${plan.runId}: resuming at step ${startStep}; dropped ${dropped} metrics.jsonl ` +
            `line${dropped === 1 ? "" : "s"} written after that checkpoint (they are redone)`,
        );
      }
    } else {
      controller = useController && baseLambda !== null
        ? initController(
          train.lambda.mode === "normalized"
            ? derivedLambda(plan, { x: sample!, d, bDec: init.params.b_dec?.data })
            : baseLambda,
        )
        : null;
      await writeFileAtomic(metricsPath, "");
    }

    const manifest = await startManifest(plan, {
      backend: options.backendInfo,
      engine: choice,
      totalSteps,
      resumedFrom: previous ? startStep : null,
      normScale: scale,
      data: source.describe(),
      dataFingerprint: options.dataIdentity,
    });
    manifest.notes = { ...manifest.notes, ...notes };
    await writeJsonAtomic(manifestPath, manifest);

    const interval = useController ? train.lambda.interval : train.log_every;
    const syncEvery = (interval * train.log_every) / gcd(interval, train.log_every);
    const settings = controllerSettings(train, penalty?.controller_gain ?? 0);
    const freezeStep = Math.floor(settings.freezeAt * totalSteps);
    // Relative to the controller's start: sae.<arch>.lambda, or the derived one of mode normalized.
    const startLambda = train.lambda.mode === "normalized" && controller?.logStart !== undefined
      ? Math.exp(controller.logStart)
      : baseLambda;
    const logFloor = startLambda === null ? undefined : lambdaFloor(startLambda, settings.maxDrop);
    const lrSchedule = {
      lr: train.lr,
      warmupSteps: train.lr_warmup_steps,
      decay: train.lr_decay,
      decayStart: Math.floor(train.lr_decay_start * totalSteps),
      totalSteps,
    };
    const lambdaNow = () =>
      !usesLambda ? 0 : controller ? controllerLambda(controller) : (baseLambda ?? 0);

    const t0 = performance.now();
    let window = new MetricsWindow();
    let lastLogTime = t0;
    let lastLogStep = startStep;
    let checkpointDue = false;
    let bestFvu: number | undefined; // lowest training FVU read so far (divergence checks)
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
          architecture: sae.architecture,
          width,
          dModel: d,
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
      const raw = await source.nextBatch(train.batch_size);
      checkFinite(raw, d, (row) => `${describeData(plan)}: batch of step ${step + 1}, row ${row}`);
      const x = scaleInPlace(raw, scale);
      const lr = learningRate(step, lrSchedule);
      const lambda = lambdaNow() * lambdaWarmup(step, train.lambda.warmup_steps);
      engine.step(x, { lr, lambda });
      await engine.settle?.();
      const s = step + 1; // steps completed
      await faultPoint("step", s);
      if (s % train.checkpoint_every === 0 || options.signal?.aborted) checkpointDue = true;
      if (s % interval !== 0 && s !== totalSteps) continue;

      const stats = await engine.readStats();
      const diverged = checkDivergence(stats, {
        step: s,
        warmupSteps: train.lr_warmup_steps,
        widthRatio: width / d,
        bestFvu,
      });
      if (diverged) {
        const { quantity, detail } = diverged;
        await fail({ message: `${quantity} ${detail}`, step: s, quantity });
        throw new DivergenceError(s, quantity, { detail });
      }
      bestFvu = Math.min(bestFvu ?? Infinity, stats.fvu);
      window.add(stats);
      if (controller) {
        if (controlX) l0Validation = await controlL0(engine, controlX, controlX.length / d);
        const l0 = l0Validation ?? stats.l0;
        controller = updateController(controller, { step: s, l0 }, {
          targetL0: sae.target_l0,
          gain: settings.gain,
          freezeStep,
          startStep: train.lambda.warmup_steps,
          damping: settings.damping,
          logFloor,
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
          ...(l0Validation === undefined ? {} : { l0_validation: l0Validation }),
          fvu: m.fvu,
          lambda: usesLambda ? lambda : null,
          lr,
          tokens_per_s: tokensPerS,
          elapsed_s: trainSecondsBefore + (now - t0) / 1000,
          ...m.health,
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
        window = new MetricsWindow();
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

    const finalLambda = usesLambda ? lambdaNow() : null;
    const summary = await finishRun(plan, {
      engine,
      source,
      facts: { arch, scale, totalSteps, trainSeconds, lambda: finalLambda },
    });
    // Below the target by more than the report's tolerance (the same rule flags it there).
    const tolerance = plan.l0Tolerance ?? DEFAULT_L0_TOLERANCE;
    const below = summary.l0_rel_error < 0 && missedTargetL0(summary.l0_rel_error, { tolerance });
    if (controller && atFloor(controller, logFloor) && below) {
      manifest.notes = { ...manifest.notes, lambda_at_floor: true };
      const normalized = train.lambda.mode === "normalized";
      const lower = normalized ? "train.lambda.start" : `sae.${sae.architecture}.lambda`;
      const startText = normalized ? startLambda!.toPrecision(3) : String(startLambda);
      options.onWarning?.(
        `${plan.runId}: lambda ended at its floor ${finalLambda!.toPrecision(3)} (start ` +
          `${startText} / train.lambda.max_drop ${train.lambda.max_drop}) and ` +
          `held-out L0 ${summary.l0.toFixed(2)} is ${(-100 * summary.l0_rel_error).toFixed(1)}% ` +
          `below the target ${sae.target_l0} (report.l0_tolerance ${tolerance}); start ` +
          `${lower} lower, or raise train.lambda.max_drop` +
          (sae.target_l0 > d
            ? ` (a target above d_model ${d} may be out of reach at any lambda: with FVU ` +
              `${summary.fvu.toPrecision(2)} the SAE needs no more latents)`
            : ""),
      );
    }
    if (summary.resolved_options) {
      manifest.notes = { ...manifest.notes, resolved_options: summary.resolved_options };
    }
    if (controller) {
      manifest.notes = {
        ...manifest.notes,
        lambda_start: startLambda,
        lambda_final: finalLambda,
        lambda_freeze_step: freezeStep,
        lambda_trajectory: controller.trajectory,
      };
    }
    await writeJsonAtomic(join(runDir, RUN_FILES.summary), summary);
    manifest.status = "done";
    manifest.ended_at = new Date().toISOString();
    await writeJsonAtomic(manifestPath, manifest);
    await writeDone(runDir);
    return summary;
  } finally {
    engine.dispose();
  }
}

/**
 * The starting lambda of mode normalized: train.lambda.start (default 1) times the lambda unit of
 * the run's penalty at its target, width and the centred variance of the calibration sample x.
 */
function derivedLambda(
  plan: RunPlan,
  options: { x: Float32Array; d: number; bDec?: Float32Array },
): number {
  const { sae, train } = plan.config;
  const shape = penaltyShape(sae);
  if (shape === null) {
    throw new SaeSweepError(
      `train.lambda.mode normalized: the penalty of architecture ${sae.architecture} is not known ` +
        "to lib/train/lambda_scale.ts",
      { hint: "use train.lambda.mode controller with sae.<arch>.lambda as the start", exitCode: 2 },
    );
  }
  const variance = centredVariance(options.x, options.d, options.bDec);
  const unit = lambdaUnit(shape, { targetL0: sae.target_l0, width: sae.width, variance });
  return (train.lambda.start ?? 1) * unit;
}
