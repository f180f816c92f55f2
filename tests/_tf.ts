// Test helper: activates a tfjs backend by name (cpu = the pure-JS reference, wasm = the default
// CPU backend) and builds small deterministic tensors. Private to tests/.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { Rng } from "../lib/data/rng.ts";
import { experimentSchema, type SaeSpec } from "../lib/spec/schema.ts";

export async function useBackend(name: "cpu" | "wasm"): Promise<void> {
  if (tf.getBackend() !== name) {
    const ok = await tf.setBackend(name);
    if (!ok) throw new Error(`tfjs backend ${name} failed to initialise`);
  }
  await tf.ready();
}

/** Gaussian Float32Array of `n` values with standard deviation `std`. */
export function gaussian(
  n: number,
  options: { seed: number; std?: number; mean?: number },
): Float32Array {
  const rng = new Rng(options.seed, 77);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (options.mean ?? 0) + (options.std ?? 1) * rng.normal();
  return out;
}

/** A resolved `sae` section with overrides (validated by the real schema). */
export function saeSpec(overrides: Record<string, unknown> = {}): SaeSpec {
  return experimentSchema().parse({ name: "t", data: { source: "synthetic" }, sae: overrides }).sae;
}

/** Max |a - b| / (atol + rtol |b|) over all entries; <= 1 means "close". */
export function closeness(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: { atol: number; rtol: number },
): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / (options.atol + options.rtol * Math.abs(b[i])));
  }
  return worst;
}

/** Largest |a - b| over (atol + rtol * max|b|): the one definition, in lib/bench/engine_parity.ts. */
export { excess } from "../lib/bench/engine_parity.ts";
