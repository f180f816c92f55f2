// Options of the BatchTopK SAE (sae.batchtopk): one documented line per hyperparameter.
import { z } from "zod";
import { optionsOf, type SaeConfig } from "../types.ts";
import { adamBeta2 } from "../_options.ts";

export const BatchTopKOptions = z.strictObject({
  aux_alpha: z.number().min(0).default(1 / 32).describe("AuxK loss coefficient alpha"),
  aux_k: z.int().min(0).nullable().default(null).describe(
    "Dead latents used by AuxK (null: min(512, d_model / 2))",
  ),
  dead_tokens: z.int().min(1).default(100000).describe(
    "A latent is dead after this many training tokens without firing",
  ),
  threshold_momentum: z.number().min(0).lt(1).default(0.99).describe(
    "Decay of the running estimate of the global inference threshold",
  ),
  adam_beta1: z.number().min(0).lt(1).default(0.9).describe("Adam beta1"),
  adam_beta2: adamBeta2(),
});

export type BatchTopKOptions = z.output<typeof BatchTopKOptions>;

/** The `sae.batchtopk` options of a resolved config. */
export function batchtopkOptions(sae: SaeConfig): BatchTopKOptions {
  return optionsOf<BatchTopKOptions>(sae, "batchtopk");
}
