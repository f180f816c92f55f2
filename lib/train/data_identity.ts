// A run's data identity: the fingerprint of the files it reads (lib/data/fingerprint.ts), taken
// before it trains and compared with the one its run.json recorded, so that a run never resumes,
// repairs or reports itself done on data other than the data it was trained on.
import { DataError } from "../errors.ts";
import { compareFingerprints, type DataFingerprint, dataFingerprint } from "../data/fingerprint.ts";
import { readManifest } from "../store/run_dir.ts";
import type { RunPlan } from "../sweep/plan.ts";

/** The data of a run changed since it (partly or fully) trained: exit 2, nothing written. */
export class DataChangedError extends DataError {
  readonly changes: string[];
  constructor(message: string, changes: string[], options: { hint: string }) {
    super(message, { hint: options.hint, exitCode: 2 });
    this.changes = changes;
  }
}

/**
 * The current fingerprint of the plan's data; throws DataChangedError when the run directory's
 * run.json recorded a different one (a resumed, repaired or finished run whose data changed).
 */
export async function checkDataIdentity(plan: RunPlan): Promise<DataFingerprint> {
  const now = await dataFingerprint(plan.config.data, plan.specDir);
  const manifest = await readManifest(plan.runDir);
  const recorded = manifest?.data_fingerprint;
  if (!recorded) return now;
  const changes = compareFingerprints(recorded, now);
  if (changes.length === 0) return now;
  const what = manifest.status === "done" ? "finished" : "started";
  throw new DataChangedError(
    `run ${plan.runId} ${what} on other data than it would read now:\n  ${changes.join("\n  ")}`,
    changes,
    {
      hint: `restore the files, or train it again on the new data: deno task sweep ` +
        `${plan.specPath} --restart ${plan.runId}`,
    },
  );
}
