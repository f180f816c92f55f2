// Loads an experiment spec: YAML -> located data -> zod validation -> sweep checks -> cross-field
// checks on every expanded run. Every problem is collected into one SpecError.
import { resolve } from "node:path";
import { z } from "zod";
import type { SpecIssue } from "../errors.ts";
import { SpecError, UsageError } from "../errors.ts";
import { type ExcludeRule, gridPoints, gridSize, type SweepAxis } from "./grid.ts";
import { RECIPE_AXIS, resolveRunConfig } from "./resolve.ts";
import { crossFieldProblems } from "./cross_checks.ts";
import { experimentSchema, type ExperimentSpec, type RunConfig } from "./schema.ts";
import { canonicalHash } from "./spec_hash.ts";
import { readSweepAxes } from "./sweep_axes.ts";
import { recipeIssues } from "./recipes.ts";
import { formatPath, parseYamlSource, type PathSegment, type YamlSource } from "./yaml_source.ts";
import { specIssuesFromZod } from "./zod_issues.ts";

/** Runs a spec may expand to unless `maxRuns` (`--max-runs`) raises the limit. */
export const DEFAULT_MAX_RUNS = 256;

/**
 * Most runs a spec may expand to even with --max-runs: listing a sweep holds every resolved
 * config in memory (a million runs: gigabytes, minutes before --dry-run prints anything).
 */
export const HARD_MAX_RUNS = 100_000;

/**
 * Longest experiment name: it names the directories runs/<name>/ and reports/<name>/, and file
 * systems refuse names over 255 bytes (ext4, APFS, NTFS).
 */
export const MAX_NAME_LENGTH = 128;

/** A validated spec with its sweep axes; the input of `expandSweep`. */
export interface LoadedExperiment {
  /** Validated spec with defaults applied. */
  spec: ExperimentSpec;
  /** Path as given by the caller. */
  specPath: string;
  /** Absolute directory of the spec (relative data paths resolve against it). */
  specDir: string;
  /** sha256 (hex, first 16 chars) of the canonical JSON of `spec`. */
  specHash: string;
  /** Sweep axes in spec order (zip groups are one axis each). */
  axes: SweepAxis[];
  /** `sweep.exclude` rules: grid points they match are not runs (absent: none). */
  exclude?: ExcludeRule[];
  /** Each grid point's resolved config, in grid order (absent: expandSweep resolves them). */
  configs?: readonly RunConfig[];
}

export interface ParsedExperiment {
  spec: ExperimentSpec;
  axes: SweepAxis[];
  exclude: ExcludeRule[];
  /**
   * The resolved config of every grid point, in grid order (gridPoints): resolved once here, for
   * the cross-field checks, and read by expandSweep instead of resolving again.
   */
  configs: RunConfig[];
}

/**
 * Parses and validates spec text. Pure. Throws one SpecError listing every problem found, each
 * as `fileName:line:col: path: message`.
 *
 * @example Every problem at once, located in the file
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseExperiment, SpecError } from "@saesweep/saesweep";
 *
 * const { axes } = parseExperiment(
 *   "name: demo\ndata: { source: synthetic }\nsweep:\n  sae.architecture: [jumprelu, topk]\n  sae.target_l0: [8, 16]\n",
 *   "demo.yaml",
 * );
 * assert.deepEqual(axes.map((a) => a.paths), [["sae.architecture"], ["sae.target_l0"]]);
 *
 * const text = "name: demo\ndata: { source: synthetic }\nsae:\n  bandwith: 0.1\ntrain:\n  tokens: many\n";
 * assert.throws(() => parseExperiment(text, "demo.yaml"), (err) => {
 *   assert.ok(err instanceof SpecError);
 *   assert.match(err.message, /demo\.yaml:4:3: sae\.bandwith: unknown key/);
 *   assert.match(err.message, /demo\.yaml:6:11: train\.tokens: expected/);
 *   return true;
 * });
 * ```
 */
