// SVG plots of a report, drawn with @observablehq/plot on a linkedom document (no browser needed).
// Each function returns a standalone SVG string; embedding and PNG conversion are left to others.
import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";
import { metricInfo } from "./_metrics.ts";

type Row = Record<string, unknown>;

/** Colour of each series, shared by all plots of a report. */
export interface SeriesColors {
  domain: string[];
  range: string[];
}

const PALETTE = [
  "#4e79a7",
  "#e15759",
  "#59a14f",
  "#f28e2b",
  "#b07aa1",
  "#76b7b2",
  "#edc948",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
];
const WIDTH = 720;
const HEIGHT = 400;

/** Assigns palette colours to series labels in the given order. */
export function seriesColors(series: string[]): SeriesColors {
  return { domain: series, range: series.map((_, i) => PALETTE[i % PALETTE.length]) };
}

/**
 * Fidelity vs L0 (log x): every run as a dot, each series' frontier as a line through its
 * seed-mean points (with min-max rules when seeds differ), a direct label at the frontier's end,
 * and dashed rules at the target L0s.
 */
export function fidelityPlot(
  runs: readonly Row[],
  frontier: readonly Row[],
  options: { metric: string; colors: SeriesColors; targets?: number[] },
): string {
  const m = options.metric;
  const dots = runs.filter((r) => positive(r.l0) && finite(r[m]));
  const spread = frontier.filter((r) => Number(r.n) > 1);
  return render({
    x: { type: "log", label: "L0 (active latents per token) →" },
    y: { grid: true, label: `↑ ${metricInfo(m).label}` },
    marks: [
      Plot.ruleX(options.targets ?? [], { stroke: "#bbb", strokeDasharray: "4,3" }),
      Plot.ruleX(spread, { x: "l0_mean", y1: `${m}_min`, y2: `${m}_max`, stroke: "series" }),
      Plot.line(frontier, { x: "l0_mean", y: `${m}_mean`, z: "series", stroke: "series" }),
      Plot.dot(dots, { x: "l0", y: m, stroke: "series", r: 3.5 }),
      Plot.text(
        frontier,
        Plot.selectLast({
          x: "l0_mean",
          y: `${m}_mean`,
          z: "series",
          text: "series",
          fill: "series",
          dx: 8,
          textAnchor: "start",
        }),
      ),
    ],
  }, options.colors);
}

/** Achieved vs target L0 (log-log), one dot per run, with y = x and the tolerance band dashed. */
export function achievedPlot(
  runs: readonly Row[],
  options: { colors: SeriesColors; tolerance: number },
): string {
  const dots = runs.filter((r) => positive(r.l0) && positive(r.l0_target));
  const all = dots.flatMap((r) => [Number(r.l0), Number(r.l0_target)]);
  const lo = Math.min(...all) / 1.2;
  const hi = Math.max(...all) * 1.2;
  const diag = (k: number) => [{ x: lo, y: lo * k }, { x: hi, y: hi * k }];
  return render({
    x: { type: "log", label: "target L0 →" },
    y: { type: "log", grid: true, label: "↑ achieved L0" },
    marks: [
      Plot.line(diag(1), { x: "x", y: "y", stroke: "#888" }),
      Plot.line(diag(1 + options.tolerance), {
        x: "x",
        y: "y",
        stroke: "#bbb",
        strokeDasharray: "4,3",
      }),
      Plot.line(diag(1 - options.tolerance), {
        x: "x",
        y: "y",
        stroke: "#bbb",
        strokeDasharray: "4,3",
      }),
      Plot.dot(dots, { x: "l0_target", y: "l0", stroke: "series", r: 3.5 }),
    ],
  }, options.colors);
}

