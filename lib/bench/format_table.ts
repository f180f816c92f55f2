// Renders benchmark results as a fixed-width text table, one row per (configuration, engine),
// with the ratio to PyTorch beside our rows. Returns text; tasks/bench.ts prints it.
import type { BenchResult } from "./measure_engine.ts";
import type { BenchRatio } from "./ratios.ts";
import { shapeLabel } from "./bench_config.ts";

function fmt(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(digits);
}

export function formatBenchTable(
  results: readonly BenchResult[],
  options: { ratios: readonly BenchRatio[] },
): string {
  const header = [
    "arch",
    "shape DxFxB",
    "L0*",
    "engine",
    "tok/s",
    "ms/step",
    "fwd",
    "bwd",
    "upd",
    "L0",
    "GFLOP/s",
    "%ceil",
    "step/enc",
    "enc",
    "step/enc*",
    "RSS MB",
    "vs torch",
  ];
  const rows = results.map((r) => {
    const ratio = options.ratios.find((q) =>
      q.peer === "torch" && r.engine === "fast" && q.ours === r.backend && q.arch === r.arch &&
      q.d_model === r.d_model && q.d_sae === r.d_sae && q.batch === r.batch &&
      q.l0_target === r.l0_target
    );
    return [
      r.arch,
      shapeLabel(r),
      String(r.l0_target),
      r.engine === "torch" ? "torch" : r.engine === "fast" ? r.backend : `tfjs-${r.backend}`,
      fmt(r.tokens_per_s, 0),
      fmt(r.ms_per_step),
      fmt(r.ms_forward),
      fmt(r.ms_backward),
      fmt(r.ms_update),
      fmt(r.l0),
      fmt(r.gflops_effective),
      r.ceiling_fraction === null ? "-" : `${(100 * r.ceiling_fraction).toFixed(0)}%`,
      fmt(r.encoder_ratio),
      fmt(r.ms_encoder),
      fmt(r.encoder_ratio_in_step, 2),
      fmt(r.peak_rss_mb, 0),
      ratio ? `${ratio.ratio.toFixed(2)}x` : "",
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 4 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
