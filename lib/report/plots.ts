// SVG plots of a report, drawn with @observablehq/plot on a linkedom document (no browser needed).
// Each function returns a standalone SVG string; embedding and PNG conversion are left to others.
import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";
import { metricInfo } from "./_metrics.ts";
import { runPageHref } from "./_paths.ts";

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
const WIDTH = 960;
const HEIGHT = 420;
/** Right margin: room for the end-of-line labels. */
const MARGIN_RIGHT = 190;
/** Smallest vertical distance between two end labels, in pixels (10px text). */
const LABEL_GAP = 13;

/** Assigns palette colours to series labels in the given order. */
export function seriesColors(series: string[]): SeriesColors {
  return { domain: series, range: series.map((_, i) => PALETTE[i % PALETTE.length]) };
}

/**
 * Fidelity vs L0 (log x): every run as a dot (linked to its run page, with a native tooltip), each
 * series' frontier as a line through its seed-mean points (with min-max rules when seeds differ),
 * its label in a column right of the plot, spread apart so that labels never overlap, with a
 * dotted leader from the frontier's end, and dashed rules at the target L0s.
 */
export function fidelityPlot(
  runs: readonly Row[],
  frontier: readonly Row[],
  options: { metric: string; colors: SeriesColors; targetL0s?: number[] },
): string {
  const m = options.metric;
  const dots = runs.filter((r) => positive(r.l0) && finite(r[m]));
  const spread = frontier.filter((r) => Number(r.n) > 1);
  return render(
    {
      x: { type: "log", label: "L0 (active latents per token) →" },
      y: { grid: true, label: `↑ ${metricInfo(m).label}` },
      marks: [
        Plot.ruleX(options.targetL0s ?? [], { stroke: "#bbb", strokeDasharray: "4,3" }),
        Plot.ruleX(spread, { x: "l0_mean", y1: `${m}_min`, y2: `${m}_max`, stroke: "series" }),
        Plot.line(frontier, { x: "l0_mean", y: `${m}_mean`, z: "series", stroke: "series" }),
        Plot.dot(dots, {
          x: "l0",
          y: m,
          stroke: "series",
          r: 3.5,
          href: (d: Row) => runPageHref(d.run_id),
          title: (d: Row) =>
            `${d.run_id}\n${d.series}\ntarget L0 ${d.l0_target}, L0 ${
              Number(d.l0).toPrecision(3)
            }\n` +
            `${metricInfo(m).label} ${Number(d[m]).toPrecision(3)}`,
        }),
      ],
    },
    options.colors,
    { endLabels: lastPoints(frontier, "l0_mean", `${m}_mean`) },
  );
}

/** The last point (largest x) of each series, as an end label. */
function lastPoints(rows: readonly Row[], x: string, y: string): EndLabel[] {
  const last = new Map<string, Row>();
  for (const r of rows) {
    if (!finite(r[x]) || !finite(r[y])) continue;
    const s = String(r.series);
    const seen = last.get(s);
    if (!seen || Number(r[x]) >= Number(seen[x])) last.set(s, r);
  }
  return [...last].map(([series, r]) => ({ series, x: Number(r[x]), y: Number(r[y]) }));
}

/**
 * Training L0 or lambda of one run against step, with the target L0 as a dashed rule (the run
 * page's L0 controller trace).
 */
