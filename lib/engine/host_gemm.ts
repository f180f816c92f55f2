// The GEMM for host-side work around training (calibration samples, held-out health statistics):
// the system CBLAS where one loads, else the TypeScript GEMM. Whatever engine trains, these run on
// the host, so the trainer asks the engine wing for them instead of reaching into the CPU engine.
import { type Blas, loadBlas } from "./cpu/blas.ts";
import { JS_BLAS } from "./cpu/js_gemm.ts";

export type { Blas } from "./cpu/blas.ts";

export function hostGemm(): Blas {
  return loadBlas().blas ?? JS_BLAS;
}
