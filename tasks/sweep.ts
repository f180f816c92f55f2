// `deno task sweep <spec>`: expands a spec into runs and trains every run not yet done, each in
// its own subprocess (`--jobs N` at once) or as a Slurm array task (`--executor slurm`); children
// read their resolved run from a sweep manifest. `--dry-run` lists the runs and trains nothing.
import { Command, Option } from "commander";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type LocalEvent, lockHolder, runLocal, type RunOutcome } from "../lib/executor/local.ts";
import { runCommand } from "../lib/executor/run_command.ts";
import { submissionDir, writeSweepManifest } from "../lib/executor/sweep_manifest.ts";
import { type ExecutorName, EXECUTORS } from "../lib/spec/executor_schema.ts";
import { type PlannedRun, planStatuses } from "../lib/executor/plan_status.ts";
import { loadExperiment } from "../lib/spec/load.ts";
import { type BackendName, BACKENDS, type EngineName, ENGINES } from "../lib/engine/names.ts";
import { filterPlans, parseRunFilters } from "../lib/sweep/filter.ts";
import { expandSweep } from "../lib/sweep/expand.ts";
import { findOrphans, type OrphanRun } from "../lib/sweep/orphans.ts";
import { BackendUnavailableError, DataError, SaeSweepError, UsageError } from "../lib/errors.ts";
import { readManifest, resetRunDir, runDataChanges } from "../lib/store/run_dir.ts";
import { checkBeforeSweep, restartPlans } from "./_sweep_checks.ts";
import type { RunPlan } from "../lib/sweep/plan.ts";
import { createSweepDisplay, formatDataProgress } from "./_sweep_display.ts";
import { prepareSweepData } from "../lib/train/prepare_data.ts";
import { type SlurmFlags, slurmFlagsGiven, slurmResources, sweepOnSlurm } from "./_sweep_slurm.ts";
import { EXIT_INTERRUPTED, parseIntFlag, parsePathFlag, runMain } from "./_cli.ts";
import { planParallelism } from "../lib/engine/cpu/gemm/parallelism.ts";
import type { GpuDevice } from "../lib/executor/gpu_slots.ts";
import {
  cudaDevices,
  cudaPlans,
  describeGpus,
  gpuPlacer,
  gpuRefusal,
  previewPlacement,
  type SweepGpus,
  sweepGpus,
} from "./_sweep_gpus.ts";

