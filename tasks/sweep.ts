// `deno task sweep <spec>`: expands a spec into runs and trains every run not yet done, each in
// its own subprocess (`--jobs N` at once); `--dry-run` lists the runs and trains nothing.
import { Command, Option } from "commander";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { type LocalEvent, runLocal, type RunOutcome } from "../lib/executor/local.ts";
import { RUN_PERMISSION_FLAGS } from "../lib/executor/permissions.ts";
import { type PlannedRun, planStatuses } from "../lib/executor/plan_status.ts";
import { loadExperiment } from "../lib/spec/load.ts";
import { type BackendName, BACKENDS } from "../lib/spec/schema.ts";
import { filterPlans, parseRunFilters } from "../lib/sweep/filter.ts";
import { expandSweep } from "../lib/sweep/expand.ts";
import { missingDataPaths } from "../lib/data/missing_paths.ts";
import { UsageError } from "../lib/errors.ts";
import type { RunPlan } from "../lib/sweep/plan.ts";
import { createSweepDisplay } from "./_sweep_display.ts";
import { EXIT_INTERRUPTED, parseIntFlag, runMain } from "./_cli.ts";
import { planParallelism } from "../lib/gemm/parallelism.ts";

const RUN_SCRIPT = fileURLToPath(new URL("./run.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));

interface SweepOptions {
  dryRun?: boolean;
  jobs?: number;
  backend?: BackendName;
  filter: string[];
  out: string;
  maxRuns?: number;
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

function printDryRun(planned: PlannedRun[], total: number): void {
  const paths = planned.length ? Object.keys(planned[0].plan.overrides) : [];
  printTable([
    ["#", "run id", "status", ...paths],
    ...planned.map(({ plan, status }) => [
      String(plan.index),
      plan.runId,
      status,
      ...paths.map((p) => valueText(plan.overrides[p])),
    ]),
  ]);
  const counts = new Map<string, number>();
  for (const { status } of planned) counts.set(status, (counts.get(status) ?? 0) + 1);
  const parts = [...counts].map(([s, n]) => `${n} ${s}`).join(", ");
  const shown = planned.length === total ? `${total} runs` : `${planned.length} of ${total} runs`;
  console.log(`${shown}: ${parts || "none"} (dry run: nothing trained or written)`);
}

function childArgs(specPath: string, opts: SweepOptions): (plan: RunPlan) => string[] {
  return (plan) => [
    "run",
    `--config=${CONFIG}`,
    ...RUN_PERMISSION_FLAGS,
    RUN_SCRIPT,
    specPath,
    "--run",
    plan.runId,
    "--out",
    opts.out,
    "--progress",
    "jsonl",
    ...(opts.backend ? ["--backend", opts.backend] : []),
    ...(opts.maxRuns ? ["--max-runs", String(opts.maxRuns)] : []),
  ];
}

function printSummary(skipped: PlannedRun[], busy: PlannedRun[], outcomes: RunOutcome[]): void {
  const rows = [["run id", "result", "detail"]];
  for (const s of skipped) rows.push([s.plan.runId, "skipped", "already done"]);
  for (const b of busy) rows.push([b.plan.runId, "busy", "another process is training it"]);
  for (const o of outcomes) {
    const detail = o.status === "failed"
      ? (o.error ?? `exit code ${o.exitCode}`).split("\n").join(" | ")
      : o.status === "interrupted"
      ? "checkpointed; re-run to resume"
      : `${o.seconds.toFixed(1)} s`;
    rows.push([o.runId, o.status, detail]);
  }
  console.log("");
  printTable(rows);
  const n = (s: string) => outcomes.filter((o) => o.status === s).length;
  console.log(
    `${n("done")} done, ${skipped.length} skipped (already done), ${n("failed")} failed` +
      (n("interrupted") ? `, ${n("interrupted")} interrupted` : "") +
      (busy.length ? `, ${busy.length} busy` : ""),
  );
}

async function main(): Promise<number> {
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
      new Option("--backend <name>", "compute backend for every run (overrides train.backend)")
        .choices(BACKENDS),
    )
    .option(
      "--filter <key=value>",
      "only runs whose config matches (repeatable; e.g. architecture=topk, seed=0)",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option("--out <dir>", "runs root directory", "runs")
    .option(
      "--max-runs <n>",
      "allow specs expanding to more runs than the default limit (256)",
      parseIntFlag("--max-runs", 1),
    )
    .exitOverride()
    .configureOutput({ writeErr: (s) => Deno.stderr.writeSync(new TextEncoder().encode(s)) });
  program.parse(Deno.args, { from: "user" });
  const [specPath] = program.args;
  const opts = program.opts<SweepOptions>();

  const loaded = await loadExperiment(specPath, { maxRuns: opts.maxRuns });
  const all = expandSweep(loaded, { outDir: opts.out });
  const plans = filterPlans(all, parseRunFilters(opts.filter, loaded.axes));
  const planned = await planStatuses(plans);
  const missing = await missingDataPaths(plans);
  if (opts.dryRun) {
    printDryRun(planned, all.length);
    for (const m of missing) console.error(`warning: data file not found: ${m}`);
    return 0;
  }
  if (missing.length > 0) {
    throw new UsageError(`data not found, nothing trained:\n  ${missing.join("\n  ")}`, {
      hint: "paths in a spec are relative to the spec file; fix them or create the files",
    });
  }
  const skipped = planned.filter((p) => p.action === "skip");
  const busy = planned.filter((p) => p.action === "busy");
  const todo = planned.filter((p) => p.action === "start" || p.action === "resume");
  if (todo.length === 0) {
    if (busy.length === 0) {
      const n = planned.length;
      console.log(`all ${n} run${n === 1 ? "" : "s"} already done`);
    } else printSummary(skipped, busy, []);
    return 0;
  }
  const resuming = todo.filter((p) => p.action === "resume").length;
  const envThreads = Number(Deno.env.get("SAESWEEP_THREADS"));
  const par = planParallelism({
    cores: navigator.hardwareConcurrency ?? 1,
    runs: todo.length,
    jobs: opts.jobs,
    threads: Number.isInteger(envThreads) && envThreads >= 1 ? envThreads : undefined,
  });
  Deno.env.set("SAESWEEP_THREADS", String(par.threads)); // inherited by every run's process
  const outDir = relative(Deno.cwd(), `${opts.out}/${loaded.spec.name}`) || ".";
  console.error(
    `${loaded.spec.name}: ${todo.length} to train (${resuming} resuming), ${skipped.length} already done; ` +
      `jobs ${par.jobs} (${par.why}); runs in ${outDir}/`,
  );

  const controller = new AbortController();
  let interrupts = 0;
  const display = createSweepDisplay(todo.length, { tty: Deno.stderr.isTerminal() });
  const onSignal = () => {
    interrupts++;
    if (interrupts === 1) {
      display.log(
        "interrupting: waiting for running runs to checkpoint (Ctrl-C again to stop now)",
      );
      controller.abort();
    } else {
      display.stop();
      Deno.exit(EXIT_INTERRUPTED);
    }
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  let outcomes: RunOutcome[];
  try {
    outcomes = await runLocal(todo.map((p) => p.plan), {
      jobs: par.jobs,
      args: childArgs(specPath, opts),
      signal: controller.signal,
      onEvent: (event: LocalEvent) => display.onEvent(event),
    });
  } finally {
    display.stop();
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
  const order = new Map(todo.map((p, i) => [p.plan.runId, i]));
  outcomes.sort((a, b) => order.get(a.runId)! - order.get(b.runId)!);
  printSummary(skipped, busy, outcomes);
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
  return outcomes.some((o) => o.status === "failed") ? 1 : 0;
}

if (import.meta.main) runMain(main);
