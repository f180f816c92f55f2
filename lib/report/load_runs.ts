// Loads every run directory of one or more `runs/<experiment>/` dirs into one arquero table (one row
// per run) plus the problems met on the way. Read-only; never throws for a bad run directory.
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import { basename, dirname, join, resolve } from "node:path";
import { RUN_COLUMNS, RUN_FILES, summaryFields } from "../store/records.ts";
import type { RunColumn, RunManifest, RunStatus } from "../store/records.ts";
import { readManifest, runStatus } from "../store/run_dir.ts";
import { readDone, verifyDone } from "../store/done.ts";
import type { RunPlan } from "../sweep/plan.ts";
import { orphanReason } from "../sweep/orphans.ts";
import { RUN_ID_SCHEME } from "../sweep/effective_config.ts";
import { architectureNames } from "../sae/registry.ts";
import { readMetrics, type RunProblem } from "./read_metrics.ts";

export type { RunProblem } from "./read_metrics.ts";

/** The runs table and what it was built from. */
export interface LoadedRuns {
  /** One row per run: see `BASE_COLUMNS`, then swept axes (dotted names), then summary fields. */
  table: ColumnTable;
  /** Swept axes found in `run.json` overrides, sorted (`sae.architecture`, `sae.target_l0`, ...). */
  axes: string[];
  problems: RunProblem[];
  /** The experiment directories read, as given. */
  sources: string[];
}

/** Columns every runs table has, in order, before the swept axes (lib/store/records.ts). */
export const BASE_COLUMNS: readonly RunColumn[] = Object.keys(RUN_COLUMNS) as RunColumn[];

/**
 * Summary fields every runs table has, in order, after the swept axes: the `metric` fields of
 * `SUMMARY_FIELDS` (lib/store/records.ts). Other summary fields follow when some run has them.
 */
export const SUMMARY_COLUMNS: readonly string[] = summaryFields("metric");

type Row = Record<string, unknown>;

/**
 * Reads all run directories under each of `experimentDirs` (each a `runs/<experiment>/` dir).
 * `plans` (the expanded sweeps of the specs, when known) add a `pending` row for every planned run
 * that has no directory yet; directories outside them, or from an older run-id scheme, are left
 * out and listed as problems (lib/sweep/orphans.ts).
 */
export async function loadRuns(
  experimentDirs: string[],
  options: { plans?: RunPlan[] } = {},
): Promise<LoadedRuns> {
  const rows: Row[] = [];
  const problems: RunProblem[] = [];
  const seen = new Set<string>();
  for (const dir of experimentDirs) {
    // With a spec for this directory, a run directory outside its sweep is left out (and named).
    const ownPlans = (options.plans ?? []).filter((p) =>
      dirname(resolve(p.runDir)) === resolve(dir)
    );
    const planned = ownPlans.length ? new Set(ownPlans.map((p) => resolve(p.runDir))) : undefined;
    let entries: string[];
    try {
      entries = [];
      for await (const e of Deno.readDir(dir)) {
        if (e.isDirectory && !e.name.startsWith(".") && !e.name.startsWith("_")) {
          entries.push(e.name);
        }
      }
    } catch (err) {
      problems.push({ path: dir, message: `cannot list run directories: ${String(err)}` });
      continue;
    }
    // Without a spec, runs of an older id scheme are left out only beside current ones.
    const mixed = planned ? true : await hasCurrentScheme(dir, entries);
    for (const name of entries.sort()) {
      seen.add(resolve(dir, name));
      const orphan = mixed ? await orphanReason(join(dir, name), planned) : null;
      if (orphan) {
        problems.push({ path: join(dir, name), message: `left out: ${orphan}` });
        continue;
      }
      const row = await loadRun(join(dir, name), basename(dir), problems);
      if (row) rows.push(row);
    }
  }
  for (const plan of options.plans ?? []) {
    if (seen.has(resolve(plan.runDir))) continue;
    rows.push(baseRow({
      run_id: plan.runId,
      experiment: plan.config.experiment,
      status: "pending",
      architecture: plan.config.sae.architecture,
      seed: plan.config.train.seed,
      l0_target: plan.config.sae.target_l0,
      spec_hash: plan.specHash,
      spec_path: plan.specPath,
      run_dir: plan.runDir,
      overrides: plan.overrides,
    }));
  }
  const axes = [...new Set(rows.flatMap((r) => Object.keys(r.overrides as Row)))].sort();
  const extra = [
    ...new Set(rows.flatMap((r) => Object.keys(r.summary as Row))),
  ].filter((k) => !isKnownColumn(k, axes)).sort();
  const names = [...BASE_COLUMNS, ...axes, ...SUMMARY_COLUMNS, ...extra];
  const flat = rows.map((r) => flatten(r, names, axes));
  const columns = Object.fromEntries(names.map((n) => [n, flat.map((f) => f[n])]));
  return { table: aq.table(columns, names), axes, problems, sources: experimentDirs };
}

/** Whether any run directory among `names` records the current run-id scheme. */
async function hasCurrentScheme(dir: string, names: string[]): Promise<boolean> {
  for (const name of names) {
    if ((await readManifest(join(dir, name)))?.run_id_scheme === RUN_ID_SCHEME) return true;
  }
  return false;
}

