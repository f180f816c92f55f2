// The cost of each penalty shape per unit of L0 at the target: the denominator of the lambda unit
// of train.lambda.mode normalized (lib/train/lambda_scale.ts), and the version of that law per
// penalty, which run ids carry (lib/sweep/effective_config.ts) so that a run trained under an older
// law is never taken for one of the current law. Pure.
import type { PenaltyShape } from "../types.ts";

/**
 * The version of penaltyPerL0() for each penalty kind (absent: 1). Bump a kind's version when its
 * cost (or anything else that moves its derived start) changes: the runs of that penalty under mode
 * normalized then get new ids, and no other run is renamed. tanh 2: the cost at m / 4, not m
 * (2026-12-05).
 */
export const PENALTY_UNIT_VERSION: Readonly<Partial<Record<PenaltyShape["kind"], number>>> = {
  tanh: 2,
};

/**
 * The marginal cost of the penalty per unit of L0 at the target, when each of the F latents fires
 * on T / F of the tokens with activation m = sqrt(V / T) (T unit-norm latents sharing the centred
 * variance V): l0 1; quadratic_frequency sum_i p_i (1 + p_i / s) at p_i = T / F: 1 + 2T / (F s);
 * tanh tanh(c m / 4) (PENALTY_UNIT_VERSION 2; version 1 took tanh(c m)); L1 m; quadratic (L0 / T - 1)^2, whose slope is 0 at the target, its slope at
 * 1.05 T, the edge of the 5% a run is held to: 0.1 / T (at 1.5 T, 1 / T, runs climbed 9-114x).
 */
export function penaltyPerL0(
  shape: PenaltyShape,
  options: { targetL0: number; width: number; variance: number },
): number {
  const { targetL0, width, variance } = options;
  const m = Math.sqrt(variance / targetL0);
  switch (shape.kind) {
    case "l0":
      return 1;
    case "quadratic":
      return 0.1 / targetL0;
    case "quadratic_frequency":
      return 1 + (2 * targetL0) / (width * shape.frequencyScale);
    case "tanh":
      // The latent a threshold step removes fires well below m: the penalty also shrinks every
      // activation (c sech^2(c f) through f's STE). At tanh(c m), stories260K runs ended with lambda
      // 8-14x (penalty_l0_range, L0 4-128) and 10-27x (jumprelu_recipes' tanh recipe, L0 4-32) their
      // start where the other penalties end at 0.2-5.7x; at m / 4 those ratios become 1.5-7.5x.
      return Math.tanh((shape.tanhScale * m) / 4);
    case "l1":
      return m;
  }
}
