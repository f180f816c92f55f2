// Decides from the statistics read at a sync point whether a run has diverged: non-finite numbers,
// and blow-ups that stay finite: FVU far above anything a fresh SAE of this shape shows, FVU
// rising far above the best the run reached, or every latent dead while reconstruction gets
// worse. Pure; the trainer keeps the best FVU and acts on the verdict.
import type { StepStats } from "../engine/engine.ts";

/** Thresholds of the checks; inputs are normalised so that E||x||^2 = 1. */
export const DIVERGENCE_LIMITS = {
  /**
   * FVU above this times max(1, width / d_model) at any step is a blow-up: a fresh SAE sums about
   * width / 2 unit decoder rows, so its FVU is of order width / d_model, never 100 times more.
   */
  fvuPerWidthRatio: 100,
  /** After the lr warmup, FVU above this and `rising` times the best so far is a blow-up. */
  fvuAfterWarmup: 10,
  rising: 10,
  /** After warmup, L0 = 0 with FVU above this and twice the best: the latents collapsed. */
  fvuDeadLatents: 2,
};

/** What diverged: the offending quantity, its value and why it counts as divergence. */
export interface Divergence {
  quantity: string;
  detail: string;
}

export interface DivergenceContext {
  /** Steps completed. */
  step: number;
  /** The lr warmup: the relative checks wait for it. */
  warmupSteps: number;
  /** sae.width / d_model. */
  widthRatio: number;
  /** Lowest training FVU of the earlier readings of this process, if any. */
  bestFvu?: number;
}

/** Formats a number for a message: 3 significant digits, exponent when large or small. */
function num(x: number): string {
  return Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3)
    ? x.toExponential(2)
    : x.toPrecision(3);
}

/** The divergence shown by `stats`, or null when the run looks healthy. */
export function checkDivergence(stats: StepStats, ctx: DivergenceContext): Divergence | null {
  if (stats.nonFinite.length > 0) {
    return { quantity: `parameter ${stats.nonFinite.join(", ")}`, detail: "is not finite" };
  }
  if (!Number.isFinite(stats.loss)) return { quantity: "loss", detail: "is not finite" };
  if (!Number.isFinite(stats.fvu)) return { quantity: "fvu", detail: "is not finite" };
  const limits = DIVERGENCE_LIMITS;
  const fvu = stats.fvu;
  const absolute = limits.fvuPerWidthRatio * Math.max(1, ctx.widthRatio);
  if (fvu > absolute) {
    return {
      quantity: "fvu",
      detail: `is ${num(fvu)}, above ${num(absolute)} (reconstruction far worse than the mean)`,
    };
  }
  const best = ctx.bestFvu;
  if (ctx.step <= ctx.warmupSteps || best === undefined) return null;
  if (fvu > limits.fvuAfterWarmup && fvu > limits.rising * best) {
    return {
      quantity: "fvu",
      detail: `rose to ${num(fvu)} from ${num(best)} (reconstruction far worse than the mean)`,
    };
  }
  if (stats.l0 === 0 && fvu > limits.fvuDeadLatents && fvu > 2 * best) {
    return {
      quantity: "l0",
      detail: `collapsed to 0 while fvu rose to ${num(fvu)} from ${num(best)}`,
    };
  }
  return null;
}
