// The device memory a run will ask of the cuda engine, from its shapes, without a GPU and without
// initialising full-size parameters: the engine's own buffer sizes (engine_plan.ts deviceBytes)
// for parameter and state shapes found by initialising the architecture at two small sizes. A
// sweep's parent uses it to place runs on GPUs (lib/executor/gpu_slots.ts). Pure apart from that.
import type { EngineArchitecture } from "../architecture.ts";
import type { InitResult, SaeConfig } from "../types.ts";
import { Rng } from "../../data/rng.ts";
import { deviceBytes, planLayout, type Shapes } from "./engine_plan.ts";

/** An architecture the engine can initialise (lib/sae's Architecture is one). */
export type InitArchitecture = EngineArchitecture & {
  init(dims: { d: number; f: number }, options: { sae: SaeConfig; rng: Rng }): InitResult;
};

// Two small size pairs with no factor in common with each other or with the other's numbers, so
// that every dimension of a parameter is recognisably d, f or a constant.
const PROBES = [{ d: 7, f: 11 }, { d: 13, f: 17 }];

/** Each tensor's shape as a function of (d, f): a dimension is "d", "f" or a fixed size. */
function shapeRules(
  arch: InitArchitecture,
  sae: SaeConfig,
  part: "params" | "state",
): Record<string, ("d" | "f" | number)[]> {
  const [a, b] = PROBES.map((dims) => arch.init(dims, { sae, rng: new Rng(0, 0x5ae) })[part]);
  const rules: Record<string, ("d" | "f" | number)[]> = {};
  for (const [name, t] of Object.entries(a)) {
    const other = b[name]?.shape;
    if (!other || other.length !== t.shape.length) {
      throw new Error(`${arch.name}: ${part} ${name} changes rank with the sizes`);
    }
    rules[name] = t.shape.map((n, i) => {
      const m = other[i];
      if (n === PROBES[0].d && m === PROBES[1].d) return "d";
      if (n === PROBES[0].f && m === PROBES[1].f) return "f";
      if (n === m) return n;
      throw new Error(`${arch.name}: ${part} ${name} has a dimension other than d, f or fixed`);
    });
  }
  return rules;
}

function shapesOf(rules: Record<string, ("d" | "f" | number)[]>, d: number, f: number): Shapes {
  return Object.fromEntries(
    Object.entries(rules).map(([name, dims]) => [
      name,
      { shape: dims.map((x) => x === "d" ? d : x === "f" ? f : x) },
    ]),
  );
}

/**
 * Bytes of device memory the cuda engine allocates for a run of `arch` with `sae` (width
 * `sae.width`) on `d`-dimensional activations in batches of `batch`: what its own check compares
 * with the GPU's free memory before allocating. Excludes the CUDA context, cuBLAS's workspace and
 * the loaded module, which the caller adds.
 */
export function cudaRunBytes(
  arch: InitArchitecture,
  sae: SaeConfig,
  shape: { d: number; batch: number },
): number {
  const f = sae.width;
  const params = shapesOf(shapeRules(arch, sae, "params"), shape.d, f);
  const state = shapesOf(shapeRules(arch, sae, "state"), shape.d, f);
  // Adam's settings change no buffer size.
  const plan = planLayout(arch, { params, state }, {
    sae,
    batch: shape.batch,
    adamEps: 1e-8,
    gradClip: null,
  });
  return deviceBytes(plan);
}
