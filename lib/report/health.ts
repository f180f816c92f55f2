// The report's "JumpReLU health" content: per finished JumpReLU run, the held-out threshold health
// (summary.json) and the dead fraction at the end of training (last metrics.jsonl line), the
// STE-window and dead fractions over training, and the held-out firing-frequency histograms.
// Runs from before these were recorded give missing values, never errors.
import type { FiringHistogram } from "../metrics/firing_histogram.ts";
import { readMetrics } from "./read_metrics.ts";
import { architectures } from "../sae/registry.ts";

type Row = Record<string, unknown>;

/** What the report shows about JumpReLU health (null when the report has no JumpReLU run). */
export interface HealthModel {
  /** One row per finished JumpReLU run (run_id, series, l0_target, l0, seed, the fractions). */
  runs: Row[];
  /** Training points: run_id, series, tokens, ste_window_frac, dead_frac (when recorded). */
  curves: Row[];
  /** Histogram bars: run (facet label), series, x1, x2 (log10 density), frac (of latents), dead. */
  histograms: Row[];
}

/**
 * Whether runs of architecture `name` have held-out health in summary.json (its descriptor's
 * `heldOutHealth`: JumpReLU's thresholds); an architecture no longer registered has none.
 */
function hasHealth(name: string): boolean {
  return architectures().find((a) => a.name === name)?.heldOutHealth !== undefined;
}

export async function healthOf(runs: readonly Row[]): Promise<HealthModel | null> {
  const chosen = runs.filter((r) => r.status === "done" && hasHealth(String(r.architecture))).sort((
    a,
    b,
  ) =>
    String(a.series).localeCompare(String(b.series)) ||
    Number(a.l0_target) - Number(b.l0_target) || Number(a.seed) - Number(b.seed)
  );
  if (chosen.length === 0) return null;
  const rows: Row[] = [];
  const curves: Row[] = [];
  const histograms: Row[] = [];
  const hists: { hist: FiringHistogram; meta: { run: string; series: unknown } }[] = [];
  for (const run of chosen) {
    const { lines } = await readMetrics(String(run.run_dir));
    let deadEnd: number | null = null;
    let steEnd: number | null = null;
    for (const line of lines) {
      const point: Row = {
        run_id: run.run_id,
        series: run.series,
        label: `L0*=${run.l0_target} s${run.seed}`,
        tokens: line.tokens,
      };
      if (typeof line.ste_window_frac === "number") {
        point.ste_window_frac = line.ste_window_frac;
        steEnd = line.ste_window_frac;
      }
      if (typeof line.dead_frac === "number") {
        point.dead_frac = line.dead_frac;
        deadEnd = line.dead_frac;
      }
      curves.push(point);
    }
    const label = `${run.series} L0*=${run.l0_target} s${run.seed}`;
    rows.push({
      run_id: run.run_id,
      series: run.series,
      label,
      seed: run.seed,
      l0_target: run.l0_target,
      l0: run.l0,
      ste_window_frac: run.ste_window_frac ?? null,
      ste_window_frac_train: steEnd,
      dead_frac_train: deadEnd,
      dead_frac: run.dead_frac ?? null,
      thr_unreachable_frac: run.thr_unreachable_frac ?? null,
      thr_stranded_frac: run.thr_stranded_frac ?? null,
    });
    const hist = parseHistogram(run.firing_hist);
    if (hist) hists.push({ hist, meta: { run: label, series: run.series } });
  }
  // One x range for all: from the lowest non-empty bin of any run (same bins in one experiment).
  const from = Math.min(...hists.map(({ hist: h }) => h.lo + firstBin(h) * h.bin));
  for (const { hist, meta } of hists) histograms.push(...histogramBars(hist, { ...meta, from }));
  return { runs: rows, curves, histograms };
}

/** A summary's firing_hist, as the runs table holds it (a JSON string) or as an object. */
export function parseHistogram(v: unknown): FiringHistogram | null {
  let h: unknown = v;
  if (typeof v === "string") {
    try {
      h = JSON.parse(v);
    } catch {
      return null;
    }
  }
  if (h === null || typeof h !== "object") return null;
  const o = h as Partial<FiringHistogram>;
  const ok = typeof o.lo === "number" && typeof o.bin === "number" && Array.isArray(o.counts) &&
    typeof o.dead === "number";
  return ok ? o as FiringHistogram : null;
}

function firstBin(h: FiringHistogram): number {
  return Math.max(0, h.counts.findIndex((c) => c > 0));
}

/**
 * Bars of one histogram as fractions of the latents: the bins from log10 density `from` (default:
 * its first non-empty bin) to 0, and the never-firing latents as a bar one bin left of them
 * (`dead: true`).
 */
export function histogramBars(
  h: FiringHistogram,
  meta: { run: string; series: unknown; from?: number },
): Row[] {
  const total = h.dead + h.counts.reduce((s, c) => s + c, 0);
  if (total === 0) return [];
  const { from, ...labels } = meta;
  const first = from === undefined
    ? firstBin(h)
    : Math.max(0, Math.min(firstBin(h), Math.round((from - h.lo) / h.bin)));
  const left = h.lo + first * h.bin;
  const bars: Row[] = [{
    ...labels,
    x1: left - 2 * h.bin,
    x2: left - h.bin,
    frac: h.dead / total,
    dead: true,
  }];
  for (let i = first; i < h.counts.length; i++) {
    bars.push({
      ...labels,
      x1: h.lo + i * h.bin,
      x2: h.lo + (i + 1) * h.bin,
      frac: h.counts[i] / total,
      dead: false,
    });
  }
  return bars;
}
