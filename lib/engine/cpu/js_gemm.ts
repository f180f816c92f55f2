// A portable float32 GEMM in plain TypeScript with the same contract as Blas.sgemm: the fast
// engine's maths without a system BLAS (tests, machines without OpenBLAS). Slow: ~1 GFLOP/s.
import type { Blas, GemmOptions } from "./blas.ts";

/** Row-major transpose of a [rows, cols] matrix. */
function transposed(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  }
  return out;
}

/** C = alpha op(A) op(B) + beta C with op(A) [m, k], op(B) [k, n] (i-k-j loop order). */
export function jsSgemm(a: Float32Array, b: Float32Array, options: GemmOptions): void {
  const { c, m, n, k, transA = false, transB = false, alpha = 1, beta = 0 } = options;
  const aa = transA ? transposed(a, k, m) : a; // [m, k]
  const bb = transB ? transposed(b, n, k) : b; // [k, n]
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let p = 0; p < k; p++) {
      const s = aa[i * k + p];
      if (s === 0) continue;
      const off = p * n;
      for (let j = 0; j < n; j++) row[j] += s * bb[off + j];
    }
    const co = i * n;
    if (beta === 0) { for (let j = 0; j < n; j++) c[co + j] = alpha * row[j]; }
    else for (let j = 0; j < n; j++) c[co + j] = alpha * row[j] + beta * c[co + j];
  }
}

/** jsSgemm behind the Blas interface. */
export const JS_BLAS: Blas = { name: "js", threads: 1, sgemm: jsSgemm };
