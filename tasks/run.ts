// `deno task run <spec> --run <id>`: trains one run of a spec in this process. Executors start it as
// `--manifest FILE --index N` (one resolved run of a sweep manifest: no spec re-expansion). With
// `--progress jsonl`, stdout carries the executor protocol. Tests inject a stand-in trainer via main().
import { Command, Option } from "commander";
import { describeBackend } from "../lib/engine/reference/backend_choice.ts";
import { InterruptedError, LockError, SaeSweepError, UsageError } from "../lib/errors.ts";
import { watchLifeline } from "../lib/executor/lifeline.ts";
import { UnreadableLockError } from "../lib/store/lock.ts";
import { markRunEnded } from "../lib/store/run_dir.ts";
import type { RunMessage } from "../lib/executor/run_messages.ts";
import { readManifestPlan } from "../lib/executor/sweep_manifest.ts";
import { GPU_PLACEMENT_ENV, type GpuPlacement } from "../lib/executor/gpu_slots.ts";
import { didYouMean } from "../lib/spec/did_you_mean.ts";
import { loadExperiment } from "../lib/spec/load.ts";
import { type BackendName, BACKENDS, type EngineName, ENGINES } from "../lib/engine/names.ts";
import { describeEngine } from "../lib/engine/engine_choice.ts";
import { expandSweep } from "../lib/sweep/expand.ts";
import type { RunPlan } from "../lib/sweep/plan.ts";
import type { TrainProgress } from "../lib/train/progress.ts";
import type { DataProgress } from "../lib/data/source.ts";
import { formatDataProgress } from "./_sweep_display.ts";
import { EXIT_INTERRUPTED, parseIntFlag, parsePathFlag, reportError, runMain } from "./_cli.ts";

/** The trainer's signature (a type-only import: the module loads only when a run trains). */
export type TrainRun = typeof import("../lib/train/train_run.ts").trainRun;

/** What main() trains with; tests pass a stand-in trainer (tests/fixtures/fake_run.ts). */
export interface RunTaskDeps {
  trainRun?: TrainRun;
}

async function loadTrainer(): Promise<TrainRun> {
  return (await import("../lib/train/train_run.ts")).trainRun;
}

/** The GPU placement a sweep put in this process's environment (SAESWEEP_GPU_PLACEMENT). */
function gpuPlacementFromEnv(): GpuPlacement | undefined {
  const text = Deno.env.get(GPU_PLACEMENT_ENV);
  return text ? JSON.parse(text) as GpuPlacement : undefined;
}

function emit(message: RunMessage): void {
  console.log(JSON.stringify(message));
}

function formatProgress(p: TrainProgress): string {
  return `${p.runId}: step ${p.step}/${p.totalSteps}  ${Math.round(p.tokensPerS)} tok/s  ` +
    `L0 ${p.l0.toFixed(1)}  FVU ${p.fvu.toFixed(4)}  ETA ${Math.round(p.etaS)}s`;
}