/** A latent fraction (`dead_frac` or `dense_frac`) vs L0 (log x), one dot per run. */
export function fractionPlot(
  runs: readonly Row[],
  options: { column: string; label: string; colors: SeriesColors },
): string {
  const dots = runs.filter((r) => positive(r.l0) && finite(r[options.column]));
  return render({
    x: { type: "log", label: "L0 (active latents per token) →" },
    y: { grid: true, label: `↑ ${options.label}`, domain: [0, maxOf(dots, options.column, 0.05)] },
    marks: [Plot.dot(dots, { x: "l0", y: options.column, stroke: "series", r: 3.5 })],
  }, options.colors);
}

/**
 * A training curve (`loss` or `l0` vs step, or `x` given), one line per run (rows: run_id,
 * series, step or x, y).
 */
export function trainingCurvePlot(
  points: readonly Row[],
  options: {
    y: string;
    label: string;
    colors: SeriesColors;
    x?: string;
    linearY?: boolean;
    /** Column that labels each line's end (default `series`). */
    text?: string;
    /** y values are fractions: ticks as percentages. */
    percent?: boolean;
  },
): string {
  const x = options.x ?? "step";
  const usable = points.filter((p) => finite(p[x]) && finite(p[options.y]));
  const logY = !options.linearY && usable.length > 0 &&
    usable.every((p) => Number(p[options.y]) > 0);
  return render({
    x: { label: `${x} →` },
    y: {
      type: logY ? "log" : "linear",
      grid: true,
      label: `↑ ${options.label}`,
      tickFormat: options.percent ? ".2~%" : logY ? "~g" : undefined,
    },
    marginLeft: options.percent ? 60 : undefined,
    marks: [
      Plot.line(usable, { x, y: options.y, z: "run_id", stroke: "series" }),
      Plot.text(
        usable,
        Plot.selectLast({
          x,
          y: options.y,
          z: "run_id",
          text: options.text ?? "series",
          fill: "series",
          dx: 8,
          textAnchor: "start",
        }),
      ),
    ],
  }, options.colors);
}

/**
 * Firing-frequency histograms, one panel per run (rows: run, series, x1, x2, frac, dead): bars of
 * the fraction of latents per log10-density bin, never-firing latents as a grey bar on the left.
 */
export function firingHistogramPlot(
  bars: readonly Row[],
  options: { colors: SeriesColors },
): string {
  const runs = [...new Set(bars.map((b) => String(b.run)))];
  const fired = bars.filter((b) => !b.dead);
  const dead = bars.filter((b) => b.dead);
  return render({
    height: 50 + 90 * runs.length,
    marginLeft: 50,
    x: { label: "log10 firing frequency on held-out tokens (grey: never fires) →" },
    y: { grid: true, label: "↑ latents", tickFormat: "%", ticks: 2 },
    fy: { label: null, domain: runs },
    marks: [
      Plot.rectY(fired, { x1: "x1", x2: "x2", y: "frac", fy: "run", fill: "series", inset: 0.5 }),
      Plot.rectY(dead, { x1: "x1", x2: "x2", y: "frac", fy: "run", fill: "#999", inset: 0.5 }),
      Plot.ruleY([0]),
    ],
  }, options.colors);
}

function render(spec: Plot.PlotOptions, colors: SeriesColors): string {
  // linkedom's window is typed against the DOM lib, which Deno does not load: take its document.
  const { document } = parseHTML("<!doctype html><html><body></body></html>") as unknown as {
    document: NonNullable<Plot.PlotOptions["document"]>;
  };
  const el = Plot.plot({
    ...spec,
    width: WIDTH,
    height: spec.height ?? HEIGHT,
    marginRight: 150,
    style: { background: "white" },
    color: { domain: colors.domain, range: colors.range },
    document,
  });
  el.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  return el.outerHTML;
}

function finite(v: unknown): boolean {
  return typeof v === "number" && Number.isFinite(v);
}

function positive(v: unknown): boolean {
  return finite(v) && (v as number) > 0;
}

function maxOf(rows: readonly Row[], column: string, floor: number): number {
  return Math.max(floor, ...rows.map((r) => Number(r[column]))) * 1.05;
}
