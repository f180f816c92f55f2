// Options of the BatchTopK SAE (sae.batchtopk): one documented line per hyperparameter.
import { z } from "zod";
import { optionsOf, type SaeConfig } from "../types.ts";
import { auxKShape, batchThresholdShape } from "../_options.ts";

export const BatchTopKOptions = z.strictObject({
  ...auxKShape(),
  ...batchThresholdShape(),
});

export type BatchTopKOptions = z.output<typeof BatchTopKOptions>;

/** The `sae.batchtopk` options of a resolved config. */
export function batchtopkOptions(sae: SaeConfig): BatchTopKOptions {
  return optionsOf<BatchTopKOptions>(sae, "batchtopk");
}
