// `deno task sweep --executor slurm`: merges the spec's executor.slurm section with the flags,
// prints (--dry-run) or submits the array script, and with --wait follows it to the end.
import { relative } from "node:path";
import type { RunOutcome } from "../lib/executor/local.ts";
import type { PlannedRun } from "../lib/executor/plan_status.ts";
import type { RunCommandOptions } from "../lib/executor/run_command.ts";
import { queuedRuns, slurmOutcomes, submitSlurm, waitForArray } from "../lib/executor/slurm.ts";
import { UsageError } from "../lib/errors.ts";
import { SlurmSpec } from "../lib/spec/executor_schema.ts";
import { EXIT_INTERRUPTED } from "./_cli.ts";

/** The Slurm flags of `deno task sweep` (commander's camelCase names). */
export interface SlurmFlags {
  partition?: string;
  time?: string;
  cpusPerTask?: number;
  mem?: string;
  gres?: string;
  sbatch: string[];
  maxConcurrent?: number;
  requeue?: boolean;
}

/** Flags that only make sense with --executor slurm, for the usage check of the local executor. */
export function slurmFlagsGiven(flags: SlurmFlags & { wait?: boolean }): string[] {
  const given: [string, unknown][] = [
    ["--partition", flags.partition],
    ["--time", flags.time],
    ["--cpus-per-task", flags.cpusPerTask],
    ["--mem", flags.mem],
    ["--gres", flags.gres],
    ["--sbatch", flags.sbatch.length ? flags.sbatch : undefined],
    ["--max-concurrent", flags.maxConcurrent],
    ["--requeue", flags.requeue],
    ["--wait", flags.wait],
  ];
  return given.filter(([, v]) => v !== undefined).map(([name]) => name);
}

/** The spec's resources with the flags on top, validated by the same schema as the spec. */
export function slurmResources(spec: SlurmSpec, flags: SlurmFlags): SlurmSpec {
  const merged = {
    ...spec,
    ...(flags.partition !== undefined ? { partition: flags.partition } : {}),
    ...(flags.time !== undefined ? { time: flags.time } : {}),
    ...(flags.cpusPerTask !== undefined ? { cpus_per_task: flags.cpusPerTask } : {}),
    ...(flags.mem !== undefined ? { mem: flags.mem } : {}),
    ...(flags.gres !== undefined ? { gres: flags.gres } : {}),
    ...(flags.maxConcurrent !== undefined ? { max_concurrent: flags.maxConcurrent } : {}),
    ...(flags.requeue !== undefined ? { requeue: flags.requeue } : {}),
    sbatch: [...spec.sbatch, ...flags.sbatch],
  };
  const parsed = SlurmSpec.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) =>
      `--${String(i.path[0]).replaceAll("_", "-")}: ${i.message}`
    );
    throw new UsageError(`bad Slurm option: ${problems.join("; ")}`, {
      hint: "see `deno task sweep --help` and the executor section of experiments/README.md",
    });
  }
  return parsed.data;
}

export interface SlurmSweepContext extends RunCommandOptions {
  experimentDir: string;
  resources: SlurmSpec;
  dryRun?: boolean;
  wait?: boolean;
  /** Prints the summary table of the local executor for these outcomes. */
  printSummary: (outcomes: RunOutcome[]) => void | Promise<void>;
}

/** Submits the pending runs (or prints the script); returns the exit code. */
export async function sweepOnSlurm(
  pending: PlannedRun[],
  ctx: SlurmSweepContext,
): Promise<number> {
  const queued = await queuedRuns(ctx.experimentDir);
  const todo = pending.filter((p) => !queued.has(p.plan.runId));
  if (queued.size > 0) {
    const tasks = pending.map((p) => queued.get(p.plan.runId)).filter((t) => t !== undefined);
    if (tasks.length > 0) {
      console.log(
        `${tasks.length} run${tasks.length === 1 ? " is" : "s are"} already queued in Slurm ` +
          `(${tasks.join(", ")}); not submitted again`,
      );
    }
  }
  if (todo.length === 0) return 0;
  const plans = todo.map((p) => p.plan);
  const rel = (p: string) => relative(Deno.cwd(), p) || ".";
  const submission = await submitSlurm(plans, { ...ctx, cwd: Deno.cwd() });
  if (ctx.dryRun) {
    console.log(`\n# ${rel(submission.scriptPath)} (not written: dry run)`);
    console.log(submission.script);
    return 0;
  }
  const jobId = submission.jobId!;
  const resuming = todo.filter((p) => p.action === "resume").length;
  console.log(
    `submitted Slurm job ${jobId}: ${plans.length} run${plans.length === 1 ? "" : "s"} ` +
      `(${resuming} resuming), array indices 0-${plans.length - 1}`,
  );
  console.log(`  script:   ${rel(submission.scriptPath)}`);
  console.log(`  follow:   squeue -j ${jobId}`);
  console.log(`  logs:     ${rel(ctx.experimentDir)}/<run id>/slurm-${jobId}_<index>.log`);
  console.log(`  results:  deno task report ${rel(ctx.experimentDir)}`);
  if (!ctx.wait) return 0;

  const controller = new AbortController();
  const onSignal = () => controller.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  let lastActive = -1;
  try {
    const finished = await waitForArray(jobId, {
      signal: controller.signal,
      onPoll: (active) => {
        if (active !== lastActive) {
          console.error(`job ${jobId}: ${active} task(s) pending or running`);
        }
        lastActive = active;
      },
    });
    if (!finished) {
      console.error(`stopped waiting; job ${jobId} keeps running (scancel ${jobId} stops it)`);
      return EXIT_INTERRUPTED;
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
  }
  const outcomes = await slurmOutcomes(submission, jobId);
  await ctx.printSummary(outcomes);
  for (const o of outcomes.filter((o) => o.status !== "done")) {
    console.log(`${o.status} ${o.runId}: log ${rel(o.log!)}`);
  }
  return outcomes.every((o) => o.status === "done") ? 0 : 1;
}
