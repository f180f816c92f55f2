// What `deno task sweep` checks before it trains or writes anything: the output directory, the
// run ids named by --restart, the data (opened once for all runs) and the memory each run needs.
// Each failure is a usage/spec error (exit 2) with nothing written.
import { DataError, UsageError } from "../lib/errors.ts";
import { checkOutDir } from "../lib/store/out_dir.ts";
import { checkData, dataProblems } from "../lib/train/check_data.ts";
import { estimateRunBytes, formatBytes } from "../lib/train/memory_estimate.ts";
import { didYouMean } from "../lib/spec/did_you_mean.ts";
import type { RunPlan } from "../lib/sweep/plan.ts";

export interface SweepCheckOptions {
  out: string;
  restart: string[];
  jobs: number;
  force?: boolean;
  /** --dry-run: data problems are returned as warnings instead of thrown. */
  dryRun?: boolean;
}

/** The plans --restart names (each must be one of `plans`); throws UsageError otherwise. */
export function restartPlans(
  plans: readonly RunPlan[],
  all: readonly RunPlan[],
  ids: readonly string[],
): RunPlan[] {
  return ids.map((id) => {
    const plan = plans.find((p) => p.runId === id);
    if (plan) return plan;
    if (all.some((p) => p.runId === id)) {
      throw new UsageError(`--restart ${id}: the run is not selected by --filter`);
    }
    const guess = didYouMean(id, all.map((p) => p.runId));
    throw new UsageError(
      `--restart ${id}: no such run in this sweep${guess ? `; did you mean \`${guess}\`?` : ""}`,
      { hint: "--dry-run lists the run ids" },
    );
  });
}

/** Refuses runs whose estimated memory (times --jobs) exceeds the machine's, unless forced. */
function checkMemory(
  plans: readonly RunPlan[],
  dModels: (number | undefined)[],
  opts: SweepCheckOptions,
) {
  let worst = { bytes: 0, plan: plans[0] };
  plans.forEach((plan, i) => {
    const d = dModels[i];
    if (d === undefined) return;
    const bytes = estimateRunBytes({
      d,
      f: plan.config.sae.width,
      batch: plan.config.train.batch_size,
      evalTokens: plan.config.eval.tokens,
    });
    if (bytes > worst.bytes) worst = { bytes, plan };
  });
  const total = Deno.systemMemoryInfo().total;
  const jobs = Math.min(opts.jobs, plans.length);
  if (opts.force || worst.bytes * jobs <= total) return;
  const { sae, train } = worst.plan.config;
  throw new UsageError(
    `run ${worst.plan.runId} needs about ${formatBytes(worst.bytes)} of memory` +
      (jobs > 1 ? ` (x${jobs} jobs)` : "") + `; this machine has ${formatBytes(total)} ` +
      `(sae.width ${sae.width}, train.batch_size ${train.batch_size}, ` +
      `eval.tokens ${worst.plan.config.eval.tokens})`,
    {
      hint: "lower sae.width, data.d_model, train.batch_size or eval.tokens (or --jobs); " +
        "--force tries anyway",
    },
  );
}

/** What the checks found: data warnings of a dry run, and each plan's d_model where read. */
export interface SweepChecks {
  warnings: string[];
  /** Activation width per plan (in plan order), undefined where the data could not be read. */
  dModels: (number | undefined)[];
}

/** Runs every check; returns data warnings in a dry run, throws on any problem otherwise. */
export async function checkBeforeSweep(
  plans: readonly RunPlan[],
  opts: SweepCheckOptions,
): Promise<SweepChecks> {
  await checkOutDir(opts.out);
  const checks = await checkData(plans);
  const problems = dataProblems(checks);
  const dModels = checks.map((c) => c.dModel);
  if (opts.dryRun) return { warnings: problems, dModels };
  if (problems.length > 0) {
    throw new DataError(
      `the data cannot be trained on; nothing trained:\n  ${problems.join("\n  ")}`,
      {
        hint: "paths in a spec are relative to the spec file; fix the data or the spec",
        exitCode: 2,
      },
    );
  }
  checkMemory(plans, dModels, opts);
  return { warnings: [], dModels };
}
