// Talks to Slurm through its command-line tools: submit a batch script (sbatch), read job states
// (squeue), cancel (scancel). Returns data or throws ExecutorError; never prints.
import { ExecutorError } from "../errors.ts";

/** Output of one Slurm command. */
interface CommandOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a Slurm tool; undefined when it is not installed (or this process may not run it). */
async function slurmCommand(
  tool: string,
  args: string[],
  cwd?: string,
): Promise<CommandOutput | undefined> {
  try {
    const out = await new Deno.Command(tool, { args, cwd, stdout: "piped", stderr: "piped" })
      .output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotCapable) {
      return undefined;
    }
    throw err;
  }
}

function sbatchMissing(): ExecutorError {
  return new ExecutorError("sbatch not found: this machine is not a Slurm submit host", {
    hint: "run the sweep on a cluster login node, or use --executor local",
    exitCode: 2,
  });
}

/** Throws ExecutorError (exit code 2) unless `sbatch` can be run here. */
export async function requireSbatch(): Promise<void> {
  if (!(await slurmCommand("sbatch", ["--version"]))) throw sbatchMissing();
}

/** Submits a batch script with `sbatch --parsable`; returns the job id. */
export async function sbatch(scriptPath: string, options: { cwd?: string } = {}): Promise<string> {
  const out = await slurmCommand("sbatch", ["--parsable", scriptPath], options.cwd);
  if (!out) throw sbatchMissing();
  const jobId = out.stdout.trim().split(";")[0];
  if (out.code !== 0 || !/^\d+$/.test(jobId)) {
    throw new ExecutorError(`sbatch refused ${scriptPath}: ${out.stderr.trim() || out.stdout}`, {
      hint: "check the partition, time, memory and --sbatch options against `sinfo`",
    });
  }
  return jobId;
}

/** States in which a job or array task still runs or will run (squeue's long names). */
const ACTIVE_STATES = new Set([
  "PENDING",
  "RUNNING",
  "CONFIGURING",
  "COMPLETING",
  "SUSPENDED",
  "REQUEUED",
  "REQUEUE_FED",
  "REQUEUE_HOLD",
  "RESIZING",
  "SIGNALING",
  "STAGE_OUT",
  "STOPPED",
  "RESV_DEL_HOLD",
]);

export type JobActivity = "active" | "finished" | "unknown";

/**
 * Whether a job (`123`) or array task (`123_4`) is still active, per squeue: `finished` when
 * Slurm lists it in a final state or no longer knows it, `unknown` when squeue is missing or the
 * controller does not answer.
 */
export async function jobActivity(jobId: string): Promise<JobActivity> {
  const out = await slurmCommand("squeue", ["-h", "-j", jobId, "-o", "%T"]);
  if (!out) return "unknown";
  if (out.code !== 0) return /invalid job id/i.test(out.stderr) ? "finished" : "unknown";
  const states = out.stdout.split("\n").map((s) => s.trim()).filter(Boolean);
  return states.some((s) => ACTIVE_STATES.has(s)) ? "active" : "finished";
}

/**
 * Active (pending or running) tasks of array jobs, as `job id -> task indices` (pending ranges
 * such as `5_[2-7%2]` are expanded by `squeue -r`); jobs Slurm no longer knows are absent. Throws
 * ExecutorError when squeue cannot be asked.
 */
export async function activeArrayTasks(
  jobIds: readonly string[],
): Promise<Map<string, Set<number>>> {
  const tasks = new Map<string, Set<number>>();
  if (jobIds.length === 0) return tasks;
  const out = await slurmCommand("squeue", ["-h", "-r", "-j", jobIds.join(","), "-o", "%i %T"]);
  if (!out) throw new ExecutorError("squeue not found", { hint: "is Slurm installed here?" });
  if (out.code !== 0) {
    if (/invalid job id/i.test(out.stderr)) return tasks;
    throw new ExecutorError(`squeue failed for job ${jobIds.join(",")}: ${out.stderr.trim()}`, {
      hint: "is slurmctld reachable? `squeue` alone should list jobs",
    });
  }
  for (const line of out.stdout.split("\n")) {
    const [id, state] = line.trim().split(/\s+/);
    const m = id?.match(/^(\d+)_(\d+)$/);
    if (!m || !ACTIVE_STATES.has(state)) continue;
    if (!tasks.has(m[1])) tasks.set(m[1], new Set());
    tasks.get(m[1])!.add(Number(m[2]));
  }
  return tasks;
}

/** Cancels a job or array task (`scancel`); ExecutorError when scancel fails. */
export async function scancel(jobId: string): Promise<void> {
  const out = await slurmCommand("scancel", [jobId]);
  if (!out || out.code !== 0) {
    throw new ExecutorError(`scancel ${jobId} failed: ${out?.stderr.trim() ?? "not installed"}`);
  }
}
