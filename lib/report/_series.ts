// Names the series (one frontier line: architecture plus group_by values, plus experiment when
// several are compared) and panels (group_by values) that rows belong to. Private to reports.
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import { architectureNames } from "../sae/registry.ts";
import { RECIPE_AXIS } from "../spec/resolve.ts";

/** How rows map to series and panels. */
export interface SeriesOptions {
  /** Extra swept axes (dotted columns) that split frontiers, from `report.group_by`. */
  groupBy: string[];
  /** Swept axes that split series within a panel (`report.series_by`); absent values are left out. */
  seriesBy?: string[];
  /** Prefix series with the experiment name (when a report covers several experiments). */
  withExperiment: boolean;
}

/**
 * Series label of a row, e.g. `jumprelu`, `toy/topk`, `jumprelu penalty=tanh`, `jumprelu gdm`,
 * `jumprelu sae.width=512` (series_by values by their last path segment, a recipe by its name,
 * group_by values in full).
 */
export function seriesOf(row: Record<string, unknown>, options: SeriesOptions): string {
  const arch = String(row.architecture ?? "unknown");
  const head = options.withExperiment ? `${row.experiment}/${arch}` : arch;
  const split = (options.seriesBy ?? []).filter((k) => row[k] !== undefined && row[k] !== null)
    .map((k) => k === RECIPE_AXIS ? String(row[k]) : `${k.split(".").at(-1)}=${row[k]}`);
  const rest = options.groupBy.map((k) => `${k}=${row[k] ?? "-"}`);
  return [head, ...split, ...rest].join(" ");
}

/** Panel label of a row: its group_by values (`""` when there are none). */
export function panelOf(row: Record<string, unknown>, options: SeriesOptions): string {
  return options.groupBy.map((k) => `${k}=${row[k] ?? "-"}`).join(" ");
}

/** Adds `series` and `panel` columns to a table. */
export function withSeries(table: ColumnTable, options: SeriesOptions): ColumnTable {
  return table.derive({
    series: aq.escape((d: Record<string, unknown>) => seriesOf(d, options)),
    panel: aq.escape((d: Record<string, unknown>) => panelOf(d, options)),
  });
}

/** Sorts series labels by architecture (registry order), then by label. */
export function sortSeries(labels: Iterable<string>, archOf: (label: string) => string): string[] {
  const rank = (a: string) => {
    const names = architectureNames();
    const i = names.indexOf(a);
    return i < 0 ? names.length : i;
  };
  return [...new Set(labels)].sort((a, b) =>
    rank(archOf(a)) - rank(archOf(b)) || (a < b ? -1 : a > b ? 1 : 0)
  );
}
