// The unit of lambda under train.lambda.mode `normalized`: the starting lambda derived from the
// target L0, the width and the data at initialisation, so that one dimensionless start serves every
// target and every penalty (controller.ts moves lambda from there). Pure; the caller measures the
// data's variance (centredVariance) and names the penalty (penaltyShape).
import type { PenaltyShape, SaeConfig } from "../sae/types.ts";
import { getArchitecture } from "../sae/registry.ts";
import { MARGINAL_VALUE, penaltyPerL0 } from "../sae/shared/penalty_unit.ts";

export type { PenaltyShape };
export { MARGINAL_VALUE, penaltyPerL0 };

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
 * The lambda that `start` 1 stands for: the reconstruction value of one unit of L0 at the target,
 * MARGINAL_VALUE x V / T (T latents share the centred variance V; lib/sae/shared/penalty_unit.ts), over the penalty's cost per unit
 * of L0 there (penaltyPerL0). A latent is kept while it removes more error than it costs, so this
 * lambda weighs a unit of L0 as the data values it, at every target, width and penalty; what is
 * left to the controller is a factor of a few, not the orders of magnitude between targets.
 */
export function lambdaUnit(
  shape: PenaltyShape,
  options: { targetL0: number; width: number; variance: number },
): number {
  const value = MARGINAL_VALUE[shape.kind];
  return (value * options.variance) / options.targetL0 / penaltyPerL0(shape, options);
}
