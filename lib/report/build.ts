// Builds the content of a report from loaded runs: series, seed aggregates, frontiers, comparison,
// L0 accuracy, status counts and compute time. Reads metrics.jsonl for training curves; no output.
import type { LoadedRuns, RunProblem } from "./load_runs.ts";
import type { RunStatus } from "../store/records.ts";
import { aggregateSeeds } from "./aggregate.ts";
import { paretoFrontier } from "./pareto.ts";
import { compareAtTargets } from "./compare.ts";
import type { ComparisonRow } from "./compare.ts";
import { l0Accuracy } from "./l0_misses.ts";
import type { L0Accuracy } from "./l0_misses.ts";
import { readMetrics } from "./read_metrics.ts";
import { seriesColors } from "./plots.ts";
import type { SeriesColors } from "./plots.ts";
import { sortSeries, withSeries } from "./_series.ts";
import { EXPLORE_METRICS, metricInfo } from "./_metrics.ts";
import { type HealthModel, healthOf } from "./health.ts";

type Row = Record<string, unknown>;

/** The `report` section of a spec (or its defaults) as the report uses it. */
export interface ReportSettings {
  /** L0s to compare at; empty: the distinct target L0s of the runs. */
  targetL0s: number[];
  /** Fidelity metrics; delta_lm_loss is added when runs report it. */
  metrics: string[];
  l0Tolerance: number;
  groupBy: string[];
  /** Axes that split series within a panel (report.series_by). */
  seriesBy?: string[];
}

/** Where the report's inputs came from, for the record. */
export interface ReportProvenance {
  /** Data sources as shown to the reader (runs directories, spec paths). */
  sources: string[];
  /** Hashes of the specs given on the command line (runs' own hashes are added). */
  specHashes?: string[];
  description?: string;
  /** ISO timestamp shown as the generation time (fix it for reproducible output). */
  generatedAt?: string;
}

/** Everything a renderer needs. */
export interface ReportModel {
  title: string;
  experiments: string[];
  description: string;
  sources: string[];
  specHashes: string[];
  backends: string[];
  generatedAt: string;
  settings: ReportSettings;
  /** Every run (all statuses) with `series` and `panel` columns. */
  runs: Row[];
  counts: { status: RunStatus; n: number }[];
  series: string[];
  colors: SeriesColors;
  /** Seed aggregates of finished runs, with `series` and `panel`. */
  aggregated: Row[];
  /** Frontier rows (from `aggregated`) per metric. */
  frontiers: Record<string, Row[]>;
  comparison: ComparisonRow[];
  l0: L0Accuracy[];
  /** Training curve points of the runs on the first metric's frontier. */
  curves: Row[];
  problems: RunProblem[];
  compute: { doneRuns: number; doneSeconds: number; otherRuns: number; otherSeconds: number };
  /** Plain statements about what the report could not do (e.g. a metric no run reports). */
  notes: string[];
  /** JumpReLU health (threshold STE window, dead latents, firing frequencies); null without. */
  health: HealthModel | null;
  /** What the interactive explorer switches between: every metric runs report. */
  explore: ExploreModel;
}

/** Frontiers and winners of every metric the explorer offers (EXPLORE_METRICS plus the spec's). */
export interface ExploreModel {
  metrics: string[];
  /** Frontier rows (seed means per series) per metric, as `frontiers`. */
  frontiers: Record<string, Row[]>;
  comparison: ComparisonRow[];
}

export const STATUS_ORDER: RunStatus[] = ["done", "failed", "running", "partial", "pending"];

