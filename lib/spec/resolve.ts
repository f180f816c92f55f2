// Builds the fully resolved RunConfig of one grid point: the validated spec minus sweep/report/
// name/description, plus `experiment`, with each override applied and defaults filled. Pure, but
// for the count a test can ask for (resolve_count.ts).
import { experimentSchema, type ExperimentSpec, type RunConfig } from "./schema.ts";
import { countResolve } from "./resolve_count.ts";

type Rec = Record<string, unknown>;

function isRecord(v: unknown): v is Rec {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * `value` applied over `base`: maps merge key by key (a swept `sae: {width: 64}` keeps the spec's
 * architecture and target_l0), anything else replaces. A map naming another `source` than the
 * base (a `data` section of another variant) replaces it whole, since its keys are another set.
 */
export function mergeValue(base: unknown, value: unknown): unknown {
  if (!isRecord(base) || !isRecord(value)) return structuredClone(value);
  if ("source" in value && "source" in base && value.source !== base.source) {
    return structuredClone(value);
  }
  const out: Rec = structuredClone(base);
  for (const [k, v] of Object.entries(value)) out[k] = mergeValue(base[k], v);
  return out;
}

/**
 * Applies `value` at the dotted `path` of `target`, creating maps on the way; a map merges into
 * the map already there (mergeValue), so sweeping a whole section changes only the keys it names.
 */
export function setPath(target: Rec, path: string, value: unknown): void {
  const segments = path.split(".");
  let current = target;
  for (const seg of segments.slice(0, -1)) {
    if (!isRecord(current[seg])) current[seg] = {};
    current = current[seg] as Rec;
  }
  const last = segments[segments.length - 1];
  current[last] = mergeValue(current[last], value);
}

/**
 * The sweep axis whose values are names of `recipes` (a spec's named groups of settings): a grid
 * point's `recipe: name` stands for every setting of that recipe.
 */
export const RECIPE_AXIS = "recipe";

/**
 * Applies `overrides` to `target` in order; a `recipe` override applies its recipe's settings
 * (`recipes[name]`) in their own order.
 */
export function applyOverrides(
  target: Rec,
  overrides: Readonly<Record<string, unknown>>,
  options: { recipes?: Readonly<Record<string, Readonly<Record<string, unknown>>>> } = {},
): void {
  for (const [path, value] of Object.entries(overrides)) {
    if (path !== RECIPE_AXIS) setPath(target, path, value);
    else {
      for (const [p, v] of Object.entries(options.recipes?.[String(value)] ?? {})) {
        setPath(target, p, v);
      }
    }
  }
}

/**
 * Applies `overrides` to `spec` (a `recipe` override by its settings) and re-validates (so a swept partial map gets its defaults).
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
  applyOverrides(base, overrides, { recipes: spec.recipes });
  const parsed = experimentSchema().parse(base);
  const config: RunConfig = {
    experiment: parsed.name,
    data: parsed.data,
    sae: parsed.sae,
    train: parsed.train,
    eval: parsed.eval,
  };
  countResolve("resolve", config);
  return config;
}
