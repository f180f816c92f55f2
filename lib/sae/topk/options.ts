// Options of the TopK SAE (sae.topk): one documented line per hyperparameter with its source.
import { z } from "zod";
import { optionsOf, type SaeConfig } from "../types.ts";
import { adamBeta2, auxKShape } from "../_options.ts";

export const TopKOptions = z.strictObject({
  ...auxKShape(),
  adam_beta1: z.number().min(0).lt(1).default(0.9).describe("Adam beta1"),
  adam_beta2: adamBeta2(),
});

export type TopKOptions = z.output<typeof TopKOptions>;

/** The `sae.topk` options of a resolved config. */
export function topkOptions(sae: SaeConfig): TopKOptions {
  return optionsOf<TopKOptions>(sae, "topk");
}
