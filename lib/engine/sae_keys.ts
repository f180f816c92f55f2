// The keys of the `sae` section that every architecture shares, declared once with their schema,
// default and meaning: the spec schema, the `SaeConfig` type, the registry's reserved names and
// the effective config are all built from these two objects. Architecture options live in
// lib/sae/<arch>/options.ts instead.
import { z } from "zod";

/** Shared keys every run reads, whatever its architecture: they are always in its effective config. */
export const SAE_CORE_KEYS = {
  width: z.int().min(1).default(256).describe("Number of latents F (dictionary size)"),
  target_l0: z.number().positive().default(16).describe(
    "Target mean active latents per token: k for k-sparse architectures (topk, batchtopk, ...), " +
      "the L0 controller's target for penalty architectures",
  ),
};

/**
 * Shared keys an architecture reads only when it lists them in `Architecture.uses`; a run's
 * effective config (and so its id) holds only those it reads.
 */
export const SAE_OPTIONAL_KEYS = {
  pre_encoder_bias: z.boolean().default(true).describe(
    "Encoder sees x - b_dec (folded into b_enc at export); architectures that do not read it ignore it",
  ),
  b_dec_init: z.enum(["zeros", "mean", "geometric_median"]).default("zeros").describe(
    "Initial decoder bias: zeros (paper), data mean or geometric median of a sample",
  ),
};

/** Every shared `sae` key, in the spec's order (after `sae.architecture`). */
export const SAE_SHARED_KEYS = { ...SAE_CORE_KEYS, ...SAE_OPTIONAL_KEYS };

/** Names of the keys every run reads (`width`, `target_l0`). */
export type SaeCoreKey = keyof typeof SAE_CORE_KEYS;
/** Names of the shared keys an architecture may declare it reads (`Architecture.uses`). */
export type SharedSaeKey = keyof typeof SAE_OPTIONAL_KEYS;

/** The resolved values of the shared keys, as validation leaves them. */
export type SharedSaeValues = {
  [K in keyof typeof SAE_SHARED_KEYS]: z.output<(typeof SAE_SHARED_KEYS)[K]>;
};

/** The names of the core keys, in order (what every effective config keeps). */
export function saeCoreKeys(): SaeCoreKey[] {
  return Object.keys(SAE_CORE_KEYS) as SaeCoreKey[];
}

/** The names of every shared key, in order. */
export function saeSharedKeys(): (keyof typeof SAE_SHARED_KEYS)[] {
  return Object.keys(SAE_SHARED_KEYS) as (keyof typeof SAE_SHARED_KEYS)[];
}
