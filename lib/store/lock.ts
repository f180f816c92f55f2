// The lock of a run directory: a `LOCK` file created exclusively, naming its holder (host, pid and
// its start time, boot time, Slurm job). A holder known to be gone is taken over: a dead or reused
// pid on this host, or a Slurm job that squeue reports finished; any other live lock is refused.
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { LockError } from "../errors.ts";
import { jobActivity } from "../slurm/commands.ts";
import { RUN_FILES } from "./records.ts";

/** The Slurm job (or array task) a process runs in. */
export interface SlurmJobRef {
  job_id: string;
  array_job_id?: string;
  array_task_id?: string;
}

/** Contents of a LOCK file. */
export interface LockInfo {
  pid: number;
  host: string;
  time: string;
  /** Random token identifying the holder (release removes only its own lock). */
  token: string;
  /** Start time of the holding process (ISO): tells a reused pid apart. */
  pid_start?: string;
  /** When the holder's host booted (ISO time): a lock from before a reboot is stale. */
  boot_time?: string;
  /** Set when the holder runs inside a Slurm job. */
  slurm?: SlurmJobRef;
}

/**
 * A LOCK file that cannot be read: its holder cannot be checked, so the run is neither taken
 * over nor "busy" (held by a live process); a person has to look. A failure, not a busy run.
 */
export class UnreadableLockError extends LockError {}

/** A held run lock. */
export interface RunLock {
  readonly path: string;
  readonly info: LockInfo;
  release(): Promise<void>;
}

/** True when `pid` is a live process on this host (unknown counts as alive). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === Deno.pid) return true;
  if (Deno.build.os === "linux") {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      // A zombie (state Z) has exited; its pid only waits to be reaped.
      return !/^\d+ \(.*\) Z/s.test(stat);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
    }
  }
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch (err) {
    return !(err instanceof Deno.errors.NotFound) && !/ESRCH|No such process/.test(String(err));
  }
}

/**
 * Start time of `pid` (ISO, from `ps -o lstart`: /proc is closed to Deno without --allow-all), or
 * undefined when ps cannot be run or the pid does not exist. ps derives it from the boot time, so
 * it may be a second or two off and shift when the clock is stepped: compare with START_TOLERANCE_MS.
 */
export async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("ps", {
      args: ["-o", "lstart=", "-p", String(pid)],
      env: { LC_ALL: "C", TZ: "UTC" },
      stdout: "piped",
      stderr: "null",
    }).output();
    const ms = Date.parse(`${new TextDecoder().decode(out.stdout).trim()} UTC`);
    return out.success && Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
  } catch {
    return undefined; // no ps, or no --allow-run
  }
}

/** When this host booted (ms since the epoch, +-1 s), or undefined without --allow-sys. */
function bootTime(): number | undefined {
  try {
    return Date.now() - Deno.osUptime() * 1000;
  } catch {
    return undefined;
  }
}

function bootTimeIso(): string | undefined {
  const t = bootTime();
  return t === undefined ? undefined : new Date(t).toISOString();
}

/**
 * Start times (of a process, of a host) closer than this are the same: both are derived from
 * uptime with 1 s resolution and shift by clock adjustments. A pid is reused, or a host reboots,
 * much later than that after the lock was written.
 */
const START_TOLERANCE_MS = 10_000;

function differ(a: string | undefined, b: string | number | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  const tb = typeof b === "number" ? b : Date.parse(b);
  return Math.abs(Date.parse(a) - tb) > START_TOLERANCE_MS;
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env
  }
}

/** The Slurm job this process runs in (from Slurm's SLURM_* variables), if any. */
export function currentSlurmJob(): SlurmJobRef | undefined {
  const job = env("SLURM_JOB_ID");
  if (!job) return undefined;
  const arrayJob = env("SLURM_ARRAY_JOB_ID");
  const arrayTask = env("SLURM_ARRAY_TASK_ID");
  return arrayJob && arrayTask !== undefined
    ? { job_id: job, array_job_id: arrayJob, array_task_id: arrayTask }
    : { job_id: job };
}

/** The id squeue and scancel know a job by: `123_4` for an array task, else `123`. */
export function slurmJobName(job: SlurmJobRef): string {
  return job.array_job_id && job.array_task_id !== undefined
    ? `${job.array_job_id}_${job.array_task_id}`
    : job.job_id;
}

/** Reads a LOCK file; undefined when it does not exist or is unreadable garbage. */
export async function readLock(runDir: string): Promise<LockInfo | undefined> {
  try {
    const found = await readLockFile(join(runDir, RUN_FILES.lock));
    return typeof found === "string" ? undefined : found;
  } catch {
    return undefined;
  }
}

/** What is known about a lock's holder: `gone` locks may be taken over. */
export interface HolderState {
  state: "alive" | "gone" | "unknown";
  /** Why, in words (part of LockError messages). */
  reason: string;
}

