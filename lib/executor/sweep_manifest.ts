// The sweep manifest: the resolved runs one submission trains (id, run dir, resolved config, spec
// dir), written by the sweep into the experiment's output directory so that each child process
// (local subprocess or Slurm array task) trains `runs[index]` without re-expanding the spec.
import { join, resolve } from "node:path";
import { UsageError } from "../errors.ts";
import { writeJsonAtomic } from "../store/atomic.ts";
import type { RunPlan } from "../sweep/plan.ts";

/** Format version of the file; a reader refuses any other. */
export const SWEEP_MANIFEST_VERSION = 1;

/** Hidden folder of an experiment's output directory holding manifests and Slurm scripts. */
export const SUBMISSIONS_DIR = ".submissions";

/** `manifest.json` of one submission. */
export interface SweepManifest {
  version: typeof SWEEP_MANIFEST_VERSION;
  experiment: string;
  created_at: string;
  /** One entry per array index / child, in order. */
  runs: RunPlan[];
}

/**
 * A fresh submission folder `<experimentDir>/.submissions/<stamp>-<label>` (not created): the
 * stamp sorts by time and a random tag keeps two sweeps started in the same second apart.
 */
export function submissionDir(experimentDir: string, label: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const tag = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  return join(experimentDir, SUBMISSIONS_DIR, `${stamp}-${label}-${tag}`);
}

/** Writes `<dir>/manifest.json` listing `plans` (array index = position); returns its path. */
export async function writeSweepManifest(dir: string, plans: readonly RunPlan[]): Promise<string> {
  if (plans.length === 0) throw new Error("a sweep manifest needs at least one run");
  await Deno.mkdir(dir, { recursive: true });
  const manifest: SweepManifest = {
    version: SWEEP_MANIFEST_VERSION,
    experiment: plans[0].config.experiment,
    created_at: new Date().toISOString(),
    runs: [...plans],
  };
  const path = join(dir, "manifest.json");
  await writeJsonAtomic(path, manifest);
  return path;
}

/** Reads entry `index` of a sweep manifest; UsageError when the file or the index is wrong. */
export async function readManifestPlan(path: string, index: number): Promise<RunPlan> {
  let manifest: SweepManifest;
  try {
    manifest = JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    throw new UsageError(`cannot read sweep manifest ${path}: ${(err as Error).message}`, {
      hint: "pass the manifest.json a sweep wrote under <out>/<experiment>/.submissions/",
      cause: err,
    });
  }
  if (manifest?.version !== SWEEP_MANIFEST_VERSION || !Array.isArray(manifest.runs)) {
    throw new UsageError(
      `${path} is not a version ${SWEEP_MANIFEST_VERSION} sweep manifest`,
      { hint: "re-run the sweep with this version of saesweep to write a new one" },
    );
  }
  const plan = manifest.runs[index];
  if (!plan || typeof plan.runId !== "string" || typeof plan.runDir !== "string") {
    throw new UsageError(
      `sweep manifest ${path} has no run at index ${index} (it lists ${manifest.runs.length})`,
      { hint: `valid indices are 0 to ${manifest.runs.length - 1}` },
    );
  }
  return { ...plan, runDir: resolve(plan.runDir), specDir: resolve(plan.specDir) };
}
