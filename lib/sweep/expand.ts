// Expands a loaded experiment into RunPlans: one per grid point, in grid order (last axis
// fastest), each with its resolved config, stable run id and run directory. Pure: no I/O.
import { resolve } from "node:path";
import type { LoadedExperiment } from "../spec/load.ts";
import { gridPoints } from "../spec/grid.ts";
import type { RunPlan } from "./plan.ts";
import { resolveRunConfig } from "../spec/resolve.ts";
import { runId } from "./run_id.ts";

/** Every run of the experiment; `outDir` is the runs root (`runs`), made absolute. */
export function expandSweep(loaded: LoadedExperiment, options: { outDir: string }): RunPlan[] {
  const experimentDir = resolve(options.outDir, loaded.spec.name);
  return gridPoints(loaded.axes).map((point, index) => {
    const config = resolveRunConfig(loaded.spec, point.overrides);
    const id = runId(config, point.overrides);
    return {
      runId: id,
      index,
      config,
      overrides: point.overrides,
      specPath: loaded.specPath,
      specDir: loaded.specDir,
      specHash: loaded.specHash,
      runDir: resolve(experimentDir, id),
    };
  });
}
