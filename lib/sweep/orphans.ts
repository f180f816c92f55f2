// Run directories a sweep no longer produces: made under an older run-id scheme, or by a spec
// that has since changed. They are named (by --dry-run, the sweep and the report) instead of being
// resumed or shown beside the runs that replace them. Reads only.
import { basename, join, resolve } from "node:path";
import { readManifest } from "../store/run_dir.ts";
import { RUN_ID_SCHEME } from "./effective_config.ts";
import type { RunPlan } from "./plan.ts";

export interface OrphanRun {
  runId: string;
  runDir: string;
  reason: string;
}

/**
 * Why the run directory `runDir` is not a current run, or null when it is. With `planned` (the
 * resolved run directories of a spec's whole sweep) a directory outside it is an orphan; without,
 * only the hash scheme recorded in its run.json decides.
 */
export async function orphanReason(
  runDir: string,
  planned?: ReadonlySet<string>,
): Promise<string | null> {
  if (planned?.has(resolve(runDir))) return null;
  const manifest = await readManifest(runDir);
  const scheme = manifest?.run_id_scheme ?? (manifest ? 1 : null);
  if (scheme !== null && scheme < RUN_ID_SCHEME) {
    return `made under run-id scheme ${scheme} (ids now hash only the effective config, ` +
      `scheme ${RUN_ID_SCHEME}); its run has a new id`;
  }
  if (!planned) return null;
  return "not a run of this spec's sweep (the spec or a default changed since it ran)";
}

/** Orphaned run directories under the experiment directory of `plans` (the full sweep). */
export async function findOrphans(
  experimentDir: string,
  plans: readonly RunPlan[],
): Promise<OrphanRun[]> {
  const planned = new Set(plans.map((p) => resolve(p.runDir)));
  const out: OrphanRun[] = [];
  let names: string[] = [];
  try {
    for await (const e of Deno.readDir(experimentDir)) {
      if (e.isDirectory && !e.name.startsWith(".") && !e.name.startsWith("_")) names.push(e.name);
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  names = names.sort();
  for (const name of names) {
    const runDir = join(experimentDir, name);
    const reason = await orphanReason(runDir, planned);
    if (reason) out.push({ runId: basename(runDir), runDir, reason });
  }
  return out;
}
