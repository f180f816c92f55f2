// Expands a loaded experiment into RunPlans: one per distinct run of the grid, in grid order (last
// axis fastest; `sweep.exclude` drops points), each with its resolved config, stable run id and run directory. Grid points that
// differ only in values the run does not read (e.g. sae.jumprelu.* for a TopK run) are one run,
// listed at its first point, and a plan's overrides keep only the swept values its run reads. Pure:
// no I/O.
import { resolve } from "node:path";
import type { LoadedExperiment } from "../spec/load.ts";
import { gridPoints } from "../spec/grid.ts";
import type { RunPlan } from "./plan.ts";
import { resolveRunConfig } from "../spec/resolve.ts";
import { readOverrides, runId } from "./run_id.ts";
import { effectiveConfig } from "./effective_config.ts";

/** Every run of the experiment; `outDir` is the runs root (`runs`), made absolute. */
export function expandSweep(loaded: LoadedExperiment, options: { outDir: string }): RunPlan[] {
  const experimentDir = resolve(options.outDir, loaded.spec.name);
  const plans: RunPlan[] = [];
  const seen = new Set<string>();
  let i = 0;
  for (const point of gridPoints(loaded.axes, loaded.exclude)) {
    // Resolved once, by the spec's checks (loaded.configs), and its effective config built once.
    const config = loaded.configs?.[i++] ?? resolveRunConfig(loaded.spec, point.overrides);
    const effective = effectiveConfig(config);
    const overrides = readOverrides(effective, point.overrides, { recipes: loaded.spec.recipes });
    const id = runId(effective, overrides);
    if (seen.has(id)) continue;
    seen.add(id);
    plans.push({
      runId: id,
      index: plans.length,
      config,
      effective,
      overrides,
      specPath: loaded.specPath,
      specDir: loaded.specDir,
      specHash: loaded.specHash,
      runDir: resolve(experimentDir, id),
      l0Tolerance: loaded.spec.report.l0_tolerance,
    });
  }
  return plans;
}
