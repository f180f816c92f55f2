// Chooses the compute path for a run: on the CPU tfjs backends (cpu, wasm), the fast host engine
// (lib/fast/) on the GEMM lib/gemm/select_gemm.ts picks (a CBLAS where one loads, else the
// portable WebAssembly SIMD GEMM) when the architecture has a kernel; otherwise, or with
// `reference: true`, the tfjs reference engine on the active backend. An architecture without a
// fast kernel always trains on the reference engine. The trainer calls only this.
import * as tf from "@tensorflow/tfjs";
import type { Architecture, InitResult } from "../sae/types.ts";
import type { Engine } from "../engine/engine.ts";
import { TfjsEngine, type TfjsEngineOptions } from "./tfjs_engine.ts";
import { FastEngine } from "../fast/fast_engine.ts";
import {
  denseAboveFor,
  type GemmInfo,
  type GemmPreference,
  selectGemm,
  sparseKernels,
} from "../gemm/select_gemm.ts";

export interface CreateEngineOptions extends TfjsEngineOptions {
  /** Force the tfjs autodiff reference path even where a fast path exists. */
  reference?: boolean;
  /**
   * `portable` skips the system CBLAS and runs the fast engine on the WebAssembly GEMM (what a
   * machine without OpenBLAS does); default `auto`, or `SAESWEEP_GEMM` from the environment.
   */
  gemm?: GemmPreference;
  /** GEMM threads (default: `SAESWEEP_THREADS`, else every core). */
  threads?: number;
  /**
   * Sparse products, selection and optimiser passes on the WebAssembly SIMD kernels (`wasm`, the
   * default) or the TypeScript loops (`js`, what the fast engine ran before them; benchmarks).
   */
  kernels?: "wasm" | "js";
}

/** tfjs backends on which the fast CPU engine replaces the reference engine. */
const CPU_BACKENDS = new Set(["cpu", "wasm"]);

/** The GEMM each fast engine runs on, for run.json. */
const GEMMS = new WeakMap<Engine, GemmInfo>();

/** Why the fast CPU engine is not used for `arch` on the active backend, or null when it is. */
export function fastPathUnavailable(
  arch: Architecture,
  options: { gemm?: GemmPreference; threads?: number } = {},
): string | null {
  if (!CPU_BACKENDS.has(tf.getBackend())) {
    return `tfjs backend ${tf.getBackend()} is not a CPU backend`;
  }
  if (!arch.kernel) return `architecture ${arch.name} has no fast kernel (reference engine)`;
  const { reason } = selectGemm({ prefer: options.gemm, threads: options.threads });
  return reason ?? null;
}

export function createEngine(
  arch: Architecture,
  init: InitResult,
  options: CreateEngineOptions,
): Engine {
  if (!options.reference && fastPathUnavailable(arch, options) === null) {
    const { blas, info } = selectGemm({ prefer: options.gemm, threads: options.threads });
    const wasm = sparseKernels(info!.threads, { kernels: options.kernels });
    const engine = new FastEngine(arch, init, {
      ...options,
      kernel: arch.kernel!,
      blas: blas!,
      backend: `cpu-${info!.kind}`,
      denseAbove: denseAboveFor(info!, { sparseKernels: wasm !== undefined }),
      wasm,
    });
    GEMMS.set(engine, { ...info!, kernels: wasm ? "wasm-simd" : "js" });
    return engine;
  }
  return new TfjsEngine(arch, init, options);
}

/** The GEMM a fast engine runs on (provider, threads, why a faster one was skipped), else null. */
export function engineGemm(engine: Engine): GemmInfo | null {
  return GEMMS.get(engine) ?? null;
}