export function parseExperiment(
  text: string,
  fileName: string,
  options: { maxRuns?: number } = {},
): ParsedExperiment {
  const maxRuns = options.maxRuns ?? DEFAULT_MAX_RUNS;
  const { source, issues } = parseYamlSource(text, fileName);
  if (issues.length > 0 && source.data === undefined) throw new SpecError(issues);
  const raw = source.data;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new SpecError([...issues, {
      file: fileName,
      ...source.locate([]),
      path: "",
      message: "expected a map of spec sections (name, data, sae, train, ...) at the top level",
    }]);
  }
  const result = experimentSchema().safeParse(raw);
  let configs: RunConfig[] = [];
  if (!result.success) {
    issues.push(
      ...specIssuesFromZod(result.error.issues, { source, schema: experimentSchema(), data: raw }),
    );
  }
  const { axes, exclude, issues: sweepIssues } = readSweepAxes(raw, source);
  issues.push(...sweepIssues);
  const swept = axes.flatMap((a) => a.paths).filter((p) => p !== RECIPE_AXIS);
  const badRecipes = recipeIssues(raw, source, { swept });
  issues.push(...badRecipes);
  if (result.success) {
    if (result.data.name.length > MAX_NAME_LENGTH) {
      issues.push({
        file: fileName,
        ...source.locate(["name"]),
        path: "name",
        message: `is ${result.data.name.length} characters long; at most ${MAX_NAME_LENGTH} ` +
          "(it names the runs/ and reports/ directories)",
      });
    }
    issues.push(...checkReport(result.data, axes, source));
    const size = gridSize(axes);
    const count = exclude.length === 0 || size > HARD_MAX_RUNS
      ? size
      : gridPoints(axes, exclude).length;
    const excluded = size === count ? "" : `, less ${size - count} excluded`;
    if (count > HARD_MAX_RUNS) {
      issues.push({
        file: fileName,
        ...source.locateKey([], "sweep"),
        path: "sweep",
        message: `expands to ${count} runs (${axes.map((a) => a.values.length).join(" x ")}), ` +
          `more than saesweep can list or train (at most ${HARD_MAX_RUNS}); shorten the axes ` +
          "or split the spec",
      });
    } else if (count > maxRuns) {
      issues.push({
        file: fileName,
        ...source.locateKey([], "sweep"),
        path: "sweep",
        message: `expands to ${count} runs (${axes.map((a) => a.values.length).join(" x ")}` +
          `${excluded}), more than the limit of ${maxRuns}; pass --max-runs ${count} if you mean it`,
      });
    } else if (sweepIssues.length === 0 && badRecipes.length === 0) {
      const checked = checkRuns(result.data, axes, exclude, source);
      issues.push(...checked.issues);
      configs = checked.configs;
    }
  }
  if (issues.length > 0) throw new SpecError(sortIssues(issues));
  return { spec: result.data as ExperimentSpec, axes, exclude, configs };
}

/**
 * Reads, parses and validates the spec file at `path`.
 *
 * @example A spec file expanded into its runs (no training)
 * ```ts
 * import assert from "node:assert/strict";
 * import { expandSweep, loadExperiment } from "@saesweep/saesweep";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(
 *   `${dir}/demo.yaml`,
 *   "name: demo\ndata: { source: synthetic }\nsweep:\n  sae.architecture: [jumprelu, topk]\n  sae.target_l0: [8, 16]\n",
 * );
 * const plans = expandSweep(await loadExperiment(`${dir}/demo.yaml`), { outDir: `${dir}/runs` });
 * // Slugs of the swept values plus a hash of everything the run reads.
 * assert.deepEqual(plans.map((p) => p.runId.replace(/-[0-9a-f]{8}$/, "")), [
 *   "jumprelu-l0_8",
 *   "jumprelu-l0_16",
 *   "topk-l0_8",
 *   "topk-l0_16",
 * ]);
 * assert.equal(plans[3].config.sae.target_l0, 16);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadExperiment(
  path: string,
  options: { maxRuns?: number } = {},
): Promise<LoadedExperiment> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound
      ? "no such file"
      : err instanceof Deno.errors.IsADirectory
      ? "is a directory"
      : err instanceof Error
      ? err.message
      : String(err);
    throw new UsageError(`cannot read spec ${path}: ${why}`, {
      hint: "pass the path of an experiment YAML file, e.g. experiments/quickstart.yaml",
      cause: err,
    });
  }
  const { spec, axes, exclude, configs } = parseExperiment(text, path, options);
  const specDir = resolve(path, "..");
  // Where runs execute does not change what they compute: the executor section is not hashed.
  const { executor: _executor, ...computed } = spec;
  return {
    spec,
    specPath: path,
    specDir,
    specHash: canonicalHash(computed, 16),
    axes,
    exclude,
    configs,
  };
}

function checkReport(spec: ExperimentSpec, axes: SweepAxis[], source: YamlSource): SpecIssue[] {
  const swept = axes.flatMap((a) => a.paths);
  const issues: SpecIssue[] = [];
  spec.report.group_by.forEach((path, i) => {
    if (!swept.includes(path)) {
      const where: PathSegment[] = ["report", "group_by", i];
      const list = swept.length ? swept.map((p) => `\`${p}\``).join(", ") : "none";
      issues.push({
        file: source.fileName,
        ...source.locate(where),
        path: formatPath(where),
        message: `\`${path}\` is not a swept axis (swept: ${list})`,
      });
    }
  });
  return issues;
}

/**
 * Cross-field checks on every grid point's resolved config, located at the sweep value that caused
 * them; returns the configs too (grid order), so that nothing resolves a point twice.
 */
