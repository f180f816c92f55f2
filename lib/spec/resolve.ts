// Builds the fully resolved RunConfig of one grid point: the validated spec minus sweep/report/
// name/description, plus `experiment`, with each override applied and defaults filled. Pure.
import { experimentSchema, type ExperimentSpec, type RunConfig } from "./schema.ts";

/** Sets `value` at the dotted `path` of `target`, creating maps on the way. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const segments = path.split(".");
  let current = target;
  for (const seg of segments.slice(0, -1)) {
    const next = current[seg];
    if (next === null || typeof next !== "object" || Array.isArray(next)) current[seg] = {};
    current = current[seg] as Record<string, unknown>;
  }
  current[segments[segments.length - 1]] = structuredClone(value);
}

/**
 * Applies `overrides` to `spec` and re-validates (so a swept partial map gets its defaults).
 * Throws a zod error if the result is invalid; `loadExperiment` has already ruled that out.
 */
export function resolveRunConfig(
  spec: ExperimentSpec,
  overrides: Readonly<Record<string, unknown>>,
): RunConfig {
  const base: Record<string, unknown> = structuredClone({
    name: spec.name,
    data: spec.data,
    sae: spec.sae,
    train: spec.train,
    eval: spec.eval,
  });
  for (const [path, value] of Object.entries(overrides)) setPath(base, path, value);
  const parsed = experimentSchema().parse(base);
  return {
    experiment: parsed.name,
    data: parsed.data,
    sae: parsed.sae,
    train: parsed.train,
    eval: parsed.eval,
  };
}
