// The Slurm executor: writes the sweep manifest and an `sbatch --array` script (one index per
// pending run) into `<experiment>/.submissions/`, submits it, follows the array with squeue, and
// reads how each run ended from its run directory. Reports data; never prints.
import { basename, join } from "node:path";
import { activeArrayTasks, requireSbatch, sbatch } from "../slurm/commands.ts";
import type { SlurmSpec } from "../spec/executor_schema.ts";
import { writeFileAtomic } from "../store/atomic.ts";
import { readManifest, readSummary, runStatus } from "../store/run_dir.ts";
import type { RunPlan } from "../sweep/plan.ts";
import type { RunOutcome } from "./local.ts";
import { runCommand, type RunCommandOptions } from "./run_command.ts";
import { renderSlurmScript } from "./slurm_script.ts";
import {
  submissionDir,
  SUBMISSIONS_DIR,
  type SweepManifest,
  writeSweepManifest,
} from "./sweep_manifest.ts";

export interface SlurmSubmitOptions extends RunCommandOptions {
  /** `<out>/<experiment>`: the shared output directory. */
  experimentDir: string;
  resources: SlurmSpec;
  /** Working directory of the tasks (relative data and output paths are already absolute). */
  cwd: string;
  /** Render only: write and submit nothing. */
  dryRun?: boolean;
}

/** A rendered (and, unless dry, written and submitted) Slurm array job. */
export interface SlurmSubmission {
  dir: string;
  manifestPath: string;
  scriptPath: string;
  script: string;
  plans: RunPlan[];
  /** Set once sbatch accepted the job. */
  jobId?: string;
}

/** Writes manifest and script for `plans` (array index = position) and submits them. */
export async function submitSlurm(
  plans: readonly RunPlan[],
  options: SlurmSubmitOptions,
): Promise<SlurmSubmission> {
  const dir = submissionDir(options.experimentDir, "slurm");
  const manifestPath = join(dir, "manifest.json");
  const scriptPath = join(dir, "job.sbatch");
  const script = renderSlurmScript({
    jobName: `saesweep-${basename(options.experimentDir)}`,
    runIds: plans.map((p) => p.runId),
    runDirs: plans.map((p) => p.runDir),
    resources: options.resources,
    submissionDir: dir,
    cwd: options.cwd,
    command: runCommand(manifestPath, options),
  });
  const submission: SlurmSubmission = { dir, manifestPath, scriptPath, script, plans: [...plans] };
  if (options.dryRun) return submission;
  await requireSbatch(); // before writing anything
  await writeSweepManifest(dir, plans);
  await writeFileAtomic(scriptPath, script);
  await Deno.chmod(scriptPath, 0o755);
  submission.jobId = await sbatch(scriptPath, { cwd: options.cwd });
  await writeFileAtomic(join(dir, "job_id"), submission.jobId + "\n");
  return submission;
}

/**
 * Polls squeue every `pollMs` until no task of `jobId` is pending or running; `onPoll` sees the
 * active task count. Resolves early (false) when `signal` aborts, true when the array finished.
 */
export async function waitForArray(
  jobId: string,
  options: { pollMs?: number; signal?: AbortSignal; onPoll?: (active: number) => void } = {},
): Promise<boolean> {
  const pollMs = options.pollMs ?? 2000;
  for (;;) {
    if (options.signal?.aborted) return false;
    const active = (await activeArrayTasks([jobId])).get(jobId)?.size ?? 0;
    options.onPoll?.(active);
    if (active === 0) return true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, pollMs);
      options.signal?.addEventListener("abort", done, { once: true });
      function done() {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", done);
        resolve();
      }
    });
  }
}

/**
 * Runs of earlier Slurm submissions to `experimentDir` whose array tasks are still pending or
 * running, as `run id -> job_task`: a new submission leaves them to their queued task.
 */
export async function queuedRuns(experimentDir: string): Promise<Map<string, string>> {
  const submissions: { jobId: string; dir: string }[] = [];
  try {
    for await (const e of Deno.readDir(join(experimentDir, SUBMISSIONS_DIR))) {
      if (!e.isDirectory || !e.name.includes("-slurm-")) continue;
      const dir = join(experimentDir, SUBMISSIONS_DIR, e.name);
      const jobId = await Deno.readTextFile(join(dir, "job_id")).then((t) => t.trim(), () => "");
      if (/^\d+$/.test(jobId)) submissions.push({ jobId, dir });
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const active = await activeArrayTasks(submissions.map((s) => s.jobId));
  const queued = new Map<string, string>();
  for (const { jobId, dir } of submissions) {
    const tasks = active.get(jobId);
    if (!tasks) continue;
    const manifest: SweepManifest = JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
    for (const index of tasks) {
      const runId = manifest.runs[index]?.runId;
      if (runId) queued.set(runId, `${jobId}_${index}`);
    }
  }
  return queued;
}

/** Where task `index` of `jobId` logged: beside the run, else Slurm's output in the submission. */
export async function taskLogPath(
  submission: Pick<SlurmSubmission, "dir" | "plans">,
  jobId: string,
  index: number,
): Promise<string> {
  const beside = join(submission.plans[index].runDir, `slurm-${jobId}_${index}.log`);
  try {
    await Deno.stat(beside);
    return beside;
  } catch {
    return join(submission.dir, `slurm-${jobId}_${index}.out`);
  }
}

/** The last `error: ...` line a task printed to its log (tasks/ print failures that way). */
async function lastErrorLine(log: string): Promise<string | undefined> {
  try {
    const lines = (await Deno.readTextFile(log)).split("\n");
    return lines.findLast((l) => l.startsWith("error: "))?.slice("error: ".length);
  } catch {
    return undefined;
  }
}

/** How each run of a finished array ended, read from its run directory (in manifest order). */
export async function slurmOutcomes(
  submission: Pick<SlurmSubmission, "dir" | "plans">,
  jobId: string,
): Promise<RunOutcome[]> {
  return await Promise.all(submission.plans.map(async (plan, index): Promise<RunOutcome> => {
    const status = await runStatus(plan.runDir);
    const log = await taskLogPath(submission, jobId, index);
    if (status === "done") {
      const seconds = (await readSummary(plan.runDir))?.train_seconds ?? 0;
      return { runId: plan.runId, status: "done", exitCode: 0, seconds, log };
    }
    if (status === "partial" || status === "running") {
      // Stopped before the end (time limit, preemption, scancel) with a checkpoint to resume.
      return { runId: plan.runId, status: "interrupted", exitCode: 1, seconds: 0, log };
    }
    const reason = (await readManifest(plan.runDir))?.error?.message ??
      (await lastErrorLine(log)) ?? "the task ended without a result (see its log)";
    return { runId: plan.runId, status: "failed", exitCode: 1, seconds: 0, error: reason, log };
  }));
}