/** Finds the run to train: by id in a spec, or by index in a sweep manifest. */
async function findPlan(
  specPath: string | undefined,
  opts: { run?: string; out: string; manifest?: string; index?: number; maxRuns?: number },
): Promise<RunPlan> {
  if (opts.manifest !== undefined || opts.index !== undefined) {
    if (opts.manifest === undefined || opts.index === undefined || specPath || opts.run) {
      throw new UsageError("--manifest and --index go together, without a spec or --run", {
        hint: "deno task run <spec> --run <id>, or deno task run --manifest FILE --index N",
      });
    }
    return await readManifestPlan(opts.manifest, opts.index);
  }
  if (!specPath || !opts.run) {
    throw new UsageError("which run? give a spec and --run <id>", {
      hint: "deno task run <spec> --run <id> (deno task sweep <spec> --dry-run lists the ids)",
    });
  }
  const loaded = await loadExperiment(specPath, { maxRuns: opts.maxRuns });
  const plans = expandSweep(loaded, { outDir: opts.out });
  const found = plans.find((p) => p.runId === opts.run);
  if (!found) {
    const guess = didYouMean(opts.run, plans.map((p) => p.runId));
    throw new UsageError(
      `no run \`${opts.run}\` in ${specPath}${guess ? `; did you mean \`${guess}\`?` : ""}`,
      { hint: `deno task sweep ${specPath} --dry-run lists the ${plans.length} run ids` },
    );
  }
  return found;
}

/** The `run` command: parses `args`, trains one run, returns the exit code. */
export async function main(args: readonly string[], deps: RunTaskDeps = {}): Promise<number> {
  const program = new Command("run")
    .description(
      "Train one run of an experiment spec (by id; `deno task sweep --dry-run` lists ids)",
    )
    .argument("[spec]", "experiment spec (YAML)")
    .option("--run <id>", "run id (with a spec)")
    .option(
      "--manifest <file>",
      "sweep manifest written by `deno task sweep` (with --index)",
      parsePathFlag("--manifest"),
    )
    .option("--index <n>", "entry of --manifest to train (0-based)", parseIntFlag("--index", 0))
    .option("--out <dir>", "runs root directory", parsePathFlag("--out"), "runs")
    .addOption(
      new Option("--backend <name>", "tfjs backend (overrides train.backend)").choices(BACKENDS),
    )
    .addOption(
      new Option("--engine <name>", "training engine (overrides train.engine)").choices(ENGINES),
    )
    .addOption(
      new Option("--progress <format>", "progress on stderr (text) or stdout (jsonl)").choices([
        "text",
        "jsonl",
      ]).default("text"),
    )
    .option(
      "--max-runs <n>",
      "allow specs expanding to more runs than the default limit",
      parseIntFlag("--max-runs", 1),
    )
    .addOption(
      new Option("--lifeline", "stop (checkpointing) when stdin closes: the executor died")
        .hideHelp(),
    )
    .exitOverride()
    .configureOutput({ writeErr: (s) => Deno.stderr.writeSync(new TextEncoder().encode(s)) });
  program.parse([...args], { from: "user" });
  const [specPath] = program.args as (string | undefined)[];
  const opts = program.opts<{
    run?: string;
    manifest?: string;
    index?: number;
    out: string;
    backend?: BackendName;
    engine?: EngineName;
    progress: string;
    maxRuns?: number;
    lifeline?: boolean;
  }>();
  const jsonl = opts.progress === "jsonl";

  let plan: RunPlan;
  try {
    plan = await findPlan(specPath, opts);
  } catch (err) {
    if (jsonl) emit({ type: "result", status: "failed", error: errorLine(err) });
    throw err;
  }

  const controller = new AbortController();
  const onSignal = () => controller.abort();
  // SIGHUP: the terminal or ssh session closed; checkpoint like Ctrl-C instead of dying at once.
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  if (opts.lifeline) watchLifeline(onSignal);
  let lastPrint = 0;
  const onProgress = (p: TrainProgress) => {
    if (jsonl) return emit({ type: "progress", ...p });
    const now = Date.now();
    if (now - lastPrint >= 2000 || p.step === p.totalSteps) {
      lastPrint = now;
      console.error(formatProgress(p));
    }
  };
  let lastDataPrint = 0;
  const onDataProgress = (p: DataProgress) => {
    const now = Date.now();
    if (now - lastDataPrint >= 5000 || p.done === p.total) {
      lastDataPrint = now;
      console.error(`${plan.runId}: ${formatDataProgress(p)}`);
    }
  };
  try {
    const trainRun = deps.trainRun ?? await loadTrainer();
    const summary = await trainRun(plan, {
      signal: controller.signal,
      backend: opts.backend,
      engine: opts.engine,
      onProgress,
      onDataProgress,
      onBackend: (b) => console.error(`${plan.runId}: ${describeBackend(b)}`),
      onEngine: (e) => console.error(`${plan.runId}: ${describeEngine(e)}`),
      onWarning: (m) => console.error(`warning: ${m}`),
      gpuPlacement: gpuPlacementFromEnv(),
    });
    if (jsonl) emit({ type: "result", status: "done" });
    else {
      console.log(
        `done ${plan.runId}: L0 ${summary.l0.toFixed(2)} (target ${summary.l0_target}), FVU ${
          summary.fvu.toFixed(4)
        }`,
      );
      console.log(`  ${plan.runDir}`);
    }
    return 0;
  } catch (err) {
    if (
      err instanceof InterruptedError ||
      (controller.signal.aborted && !(err instanceof SaeSweepError))
    ) {
      if (jsonl) emit({ type: "result", status: "interrupted" });
      console.error(
        `interrupted ${plan.runId}; run the same command again to resume from its checkpoint`,
      );
      return EXIT_INTERRUPTED;
    }
    // An unreadable LOCK is no live holder: a failure for a person to look at, not "busy".
    const busy = err instanceof LockError && !(err instanceof UnreadableLockError);
    if (jsonl) emit({ type: "result", status: busy ? "busy" : "failed", error: errorLine(err) });
    // A failure the trainer did not record (out of disk, a read error) must not leave `running`;
    // a refusal (exit 2: changed data, a bad value) writes nothing.
    const refusal = err instanceof SaeSweepError && err.exitCode === 2;
    if (!busy && !refusal) {
      await markRunEnded(plan.runDir, { status: "failed", message: errorLine(err) });
    }
    return reportError(err);
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
}

function errorLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const hint = err instanceof SaeSweepError && err.hint ? [`hint: ${err.hint}`] : [];
  return [...message.split("\n").slice(0, 4), ...hint].join("; ");
}

if (import.meta.main) runMain(() => main(Deno.args));
