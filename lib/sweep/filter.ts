// `--filter key=value` selection of runs: keys are config paths or short names (`architecture`,
// `target_l0`, `seed`), or `recipe`; values are YAML scalars compared with the run's resolved
// config (a recipe with the run's recipe name). Pure.
import canonicalize from "canonicalize";
import { parse as parseYaml } from "yaml";
import { UsageError } from "../errors.ts";
import { didYouMean } from "../spec/did_you_mean.ts";
import { sweepableLeaves } from "../spec/json_schema.ts";
import type { SweepAxis } from "../spec/grid.ts";
import { RECIPE_AXIS } from "../spec/resolve.ts";
import type { RunPlan } from "./plan.ts";

/** Runs are kept when the config value at `path` equals one of `values`. */
export interface RunFilter {
  path: string;
  values: unknown[];
}

const ALIASES: Record<string, string> = {
  arch: "sae.architecture",
  l0: "sae.target_l0",
  seed: "train.seed",
};

function resolveKey(key: string, axes: readonly SweepAxis[]): string {
  const leaves = sweepableLeaves().map((l) => l.path);
  const swept = axes.flatMap((a) => a.paths);
  if (leaves.includes(key) || swept.includes(key)) return key;
  if (key in ALIASES) return ALIASES[key];
  const tail = (paths: string[]) => paths.filter((p) => p.split(".").pop() === key);
  const sweptMatches = tail(swept);
  if (sweptMatches.length === 1) return sweptMatches[0];
  const leafMatches = tail(leaves);
  if (leafMatches.length === 1) return leafMatches[0];
  if (sweptMatches.length + leafMatches.length > 1) {
    const options = [...new Set([...sweptMatches, ...leafMatches])].join(", ");
    throw new UsageError(`--filter key \`${key}\` is ambiguous (${options})`, {
      hint: "use the full dotted path, e.g. --filter sae.target_l0=16",
    });
  }
  const shortNames = [...new Set([...swept, ...leaves].map((p) => p.split(".").pop()!))];
  const guess = didYouMean(key, [...shortNames, ...Object.keys(ALIASES)]) ??
    didYouMean(key, [...swept, ...leaves]);
  throw new UsageError(
    `--filter key \`${key}\` is not a config key${guess ? `; did you mean \`${guess}\`?` : ""}`,
    { hint: `swept axes: ${swept.join(", ") || "none"}; any dotted config path also works` },
  );
}

/** Parses `key=value` expressions; repeated keys are alternatives, different keys all apply. */
export function parseRunFilters(exprs: readonly string[], axes: readonly SweepAxis[]): RunFilter[] {
  const byPath = new Map<string, unknown[]>();
  for (const expr of exprs) {
    const eq = expr.indexOf("=");
    if (eq <= 0) {
      throw new UsageError(`--filter expects key=value, got "${expr}"`, {
        hint: "e.g. --filter architecture=topk --filter target_l0=16",
      });
    }
    const path = resolveKey(expr.slice(0, eq).trim(), axes);
    const text = expr.slice(eq + 1).trim();
    let value: unknown = text;
    try {
      value = parseYaml(text, { schema: "core" });
    } catch {
      // Not a YAML scalar: compare as a string.
    }
    byPath.set(path, [...(byPath.get(path) ?? []), value]);
  }
  return [...byPath].map(([path, values]) => ({ path, values }));
}

/** The run's value at `path`; a recipe by its name (runs that read none of it have none). */
function configValue(plan: RunPlan, path: string): unknown {
  if (path === RECIPE_AXIS) return plan.overrides[RECIPE_AXIS];
  let current: unknown = plan.config;
  for (const seg of path.split(".")) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[seg];
  }
  return current;
}

/** The plans that pass every filter (all plans when there are none). */
export function filterPlans(plans: readonly RunPlan[], filters: readonly RunFilter[]): RunPlan[] {
  return plans.filter((plan) =>
    filters.every((f) => {
      const actual = configValue(plan, f.path);
      return f.values.some((v) =>
        canonicalize(v) === canonicalize(actual) || String(v) === String(actual)
      );
    })
  );
}