function isKnownColumn(key: string, axes: string[]): boolean {
  return (BASE_COLUMNS as readonly string[]).includes(key) || SUMMARY_COLUMNS.includes(key) ||
    axes.includes(key);
}

function flatten(row: Row, names: string[], axes: string[]): Row {
  const overrides = row.overrides as Row;
  const summary = row.summary as Row;
  const out: Row = {};
  for (const n of names) {
    let v: unknown;
    if (axes.includes(n)) v = overrides[n];
    else if (n in summary && !["run_id", "experiment"].includes(n)) v = summary[n];
    else v = row[n];
    out[n] = scalar(v);
  }
  return out;
}

function scalar(v: unknown): unknown {
  if (v === undefined) return null;
  if (v !== null && typeof v === "object") return JSON.stringify(v);
  return v;
}

async function loadRun(dir: string, dirExperiment: string, problems: RunProblem[]) {
  const runId = basename(dir);
  const manifestPath = join(dir, RUN_FILES.manifest);
  const manifest = await readJsonObject(manifestPath, problems);
  if (manifest === "missing") {
    // A directory created for a run that has not written run.json yet.
    return baseRow({ run_id: runId, experiment: dirExperiment, status: "pending", run_dir: dir });
  }
  if (manifest === "invalid") return null;
  const m = manifest as unknown as Partial<RunManifest>;
  const summaryRead = await readJsonObject(join(dir, RUN_FILES.summary), problems);
  const summary = typeof summaryRead === "object" ? checkSummary(summaryRead, dir, problems) : null;
  let status: RunStatus;
  try {
    status = await runStatus(dir);
  } catch (err) {
    problems.push({ path: dir, message: `cannot tell the run's status: ${String(err)}` });
    status = "partial";
  }
  if (status === "damaged") {
    const done = await readDone(dir);
    const damage = done ? await verifyDone(dir, done) : [];
    problems.push({ path: dir, message: `finished run is damaged: ${damage.join("; ")}` });
  }
  if (status === "done" && summaryRead === "missing") {
    problems.push({ path: dir, message: "DONE marker present but summary.json is missing" });
  }
  const metrics = await readMetrics(dir, { live: status === "running" });
  problems.push(...metrics.problems);
  const last = metrics.lines.at(-1);
  const config = m.config;
  const error = m.error
    ? m.error.message +
      (m.error.step !== undefined && !/\bstep\b/.test(m.error.message)
        ? ` (step ${m.error.step})`
        : "")
    : (status === "failed" ? "no error message recorded" : null);
  return baseRow({
    run_id: m.run_id ?? runId,
    experiment: m.experiment ?? dirExperiment,
    status,
    architecture: config?.sae?.architecture ?? null,
    seed: config?.train?.seed ?? null,
    l0_target: config?.sae?.target_l0 ?? null,
    error,
    backend: m.backend?.used ?? null,
    backend_requested: m.backend?.requested ?? null,
    spec_hash: m.spec_hash ?? null,
    spec_path: m.spec_path ?? null,
    started_at: m.started_at ?? null,
    ended_at: m.ended_at ?? null,
    last_step: last?.step ?? null,
    elapsed_s: last?.elapsed_s ?? null,
    run_dir: dir,
    overrides: m.overrides && typeof m.overrides === "object"
      ? readOverrides(m.overrides, config?.sae?.architecture)
      : {},
    summary: summary ?? {},
  });
}

/**
 * The swept values without other architectures' options (run.json of runs planned before plans
 * kept only what they read): a TopK run planned on a row of a JumpReLU
 * recipe axis does not read sae.jumprelu.*, so that axis stays empty for it (one TopK series, not
 * one per recipe).
 */
function readOverrides(overrides: Row, architecture: unknown): Row {
  const others = new Set(architectureNames().filter((a) => a !== architecture));
  return Object.fromEntries(
    Object.entries(overrides).filter(([path]) => {
      const [section, name, ...option] = path.split(".");
      return !(section === "sae" && option.length > 0 && others.has(name));
    }),
  );
}

/** A run's row before flattening: run columns by name, its swept values and its summary. */
type RunRow = { [K in RunColumn]?: unknown } & { overrides?: Row; summary?: Row };

function baseRow(fields: RunRow): Row {
  return { overrides: {}, summary: {}, ...fields };
}

function checkSummary(value: Row, dir: string, problems: RunProblem[]): Row | null {
  const missing = ["l0", "fvu"].filter((k) => typeof value[k] !== "number");
  if (missing.length === 0) return value;
  problems.push({
    path: join(dir, RUN_FILES.summary),
    message: `expected numeric ${missing.join(" and ")}; summary ignored`,
  });
  return null;
}

async function readJsonObject(
  path: string,
  problems: RunProblem[],
): Promise<Row | "missing" | "invalid"> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return "missing";
    problems.push({ path, message: `cannot read: ${String(err)}` });
    return "invalid";
  }
  try {
    const value = JSON.parse(text);
    if (value !== null && typeof value === "object" && !Array.isArray(value)) return value;
    problems.push({ path, message: "expected a JSON object" });
  } catch (err) {
    problems.push({ path, message: `invalid JSON: ${(err as Error).message}` });
  }
  return "invalid";
}
