// Picks the GEMM behind the fast CPU engine: a CBLAS through FFI where one loads (lib/engine/cpu/blas.ts:
// the system's first, then conda's or a Python wheel's), else the portable WebAssembly SIMD GEMM,
// else nothing (the caller falls back to the tfjs reference engine). One choice per process.
import { type Blas, loadBlas, runThreads } from "../blas.ts";
import { createWasmGemm, type WasmGemm } from "./wasm_gemm.ts";

/** `auto`: a CBLAS if one loads, else portable; `portable`: never the CBLAS (tests, benchmarks). */
export type GemmPreference = "auto" | "portable";

/** What ran, for run.json: the provider, its threads, and why faster ones were passed over. */
export interface GemmInfo {
  /** `openblas`, `accelerate` or `wasm-simd`. */
  kind: string;
  /** Library path or module that ran. */
  name: string;
  threads: number;
  /** Why the CBLAS was not used (absent when it was). */
  skipped?: string;
  /**
   * What ran the fast engine's sparse products, selection and optimiser passes: `wasm-simd` (the
   * kernels in sgemm.wasm, on `threads` threads) or `js` (TypeScript loops). Set by createEngine.
   */
  kernels?: "wasm-simd" | "js";
}

export type GemmChoice = { blas: Blas; info: GemmInfo; reason?: undefined } | {
  blas: null;
  info?: undefined;
  reason: string;
};

const portable = new Map<number, GemmChoice>();
const wasmGemms = new Map<number, WasmGemm>();

/**
 * Active-list density above which the fast engine's sparse products run as dense GEMMs on this
 * GEMM (undefined: the engine's default, tuned for OpenBLAS). The WebAssembly GEMM multiplies ~4x
 * slower per thread, so the sparse loops win up to ~9% density on one thread (measured at
 * 32x256x1024 and 64x512x4096: sparse and dense cost the same near L0 / F = 0.09).
 */
export function denseAboveFor(
  info: GemmInfo,
  options: { sparseKernels?: boolean } = {},
): number | undefined {
  if (options.sparseKernels) {
    return info.kind === "wasm-simd" ? WASM_DENSE_ABOVE : CBLAS_DENSE_ABOVE;
  }
  return info.kind === "wasm-simd" ? 0.08 / info.threads : undefined;
}

/**
 * The switch with the WebAssembly SIMD sparse kernels, which multiply-add ~3x faster than the
 * TypeScript loops: break-even measured at 512x4096x4096 and 256x2048x4096 (JumpReLU, TopK) near
 * 6% with OpenBLAS on 2 loaded cores (lower on an idle machine, hence 4%), ~4x that on the wasm GEMM.
 */
const CBLAS_DENSE_ABOVE = 0.1;
const WASM_DENSE_ABOVE = 0.3;

/**
 * The WebAssembly module whose SIMD kernels run the fast engine's sparse products, on `threads`
 * threads (the portable GEMM's instance), or undefined when it does not load or `kernels`
 * (default: `SAESWEEP_KERNELS` from the environment) is `js`, asking for the TypeScript loops.
 */
export function sparseKernels(
  threads: number,
  options: { kernels?: "wasm" | "js" } = {},
): WasmGemm | undefined {
  let v: string | undefined = options.kernels;
  try {
    v ??= Deno.env.get("SAESWEEP_KERNELS");
  } catch {
    v = undefined;
  }
  if (v === "js") return undefined;
  portableGemm(threads);
  return wasmGemms.get(threads);
}

/** The preference from `SAESWEEP_GEMM` (auto | portable), default auto. */
export function gemmPreferenceFromEnv(): GemmPreference {
  let v: string | undefined;
  try {
    v = Deno.env.get("SAESWEEP_GEMM");
  } catch {
    v = undefined;
  }
  return v === "portable" ? "portable" : "auto";
}

function kindOf(blas: Blas): string {
  return blas.name.split(":")[0];
}

/** The portable GEMM with `threads` threads, created once per thread count. */
export function portableGemm(threads: number, skipped?: string): GemmChoice {
  let choice = portable.get(threads);
  if (!choice) {
    try {
      const blas = createWasmGemm({ threads });
      wasmGemms.set(threads, blas);
      choice = { blas, info: { kind: kindOf(blas), name: blas.name, threads: blas.threads } };
    } catch (e) {
      choice = { blas: null, reason: `WebAssembly GEMM unavailable: ${(e as Error).message}` };
    }
    portable.set(threads, choice);
  }
  if (!choice.blas || skipped === undefined) return choice;
  return { blas: choice.blas, info: { ...choice.info, skipped } };
}

/**
 * Waits until the portable GEMM with `threads` threads has all its helper threads (they start
 * in the background and join when ready; benchmarks wait so every measured step uses them).
 */
export async function portableGemmStarted(threads: number): Promise<number> {
  portableGemm(threads);
  return (await wasmGemms.get(threads)?.started()) ?? 0;
}

/** The GEMM a run uses (threads default to runThreads()). */
export function selectGemm(
  options: { prefer?: GemmPreference; threads?: number } = {},
): GemmChoice {
  const prefer = options.prefer ?? gemmPreferenceFromEnv();
  const threads = options.threads ?? runThreads();
  if (prefer === "portable") return portableGemm(threads, "portable GEMM requested");
  const { blas, reason } = loadBlas({ threads });
  if (blas) return { blas, info: { kind: kindOf(blas), name: blas.name, threads: blas.threads } };
  const choice = portableGemm(threads, reason);
  return choice.blas ? choice : { blas: null, reason: `${reason}; ${choice.reason}` };
}
