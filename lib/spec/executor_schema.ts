// The spec's `executor` section: which executor a sweep uses by default and the Slurm resources
// of each array task. Not part of any run's config (run ids and results do not depend on it).
import { z } from "zod";

export const EXECUTORS = ["local", "slurm"] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

export const SlurmSpec = z.strictObject({
  partition: z.string().min(1).nullable().default(null).describe(
    "Partition (sbatch --partition); null: the cluster's default",
  ),
  time: z.string().regex(/^(\d+-)?\d+(:\d+){0,2}$/, "a Slurm time such as 90, 2:00:00 or 1-12:00")
    .nullable().default(null).describe(
      "Time limit per run (sbatch --time: minutes, H:MM:SS or D-HH:MM); null: the partition's",
    ),
  cpus_per_task: z.int().min(1).default(2).describe("CPUs per run (sbatch --cpus-per-task)"),
  mem: z.string().regex(/^\d+[KMGT]?$/, "a Slurm memory size such as 8G or 16000").nullable()
    .default(null).describe("Memory per run (sbatch --mem, e.g. 16G); null: the partition's"),
  gres: z.string().min(1).nullable().default(null).describe(
    "Generic resources per run, e.g. gpu:1 (sbatch --gres); null: none",
  ),
  max_concurrent: z.int().min(1).nullable().default(null).describe(
    "Array tasks running at once (the %N of --array); null: no limit",
  ),
  requeue: z.boolean().default(false).describe(
    "Let Slurm requeue preempted or failed tasks (sbatch --requeue); they resume from checkpoints",
  ),
  sbatch: z.array(z.string().min(1)).default([]).describe(
    "Extra sbatch options, one per line (e.g. --account=lab), written as #SBATCH lines",
  ),
  setup: z.array(z.string()).default([]).describe(
    "Shell lines each task runs before training (e.g. module load cuda)",
  ),
});

export const ExecutorSpec = z.strictObject({
  type: z.enum(EXECUTORS).default("local").describe(
    "Executor of `deno task sweep` (the --executor flag overrides it)",
  ),
  slurm: SlurmSpec.prefault({}),
});

export type SlurmSpec = z.output<typeof SlurmSpec>;
export type ExecutorSpec = z.output<typeof ExecutorSpec>;
