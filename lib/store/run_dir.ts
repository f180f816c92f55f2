// Reads the state of run directories: status (pending/running/partial/done/failed), run.json,
// summary.json and the runs of an experiment; resetRunDir() empties one for --restart.
import { join } from "node:path";
import { acquireRunLock, isStale, readLock } from "./lock.ts";
import { RUN_FILES, type RunManifest, type RunStatus, type RunSummary } from "./records.ts";
import { readDone, verifyDone } from "./done.ts";
import { dataChanges } from "../data/fingerprint.ts";
import { pathExists, writeJsonAtomic } from "./atomic.ts";

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/**
 * Status of a run directory: done (DONE exists and its files match it), damaged (DONE exists but
 * its files do not match), running (locked by a live process), failed (run.json says so), partial
 * (a checkpoint or run.json exists), pending (nothing yet).
 */
export async function runStatus(runDir: string): Promise<RunStatus> {
  const done = await readDone(runDir);
  if (done) {
    if ((await verifyDone(runDir, done)).length) return "damaged";
    // DONE does not list run.json (it is rewritten as the run goes): a finished run whose
    // run.json is truncated or missing is repaired like a damaged summary.json.
    const manifest = await readManifest(runDir);
    if (!manifest) return "damaged";
    return (await runDataChanges(manifest)).length ? "stale" : "done";
  }
  const lock = await readLock(runDir);
  if (lock && !(await isStale(lock))) return "running";
  const manifest = await readManifest(runDir);
  if (manifest && (await runDataChanges(manifest)).length) return "stale";
  if (manifest?.status === "failed") return "failed";
  if (manifest || await pathExists(join(runDir, RUN_FILES.checkpoint))) return "partial";
  return "pending";
}

/** How the data files recorded in a run's run.json changed since (empty: unchanged or unknown). */
export function runDataChanges(manifest: RunManifest): Promise<string[]> {
  const recorded = manifest.data_fingerprint;
  return recorded ? dataChanges(recorded) : Promise.resolve([]);
}

/**
 * Records how a run ended when its process could not (killed, out of memory, out of disk): a
 * run.json still saying `running` gets `status` and `message`. Takes the run's lock (a dead
 * holder's is taken over); does nothing when run.json says anything else, is unreadable, or a
 * live process holds the lock. Returns whether it wrote.
 */
export async function markRunEnded(
  runDir: string,
  ended: { status: "failed" | "interrupted"; message: string },
): Promise<boolean> {
  if ((await readManifest(runDir).catch(() => undefined))?.status !== "running") return false;
  let lock;
  try {
    lock = await acquireRunLock(runDir);
  } catch {
    return false; // held by a live process, or unreadable: not ours to change
  }
  try {
    const manifest = await readManifest(runDir);
    if (manifest?.status !== "running") return false;
    await writeJsonAtomic(join(runDir, RUN_FILES.manifest), {
      ...manifest,
      status: ended.status,
      error: { message: ended.message },
      ended_at: new Date().toISOString(),
    });
    return true;
  } catch {
    return false; // e.g. the disk is still full: run.json keeps what it said
  } finally {
    await lock.release();
  }
}

/** `run.json` of a run, or undefined when absent or unreadable. */
export function readManifest(runDir: string): Promise<RunManifest | undefined> {
  return readJson<RunManifest>(join(runDir, RUN_FILES.manifest));
}

/** `summary.json` of a run, or undefined when absent or unreadable. */
export function readSummary(runDir: string): Promise<RunSummary | undefined> {
  return readJson<RunSummary>(join(runDir, RUN_FILES.summary));
}

/** One run directory found under an experiment directory. */
export interface ListedRun {
  runId: string;
  runDir: string;
  status: RunStatus;
}

/** Run directories under `experimentDir`, sorted by id; empty when it does not exist. */
export async function listRuns(experimentDir: string): Promise<ListedRun[]> {
  const runs: ListedRun[] = [];
  try {
    for await (const entry of Deno.readDir(experimentDir)) {
      if (!entry.isDirectory || entry.name.startsWith(".")) continue;
      const runDir = join(experimentDir, entry.name);
      runs.push({ runId: entry.name, runDir, status: await runStatus(runDir) });
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  return runs.sort((a, b) => (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
}

/**
 * Empties a run directory so that the run starts over (`--restart`): takes the run's lock first,
 * so a run another process trains is refused with LockError, then removes everything else.
 */
export async function resetRunDir(runDir: string): Promise<void> {
  const lock = await acquireRunLock(runDir);
  try {
    for await (const entry of Deno.readDir(runDir)) {
      if (entry.name === RUN_FILES.lock) continue;
      await Deno.remove(join(runDir, entry.name), { recursive: true });
    }
  } finally {
    await lock.release();
  }
}

/**
 * A run that has DONE: its summary when its files match DONE and summary.json reads, else what
 * is wrong (`damage`); undefined when the run has not finished.
 */
export async function finishedRun(
  runDir: string,
): Promise<{ summary: RunSummary } | { damage: string[] } | undefined> {
  const done = await readDone(runDir);
  if (!done) return undefined;
  const damage = await verifyDone(runDir, done);
  const summary = await readSummary(runDir);
  if (!summary) damage.push("summary.json is unreadable");
  if (!(await readManifest(runDir))) damage.push("run.json is unreadable");
  return damage.length === 0 && summary ? { summary } : { damage };
}
