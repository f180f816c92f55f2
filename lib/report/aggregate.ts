// Aggregates finished runs over seeds with arquero: one row per configuration (all swept axes but
// the seed), with n and mean / std / min / max of L0 and each metric. Pure table transform.
import * as aq from "arquero";
import { op } from "arquero";
import type { ColumnTable } from "arquero";

/** What identifies a configuration and which values to summarise. */
export interface AggregateOptions {
  /** Swept axes of the runs table (dotted columns); seed axes among them are averaged over. */
  axes: string[];
  /** Metric columns to summarise besides `l0` (e.g. `["fvu", "delta_lm_loss"]`). */
  metrics: string[];
  /** Axes that are replicates rather than configurations (default `["train.seed"]`). */
  seedAxes?: string[];
}

/**
 * Rolls up `done` runs with a numeric `l0` by experiment, architecture, target L0 and every
 * non-seed axis. Output columns: the keys, `n`, `run_ids` (comma-joined) and for `l0` and each
 * metric `<m>_mean`, `<m>_std` (sample, null when n = 1), `<m>_min`, `<m>_max`.
 */
export function aggregateSeeds(runs: ColumnTable, options: AggregateOptions): ColumnTable {
  const seedAxes = options.seedAxes ?? ["train.seed"];
  const keys = [
    "experiment",
    "architecture",
    "l0_target",
    ...options.axes.filter((a) => !seedAxes.includes(a) && a !== "sae.architecture"),
  ];
  const values = ["l0", ...options.metrics.filter((m) => m !== "l0")];
  const rollups: Record<string, unknown> = { n: op.count(), run_ids: op.array_agg("run_id") };
  for (const m of values) {
    rollups[`${m}_mean`] = op.mean(m);
    rollups[`${m}_std`] = op.stdev(m);
    rollups[`${m}_min`] = op.min(m);
    rollups[`${m}_max`] = op.max(m);
  }
  const present = new Set(runs.columnNames());
  const missing = values.filter((m) => !present.has(m));
  const filled = missing.length === 0
    ? runs
    : runs.derive(Object.fromEntries(missing.map((m) => [m, () => null])));
  return filled
    .params({ done: "done" })
    .filter((d: Record<string, unknown>, $: Record<string, unknown>) =>
      d.status === $.done && op.is_finite(d.l0 as number)
    )
    .groupby(keys)
    .rollup(rollups as Parameters<ColumnTable["rollup"]>[0])
    .derive({ run_ids: aq.escape((d: { run_ids: string[] }) => d.run_ids.join(", ")) })
    .orderby(keys)
    .derive(Object.fromEntries(values.map((m) => [`${m}_std`, nullIfNotFinite(`${m}_std`)])));
}

function nullIfNotFinite(column: string) {
  return aq.escape((d: Record<string, unknown>) => {
    const v = d[column];
    return typeof v === "number" && Number.isFinite(v) ? v : null;
  });
}