function checkRuns(
  spec: ExperimentSpec,
  axes: SweepAxis[],
  exclude: ExcludeRule[],
  source: YamlSource,
): { issues: SpecIssue[]; configs: RunConfig[] } {
  const issues: SpecIssue[] = [];
  const configs: RunConfig[] = [];
  const seen = new Set<string>();
  for (const point of gridPoints(axes, exclude)) {
    let config;
    try {
      config = resolveRunConfig(spec, point.overrides);
      configs.push(config);
    } catch (err) {
      if (!(err instanceof z.ZodError)) throw err;
      // Each value passed on its own; this combination of values does not.
      const where = axes.length ? [...axes[0].origins[0], point.indices[0]] : ["sweep"];
      const values = Object.entries(point.overrides).map(([p, v]) => `${p}: ${JSON.stringify(v)}`);
      const problems = err.issues.map((zi) => `${zi.path.map(String).join(".")}: ${zi.message}`);
      const issue = {
        file: source.fileName,
        ...source.locate(where),
        path: formatPath(where),
        message: `the run with ${values.join(", ")} is invalid: ${problems.join("; ")}`,
      };
      if (!seen.has(issue.message)) {
        seen.add(issue.message);
        issues.push(issue);
      }
      continue;
    }
    for (const problem of crossFieldProblems(config)) {
      const where = locateProblem(problem.paths, axes, point.indices, { source, spec });
      const issue = {
        file: source.fileName,
        ...source.locate(where),
        path: formatPath(where),
        message: problem.message,
      };
      const key = `${issue.line}:${issue.col}:${issue.message}`;
      if (!seen.has(key)) {
        seen.add(key);
        issues.push(issue);
      }
    }
  }
  return { issues, configs };
}

function locateProblem(
  paths: string[],
  axes: SweepAxis[],
  indices: number[],
  options: { source: YamlSource; spec: ExperimentSpec },
): PathSegment[] {
  const { source, spec } = options;
  for (const path of paths) {
    for (let a = 0; a < axes.length; a++) {
      const j = axes[a].paths.indexOf(path);
      if (j >= 0) return [...axes[a].origins[j], indices[a]];
      // A value set by this run's recipe: at the recipe's line.
      const recipe = axes[a].paths[0] === RECIPE_AXIS ? String(axes[a].values[indices[a]][0]) : "";
      if (recipe && path in (spec.recipes?.[recipe] ?? {})) return ["recipes", recipe, path];
    }
  }
  for (const path of paths) {
    const segments = path.split(".");
    const pos = source.locate(segments);
    const parentPos = source.locate(segments.slice(0, -1));
    if (pos.line !== parentPos.line || pos.col !== parentPos.col) return segments;
  }
  return paths[0].split(".");
}

function sortIssues(issues: SpecIssue[]): SpecIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.col - b.col);
}
