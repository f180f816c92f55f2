// Reads and checks a spec's named recipes (`recipes: { name: { dotted.path: value, ... } }`) and the
// sweep axis over their names (`sweep.recipe: [name, ...]`): names are slugs (they appear in run
// ids), a recipe sets only config keys that a run may vary and no axis sweeps, each value passes
// its key's schema, and the axis names only defined recipes. Applying a recipe is resolve.ts's. Pure.
import canonicalize from "canonicalize";
import type { SpecIssue } from "../errors.ts";
import type { SweepAxis } from "./grid.ts";
import { didYouMean } from "./did_you_mean.ts";
import { experimentSchema } from "./schema.ts";
import { configPathProblem } from "./config_paths.ts";
import { RECIPE_AXIS, setPath } from "./resolve.ts";
import { specIssuesFromZod } from "./zod_issues.ts";
import { formatPath, type PathSegment, type YamlSource } from "./yaml_source.ts";

/** Keys a recipe may not set: what a report compares across and replicates over. */
export const RECIPE_FIXED_KEYS = ["sae.architecture", "sae.target_l0", "train.seed"];

const NAME = /^[a-z0-9][a-z0-9_-]*$/;

type Rec = Record<string, unknown>;

function isRecord(v: unknown): v is Rec {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** The recipes of raw spec data (maps only; the schema reports the rest). */
function recipesOf(raw: unknown): Record<string, Rec> {
  const recipes = isRecord(raw) ? raw.recipes : undefined;
  if (!isRecord(recipes)) return {};
  return Object.fromEntries(Object.entries(recipes).filter(([, r]) => isRecord(r))) as Record<
    string,
    Rec
  >;
}

/** Checks every recipe of raw spec data; `swept` are the paths the sweep's axes set. */
export function recipeIssues(
  raw: unknown,
  source: YamlSource,
  options: { swept: string[] },
): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const at = (path: PathSegment[], message: string, key?: string) => {
    const pos = key === undefined ? source.locate(path) : source.locateKey(path, key);
    issues.push({
      file: source.fileName,
      ...pos,
      path: formatPath(key === undefined ? path : [...path, key]),
      message,
    });
  };
  const baseline = experimentSchema().safeParse(raw);
  const known = new Set(
    baseline.success ? [] : baseline.error.issues.map((i) => JSON.stringify([i.path, i.message])),
  );
  for (const [name, settings] of Object.entries(recipesOf(raw))) {
    const here: PathSegment[] = ["recipes", name];
    if (!NAME.test(name)) {
      at(
        ["recipes"],
        `recipe name \`${name}\`: use lowercase letters, digits, - and _ (it appears in run ids)`,
        name,
      );
    }
    if (Object.keys(settings).length === 0) {
      at(here, "a recipe sets at least one config key, e.g. `sae.jumprelu.penalty: tanh`");
      continue;
    }
    const usable: string[] = [];
    for (const path of Object.keys(settings)) {
      const fixed = RECIPE_FIXED_KEYS.find((k) => path === k || k.startsWith(path + "."));
      const swept = options.swept.find((p) =>
        p === path || p.startsWith(path + ".") || path.startsWith(p + ".")
      );
      const nested = usable.find((p) => p.startsWith(path + ".") || path.startsWith(p + "."));
      const problem = fixed
        ? `a recipe may not set \`${fixed}\`: the report compares across it; sweep it beside ` +
          `\`${RECIPE_AXIS}\``
        : configPathProblem(raw, path) ??
          (swept
            ? `the sweep also sets \`${swept}\`; set it in the recipes or sweep it, not both`
            : nested
            ? `overlaps \`${nested}\` of the same recipe; set one or the other`
            : null);
      if (problem !== null) at(here, problem, path);
      else usable.push(path);
    }
    // Each value as if written at its path: the spec with the whole recipe applied.
    const applied = structuredClone(raw) as Rec;
    for (const path of usable) setPath(applied, path, settings[path]);
    const result = experimentSchema().safeParse(applied);
    if (result.success) continue;
    const fresh = result.error.issues.filter((i) =>
      !known.has(JSON.stringify([i.path, i.message]))
    );
    const owner = (p: PropertyKey[]) =>
      usable.find((path) => path.split(".").every((seg, k) => String(p[k]) === seg));
    const mine = fresh.filter((i) => owner(i.path) !== undefined);
    issues.push(...specIssuesFromZod(mine, {
      source,
      schema: experimentSchema(),
      data: applied,
      relocate: (p) => {
        const path = owner(p)!;
        return [...here, path, ...p.slice(path.split(".").length)];
      },
    }));
    const caused = fresh.filter((i) => owner(i.path) === undefined);
    for (
      const found of specIssuesFromZod(caused, {
        source,
        schema: experimentSchema(),
        data: applied,
      })
    ) {
      at(here, `with this recipe, ${found.path}: ${found.message}`);
    }
  }
  return issues;
}

/**
 * The sweep's `recipe` axis (`list`: the value of `sweep.recipe`): a non-empty list of defined
 * recipe names, without repeats. Returns the axis when usable, and its problems.
 */
export function readRecipeAxis(
  raw: unknown,
  list: unknown,
  source: YamlSource,
): { axis?: SweepAxis; issues: SpecIssue[] } {
  const origin: PathSegment[] = ["sweep", RECIPE_AXIS];
  const issues: SpecIssue[] = [];
  const at = (path: PathSegment[], message: string) =>
    issues.push({ file: source.fileName, ...source.locate(path), path: formatPath(path), message });
  if (!Array.isArray(list) || list.length === 0) {
    at(origin, "expected a non-empty list of recipe names (keys of `recipes`)");
    return { issues };
  }
  const names = Object.keys(recipesOf(raw));
  const seen = new Map<string, number>();
  list.forEach((value, i) => {
    const where = [...origin, i];
    if (typeof value !== "string") {
      at(where, `expected a recipe name, got ${canonicalize(value) ?? String(value)}`);
      return;
    }
    if (!names.includes(value)) {
      const guess = didYouMean(value, names);
      at(
        where,
        names.length === 0
          ? `unknown recipe \`${value}\`: the spec defines no \`recipes\``
          : `unknown recipe \`${value}\`${guess ? `; did you mean \`${guess}\`?` : ""} ` +
            `(recipes: ${names.join(", ")})`,
      );
      return;
    }
    const first = seen.get(value);
    if (first !== undefined) {
      at(where, `duplicate value (same as [${first}]); each run would repeat`);
    } else seen.set(value, i);
  });
  if (issues.length > 0) return { issues };
  return {
    axis: { paths: [RECIPE_AXIS], values: list.map((v) => [v]), origins: [origin] },
    issues,
  };
}