export function controllerPlot(
  points: readonly Row[],
  options: { y: string; label: string; colors: SeriesColors; targetL0?: number; logY?: boolean },
): string {
  const usable = points.filter((p) =>
    finite(p.step) && finite(p[options.y]) && (!options.logY || Number(p[options.y]) > 0)
  );
  return render({
    height: 300,
    x: { label: "step →" },
    y: { type: options.logY ? "log" : "linear", grid: true, label: `↑ ${options.label}` },
    marks: [
      ...(options.targetL0 !== undefined
        ? [Plot.ruleY([options.targetL0], { stroke: "#888", strokeDasharray: "4,3" })]
        : []),
      Plot.line(usable, { x: "step", y: options.y, z: "run_id", stroke: "series" }),
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
  return render(
    {
      x: { label: `${x} →` },
      y: {
        type: logY ? "log" : "linear",
        grid: true,
        label: `↑ ${options.label}`,
        tickFormat: options.percent ? ".2~%" : logY ? "~g" : undefined,
      },
      marginLeft: options.percent ? 60 : undefined,
      marks: [Plot.line(usable, { x, y: options.y, z: "run_id", stroke: "series" })],
    },
    options.colors,
    { endLabels: runEnds(usable, { x, y: options.y, text: options.text }) },
  );
}

/** One end label per distinct label text: at the end of the first run's line that carries it. */
function runEnds(
  points: readonly Row[],
  options: { x: string; y: string; text?: string },
): EndLabel[] {
  const last = new Map<string, Row>();
  for (const p of points) {
    const run = String(p.run_id);
    const seen = last.get(run);
    if (!seen || Number(p[options.x]) >= Number(seen[options.x])) last.set(run, p);
  }
  const byText = new Map<string, EndLabel>();
  for (const p of last.values()) {
    const text = String(p[options.text ?? "series"]);
    if (byText.has(text)) continue;
    byText.set(text, {
      series: String(p.series),
      text,
      x: Number(p[options.x]),
      y: Number(p[options.y]),
    });
  }
  return [...byText.values()];
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

/** A label at the end of a series' line, in data coordinates. */
interface EndLabel {
  series: string;
  /** Label text (default: the series). */
  text?: string;
  x: number;
  y: number;
}

function render(
  spec: Plot.PlotOptions,
  colors: SeriesColors,
  options: { endLabels?: EndLabel[] } = {},
): string {
  // linkedom's window is typed against the DOM lib, which Deno does not load: take its document.
  const { document } = parseHTML("<!doctype html><html><body></body></html>") as unknown as {
    document: NonNullable<Plot.PlotOptions["document"]>;
  };
  const height = spec.height ?? HEIGHT;
  const el = Plot.plot({
    ...spec,
    width: WIDTH,
    height,
    marginRight: MARGIN_RIGHT,
    style: { background: "white" },
    color: { domain: colors.domain, range: colors.range },
    document,
  });
  el.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  if (options.endLabels?.length) {
    const sx = el.scale("x")!, sy = el.scale("y")!;
    const [yLow, yHigh] = (sy.range as number[]).map(Number);
    // One column right of the frame, where no mark is drawn; leaders join it to the line ends.
    const column = Math.max(...(sx.range as number[]).map(Number)) + 14;
    const colorOf = (s: string) => colors.range[colors.domain.indexOf(s)] ?? "#999";
    const placed = placeLabels(
      options.endLabels.map((l) => ({
        ...l,
        end: Number(sx.apply(l.x)),
        anchor: Number(sy.apply(l.y)),
      })),
      { top: Math.min(yLow, yHigh), bottom: Math.max(yLow, yHigh) },
    );
    const ns = "http://www.w3.org/2000/svg";
    const g = document.createElementNS(ns, "g");
    g.setAttribute("aria-label", "text");
    g.setAttribute("font-size", "10");
    g.setAttribute("text-anchor", "start");
    const leaders = document.createElementNS(ns, "g");
    leaders.setAttribute("aria-label", "label leaders");
    leaders.setAttribute("stroke-width", "0.8");
    leaders.setAttribute("fill", "none");
    for (const l of placed) {
      const path = document.createElementNS(ns, "path");
      const knee = column - 8;
      path.setAttribute("d", `M${l.end + 5},${l.anchor}H${knee}L${column - 3},${l.py}`);
      path.setAttribute("stroke", colorOf(l.series));
      path.setAttribute("stroke-dasharray", "2,2");
      leaders.appendChild(path);
      const text = document.createElementNS(ns, "text");
      text.setAttribute("x", String(column));
      text.setAttribute("y", String(l.py));
      text.setAttribute("dy", "0.32em");
      text.setAttribute("fill", colorOf(l.series));
      text.textContent = l.text ?? l.series;
      g.appendChild(text);
    }
    el.appendChild(leaders);
    el.appendChild(g);
  }
  return el.outerHTML;
}

/**
 * Moves labels (pixel anchors, one line of text each) apart vertically so that any two are at
 * least LABEL_GAP apart, keeping them inside [top, bottom] and as close to their anchors as a
 * push down then a push up allow. Labels share one column: moving them apart by height alone
 * rules out overlaps whatever their x. Returns the labels with `py`, in anchor order.
 */
export function placeLabels<T extends { anchor: number }>(
  labels: T[],
  bounds: { top: number; bottom: number },
): (T & { py: number })[] {
  const out = [...labels].sort((a, b) => a.anchor - b.anchor).map((l) => ({ ...l, py: l.anchor }));
  for (let i = 0; i < out.length; i++) {
    const min = i === 0 ? bounds.top : out[i - 1].py + LABEL_GAP;
    out[i].py = Math.max(out[i].py, min);
  }
  for (let i = out.length - 1; i >= 0; i--) {
    const max = i === out.length - 1 ? bounds.bottom : out[i + 1].py - LABEL_GAP;
    out[i].py = Math.min(out[i].py, max);
  }
  return out;
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
