// Renders the `sbatch --array` script of a Slurm submission: one array index per run of the sweep
// manifest beside it, resources as #SBATCH lines, each task's log in its run directory. Pure.
import type { SlurmSpec } from "../spec/executor_schema.ts";

export interface SlurmScriptInput {
  /** Job name (`saesweep-<experiment>`). */
  jobName: string;
  /** Run ids in manifest order: array index i trains runIds[i] (logged in runDirs[i]). */
  runIds: readonly string[];
  runDirs: readonly string[];
  resources: SlurmSpec;
  /** Folder of the submission (manifest, script, Slurm's own output before a task starts). */
  submissionDir: string;
  /** Working directory of every task. */
  cwd: string;
  /** The command training a manifest entry (argv, quoted here); `--index <task id>` is appended. */
  command: readonly string[];
}

/** Quotes a word for bash (single quotes; words of safe characters stay bare). */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The `--array` value: `0-(n-1)` with `%max` when limited. */
export function arraySpec(count: number, maxConcurrent: number | null): string {
  return `0-${count - 1}${maxConcurrent ? `%${maxConcurrent}` : ""}`;
}

/** The #SBATCH option lines for the resources (without the `#SBATCH ` prefix). */
export function sbatchOptions(input: SlurmScriptInput): string[] {
  const r = input.resources;
  return [
    `--job-name=${input.jobName}`,
    `--array=${arraySpec(input.runIds.length, r.max_concurrent)}`,
    `--output=${input.submissionDir}/slurm-%A_%a.out`,
    "--open-mode=append",
    `--ntasks=1`,
    `--cpus-per-task=${r.cpus_per_task}`,
    ...(r.partition ? [`--partition=${r.partition}`] : []),
    ...(r.time ? [`--time=${r.time}`] : []),
    ...(r.mem ? [`--mem=${r.mem}`] : []),
    ...(r.gres ? [`--gres=${r.gres}`] : []),
    r.requeue ? "--requeue" : "--no-requeue",
    ...r.sbatch,
  ];
}

/** The whole batch script. */
export function renderSlurmScript(input: SlurmScriptInput): string {
  const q = shellQuote;
  const lines = [
    "#!/bin/bash",
    `# Written by saesweep: ${input.runIds.length} run(s) of ${input.jobName}, one per array index.`,
    "# Task i trains entry i of manifest.json beside this file; its log goes to its run directory.",
    ...sbatchOptions(input).map((o) => `#SBATCH ${o}`),
    "set -euo pipefail",
    ...input.resources.setup,
    "run_dirs=(",
    ...input.runDirs.map((d) => `  ${q(d)}`),
    ")",
    'run_dir="${run_dirs[$SLURM_ARRAY_TASK_ID]}"',
    'mkdir -p "$run_dir"',
    'exec >>"$run_dir/slurm-${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}.log" 2>&1',
    'echo "saesweep: job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} on $(hostname) at $(date -u +%FT%TZ)"',
    `cd ${q(input.cwd)}`,
    // The task's GEMM and kernel threads are the CPUs Slurm granted it, never the node's cores
    // (results depend on the thread count, so a run trains the same here as with `--jobs`).
    'export SAESWEEP_THREADS="${SLURM_CPUS_PER_TASK:-1}"',
    // exec: the trainer itself receives Slurm's SIGTERM (preemption, time limit, scancel) and
    // checkpoints before exiting.
    `exec ${input.command.map(q).join(" ")} --index "$SLURM_ARRAY_TASK_ID"`,
    "",
  ];
  return lines.join("\n");
}
