// Decides from the statistics read at a sync point whether a run has diverged: non-finite numbers,
// and blow-ups that stay finite (reconstruction far worse than predicting the mean, or every
// latent dead while reconstruction is worse than the mean). Pure; the trainer acts on the verdict.
import type { StepStats } from "../engine/engine.ts";

/** Thresholds of the checks; inputs are normalised so that E||x||^2 = 1. */
export const DIVERGENCE_LIMITS = {
  /** Training FVU above this after the lr warmup: the SAE reconstructs far worse than the mean. */
  fvuAfterWarmup: 10,
  /** Training FVU above this at any step (warmup included): no healthy run gets near it. */
  fvuAnyStep: 1e4,
  /** With L0 = 0 after warmup, FVU above this means the latents collapsed and b_dec blew up. */
  fvuDeadLatents: 2,
};

/** What diverged: the offending quantity, its value and why it counts as divergence. */
export interface Divergence {
  quantity: string;
  detail: string;
}

/** Formats a number for a message: 3 significant digits, exponent when large or small. */
function num(x: number): string {
  return Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3)
    ? x.toExponential(2)
    : x.toPrecision(3);
}

/**
 * The divergence shown by `stats` read after `step` steps, or null when the run looks healthy.
 * `warmupSteps` is the lr warmup: the FVU checks that could flag a fresh SAE wait for it.
 */
export function checkDivergence(
  stats: StepStats,
  options: { step: number; warmupSteps: number },
): Divergence | null {
  if (stats.nonFinite.length > 0) {
    return { quantity: `parameter ${stats.nonFinite.join(", ")}`, detail: "is not finite" };
  }
  if (!Number.isFinite(stats.loss)) return { quantity: "loss", detail: "is not finite" };
  if (!Number.isFinite(stats.fvu)) return { quantity: "fvu", detail: "is not finite" };
  const limits = DIVERGENCE_LIMITS;
  const warm = options.step > options.warmupSteps;
  if (stats.fvu > limits.fvuAnyStep || (warm && stats.fvu > limits.fvuAfterWarmup)) {
    const limit = warm ? limits.fvuAfterWarmup : limits.fvuAnyStep;
    return {
      quantity: "fvu",
      detail: `is ${num(stats.fvu)}, above ${num(limit)} (reconstruction far worse than the mean)`,
    };
  }
  if (warm && stats.l0 === 0 && stats.fvu > limits.fvuDeadLatents) {
    return {
      quantity: "l0",
      detail: `collapsed to 0 with fvu ${num(stats.fvu)} (above ${limits.fvuDeadLatents})`,
    };
  }
  return null;
}
