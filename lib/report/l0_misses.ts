// Achieved vs target L0 of finished runs, with the runs outside the tolerance flagged by the rule
// training warns with (lib/metrics/l0_miss.ts). Pure.
import { l0RelError, missedTargetL0 } from "../metrics/l0_miss.ts";

/** One finished run's L0 accuracy. */
export interface L0Accuracy {
  run_id: string;
  series: string;
  l0_target: number;
  l0: number;
  /** Signed relative error (l0 - l0_target) / l0_target. */
  rel_error: number;
  /** The run missed its target: |rel_error| > tolerance (missedTargetL0()). */
  outside: boolean;
}

/**
 * L0 accuracy of every `done` row with numeric `l0` and `l0_target`, in input order, from the
 * relative miss the run recorded (`l0_rel_error`).
 */
export function l0Accuracy(
  runs: readonly Record<string, unknown>[],
  options: { tolerance: number },
): L0Accuracy[] {
  const out: L0Accuracy[] = [];
  for (const r of runs) {
    const { l0, l0_target: targetL0 } = r;
    if (r.status !== "done" || typeof l0 !== "number" || typeof targetL0 !== "number") continue;
    if (!(targetL0 > 0)) continue;
    // The miss training wrote (summary.json l0_rel_error); computed only for rows without it.
    const rel = typeof r.l0_rel_error === "number" ? r.l0_rel_error : l0RelError(l0, targetL0);
    out.push({
      run_id: String(r.run_id),
      series: String(r.series ?? r.architecture),
      l0_target: targetL0,
      l0,
      rel_error: rel,
      outside: missedTargetL0(rel, options),
    });
  }
  return out;
}
