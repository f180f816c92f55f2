// The law of the lambda unit of train.lambda.mode normalized (lib/train/lambda_scale.ts) per
// penalty shape: what a unit of L0 is worth (MARGINAL_VALUE) and what it costs (penaltyPerL0) at the
// target, and the version of that law per penalty, which run ids carry
// (lib/sweep/effective_config.ts) so that a run trained under an older law is never taken for one
// of the current law. Pure.
import type { PenaltyShape } from "../types.ts";

/**
 * The version of the unit law for each penalty kind (absent: 1). Bump a kind's version when its
 * MARGINAL_VALUE or penaltyPerL0() changes: the runs of that penalty under mode normalized then get
 * new ids, and no other run is renamed. tanh 2: the cost at m / 4, not m; quadratic_frequency 2:
 * worth 0.04, not 0.01 (both 2026-12-05).
 */
export const PENALTY_UNIT_VERSION: Readonly<Partial<Record<PenaltyShape["kind"], number>>> = {
  tanh: 2,
  quadratic_frequency: 2,
};

/**
 * The reconstruction value of the marginal unit of L0, as a multiple of V / T, by how the penalty
 * reaches the code. L1 (ReLU, Gated) shrinks every activation; the lambda that held the target was
 * 0.4-1.1 V / T / m on stories260K (L0 4-32) and 1.6-2.1 on the quickstart, and the start sits
 * below it: the climb from below then acts as a lambda warmup, while the full lambda from the first
 * step, before the dictionary has learned anything, costs FVU (stories260K ReLU at L0 4: started at
 * 1 x V / T / m, ending at 0.9, FVU 0.36; started at 0.2, ending at 0.8, FVU 0.31). JumpReLU's
 * penalties move only the thresholds, and the latent a threshold step removes fires just above its
 * threshold, where the code has nearly fitted the residual: 0.015-0.04 V / T on stories260K
 * (quadratic_frequency, L0 4-32), 0.002-0.013 at L0 64-128 and 0.1-0.2 on the quickstart. For
 * JumpReLU the climb from below costs FVU instead: thresholds start at the target's quantile, so a
 * low start lets L0 overshoot early (40-43 at target 32), and a start above what the run needs keeps
 * the early code sparse. The recommended recipe (ls_qfreq_auxk, stories260K, 2 seeds) reached
 * 0.960 / 0.902 / 0.826 of TopK's FVU at L0 4 / 16 / 32 from 0.01 (lambda ending 1.5-2.6x its
 * start) and 0.960 / 0.890 / 0.809 from 0.04 (ending 0.3-0.7x), all within 1.1% of the targets;
 * hence 0.04 for the quadratic-frequency penalty. The other JumpReLU penalties keep 0.01 until they
 * are measured the same way.
 */
export const MARGINAL_VALUE: Readonly<Record<PenaltyShape["kind"], number>> = {
  l0: 0.01,
  quadratic: 0.01,
  tanh: 0.01,
  quadratic_frequency: 0.04,
  l1: 0.25,
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