const RUN_SCRIPT = fileURLToPath(new URL("./run.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));
/**
 * Set by the offline GPU bundle's run.sh to its bundled run.js: a bundled sweep has no deno.json
 * beside it, so it spawns that self-contained script with `--no-config` instead of tasks/run.ts.
 */
const BUNDLED_RUN_ENV = "SAESWEEP_RUN_SCRIPT";

/** Signals closer together than this count as one Ctrl-C (the terminal's and deno task's copy). */
const SIGNAL_ECHO_MS = 1000;

/** What main() spawns per run; tests pass a stand-in entry script with a fake trainer. */
export interface SweepTaskDeps {
  /** Entry script taking `--manifest FILE --index N` (default tasks/run.ts). */
  runScript?: string;
}

interface SweepOptions extends SlurmFlags {
  executor?: ExecutorName;
  wait?: boolean;
  dryRun?: boolean;
  jobs?: number;
  backend?: BackendName;
  engine?: EngineName;
  filter: string[];
  out: string;
  maxRuns?: number;
  restart: string[];
  force?: boolean;
}

function valueText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Prints rows as aligned columns. */
function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  for (const row of rows) {
    console.log(row.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd());
  }
}

/**
 * Lists the runs; `gpu` (cuda runs only): the GPU each would start on and its reservation, or
 * that it waits for room, as the sweep would place them now (gpu column).
 */
function printDryRun(planned: PlannedRun[], total: number, gpu?: Map<string, string>): void {
  // Every swept path, in axis order; a run that does not read one (another architecture's option)
  // shows "-" there.
  const paths = [...new Set(planned.flatMap(({ plan }) => Object.keys(plan.overrides)))];
  const gpuCell = (id: string) => gpu ? [gpu.get(id) ?? "-"] : [];
  printTable([
    ["#", "run id", "status", ...paths, ...(gpu ? ["gpu"] : [])],
    ...planned.map(({ plan, status }) => [
      String(plan.index),
      plan.runId,
      status,
      ...paths.map((p) => p in plan.overrides ? valueText(plan.overrides[p]) : "-"),
      ...gpuCell(plan.runId),
    ]),
  ]);
  const counts = new Map<string, number>();
  for (const { status } of planned) counts.set(status, (counts.get(status) ?? 0) + 1);
  const parts = [...counts].map(([s, n]) => `${n} ${s}`).join(", ");
  const shown = planned.length === total ? `${total} runs` : `${planned.length} of ${total} runs`;
  console.log(`${shown}: ${parts || "none"} (dry run: nothing trained or written)`);
}

/** Names run directories this spec no longer produces (older id scheme, changed spec). */
function printOrphans(orphans: OrphanRun[]): void {
  if (orphans.length === 0) return;
  console.error(
    `note: ${orphans.length} run director${orphans.length === 1 ? "y is" : "ies are"} ` +
      "not part of this sweep and will not be resumed or reported:",
  );
  for (const o of orphans) console.error(`  ${o.runId}: ${o.reason}`);
}

/** Child arguments (after the Deno executable) training each plan from the manifest. */
function childArgs(plans: readonly RunPlan[], command: string[]): (plan: RunPlan) => string[] {
  const index = new Map(plans.map((p, i) => [p.runId, i]));
  return (plan) => [
    ...command.slice(1),
    "--index",
    String(index.get(plan.runId)),
    "--progress",
    "jsonl",
    "--lifeline", // the child stops when this sweep dies (its stdin closes)
  ];
}

async function printSummary(
  skipped: PlannedRun[],
  busy: PlannedRun[],
  outcomes: RunOutcome[],
): Promise<void> {
  const rows = [["run id", "result", "detail"]];
  for (const s of skipped) rows.push([s.plan.runId, "skipped", "already done"]);
  for (const b of busy) {
    rows.push([b.plan.runId, "busy", `locked by ${await lockHolder(b.plan.runDir)}`]);
  }
  for (const o of outcomes) {
    const detail = o.status === "done"
      ? `${o.seconds.toFixed(1)} s`
      : o.status === "interrupted"
      ? "checkpointed; re-run to resume"
      : (o.error ?? `exit code ${o.exitCode}`).split("\n").join(" | ");
    rows.push([o.runId, o.status, detail]);
  }
  console.log("");
  printTable(rows);
  const n = (s: string) => outcomes.filter((o) => o.status === s).length;
  const nBusy = busy.length + n("busy");
  console.log(
    `${n("done")} done, ${skipped.length + n("skipped")} skipped (already done), ` +
      `${n("failed")} failed` +
      (n("interrupted") ? `, ${n("interrupted")} interrupted` : "") +
      (nBusy ? `, ${nBusy} busy (another process holds them)` : ""),
  );
}

/**
 * Activates each tfjs backend the runs name (tensorflow, webgpu) once here, so that a backend
 * that is not installed stops the sweep before anything is written instead of failing every run;
 * returns its error. `auto`, `wasm` and `cpu` are always there and load nothing.
 */
async function checkBackends(
  plans: readonly RunPlan[],
  flag: BackendName | undefined,
): Promise<SaeSweepError | undefined> {
  const named = new Set(flag ? [flag] : plans.map((p) => p.config.train.backend));
  for (const name of ["tensorflow", "webgpu"] as const) {
    if (!named.has(name)) continue;
    const { selectBackend } = await import("../lib/engine/reference/select_backend.ts");
    try {
      await selectBackend(name);
    } catch (err) {
      if (err instanceof SaeSweepError) return err;
      throw err;
    }
  }
  return undefined;
}

/**
 * For runs that ask for the webgpu or cuda engine (flag or train.engine), checks here that an
 * adapter or CUDA device is there (`gpus`: what cudaDevices() found, when a run trains on cuda)
 * and that each run's architecture and options have kernels, so that the sweep stops before
 * anything is written instead of failing every run; returns the first problem.
 */
async function checkEngines(
  plans: readonly RunPlan[],
  flag: EngineName | undefined,
  gpus: GpuDevice[] | string | undefined,
): Promise<SaeSweepError | undefined> {
  const { getArchitecture } = await import("../lib/sae/registry.ts");
  const refuse = (engine: string, what: string, why: string) =>
    new BackendUnavailableError(`${what}: engine ${engine} unavailable: ${why}`, {
      hint: "use --engine cpu or auto for these runs (--filter selects runs), or see docs/GPU.md",
    });
  for (const plan of plans) {
    const engine = flag ?? plan.config.train.engine;
    const precision = plan.config.train.precision ?? "fp32";
    if (precision !== "fp32" && engine !== "cuda" && engine !== "auto") {
      return refuse(engine, plan.runId, `train.precision ${precision} needs the cuda engine`);
    }
  }
  const cuda = plans.filter((p) => (flag ?? p.config.train.engine) === "cuda");
  if (cuda.length > 0) {
    const { cudaKernelMissing } = await import("../lib/engine/cuda/engine_plan.ts");
    for (const plan of cuda) {
      const sae = plan.config.sae;
      const why = cudaKernelMissing(getArchitecture(sae.architecture), sae);
      if (why) return refuse("cuda", plan.runId, why);
    }
    // One look for the libraries and the devices for the whole sweep (cudaDevices()).
    if (typeof gpus === "string") return refuse("cuda", cuda[0].runId, gpus);
  }
  const wanted = plans.filter((p) => (flag ?? p.config.train.engine) === "webgpu");
  if (wanted.length === 0) return undefined;
  const { webgpuKernelMissing } = await import("../lib/engine/webgpu/create_webgpu_engine.ts");
  const { probeWebGpu } = await import("../lib/engine/webgpu/adapter.ts");
  for (const plan of wanted) {
    const sae = plan.config.sae;
    const why = webgpuKernelMissing(getArchitecture(sae.architecture), sae);
    if (why) return refuse("webgpu", plan.runId, why);
  }
  // One adapter probe for the whole sweep (any adapter, software included, as --engine webgpu).
  const probe = await probeWebGpu();
  if (!probe.available) {
    return refuse("webgpu", wanted[0].runId, probe.reason ?? "no WebGPU adapter");
  }
  return undefined;
}

/**
 * The refusal of runs whose data files changed since they read them (status stale), unless
 * --restart names them; undefined when there are none.
 */
async function staleRuns(
  planned: PlannedRun[],
  restart: readonly RunPlan[],
): Promise<DataError | undefined> {
  const stale = planned.filter((p) => p.action === "refuse" && !restart.includes(p.plan));
  if (stale.length === 0) return undefined;
  const lines: string[] = [];
  for (const { plan } of stale) {
    const manifest = await readManifest(plan.runDir);
    const changes = manifest ? await runDataChanges(manifest) : [];
    lines.push(`${plan.runId}: ${changes.join("; ")}`);
  }
  const n = stale.length;
  return new DataError(
    `${n} run${n === 1 ? " was" : "s were"} trained on data that has changed since ` +
      `(nothing trained):\n  ${lines.join("\n  ")}`,
    {
      hint: "restore the files, or train again on the new data with " +
        stale.slice(0, 3).map((p) => `--restart ${p.plan.runId}`).join(" ") +
        (n > 3 ? ` ... (${n} runs)` : ""),
      exitCode: 2,
    },
  );
}

/** The `sweep` command: parses `args`, trains or submits, returns the exit code. */
export async function main(args: readonly string[], deps: SweepTaskDeps = {}): Promise<number> {
  const program = new Command("sweep")
    .description("Expand an experiment spec into runs and train every run not yet done")
    .argument("<spec>", "experiment spec (YAML)")
    .option("--dry-run", "list the runs with their ids and status; train and write nothing")
    .option(
      "--jobs <n>",
      "runs trained at once (default: cores / GEMM threads per run, SAESWEEP_THREADS or 1)",
      parseIntFlag("--jobs", 1),
    )
    .addOption(
      new Option("--backend <name>", "tfjs backend for every run (overrides train.backend)")
        .choices(BACKENDS),
    )
    .addOption(
      new Option("--engine <name>", "training engine for every run (overrides train.engine)")
        .choices(ENGINES),
    )
    .option(
      "--filter <key=value>",
      "only runs whose config matches (repeatable; e.g. architecture=topk, seed=0)",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option("--out <dir>", "runs root directory", parsePathFlag("--out"), "runs")
    .option(
      "--max-runs <n>",
      "allow specs expanding to more runs than the default limit (256)",
      parseIntFlag("--max-runs", 1),
    )
    .option(
      "--restart <run id>",
      "start this run over, discarding its checkpoint and results (repeatable)",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option("--force", "train even when a run's memory estimate exceeds this machine's memory")
    .addOption(
      new Option("--executor <name>", "where runs train (default: the spec's executor.type)")
        .choices(EXECUTORS),
    )
    .option("--wait", "slurm: wait for the array job to finish and print the summary")
    .option("--partition <name>", "slurm: partition")
    .option("--time <limit>", "slurm: time limit per run (e.g. 2:00:00)")
    .option("--cpus-per-task <n>", "slurm: CPUs per run", parseIntFlag("--cpus-per-task", 1))
    .option("--mem <size>", "slurm: memory per run (e.g. 16G)")
    .option("--gres <gres>", "slurm: generic resources per run (e.g. gpu:1)")
    .option(
      "--sbatch <option>",
      "slurm: extra sbatch option, e.g. --sbatch=--account=lab (repeatable)",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option(
      "--max-concurrent <n>",
      "slurm: array tasks running at once",
      parseIntFlag("--max-concurrent", 1),
    )
    .option("--requeue", "slurm: let Slurm requeue preempted tasks (they resume)")
    .exitOverride()
    .configureOutput({ writeErr: (s) => Deno.stderr.writeSync(new TextEncoder().encode(s)) });
  program.parse([...args], { from: "user" });
  const [specPath] = program.args;
  const opts = program.opts<SweepOptions>();

  const loaded = await loadExperiment(specPath, { maxRuns: opts.maxRuns });
  const executor = opts.executor ?? loaded.spec.executor.type;
  const slurmOnly = slurmFlagsGiven(opts);
  if (executor !== "slurm" && slurmOnly.length > 0) {
    throw new UsageError(`${slurmOnly.join(", ")} only apply to --executor slurm`, {
      hint: "add --executor slurm, or set executor.type: slurm in the spec",
    });
  }
  const resources = executor === "slurm"
    ? slurmResources(loaded.spec.executor.slurm, opts)
    : undefined;
  const all = expandSweep(loaded, { outDir: opts.out });
  const plans = filterPlans(all, parseRunFilters(opts.filter, loaded.axes));
  if (plans.length === 0) {
    throw new UsageError(
      `--filter ${opts.filter.join(" --filter ")} matches none of the ${all.length} runs`,
      { hint: `deno task sweep ${specPath} --dry-run lists the runs and their values` },
    );
  }
  const restart = restartPlans(plans, all, opts.restart);
  // Slurm runs train on other nodes, whose GPUs and libraries this host may lack.
  const cuda = executor === "slurm" ? [] : await cudaPlans(plans, opts.engine);
  const devices = cuda.length > 0 ? await cudaDevices() : undefined;
  const backendProblem = executor === "slurm"
    ? undefined
    : (await checkBackends(plans, opts.backend)) ??
      (await checkEngines(plans, opts.engine, devices));
  if (backendProblem && !opts.dryRun) throw backendProblem;
  // Memory is checked for the most runs the sweep may train at once: --jobs, else one per GPU
  // when runs train on the cuda engine (planParallelism below), else one per core.
  const gpuCount = Array.isArray(devices) ? devices.length : undefined;
  const { warnings, dModels } = await checkBeforeSweep(plans, {
    ...opts,
    jobs: opts.jobs ?? gpuCount ?? navigator.hardwareConcurrency ?? 1,
  });
  const experimentDir = resolve(opts.out, loaded.spec.name);
  const bundledRun = deps.runScript ? undefined : Deno.env.get(BUNDLED_RUN_ENV);
  const commandOptions = {
    runScript: deps.runScript ?? bundledRun ?? RUN_SCRIPT,
    config: bundledRun ? null : CONFIG,
    extraArgs: [
      ...(opts.backend ? ["--backend", opts.backend] : []),
      ...(opts.engine ? ["--engine", opts.engine] : []),
    ],
  };
  printOrphans(await findOrphans(experimentDir, all));
  const before = await planStatuses(plans);
  const stale = await staleRuns(before, restart);
  // The GPUs of the cuda runs still to train, each run's estimate, and who fits none of them.
  let gpus: SweepGpus | undefined;
  if (Array.isArray(devices)) {
    const toTrain = new Set(before.filter((p) => p.action !== "skip").map((p) => p.plan));
    const dModel = new Map(plans.map((p, i) => [p, dModels[i]]));
    gpus = await sweepGpus(devices, cuda.filter((p) => toTrain.has(p)), (p) => dModel.get(p));
  }
  const gpuProblem = gpus && !opts.force ? gpuRefusal(gpus) : undefined;
  if (opts.dryRun) {
    const planned = before;
    const jobs = opts.jobs ?? Math.max(1, gpus?.devices.length ?? 1);
    const trained = planned.filter((p) => p.action === "start" || p.action === "resume");
    printDryRun(
      planned,
      all.length,
      gpus && previewPlacement(gpus, trained.map((p) => p.plan), jobs),
    );
    if (gpus) {
      console.log(
        `gpus: ${describeGpus(gpus)}; ${jobs} run(s) at once, a run that waits starts when one ` +
          "ends and its reservation fits",
      );
    }
    for (const w of warnings) console.error(`warning: ${w}`);
    if (backendProblem) console.error(`warning: ${backendProblem.message}`);
    if (gpuProblem) console.error(`warning: ${gpuProblem.message}`);
    if (stale) console.error(`warning: ${stale.message}\nhint: ${stale.hint}`);
    if (restart.length) {
      console.error(`dry run: --restart would start ${restart.length} run(s) over`);
    }
    const todo = planned.filter((p) => p.action === "start" || p.action === "resume");
    if (resources && todo.length > 0) {
      return await sweepOnSlurm(todo, {
        ...commandOptions,
        experimentDir,
        resources,
        dryRun: true,
        printSummary: () => {},
      });
    }
    return 0;
  }
  if (stale) throw stale;
  if (gpuProblem) throw gpuProblem;
  for (const plan of restart) {
    await resetRunDir(plan.runDir);
    console.error(`restarting ${plan.runId}: its run directory was emptied`);
  }
  const planned = await planStatuses(plans);
  const skipped = planned.filter((p) => p.action === "skip");
  const busy = planned.filter((p) => p.action === "busy");
  const todo = planned.filter((p) => p.action === "start" || p.action === "resume");
  if (todo.length === 0) {
    if (busy.length === 0) {
      const n = planned.length;
      console.log(`all ${n} run${n === 1 ? "" : "s"} already done`);
    } else await printSummary(skipped, busy, []);
    return 0;
  }
  if (resources) {
    return await sweepOnSlurm(todo, {
      ...commandOptions,
      experimentDir,
      resources,
      wait: opts.wait,
      printSummary: (outcomes) => printSummary(skipped, busy, outcomes),
    });
  }
  const resuming = todo.filter((p) => p.action === "resume").length;
  const envThreads = Number(Deno.env.get("SAESWEEP_THREADS"));
  const par = planParallelism({
    cores: navigator.hardwareConcurrency ?? 1,
    runs: todo.length,
    jobs: opts.jobs,
    threads: Number.isInteger(envThreads) && envThreads >= 1 ? envThreads : undefined,
    gpu: gpus && gpus.estimates.size > 0
      ? {
        name: `${gpus.devices[0].name} (${gpus.devices[0].arch})`,
        count: gpus.devices.length,
      }
      : undefined,
  });
  Deno.env.set("SAESWEEP_THREADS", String(par.threads)); // inherited by every run's process
  const outDir = relative(Deno.cwd(), experimentDir) || ".";
  console.error(
    `${loaded.spec.name}: ${todo.length} to train (${resuming} resuming), ${skipped.length} already done; ` +
      `jobs ${par.jobs} (${par.why}); runs in ${outDir}/`,
  );
  if (gpus && gpus.estimates.size > 0) console.error(`gpus: ${describeGpus(gpus)}`);

  // Shared data first: lm caches of every site and layer the runs need, from one forward pass.
  let lastDataPrint = 0;
  const prepared = await prepareSweepData(todo.map((p) => p.plan), {
    backend: opts.backend,
    onProgress: (p) => {
      const now = Date.now();
      if (now - lastDataPrint >= 5000 || p.done === p.total) {
        lastDataPrint = now;
        console.error(formatDataProgress(p));
      }
    },
  });
  if (prepared.harvested > 0) {
    console.error(`harvested ${prepared.harvested} activation cache(s) for the runs to share`);
  }

  const controller = new AbortController();
  const display = createSweepDisplay(todo.length, { tty: Deno.stderr.isTerminal() });
  let firstSignal = 0;
  let killChildren = () => {};
  const say = (line: string) => {
    try {
      display.log(line);
    } catch {
      // After SIGHUP stderr may be a closed terminal; the runs still checkpoint.
    }
  };
  const onSignal = () => {
    // `deno task` forwards the terminal's SIGINT, which also reached this process directly: two
    // signals within SIGNAL_ECHO_MS are one Ctrl-C.
    const now = Date.now();
    if (firstSignal === 0) {
      firstSignal = now;
      say("interrupting: waiting for running runs to checkpoint (Ctrl-C again to stop now)");
      controller.abort();
    } else if (now - firstSignal > SIGNAL_ECHO_MS) {
      say("stopping now: running runs keep their last checkpoint");
      killChildren();
    }
  };
  // SIGHUP (the terminal or ssh session closed) interrupts like Ctrl-C: runs checkpoint.
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  let outcomes: RunOutcome[];
  const manifestDir = submissionDir(experimentDir, "local");
  const placer = gpus ? gpuPlacer(gpus) : undefined;
  try {
    const plans = todo.map((p) => p.plan);
    const manifestPath = await writeSweepManifest(manifestDir, plans);
    outcomes = await runLocal(plans, {
      jobs: par.jobs,
      args: childArgs(plans, runCommand(manifestPath, commandOptions)),
      signal: controller.signal,
      onKillSwitch: (kill) => (killChildren = kill),
      onEvent: (event: LocalEvent) => display.onEvent(event),
      onWarning: (_plan, message) => display.log(`warning: ${message}`),
      placer,
      onWait: (plan) => placer && display.log(placer.waiting(plan)),
    });
  } finally {
    display.stop();
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    await Deno.remove(manifestDir, { recursive: true }).catch(() => {});
    await Deno.remove(dirname(manifestDir)).catch(() => {}); // only when no other sweep uses it
  }
  const order = new Map(todo.map((p, i) => [p.plan.runId, i]));
  outcomes.sort((a, b) => order.get(a.runId)! - order.get(b.runId)!);
  await printSummary(skipped, busy, outcomes);
  if (controller.signal.aborted) {
    const started = new Set(outcomes.map((o) => o.runId));
    const notStarted = todo.filter((p) => !started.has(p.plan.runId)).length;
    const interrupted = outcomes.filter((o) => o.status === "interrupted").map((o) => o.runId);
    console.error(
      `interrupted: ${interrupted.join(", ") || "no run in progress"}` +
        (notStarted ? `; ${notStarted} not started` : "") +
        `. Re-run the same command to resume.`,
    );
    return EXIT_INTERRUPTED;
  }
  // A run stopped by a signal this sweep did not send (SIGTERM to its process) is unfinished.
  const stopped = outcomes.filter((o) => o.status === "interrupted").map((o) => o.runId);
  if (stopped.length > 0) {
    console.error(
      `error: ${stopped.length} run${stopped.length === 1 ? " was" : "s were"} stopped by a ` +
        `signal from outside this sweep: ${stopped.join(", ")}`,
    );
    console.error("hint: re-run the same command to resume from the last checkpoint");
    return 1;
  }
  return outcomes.some((o) => o.status === "failed") ? 1 : 0;
}

if (import.meta.main) runMain(() => main(Deno.args));
