// Decides what a sweep does with each run from its directory's status: done runs are skipped,
// partial and failed ones resume, pending ones start, runs locked by a live process are left alone,
// and runs whose data changed since they read it are refused until restarted.
import { runStatus } from "../store/run_dir.ts";
import type { RunStatus } from "../store/records.ts";
import type { RunPlan } from "../sweep/plan.ts";

export type RunAction = "skip" | "start" | "resume" | "busy" | "refuse";

export interface PlannedRun {
  plan: RunPlan;
  status: RunStatus;
  action: RunAction;
}

/** What to do for a run in a given status. */
export function actionFor(status: RunStatus): RunAction {
  switch (status) {
    case "done":
      return "skip";
    case "running":
      return "busy";
    case "pending":
      return "start";
    case "partial":
    case "failed":
    case "damaged":
      return "resume";
    case "stale":
      return "refuse";
  }
}

/** Reads the status of every plan's run directory (in plan order). */
export function planStatuses(plans: readonly RunPlan[]): Promise<PlannedRun[]> {
  return Promise.all(plans.map(async (plan) => {
    const status = await runStatus(plan.runDir);
    return { plan, status, action: actionFor(status) };
  }));
}
