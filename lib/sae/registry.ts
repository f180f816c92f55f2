// The architecture registry: the only list of architectures. The spec schema, JSON Schema, key
// reference, cross checks, L0 controller, bench and parity tests are all built from it. Built-ins
// are one line each below; library users add their own with registerArchitecture().
import type { Architecture, PenaltyOptions, SaeConfig } from "./types.ts";
import { saeSharedKeys } from "../engine/sae_keys.ts";
import { jumprelu } from "./jumprelu/jumprelu.ts";
import { relu } from "./relu/relu.ts";
import { gated } from "./gated/gated.ts";
import { topk } from "./topk/topk.ts";
import { batchtopk } from "./batchtopk/batchtopk.ts";
import { matryoshka_batchtopk } from "./matryoshka_batchtopk/matryoshka_batchtopk.ts";

const registry = new Map<string, Architecture>();
let version = 0;

/** Names a registered architecture may not take: keys of the shared `sae` section. */
const RESERVED = new Set(["architecture", ...saeSharedKeys()]);

/**
 * Adds an architecture. Its name becomes a value of `sae.architecture` and a section `sae.<name>`
 * of the spec (validated by its `options` schema). Throws on a duplicate or malformed descriptor.
 */
export function registerArchitecture(arch: Architecture): void {
  if (!/^[a-z][a-z0-9_]*$/.test(arch.name) || RESERVED.has(arch.name)) {
    throw new TypeError(`architecture name "${arch.name}" must be snake_case and not a shared key`);
  }
  if (registry.has(arch.name)) throw new TypeError(`architecture "${arch.name}" is registered`);
  if (arch.sparsity === "penalty") {
    const defaults = arch.options.parse({}) as Partial<PenaltyOptions>;
    if (typeof defaults.lambda !== "number" || typeof defaults.controller_gain !== "number") {
      throw new TypeError(
        `penalty architecture "${arch.name}" needs options lambda and controller_gain with defaults`,
      );
    }
  }
  registry.set(arch.name, arch);
  version++;
}

/**
 * The method saesweep is about (Rajamanoharan et al. 2024): specs train it unless they name
 * another, and reports measure its gap to every baseline.
 */
export const FEATURED_ARCHITECTURE = "jumprelu";

/** The baseline a report measures the featured architecture's recipes against, when present. */
export const REFERENCE_BASELINE = "topk";

/** The built-in architectures, in the order reports list them. */
const BUILT_IN: readonly Architecture[] = [
  jumprelu,
  relu,
  gated,
  topk,
  batchtopk,
  matryoshka_batchtopk,
];
for (const arch of BUILT_IN) registerArchitecture(arch);

/** Registered architecture names, in registration order (built-ins first). */
export function architectureNames(): string[] {
  return [...registry.keys()];
}

/** Registered architectures, in registration order. */
export function architectures(): Architecture[] {
  return [...registry.values()];
}

/** Increases with every registration (schemas built from the registry cache on it). */
export function registryVersion(): number {
  return version;
}

/** The architecture called `name`; throws for an unknown one (the spec validator rules it out). */
export function getArchitecture(name: string): Architecture {
  const arch = registry.get(name);
  if (!arch) {
    throw new TypeError(
      `unknown architecture "${name}" (registered: ${architectureNames().join(", ")})`,
    );
  }
  return arch;
}

/** lambda (fixed value or controller start) and controller gain of a penalty architecture's run. */
export function penaltyOptions(sae: SaeConfig): PenaltyOptions | null {
  const arch = getArchitecture(sae.architecture);
  return arch.sparsity === "penalty" ? sae[arch.name] as PenaltyOptions : null;
}
