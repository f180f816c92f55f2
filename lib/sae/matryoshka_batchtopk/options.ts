// Options of the Matryoshka BatchTopK SAE (sae.matryoshka_batchtopk): the nested groups of the
// dictionary plus BatchTopK's settings, one documented line each with its source.
import { z } from "zod";
import { optionsOf, type SaeConfig } from "../types.ts";
import { auxKShape, batchThresholdShape } from "../_options.ts";

export const MatryoshkaBatchTopKOptions = z.strictObject({
  group_fractions: z.array(z.number().positive()).min(1).default([
    1 / 16,
    1 / 16,
    1 / 8,
    1 / 4,
    1 / 2,
  ])
    .describe(
      "Sizes of the nested groups of latents as fractions of sae.width, summing to 1; prefix m " +
        "holds groups 1..m (Bussmann et al. 2025: 1/16, 1/16, 1/8, 1/4, 1/2)",
    ),
  ...auxKShape(),
  ...batchThresholdShape(),
});

export type MatryoshkaBatchTopKOptions = z.output<typeof MatryoshkaBatchTopKOptions>;

/** The `sae.matryoshka_batchtopk` options of a resolved config. */
export function matryoshkaOptions(sae: SaeConfig): MatryoshkaBatchTopKOptions {
  return optionsOf<MatryoshkaBatchTopKOptions>(sae, "matryoshka_batchtopk");
}

/**
 * The prefix widths: cumulative group sizes, rounded, the last equal to `width`
 * (width 256 with the defaults: 16, 32, 64, 128, 256).
 */
export function prefixWidths(width: number, fractions: readonly number[]): number[] {
  let cumulative = 0;
  return fractions.map((g, i) => {
    cumulative += g;
    return i === fractions.length - 1 ? width : Math.round(cumulative * width);
  });
}
