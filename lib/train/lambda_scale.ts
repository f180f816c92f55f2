// The unit of lambda under train.lambda.mode `normalized`: the starting lambda derived from the
// target L0, the width and the data at initialisation, so that one dimensionless start serves every
// target and every penalty (controller.ts moves lambda from there). Pure; the caller measures the
// data's variance (centredVariance) and names the penalty (penaltyShape).
import type { PenaltyShape, SaeConfig } from "../sae/types.ts";
import { getArchitecture } from "../sae/registry.ts";
import { penaltyPerL0 } from "../sae/shared/penalty_unit.ts";

export type { PenaltyShape };
export { penaltyPerL0 };

/**
 * The sparsity term of a run's architecture (`Architecture.penaltyShape`: JumpReLU's `penalty`, the
 * L1 of ReLU on f ||W_dec|| and of Gated on the gate path). Null for an architecture that does not
 * declare one (a k architecture, or a registered penalty architecture without it).
 */
export function penaltyShape(sae: SaeConfig): PenaltyShape | null {
  return getArchitecture(sae.architecture).penaltyShape?.(sae) ?? null;
}

/** E||x - b_dec||^2 over the rows of x [B, D] (float64 sums); b_dec absent: E||x||^2. */
export function centredVariance(x: Float32Array, d: number, bDec?: Float32Array): number {
  const rows = x.length / d;
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += (x[i] - (bDec ? bDec[i % d] : 0)) ** 2;
  return sum / rows;
}

/**
 * The reconstruction value of the marginal unit of L0, as a multiple of V / T, by how the penalty
 * reaches the code, set below what runs end up needing: the controller's climb from below then
 * acts as a lambda warmup, while the full lambda from the first step, before the dictionary has
 * learned anything, costs FVU (stories260K ReLU at L0 4: started at 1 x V / T / m, ending at 0.9,
 * FVU 0.36; started at 0.2, ending at 0.8, FVU 0.31). L1 (ReLU, Gated) shrinks every activation;
 * the lambda that held the target was 0.4-1.1 V / T / m on stories260K (L0 4-32) and 1.6-2.1 on
 * the quickstart. JumpReLU's penalties move only the thresholds, and the latent a threshold step
 * removes fires just above its threshold, where the code has nearly fitted the residual:
 * 0.015-0.04 V / T on stories260K (quadratic_frequency, L0 4-32), 0.002-0.013 at L0 64-128 and
 * 0.1-0.2 on the quickstart.
 */
export const MARGINAL_VALUE: Record<"threshold" | "l1", number> = { threshold: 0.01, l1: 0.25 };

/**
 * The lambda that `start` 1 stands for: the reconstruction value of one unit of L0 at the target,
 * MARGINAL_VALUE x V / T (T latents share the centred variance V), over the penalty's cost per unit
 * of L0 there (penaltyPerL0). A latent is kept while it removes more error than it costs, so this
 * lambda weighs a unit of L0 as the data values it, at every target, width and penalty; what is
 * left to the controller is a factor of a few, not the orders of magnitude between targets.
 */
export function lambdaUnit(
  shape: PenaltyShape,
  options: { targetL0: number; width: number; variance: number },
): number {
  const value = MARGINAL_VALUE[shape.kind === "l1" ? "l1" : "threshold"];
  return (value * options.variance) / options.targetL0 / penaltyPerL0(shape, options);
}