/** Decides whether the holder of `info` still runs (this host: /proc; other hosts: Slurm). */
export async function holderState(info: LockInfo): Promise<HolderState> {
  const job = info.slurm ? slurmJobName(info.slurm) : undefined;
  if (info.host === hostname()) {
    if (differ(info.boot_time, bootTime())) {
      return { state: "gone", reason: "this host rebooted since" };
    }
    if (!isProcessAlive(info.pid)) return { state: "gone", reason: `pid ${info.pid} has exited` };
    const start = await processStartTime(info.pid);
    if (differ(info.pid_start, start)) {
      return { state: "gone", reason: `pid ${info.pid} now belongs to another process` };
    }
    return { state: "alive", reason: `pid ${info.pid} runs on this host` };
  }
  if (job) {
    const mine = currentSlurmJob();
    // Slurm runs one incarnation of a job at a time: a lock naming our own job is left by an
    // earlier one that was preempted or requeued.
    if (mine && slurmJobName(mine) === job) {
      return { state: "gone", reason: `Slurm job ${job} was requeued` };
    }
    const activity = await jobActivity(job);
    if (activity === "finished") return { state: "gone", reason: `Slurm job ${job} has ended` };
    if (activity === "active") return { state: "alive", reason: `Slurm job ${job} is active` };
    return { state: "unknown", reason: `squeue cannot tell whether Slurm job ${job} runs` };
  }
  return { state: "unknown", reason: `this host cannot check processes on ${info.host}` };
}

/** True when the holder of `info` is known to be gone (the lock may be taken over). */
export async function isStale(info: LockInfo): Promise<boolean> {
  return (await holderState(info)).state === "gone";
}

function lockRefusal(runDir: string, path: string, holder: LockInfo, why: HolderState): LockError {
  const job = holder.slurm ? slurmJobName(holder.slurm) : undefined;
  const who = `pid ${holder.pid} on ${holder.host}${job ? ` (Slurm job ${job})` : ""}`;
  let hint: string;
  if (why.state === "alive" && job && holder.host !== hostname()) {
    hint = `wait for the job, or stop it with \`scancel ${job}\``;
  } else if (why.state === "alive") {
    hint = holder.pid_start === undefined
      ? `if pid ${holder.pid} is not a saesweep run (pids are reused), delete ${path}`
      : `another process is training this run; wait for it or stop it (kill ${holder.pid})`;
  } else {
    hint = `if no process on ${holder.host} trains this run any more, delete ${path}`;
  }
  return new LockError(
    `run ${runDir} is locked by ${who} since ${holder.time}: ${why.reason}`,
    { hint },
  );
}

/** Takes the lock of `runDir` (created if missing). Throws LockError if a live process holds it. */
export async function acquireRunLock(runDir: string): Promise<RunLock> {
  await Deno.mkdir(runDir, { recursive: true });
  const path = join(runDir, RUN_FILES.lock);
  const token = Array.from(crypto.getRandomValues(new Uint32Array(4)), (n) => n.toString(16))
    .join("");
  const slurm = currentSlurmJob();
  const info: LockInfo = {
    pid: Deno.pid,
    host: hostname(),
    time: new Date().toISOString(),
    token,
    pid_start: await processStartTime(Deno.pid),
    boot_time: bootTimeIso(),
    ...(slurm ? { slurm } : {}),
  };
  const text = JSON.stringify(info) + "\n";
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createLockFile(path, text)) return makeLock(path, info);
    const found = await readLockFile(path);
    if (found === "missing") continue; // released meanwhile: try again
    if (found === "unreadable") {
      // LOCK files appear complete (createLockFile), so an unreadable one was damaged, or written
      // by a version that wrote in place and was killed mid-write; its holder cannot be checked.
      throw new UnreadableLockError(`run ${runDir} has an unreadable ${RUN_FILES.lock} file`, {
        hint: `if no process trains this run, delete ${path}`,
      });
    }
    const why = await holderState(found);
    if (why.state !== "gone") throw lockRefusal(runDir, path, found, why);
    await Deno.remove(path).catch(() => {});
  }
  throw new LockError(`could not take the lock of ${runDir}: other processes keep taking it`, {
    hint: "run one sweep at a time per output directory",
  });
}

/**
 * Creates `path` holding `text` unless it exists; true when created. The text goes to a temp file
 * first (fsynced), then a hard link makes it `path` at once, failing if `path` exists: a LOCK is
 * never seen half-written, even when its writer is killed mid-write (only the temp file is left,
 * and removeTempFiles clears it). File systems without hard links fall back to an exclusive
 * create and write in place.
 */
async function createLockFile(path: string, text: string): Promise<boolean> {
  const tag = Array.from(crypto.getRandomValues(new Uint32Array(2)), (n) => n.toString(36)).join(
    "",
  );
  const tmp = join(dirname(path), `.${basename(path)}.${tag}.tmp`);
  await writeFileDurably(tmp, text, { createNew: true });
  try {
    await Deno.link(tmp, path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return false;
    if (err instanceof Deno.errors.NotFound) return false; // temp removed by a cleanup: retry
    try {
      await writeFileDurably(path, text, { createNew: true });
      return true;
    } catch (inPlace) {
      if (inPlace instanceof Deno.errors.AlreadyExists) return false;
      throw inPlace;
    }
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
}

async function writeFileDurably(
  path: string,
  text: string,
  options: { createNew: boolean },
): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: options.createNew });
  try {
    const bytes = new TextEncoder().encode(text);
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.sync();
  } finally {
    file.close();
  }
}

/** A LOCK file's holder, or whether it is missing or unreadable (empty, garbled, not a lock). */
async function readLockFile(path: string): Promise<LockInfo | "missing" | "unreadable"> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return "missing";
    throw err;
  }
  try {
    const info = JSON.parse(text);
    return typeof info?.pid === "number" && typeof info?.host === "string" ? info : "unreadable";
  } catch {
    return "unreadable";
  }
}

function makeLock(path: string, info: LockInfo): RunLock {
  let released = false;
  return {
    path,
    info,
    async release() {
      if (released) return;
      released = true;
      try {
        const current = JSON.parse(await Deno.readTextFile(path));
        if (current?.token === info.token) await Deno.remove(path);
      } catch {
        // Already gone: nothing to release.
      }
    },
  };
}
