// Option builders shared by several architectures' schemas. Private to lib/sae/.
import { z } from "zod";

/** Adam beta2 with the usual default. */
export function adamBeta2() {
  return z.number().min(0).lt(1).default(0.999).describe("Adam beta2 (second-moment decay)");
}

/** The L0 controller's gain for penalty architectures. */
export function controllerGain() {
  return z.number().min(0).default(0.3).describe(
    "L0 controller gain: change of log(lambda) per unit of log(L0 / target) per update " +
      "(0.1 before defaults version 2: too slow to reach the target at lr 1e-3)",
  );
}

/** The AuxK settings of the TopK family (Gao et al. 2024), one documented line each. */
export function auxKShape() {
  return {
    aux_alpha: z.number().min(0).default(1 / 32).describe(
      "AuxK loss coefficient alpha (Gao et al. 2024: 1/32)",
    ),
    aux_k: z.int().min(0).nullable().default(null).describe(
      "Dead latents used by AuxK (null: min(512, d_model / 2))",
    ),
    dead_tokens: z.int().min(1).default(100000).describe(
      "A latent is dead after this many training tokens without firing",
    ),
  };
}

/** BatchTopK's running global threshold and the Adam betas of the TopK family. */
export function batchThresholdShape() {
  return {
    threshold_momentum: z.number().min(0).lt(1).default(0.99).describe(
      "Decay of the running estimate of the global inference threshold",
    ),
    adam_beta1: z.number().min(0).lt(1).default(0.9).describe("Adam beta1"),
    adam_beta2: adamBeta2(),
  };
}
