// The architecture registry: one line per architecture. Adding one = one file + one line here.
import type { ArchName } from "../spec/schema.ts";
import type { Architecture } from "./types.ts";
import { jumprelu } from "./jumprelu.ts";
import { relu } from "./relu.ts";
import { gated } from "./gated.ts";
import { topk } from "./topk.ts";
import { batchtopk } from "./batchtopk.ts";

export const ARCHITECTURE_REGISTRY: Readonly<Record<ArchName, Architecture>> = {
  jumprelu,
  relu,
  gated,
  topk,
  batchtopk,
};

export function getArchitecture(name: ArchName): Architecture {
  return ARCHITECTURE_REGISTRY[name];
}
