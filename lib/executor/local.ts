// The local executor: trains runs in subprocesses (one per run, for isolation of memory and GPU
// state) with a pool of `jobs`, reading each child's JSON-lines protocol. Aborting the signal
// forwards SIGINT (children checkpoint and exit); `kill()` stops them at once. Each child's stdin
// is its lifeline (lifeline.ts): if this process dies, they stop too. Reports events; never prints.
import type { TrainProgress } from "../train/progress.ts";
import type { RunPlan } from "../sweep/plan.ts";
import { parseRunMessage, type RunResultStatus } from "./run_messages.ts";
import { readDone } from "../store/done.ts";
import { markRunEnded, runStatus } from "../store/run_dir.ts";
import { readLock } from "../store/lock.ts";

/** How one run ended. */
export interface RunOutcome {
  runId: string;
  status: RunResultStatus;
  /** Failure reason: the child's error line, or its exit code and the tail of its stderr. */
  error?: string;
  exitCode: number;
  seconds: number;
  /** Log file of the run's process, when it wrote one (Slurm tasks). */
  log?: string;
}

export type LocalEvent =
  | { type: "start"; plan: RunPlan }
  | { type: "progress"; plan: RunPlan; progress: TrainProgress }
  | { type: "end"; plan: RunPlan; outcome: RunOutcome };

export interface LocalOptions {
  /** Runs trained at once (>= 1). */
  jobs: number;
  /** Arguments after the Deno executable that train one plan (`run --allow-read ... tasks/run.ts`). */
  args: (plan: RunPlan) => string[];
  /** Aborting stops starting runs and sends SIGINT to running ones. */
  signal?: AbortSignal;
  onEvent?: (event: LocalEvent) => void;
  /** Working directory of the children. */
  cwd?: string;
  /** A child's `warning: ...` stderr line (e.g. a checkpoint fallback), without the prefix. */
  onWarning?: (plan: RunPlan, message: string) => void;
  /** Set by runLocal: sends SIGKILL to every running child (a second Ctrl-C: stop now). */
  onKillSwitch?: (kill: () => void) => void;
  /** When and where a run may start (GPU placement); without it every run starts at once. */
  placer?: RunPlacer;
  /** A job slot is free but the placer lets no queued run start: `plan` (the first) waits. */
  onWait?: (plan: RunPlan) => void;
}

/** Decides when a run may start and what its process gets (lib/executor/gpu_slots.ts). */
export interface RunPlacer {
  /** Reserves what `plan` needs and returns its process's extra environment, or null: not now. */
  claim(plan: RunPlan): Record<string, string> | null;
  /** Gives back what claim() reserved for `plan`. */
  release(plan: RunPlan): void;
}

const STDERR_TAIL_LINES = 20;

/** Runs every plan; resolves with one outcome per plan that was started, in completion order. */
export async function runLocal(
  plans: readonly RunPlan[],
  options: LocalOptions,
): Promise<RunOutcome[]> {
  const queue = [...plans];
  const outcomes: RunOutcome[] = [];
  const children = new Set<Deno.ChildProcess>();
  const onAbort = () => {
    for (const child of children) {
      try {
        child.kill("SIGINT");
      } catch {
        // Already exited.
      }
    }
  };
  options.signal?.addEventListener("abort", onAbort);
  options.onKillSwitch?.(() => {
    for (const child of children) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already exited.
      }
    }
  });
  // The first queued plan the placer lets start now (in plan order: a later, smaller run may go
  // ahead of one that waits for room), taken synchronously so that workers never race for room.
  const take = (): { plan: RunPlan; env: Record<string, string> } | undefined => {
    for (let i = 0; i < queue.length; i++) {
      const env = options.placer ? options.placer.claim(queue[i]) : {};
      if (env) return { plan: queue.splice(i, 1)[0], env };
    }
    return undefined;
  };
  let active = 0;
  const waited = new Set<RunPlan>();
  let wakeUp: (() => void)[] = [];
  const wake = () => {
    for (const resolve of wakeUp) resolve();
    wakeUp = [];
  };
  options.signal?.addEventListener("abort", wake);
  const worker = async () => {
    while (queue.length > 0 && !options.signal?.aborted) {
      const next = take();
      if (!next) {
        if (active > 0) {
          if (!waited.has(queue[0])) { // said once per run
            waited.add(queue[0]);
            options.onWait?.(queue[0]);
          }
          await new Promise<void>((resolve) => wakeUp.push(resolve));
          continue;
        }
        // Nothing runs and nothing fits: the sweep refuses such runs before it starts, so this
        // is a placer that can never say yes; fail the first instead of waiting forever.
        const plan = queue.shift()!;
        const error = "no GPU has room for this run's memory estimate";
        const outcome: RunOutcome = {
          runId: plan.runId,
          status: "failed",
          error,
          exitCode: 2,
          seconds: 0,
        };
        outcomes.push(outcome);
        options.onEvent?.({ type: "end", plan, outcome });
        continue;
      }
      const { plan, env } = next;
      active++;
      try {
        // Another sweep may have finished or taken this run since the plan was made.
        const now = await othersOutcome(plan);
        if (now) {
          outcomes.push(now);
          options.onEvent?.({ type: "end", plan, outcome: now });
          continue;
        }
        options.onEvent?.({ type: "start", plan });
        const outcome = await runChild(plan, options, children, env);
        outcomes.push(outcome);
        options.onEvent?.({ type: "end", plan, outcome });
      } finally {
        active--;
        options.placer?.release(plan);
        wake();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, options.jobs) }, worker));
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    options.signal?.removeEventListener("abort", wake);
  }
  return outcomes;
}

