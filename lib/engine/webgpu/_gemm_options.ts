// The options of one GEMM kernel (gemm.ts), shared by its kernel families. Types only.

export interface GemmOptions {
  m: number;
  n: number;
  k: number;
  /** A is stored [k, m] (use A^T) instead of [m, k]. */
  transA?: boolean;
  /** B is stored [n, k] (use B^T) instead of [k, n]. */
  transB?: boolean;
  /** C = alpha * op(A) op(B) (+ beta * C) (+ bias); default 1. */
  alpha?: number;
  /** 0 (default): overwrite C; 1: accumulate into C. */
  beta?: 0 | 1;
  /** Add bias[n] (a buffer) to every row of the product. */
  bias?: boolean;
  /**
   * C = max(..., 0) once the product, beta and bias are in: the ReLU selection fused into the
   * encoder GEMM's epilogue (f written directly, no pre-activation pass).
   */
  relu?: boolean;
}
