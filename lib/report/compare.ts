// Compares series (architectures) at requested L0s: each frontier interpolated in log L0, the
// winner, and JumpReLU's relative gap to each baseline. Pure; rows in, rows out.
import { interpolateAt, measuredRange } from "./interpolate.ts";
import { metricInfo } from "./_metrics.ts";
import { FEATURED_ARCHITECTURE } from "../sae/registry.ts";

/** One series at one target L0 for one metric. */
export interface ComparisonRow {
  metric: string;
  /** group_by values shared by the series compared (`""` when report.group_by is empty). */
  panel: string;
  target_l0: number;
  series: string;
  architecture: string;
  experiment: string;
  /** Interpolated metric on the series' frontier; null outside its measured L0 range. */
  value: number | null;
  /** `""`, or why there is no value (e.g. `outside measured range (L0 7.9-31)`). */
  note: string;
  /** Best value among the series of this panel at this L0 (ties all win). */
  winner: boolean;
  /**
   * For a baseline series: JumpReLU's relative gap to it, signed so that positive means JumpReLU
   * is better: (baseline - jumprelu) / baseline for lower-is-better metrics, (jumprelu - baseline) /
   * baseline otherwise. Null for JumpReLU itself and where either value is missing.
   */
  jumprelu_gap: number | null;
}

/** The target L0s, the metric, and the frontier columns to read. */
export interface CompareOptions {
  targetL0s: number[];
  metric: string;
  /** Column of L0 on the frontier rows (default `l0_mean`). */
  x?: string;
  /** Column of the metric (default `<metric>_mean`). */
  y?: string;
  /**
   * Relative L0 distance within which a target just outside a series' measured range is read off
   * the nearest end point instead of being left empty (e.g. TopK at target 32 measured at L0
   * 31.98). 0 (the default) never does this; the note says when it happened.
   */
  snap?: number;
}

/** The end point of `points` within `snap` (relative) of `targetL0`, if any. */
function nearEnd(
  points: readonly Record<string, unknown>[],
  targetL0: number,
  options: { x: string; y: string; snap: number },
): { x: number; y: number } | null {
  const range = measuredRange(points, options);
  if (range === null) return null;
  const end = targetL0 < range[0] ? range[0] : range[1];
  if (Math.abs(end / targetL0 - 1) > options.snap) return null;
  const ys = points.filter((p) => p[options.x] === end).map((p) => p[options.y])
    .filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  return ys.length ? { x: end, y: Math.min(...ys) } : null;
}

/**
 * Comparison rows for `frontier` (rows with `series`, `panel`, `architecture`, `experiment`, x and
 * y), ordered by panel, target L0 and then series in order of first appearance.
 */
export function compareAtTargets(
  frontier: readonly Record<string, unknown>[],
  options: CompareOptions,
): ComparisonRow[] {
  const x = options.x ?? "l0_mean";
  const y = options.y ?? `${options.metric}_mean`;
  const lowerBetter = metricInfo(options.metric).better === "lower";
  const panels = [...new Set(frontier.map((r) => String(r.panel ?? "")))].sort();
  const out: ComparisonRow[] = [];
  for (const panel of panels) {
    const inPanel = frontier.filter((r) => String(r.panel ?? "") === panel);
    const series = [...new Set(inPanel.map((r) => String(r.series)))];
    for (const targetL0 of [...options.targetL0s].sort((a, b) => a - b)) {
      const rows: ComparisonRow[] = series.map((s) => {
        const points = inPanel.filter((r) => r.series === s);
        const interpolated = interpolateAt(points, targetL0, { x, y });
        const range = measuredRange(points, { x, y });
        const snapped = interpolated === null && options.snap
          ? nearEnd(points, targetL0, { x, y, snap: options.snap })
          : null;
        const value = interpolated ?? snapped?.y ?? null;
        return {
          metric: options.metric,
          panel,
          target_l0: targetL0,
          series: s,
          architecture: String(points[0].architecture),
          experiment: String(points[0].experiment),
          value,
          note: snapped
            ? `nearest run, L0 ${formatL0(snapped.x)}`
            : value !== null
            ? ""
            : range === null
            ? "no finished runs"
            : `outside measured range (L0 ${formatL0(range[0])}-${formatL0(range[1])})`,
          winner: false,
          jumprelu_gap: null,
        };
      });
      const values = rows.map((r) => r.value).filter((v): v is number => v !== null);
      const best = lowerBetter ? Math.min(...values) : Math.max(...values);
      for (const r of rows) {
        r.winner = r.value !== null && r.value === best;
        const jumps = rows.filter((o) =>
          o.architecture === FEATURED_ARCHITECTURE && o.experiment === r.experiment
        );
        // With several JumpReLU series (recipes), no single gap: the report's recipe table has them.
        const j = jumps.length === 1 ? jumps[0] : undefined;
        if (
          r.architecture === FEATURED_ARCHITECTURE || !j || j.value === null || r.value === null
        ) continue;
        if (r.value === 0) continue;
        r.jumprelu_gap = lowerBetter
          ? (r.value - j.value) / r.value
          : (j.value - r.value) / r.value;
      }
      out.push(...rows);
    }
  }
  return out;
}

function formatL0(v: number): string {
  return Number(v.toPrecision(3)).toString();
}
