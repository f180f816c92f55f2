// The machine's float32 GEMM ceiling: best GFLOP/s of a few BLAS sgemm calls at a benchmark-like
// shape ([4096, 512] x [512, 4096]), the yardstick for each step's effective GFLOP/s.
import type { Blas } from "../engine/cpu/blas.ts";

export function gemmCeiling(
  blas: Blas,
  options: { m?: number; k?: number; n?: number; repeats?: number } = {},
): number {
  const { m = 4096, k = 512, n = 4096, repeats = 4 } = options;
  const a = new Float32Array(m * k).fill(0.01);
  const b = new Float32Array(k * n).fill(0.01);
  const c = new Float32Array(m * n);
  blas.sgemm(a, b, { c, m, n, k });
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    blas.sgemm(a, b, { c, m, n, k });
    best = Math.min(best, performance.now() - t0);
  }
  return (2 * m * n * k) / (best / 1000) / 1e9;
}
