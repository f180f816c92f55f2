// Reads and checks the `sweep` section: axis paths exist in the schema (with did-you-mean), lists
// are non-empty and duplicate-free, zip groups have equal lengths, every value passes its key's
// schema (checked by substituting it into the spec), and each `exclude` rule names swept values
// and leaves out at least one run, but not all. Pure.
import type { SpecIssue } from "../errors.ts";
import { type ExcludeRule, excludes, gridPoints, type SweepAxis } from "./grid.ts";
import { experimentSchema } from "./schema.ts";
import { specIssuesFromZod } from "./zod_issues.ts";
import { configPathProblem } from "./config_paths.ts";
import { formatPath, type PathSegment, type YamlSource } from "./yaml_source.ts";
import canonicalize from "canonicalize";
import { RECIPE_AXIS, setPath } from "./resolve.ts";
import { readRecipeAxis } from "./recipes.ts";

type Rec = Record<string, unknown>;

function isRecord(v: unknown): v is Rec {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** The sweep key that lists rules dropping grid points (grid.ts ExcludeRule). */
export const EXCLUDE_KEY = "exclude";

/** Reads the sweep section of raw spec data into axes and exclude rules, collecting every problem. */
export function readSweepAxes(
  raw: unknown,
  source: YamlSource,
): { axes: SweepAxis[]; exclude: ExcludeRule[]; issues: SpecIssue[] } {
  const issues: SpecIssue[] = [];
  const axes: SweepAxis[] = [];
  const exclude: ExcludeRule[] = [];
  const sweep = isRecord(raw) ? raw.sweep : undefined;
  if (sweep === undefined || sweep === null) return { axes, exclude, issues };
  if (!isRecord(sweep)) return { axes, exclude, issues }; // the schema reports a non-map sweep
  const issue = (path: PathSegment[], message: string, key?: string) => {
    const pos = key === undefined ? source.locate(path) : source.locateKey(path, key);
    const shown = key === undefined ? path : [...path, key];
    issues.push({ file: source.fileName, ...pos, path: formatPath(shown), message });
  };
  const seen = new Map<string, string>();
  let base: Set<string> | undefined;
  const baseIssues = () => {
    if (base) return base;
    const result = experimentSchema().safeParse(raw);
    base = new Set(result.success ? [] : result.error.issues.map(issueKey));
    return base;
  };

  // Checks one axis path; returns false (after reporting) when it cannot be used.
  const checkPath = (parent: PathSegment[], path: string): boolean => {
    const problem = configPathProblem(raw, path);
    if (problem !== null) {
      issue(parent, problem, path);
      return false;
    }
    for (const [other, where] of seen) {
      if (other === path) {
        issue(parent, `axis already swept at ${where}`, path);
        return false;
      }
      if (other.startsWith(path + ".") || path.startsWith(other + ".")) {
        issue(parent, `overlaps axis \`${other}\` (${where}); sweep one or the other`, path);
        return false;
      }
    }
    seen.set(path, formatPath([...parent, path]));
    return true;
  };

  // Checks a list of values for one path; returns the list when usable.
  const checkList = (origin: PathSegment[], path: string, list: unknown): unknown[] | undefined => {
    if (!Array.isArray(list) || list.length === 0) {
      issue(
        origin,
        `expected a non-empty list of values, got ${
          Array.isArray(list) ? "an empty list" : describe(list)
        }`,
      );
      return undefined;
    }
    let ok = true;
    list.forEach((value, i) => {
      const substituted = structuredClone(isRecord(raw) ? raw : {}) as Rec;
      setPath(substituted, path, value);
      const result = experimentSchema().safeParse(substituted);
      if (result.success) return;
      const segments = path.split(".");
      // Problems the spec has without this value are reported at their own place, once.
      const fresh = result.error.issues.filter((zi) => !baseIssues().has(issueKey(zi)));
      const mine = fresh.filter((zi) => segments.every((seg, k) => String(zi.path[k]) === seg));
      // Problems this value causes elsewhere (`data.source: files` leaves `data.path` missing).
      const caused = fresh.filter((zi) => !mine.includes(zi));
      if (fresh.length > 0) ok = false;
      issues.push(...specIssuesFromZod(mine, {
        source,
        schema: experimentSchema(),
        data: substituted,
        relocate: (p) => [...origin, i, ...p.slice(segments.length)],
      }));
      const where = [...origin, i];
      for (
        const found of specIssuesFromZod(caused, {
          source,
          schema: experimentSchema(),
          data: substituted,
        })
      ) {
        issues.push({
          file: source.fileName,
          ...source.locate(where),
          path: formatPath(where),
          message: `with this value, ${found.path}: ${found.message}`,
        });
      }
    });
    return ok ? list : undefined;
  };

  for (const [key, value] of Object.entries(sweep)) {
    if (key === EXCLUDE_KEY) continue; // read below, once every axis is known
    if (key === RECIPE_AXIS) {
      const read = readRecipeAxis(raw, value, source);
      issues.push(...read.issues);
      if (read.axis) axes.push(read.axis);
      continue;
    }
    if (key === "zip") {
      if (!Array.isArray(value)) {
        issue(
          ["sweep", "zip"],
          `expected a list of groups (maps of axis -> list), got ${describe(value)}`,
        );
        continue;
      }
      value.forEach((group, g) => {
        const groupPath: PathSegment[] = ["sweep", "zip", g];
        if (!isRecord(group) || Object.keys(group).length === 0) {
          issue(groupPath, `expected a map of axis -> list, got ${describe(group)}`);
          return;
        }
        const paths: string[] = [];
        const lists: unknown[][] = [];
        let usable = true;
        for (const [path, list] of Object.entries(group)) {
          if (path === RECIPE_AXIS) {
            issue(groupPath, "a recipe axis cannot be zipped; sweep `recipe` on its own", path);
            usable = false;
            continue;
          }
          if (!checkPath(groupPath, path)) {
            usable = false;
            continue;
          }
          const checked = checkList([...groupPath, path], path, list);
          if (!checked) usable = false;
          else {
            paths.push(path);
            lists.push(checked);
          }
        }
        const lengths = lists.map((l) => l.length);
        if (new Set(lengths).size > 1) {
          const first = lengths[0];
          const bad = lengths.findIndex((n) => n !== first);
          issue(
            [...groupPath, paths[bad]],
            `zip lists must have equal lengths: \`${paths[0]}\` has ${first}, \`${
              paths[bad]
            }\` has ${lengths[bad]}`,
          );
          return;
        }
        if (!usable) return;
        const values = lists[0].map((_, i) => lists.map((l) => l[i]));
        if (reportDuplicates(values, (i) => [...groupPath, paths[0], i], issue)) return;
        axes.push({ paths, values, origins: paths.map((p) => [...groupPath, p]) });
      });
      continue;
    }
    if (!checkPath(["sweep"], key)) continue;
    const list = checkList(["sweep", key], key, value);
    if (!list) continue;
    const values = list.map((v) => [v]);
    if (reportDuplicates(values, (i) => ["sweep", key, i], issue)) continue;
    axes.push({ paths: [key], values, origins: [["sweep", key]] });
  }
  if (EXCLUDE_KEY in sweep) {
    const rules = readExcludeRules(sweep[EXCLUDE_KEY], axes, issue);
    if (rules) exclude.push(...rules);
  }
  return { axes, exclude, issues };
}

/**
 * The `sweep.exclude` rules: a list of maps from a swept path to a value or a list of values. Each
 * value must be one the axis sweeps, each rule must leave out at least one grid point, and the rules
 * together must leave at least one. Undefined (after reporting) when unusable.
 */
function readExcludeRules(
  value: unknown,
  axes: SweepAxis[],
  issue: (path: PathSegment[], message: string, key?: string) => void,
): ExcludeRule[] | undefined {
  const where: PathSegment[] = ["sweep", EXCLUDE_KEY];
  if (!Array.isArray(value) || value.length === 0) {
    issue(
      where,
      `expected a non-empty list of rules (maps of swept axis -> values), got ${
        Array.isArray(value) ? "an empty list" : describe(value)
      }`,
    );
    return undefined;
  }
  const swept = new Map<string, unknown[]>();
  for (const axis of axes) axis.paths.forEach((p, j) => swept.set(p, axis.values.map((t) => t[j])));
  const rules: ExcludeRule[] = [];
  let usable = true;
  value.forEach((rule, r) => {
    const origin: PathSegment[] = [...where, r];
    if (!isRecord(rule) || Object.keys(rule).length === 0) {
      issue(
        origin,
        `expected a map of swept axis -> value or list of values, got ${describe(rule)}`,
      );
      usable = false;
      return;
    }
    const match: Record<string, unknown[]> = {};
    for (const [path, given] of Object.entries(rule)) {
      const values = swept.get(path);
      if (!values) {
        const list = [...swept.keys()].map((p) => `\`${p}\``).join(", ") || "none";
        issue(origin, `\`${path}\` is not a swept axis (swept: ${list})`, path);
        usable = false;
        continue;
      }
      const listed = Array.isArray(given) ? given : [given];
      const known = new Set(values.map((v) => canonicalize(v)));
      listed.forEach((v, i) => {
        if (known.has(canonicalize(v))) return;
        issue(
          Array.isArray(given) ? [...origin, path, i] : [...origin, path],
          `${JSON.stringify(v)} is not a value of \`${path}\` (swept: ${
            values.map((x) => JSON.stringify(x)).join(", ")
          })`,
        );
        usable = false;
      });
      match[path] = listed;
    }
    rules.push({ match, origin });
  });
  if (!usable) return undefined;
  const points = gridPoints(axes);
  rules.forEach((rule) => {
    if (!points.some((p) => excludes(rule, p.overrides))) {
      issue(
        rule.origin,
        "excludes no run (no grid point has all these values; zip groups move together)",
      );
      usable = false;
    }
  });
  if (usable && points.every((p) => rules.some((rule) => excludes(rule, p.overrides)))) {
    issue(where, "excludes every run");
    usable = false;
  }
  return usable ? rules : undefined;
}

function reportDuplicates(
  values: unknown[][],
  where: (i: number) => PathSegment[],
  issue: (path: PathSegment[], message: string) => void,
): boolean {
  const firstIndex = new Map<string, number>();
  let found = false;
  values.forEach((tuple, i) => {
    const key = canonicalize(tuple) ?? "";
    const first = firstIndex.get(key);
    if (first !== undefined) {
      issue(where(i), `duplicate value (same as [${first}]); each run would repeat`);
      found = true;
    } else firstIndex.set(key, i);
  });
  return found;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  return typeof value === "string" ? `${JSON.stringify(value)} (string)` : String(value);
}

/** Identifies a zod issue by where it is and what it says (to compare two validations). */
function issueKey(issue: { path: PropertyKey[]; code: string; message: string }): string {
  return JSON.stringify([issue.path.map(String), issue.code, issue.message]);
}
