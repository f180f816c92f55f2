// Options of the Gated SAE (sae.gated): one documented line per hyperparameter.
import { z } from "zod";
import { optionsOf, type SaeConfig } from "../types.ts";
import { adamBeta2, controllerGain } from "../_options.ts";

export const GatedOptions = z.strictObject({
  lambda: z.number().positive().default(0.01).describe(
    "L1 coefficient on the gate path ReLU(pi_gate): fixed value or controller start under train.lambda.mode fixed / controller; the default mode normalized derives the start and refuses a value set here",
  ),
  controller_gain: controllerGain(),
  adam_beta1: z.number().min(0).lt(1).default(0.9).describe("Adam beta1"),
  adam_beta2: adamBeta2(),
});

export type GatedOptions = z.output<typeof GatedOptions>;

/** The `sae.gated` options of a resolved config. */
export function gatedOptions(sae: SaeConfig): GatedOptions {
  return optionsOf<GatedOptions>(sae, "gated");
}
