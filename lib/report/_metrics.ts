// Display names and directions of the fidelity metrics a report can compare (private to reports).

/** How a fidelity metric reads: its label and whether lower or higher values are better. */
export interface MetricInfo {
  label: string;
  better: "lower" | "higher";
}

export const METRIC_INFO: Record<string, MetricInfo> = {
  fvu: { label: "FVU", better: "lower" },
  delta_lm_loss: { label: "Delta LM loss", better: "lower" },
  mse: { label: "MSE", better: "lower" },
  explained_variance: { label: "Explained variance", better: "higher" },
  recovered_frac: { label: "Recovered true features", better: "higher" },
  dead_frac: { label: "Dead fraction", better: "lower" },
};

/** The metrics a reader can switch the explorer between, when runs report them. */
export const EXPLORE_METRICS = [
  "fvu",
  "delta_lm_loss",
  "explained_variance",
  "recovered_frac",
  "dead_frac",
];

/** Info for `metric`, defaulting to lower-is-better under its own name. */
export function metricInfo(metric: string): MetricInfo {
  return METRIC_INFO[metric] ?? { label: metric, better: "lower" };
}
