// The statistics row both engines accumulate per step, [loss, ...terms, l0, sse, sst, ste], and
// its conversion to StepStats: one layout, so the reference and fast engines report identically.
// `ste` sums the per-step fraction of pre-activations inside the threshold STE window. Pure.
import type { StepStats } from "./engine.ts";
import type { SaeConfig, TrainingLayout } from "./types.ts";

/** Length of the row for `termCount` loss terms. */
export function statsRowLength(termCount: number): number {
  return termCount + 5;
}

/**
 * StepStats from a row summed over `steps` steps; `nonFinite` names unhealthy tensors, `steSteps`
 * counts the steps that reported an STE-window fraction (none: no steWindow), `deadFrac` is the
 * dead-latent fraction read from the engine's clock, when it has one.
 */
export function statsFromRow(
  row: ArrayLike<number>,
  options: {
    steps: number;
    termNames: readonly string[];
    nonFinite: string[];
    steSteps?: number;
    deadFrac?: number;
  },
): StepStats {
  const n = Math.max(1, options.steps);
  const k = options.termNames.length;
  const terms: Record<string, number> = {};
  options.termNames.forEach((name, i) => terms[name] = row[1 + i] / n);
  const stats: StepStats = {
    steps: options.steps,
    loss: row[0] / n,
    terms,
    l0: row[1 + k] / n,
    fvu: row[2 + k] / row[3 + k],
    nonFinite: options.nonFinite,
  };
  if (options.steSteps) stats.steWindow = row[4 + k] / options.steSteps;
  if (options.deadFrac !== undefined) stats.deadFrac = options.deadFrac;
  return stats;
}

/** dead_tokens of an architecture whose state has the `since_fired` clock, else undefined. */
export function deadTokensOf(
  arch: TrainingLayout,
  options: { sae: SaeConfig; stateNames: readonly string[] },
): number | undefined {
  if (!options.stateNames.includes("since_fired")) return undefined;
  return arch.deadTokens?.(options.sae);
}

/** Fraction of latents whose clock (tokens since firing) reached `deadTokens`. */
export function deadFraction(since: ArrayLike<number>, deadTokens: number): number {
  let dead = 0;
  for (let i = 0; i < since.length; i++) if (since[i] >= deadTokens) dead++;
  return since.length ? dead / since.length : 0;
}
