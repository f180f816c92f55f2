// The list of plots a report shows, drawn from its model: key (file name stem), title, section and
// SVG. Rendering into HTML, Markdown or PNG is left to the writers.
import type { ReportModel } from "./build.ts";
import {
  achievedPlot,
  fidelityPlot,
  firingHistogramPlot,
  fractionPlot,
  trainingCurvePlot,
} from "./plots.ts";
import { metricInfo } from "./_metrics.ts";

/** One plot of the report. */
export interface Figure {
  /** Stable id and PNG file stem, e.g. `fidelity_fvu`. */
  key: string;
  section: "fidelity" | "l0" | "latents" | "health" | "training";
  title: string;
  svg: string;
}

/** Every plot the model has data for, in reading order. */
export function figuresOf(model: ReportModel): Figure[] {
  const finished = model.runs.filter((r) => r.status === "done");
  if (finished.length === 0) return [];
  const colors = model.colors;
  const figures: Figure[] = model.settings.metrics.map((metric) => ({
    key: `fidelity_${metric}`,
    section: "fidelity",
    title: `${metricInfo(metric).label} vs L0 (lines: Pareto frontiers of seed means; dots: runs)`,
    svg: fidelityPlot(finished, model.frontiers[metric], {
      metric,
      colors,
      targetL0s: model.settings.targetL0s,
    }),
  }));
  figures.push({
    key: "l0_achieved",
    section: "l0",
    title: `Achieved vs target L0 (dashed: ±${model.settings.l0Tolerance * 100}% tolerance)`,
    svg: achievedPlot(finished, { colors, tolerance: model.settings.l0Tolerance }),
  });
  for (const [column, label] of [["dead_frac", "dead latents"], ["dense_frac", "dense latents"]]) {
    figures.push({
      key: column,
      section: "latents",
      title: `Fraction of ${label} vs L0`,
      svg: fractionPlot(finished, { column, label: `fraction of ${label}`, colors }),
    });
  }
  figures.push(...healthFigures(model));
  if (model.curves.length > 0) {
    for (const [y, label] of [["loss", "training loss"], ["l0", "training L0"]]) {
      figures.push({
        key: `training_${y}`,
        section: "training",
        title: `${label[0].toUpperCase()}${label.slice(1)} vs step (runs on the ${
          metricInfo(model.settings.metrics[0]).label
        } frontier)`,
        svg: trainingCurvePlot(model.curves, { y, label, colors }),
      });
    }
  }
  return figures;
}

/** The JumpReLU health plots: fractions vs L0 and over training, firing-frequency histograms. */
function healthFigures(model: ReportModel): Figure[] {
  const health = model.health;
  if (!health) return [];
  const colors = model.colors;
  const out: Figure[] = [];
  const measures = [
    ["dead_frac_train", "dead_frac", "dead latents (not fired for dead_tokens training tokens)"],
    ["ste_window_frac", "ste_window_frac", "pre-activations inside the STE window"],
  ] as const;
  for (const [column, curve, label] of measures) {
    const key = curve === "dead_frac" ? "dead" : "ste_window";
    if (health.runs.some((r) => typeof r[column] === "number")) {
      out.push({
        key: `health_${key}_vs_l0`,
        section: "health",
        title: `JumpReLU: fraction of ${label} vs L0` +
          (column === "dead_frac_train" ? " (end of training)" : " (held-out)"),
        svg: fractionPlot(health.runs, { column, label: `fraction of ${label}`, colors }),
      });
    }
    const points = health.curves.filter((p) => typeof p[curve] === "number");
    if (points.length > 0) {
      out.push({
        key: `health_${key}_training`,
        section: "health",
        title: `JumpReLU: fraction of ${label} over training`,
        svg: trainingCurvePlot(points, {
          x: "tokens",
          y: curve,
          label: `fraction of ${key === "dead" ? "dead latents" : "entries in the STE window"}`,
          colors,
          linearY: key === "dead",
          text: "label",
          percent: true,
        }),
      });
    }
  }
  if (health.histograms.length > 0) {
    out.push({
      key: "health_firing_histogram",
      section: "health",
      title: "JumpReLU: held-out firing frequencies per run (log10 density, half-decade bins)",
      svg: firingHistogramPlot(health.histograms, { colors }),
    });
  }
  return out;
}
