// `deno task run <spec> --run <id>`: trains one run of a spec in this process (the local executor
// starts one of these per run). With `--progress jsonl`, stdout carries the executor protocol.
import { Command, Option } from "commander";
import { describeBackend } from "../lib/backend/choice.ts";
import { InterruptedError, LockError, SaeSweepError, UsageError } from "../lib/errors.ts";
import { watchLifeline } from "../lib/executor/lifeline.ts";
import type { RunMessage } from "../lib/executor/run_messages.ts";
import { didYouMean } from "../lib/spec/did_you_mean.ts";
import { loadExperiment } from "../lib/spec/load.ts";
import { type BackendName, BACKENDS } from "../lib/spec/schema.ts";
import { expandSweep } from "../lib/sweep/expand.ts";
import type { RunPlan } from "../lib/sweep/plan.ts";
import type { TrainProgress } from "../lib/train/progress.ts";
import { EXIT_INTERRUPTED, parseIntFlag, reportError, runMain } from "./_cli.ts";

/** The real trainer's signature (a type-only import: the module itself loads in loadTrainer). */
type TrainRun = typeof import("../lib/train/train_run.ts").trainRun;

/**
 * Loads the trainer. `SAESWEEP_TRAINER` (a module path exporting `trainRun`) replaces it; the
 * executor tests use that to stand in a fake trainer.
 */
async function loadTrainer(): Promise<TrainRun> {
  const override = Deno.env.get("SAESWEEP_TRAINER");
  const url = override
    ? new URL(override, `file://${Deno.cwd()}/`).href
    : new URL("../lib/train/train_run.ts", import.meta.url).href;
  const mod = await import(url);
  if (typeof mod.trainRun !== "function") throw new Error(`${url} does not export trainRun`);
  return mod.trainRun as TrainRun;
}

function emit(message: RunMessage): void {
  console.log(JSON.stringify(message));
}

function formatProgress(p: TrainProgress): string {
  return `${p.runId}: step ${p.step}/${p.totalSteps}  ${Math.round(p.tokensPerS)} tok/s  ` +
    `L0 ${p.l0.toFixed(1)}  FVU ${p.fvu.toFixed(4)}  ETA ${Math.round(p.etaS)}s`;
}

async function main(): Promise<number> {
  const program = new Command("run")
    .description(
      "Train one run of an experiment spec (by id; `deno task sweep --dry-run` lists ids)",
    )
    .argument("<spec>", "experiment spec (YAML)")
    .requiredOption("--run <id>", "run id")
    .option("--out <dir>", "runs root directory", "runs")
    .addOption(
      new Option("--backend <name>", "compute backend (overrides train.backend)").choices(BACKENDS),
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
  program.parse(Deno.args, { from: "user" });
  const [specPath] = program.args;
  const opts = program.opts<
    {
      run: string;
      out: string;
      backend?: BackendName;
      progress: string;
      maxRuns?: number;
      lifeline?: boolean;
    }
  >();
  const jsonl = opts.progress === "jsonl";

  let plan: RunPlan;
  try {
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
    plan = found;
  } catch (err) {
    if (jsonl) emit({ type: "result", status: "failed", error: errorLine(err) });
    throw err;
  }

  const controller = new AbortController();
  const onSignal = () => controller.abort();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
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
  try {
    const trainRun = await loadTrainer();
    const summary = await trainRun(plan, {
      signal: controller.signal,
      backend: opts.backend,
      onProgress,
      onBackend: (b) => console.error(`${plan.runId}: ${describeBackend(b)}`),
      onWarning: (m) => console.error(`warning: ${m}`),
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
    const status = err instanceof LockError ? "busy" : "failed";
    if (jsonl) emit({ type: "result", status, error: errorLine(err) });
    return reportError(err);
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
}

function errorLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split("\n").slice(0, 4).join("; ");
}

if (import.meta.main) runMain(main);