/** Who holds a run's lock, for messages: `pid 123 on host since <time>`. */
export async function lockHolder(runDir: string): Promise<string> {
  const lock = await readLock(runDir);
  return lock ? `pid ${lock.pid} on ${lock.host} since ${lock.time}` : "another process";
}

/** A busy or skipped outcome when another process holds or has finished the run, else null. */
async function othersOutcome(plan: RunPlan): Promise<RunOutcome | null> {
  const status = await runStatus(plan.runDir);
  const base = { runId: plan.runId, exitCode: 0, seconds: 0 };
  if (status === "done") {
    return { ...base, status: "skipped", error: "finished meanwhile by another process" };
  }
  if (status === "running") {
    return { ...base, status: "busy", error: `locked by ${await lockHolder(plan.runDir)}` };
  }
  return null;
}

async function runChild(
  plan: RunPlan,
  options: LocalOptions,
  children: Set<Deno.ChildProcess>,
  env: Record<string, string>,
): Promise<RunOutcome> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: options.args(plan),
    cwd: options.cwd,
    env, // added to this process's environment
    stdin: "piped", // the lifeline: never written, closed when this process exits
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const startedAt = Date.now();
  children.add(child);
  // A signal that arrived between the pool's check and the spawn still reaches this child.
  if (options.signal?.aborted) child.kill("SIGINT");
  let result: { status: RunResultStatus; error?: string } | undefined;
  const stderrTail: string[] = [];
  const readStdout = readLines(child.stdout, (line) => {
    const msg = parseRunMessage(line);
    if (msg?.type === "progress") {
      const { type: _type, ...progress } = msg;
      options.onEvent?.({ type: "progress", plan, progress });
    } else if (msg?.type === "result") result = { status: msg.status, error: msg.error };
  });
  const readStderr = readLines(child.stderr, (line) => {
    if (line.startsWith("warning: ")) options.onWarning?.(plan, line.slice("warning: ".length));
    stderrTail.push(line);
    if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
  });
  const [status] = await Promise.all([child.status, readStdout, readStderr]);
  children.delete(child);
  await child.stdin.close().catch(() => {});
  const seconds = (performance.now() - started) / 1000;
  const exitCode = status.code;
  if (result?.status === "done") {
    // A DONE written before this child started was written by another process.
    const done = await readDone(plan.runDir);
    if (done && Date.parse(done.finished_at) < startedAt) {
      const error = "finished meanwhile by another process";
      return { runId: plan.runId, status: "skipped", error, exitCode, seconds };
    }
  }
  if (result && !(result.status === "done" && exitCode !== 0)) {
    if (result.status === "failed" && exitCode !== 2) { // exit 2: a refusal writes nothing
      await markRunEnded(plan.runDir, { status: "failed", message: result.error ?? "failed" });
    }
    return { runId: plan.runId, ...result, exitCode, seconds };
  }
  if (exitCode === 0) {
    const error = "the run process exited without reporting a result";
    return { runId: plan.runId, status: "failed", error, exitCode, seconds };
  }
  // SIGKILL after an abort is the sweep's own "stop now"; the last checkpoint stays.
  const interrupted = exitCode === 130 || status.signal === "SIGINT" ||
    (status.signal === "SIGKILL" && options.signal?.aborted === true);
  const tail = stderrTail.filter((l) => l.trim()).slice(-5).join("\n");
  const killed = status.signal && !interrupted
    ? `killed by ${status.signal}` +
      (status.signal === "SIGKILL" ? " (the out-of-memory killer sends SIGKILL)" : "")
    : undefined;
  const error = interrupted
    ? undefined
    : `${killed ?? `exit code ${exitCode}`}${tail ? `: ${tail}` : ""}`;
  // A process killed at once cannot say so in its run.json, which would keep saying `running`.
  await markRunEnded(plan.runDir, {
    status: interrupted ? "interrupted" : "failed",
    message: interrupted ? "stopped without a checkpoint at its end (killed)" : error!,
  });
  return {
    runId: plan.runId,
    status: interrupted ? "interrupted" : "failed",
    error,
    exitCode,
    seconds,
  };
}

async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      onLine(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
    }
  }
  if (buffer) onLine(buffer);
}
