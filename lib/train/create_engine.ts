// Chooses the compute path for a run: on the CPU tfjs backends (cpu, wasm), the fast host engine
// (lib/fast/) when a system BLAS loads and the architecture has a kernel; otherwise, or with
// `reference: true`, the tfjs reference engine on the active backend. An architecture without a
// fast kernel always trains on the reference engine. The trainer calls only this.
import * as tf from "@tensorflow/tfjs";
import type { Architecture, InitResult } from "../sae/types.ts";
import type { Engine } from "../engine/engine.ts";
import { TfjsEngine, type TfjsEngineOptions } from "./tfjs_engine.ts";
import { loadBlas } from "../fast/blas.ts";
import { FastEngine } from "../fast/fast_engine.ts";

export interface CreateEngineOptions extends TfjsEngineOptions {
  /** Force the tfjs autodiff reference path even where a fast path exists. */
  reference?: boolean;
}

/** tfjs backends on which the fast CPU engine replaces the reference engine. */
const CPU_BACKENDS = new Set(["cpu", "wasm"]);

/** Why the fast CPU engine is not used for `arch` on the active backend, or null when it is. */
export function fastPathUnavailable(arch: Architecture): string | null {
  if (!CPU_BACKENDS.has(tf.getBackend())) {
    return `tfjs backend ${tf.getBackend()} is not a CPU backend`;
  }
  if (!arch.kernel) return `architecture ${arch.name} has no fast kernel (reference engine)`;
  const { reason } = loadBlas();
  return reason ?? null;
}

export function createEngine(
  arch: Architecture,
  init: InitResult,
  options: CreateEngineOptions,
): Engine {
  if (!options.reference && fastPathUnavailable(arch) === null) {
    const blas = loadBlas().blas!;
    const kind = blas.name.startsWith("accelerate") ? "accelerate" : "openblas";
    return new FastEngine(arch, init, {
      ...options,
      kernel: arch.kernel!,
      blas,
      backend: `cpu-${kind}`,
    });
  }
  return new TfjsEngine(arch, init, options);
}
