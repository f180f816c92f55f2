// Options of the ReLU/L1 SAE (sae.relu): one documented line per hyperparameter.
import { z } from "zod";
import { optionsOf, type SaeConfig } from "../types.ts";
import { adamBeta2, controllerGain } from "../_options.ts";

export const ReluOptions = z.strictObject({
  lambda: z.number().positive().default(0.01).describe(
    "L1 coefficient (penalty sum_i f_i ||W_dec,i||): fixed value or controller start under train.lambda.mode fixed / controller; the default mode normalized derives the start and refuses a value set here",
  ),
  controller_gain: controllerGain(),
  adam_beta1: z.number().min(0).lt(1).default(0.9).describe("Adam beta1"),
  adam_beta2: adamBeta2(),
});

export type ReluOptions = z.output<typeof ReluOptions>;

/** The `sae.relu` options of a resolved config. */
export function reluOptions(sae: SaeConfig): ReluOptions {
  return optionsOf<ReluOptions>(sae, "relu");
}
