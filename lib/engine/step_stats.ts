// The statistics row both engines accumulate per step, [loss, ...terms, l0, sse, sst], and its
// conversion to StepStats: one layout, so the reference and fast engines report identically. Pure.
import type { StepStats } from "./engine.ts";

/** Length of the row for `termCount` loss terms. */
export function statsRowLength(termCount: number): number {
  return termCount + 4;
}

/** StepStats from a row summed over `steps` steps; `nonFinite` names unhealthy tensors. */
export function statsFromRow(
  row: ArrayLike<number>,
  options: { steps: number; termNames: readonly string[]; nonFinite: string[] },
): StepStats {
  const n = Math.max(1, options.steps);
  const k = options.termNames.length;
  const terms: Record<string, number> = {};
  options.termNames.forEach((name, i) => terms[name] = row[1 + i] / n);
  return {
    steps: options.steps,
    loss: row[0] / n,
    terms,
    l0: row[1 + k] / n,
    fvu: row[2 + k] / row[3 + k],
    nonFinite: options.nonFinite,
  };
}
