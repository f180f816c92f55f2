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

/** Number of dead latents AuxK may use: the configured value or min(512, D / 2). */
export function auxK(options: { aux_k: number | null }, d: number): number {
  return options.aux_k ?? Math.min(512, Math.max(1, Math.floor(d / 2)));
}

/** The AuxK settings every TopK-family architecture has (k_aux, alpha, dead-token horizon). */
export interface AuxSettings {
  aux_alpha: number;
  aux_k: number | null;
  dead_tokens: number;
}