/** Builds the report model; `settings` usually come from the spec's `report` section. */
export async function buildReport(
  loaded: LoadedRuns,
  options: { settings: ReportSettings; provenance: ReportProvenance },
): Promise<ReportModel> {
  const { settings: given, provenance } = options;
  const notes: string[] = [];
  const experiments = [...new Set(loaded.table.array("experiment") as string[])].sort();
  const missingAxes = given.groupBy.filter((a) => !loaded.axes.includes(a));
  for (const a of missingAxes) notes.push(`report.group_by names ${a}, which no run sweeps`);
  const groupBy = given.groupBy.filter((a) => loaded.axes.includes(a));
  for (const a of (given.seriesBy ?? []).filter((a) => !loaded.axes.includes(a))) {
    notes.push(`report.series_by names ${a}, which no run sweeps`);
  }
  const seriesBy = (given.seriesBy ?? []).filter((a) => loaded.axes.includes(a));
  const seriesOptions = { groupBy, seriesBy, withExperiment: experiments.length > 1 };
  const table = withSeries(loaded.table, seriesOptions);
  const runs = table.objects() as Row[];
  const done = runs.filter((r) => r.status === "done");

  const metrics = given.metrics.filter((m) => {
    const ok = done.some((r) => typeof r[m] === "number");
    if (!ok && done.length > 0) {
      notes.push(`${m}: no finished run reports it, so it is not plotted`);
    }
    return ok;
  });
  if (!metrics.includes("delta_lm_loss") && done.some((r) => typeof r.delta_lm_loss === "number")) {
    metrics.push("delta_lm_loss");
  }
  const targetL0s = given.targetL0s.length > 0
    ? [...given.targetL0s]
    : [...new Set(done.map((r) => r.l0_target).filter((v): v is number => typeof v === "number"))];
  targetL0s.sort((a, b) => a - b);
  const settings = { ...given, metrics, targetL0s, groupBy, seriesBy };

  const compared = (metrics: string[]) => {
    const aggregated = withSeries(
      aggregateSeeds(table, { axes: loaded.axes, metrics }),
      seriesOptions,
    ).objects() as Row[];
    const frontiers: Record<string, Row[]> = {};
    const comparison: ComparisonRow[] = [];
    for (const m of metrics) {
      frontiers[m] = paretoFrontier(aggregated, {
        x: "l0_mean",
        y: `${m}_mean`,
        groupBy: "series",
        yOrder: metricInfo(m).better === "lower" ? "min" : "max",
      });
      comparison.push(
        ...compareAtTargets(frontiers[m], {
          targetL0s,
          metric: m,
          snap: settings.l0Tolerance,
        }),
      );
    }
    return { aggregated, frontiers, comparison };
  };
  const { aggregated, frontiers, comparison } = compared(metrics);
  const exploreMetrics = [...new Set([...metrics, ...EXPLORE_METRICS])].filter((m) =>
    done.some((r) => typeof r[m] === "number" && Number.isFinite(r[m]))
  );
  const explore = { metrics: exploreMetrics, ...compared(exploreMetrics) };
  const series = sortSeries(
    runs.map((r) => String(r.series)),
    (label) => label.split(" ")[0].split("/").at(-1)!,
  );
  const seconds = (rows: Row[], key: string) =>
    rows.reduce((s, r) => s + (typeof r[key] === "number" ? r[key] as number : 0), 0);
  const others = runs.filter((r) => r.status !== "done");
  const hashes = new Set(provenance.specHashes ?? []);
  for (const r of runs) if (typeof r.spec_hash === "string") hashes.add(r.spec_hash);
  return {
    title: experiments.join(" + ") || "no runs",
    experiments,
    description: provenance.description ?? "",
    sources: provenance.sources,
    specHashes: [...hashes].sort(),
    backends: [...new Set(runs.map((r) => r.backend).filter((b): b is string => !!b))].sort(),
    generatedAt: provenance.generatedAt ?? new Date().toISOString(),
    settings,
    runs,
    // Damaged finished runs (files missing or changed since DONE) are counted only when present.
    counts: [...STATUS_ORDER, "damaged" as const].map((status) => ({
      status,
      n: runs.filter((r) => r.status === status).length,
    })).filter(({ status, n }) => status !== "damaged" || n > 0),
    series,
    colors: seriesColors(series),
    aggregated,
    frontiers,
    comparison,
    l0: l0Accuracy(done, { tolerance: settings.l0Tolerance }),
    curves: metrics.length > 0 ? await curvesOf(frontiers[metrics[0]], runs) : [],
    problems: loaded.problems,
    compute: {
      doneRuns: done.length,
      doneSeconds: seconds(done, "train_seconds"),
      otherRuns: others.filter((r) => typeof r.elapsed_s === "number").length,
      otherSeconds: seconds(others, "elapsed_s"),
    },
    notes,
    health: await healthOf(runs),
    explore: {
      metrics: explore.metrics,
      frontiers: explore.frontiers,
      comparison: explore.comparison,
    },
  };
}

async function curvesOf(frontier: Row[], runs: Row[]): Promise<Row[]> {
  const ids = new Set(frontier.flatMap((r) => String(r.run_ids).split(", ")));
  const points: Row[] = [];
  for (const run of runs.filter((r) => ids.has(String(r.run_id)))) {
    const { lines } = await readMetrics(String(run.run_dir));
    for (const line of lines) {
      points.push({
        run_id: run.run_id,
        series: run.series,
        step: line.step,
        loss: line.loss,
        l0: line.l0,
      });
    }
  }
  return points;
}
