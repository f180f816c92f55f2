// The cuda engine's row-major products become column-major cuBLAS calls (columnMajorCall): run
// through a column-major GEMM written from the BLAS definition, on the row-major buffers as they
// lie in device memory, every transpose combination the step uses (and the 1-row gb_dec update)
// gives the row-major product of the cpu engine's TypeScript GEMM. No GPU: this checks the
// argument mapping, which cuBLAS then computes.
import assert from "node:assert/strict";
import { columnMajorCall, OP_T } from "../../../lib/engine/cuda/cuda_engine.ts";
import type { GemmOp } from "../../../lib/engine/cuda/step_plan.ts";
import { JS_BLAS } from "../../../lib/engine/cpu/js_gemm.ts";
import { Rng } from "../../../lib/data/rng.ts";

/** BLAS sgemm, column-major: C = alpha op(A) op(B) + beta C, op(A) m x k, op(B) k x n. */
function sgemmColumnMajor(
  c: ReturnType<typeof columnMajorCall>,
  alpha: number,
  A: Float32Array,
  B: Float32Array,
  beta: number,
  C: Float32Array,
): void {
  const a = (i: number, l: number) => c.transa === OP_T ? A[l + i * c.lda] : A[i + l * c.lda];
  const b = (l: number, j: number) => c.transb === OP_T ? B[j + l * c.ldb] : B[l + j * c.ldb];
  for (let j = 0; j < c.n; j++) {
    for (let i = 0; i < c.m; i++) {
      let s = 0;
      for (let l = 0; l < c.k; l++) s += a(i, l) * b(l, j);
      C[i + j * c.ldc] = alpha * s + (beta === 0 ? 0 : beta * C[i + j * c.ldc]);
    }
  }
}

const rng = new Rng(3, 0xc0de);
const fill = (n: number) => Float32Array.from({ length: n }, () => rng.normal());

const CASES: {
  label: string;
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
}[] = [
  { label: "pre = x W_enc", m: 5, n: 7, k: 3 },
  { label: "df = dxHat W_dec^T", m: 5, n: 7, k: 3, transB: true },
  { label: "gW_dec = f^T dxHat", m: 7, n: 3, k: 5, transA: true },
  { label: "both transposed", m: 4, n: 6, k: 9, transA: true, transB: true, alpha: 0.5, beta: 1 },
  { label: "gb_dec -= W_enc gb_enc", m: 1, n: 3, k: 7, transB: true, alpha: -1, beta: 1 },
];

for (const t of CASES) {
  Deno.test(`columnMajorCall() maps ${t.label} (${t.m}x${t.n}x${t.k}) onto cuBLAS's column-major GEMM`, () => {
    const op: GemmOp = {
      kind: "gemm",
      label: t.label,
      m: t.m,
      n: t.n,
      k: t.k,
      transA: t.transA ?? false,
      transB: t.transB ?? false,
      alpha: t.alpha ?? 1,
      beta: t.beta ?? 0,
      a: "a",
      b: "b",
      c: "c",
    };
    const A = fill(t.m * t.k);
    const B = fill(t.k * t.n);
    const C0 = fill(t.m * t.n);
    const want = new Float32Array(C0);
    JS_BLAS.sgemm(A, B, {
      c: want,
      m: t.m,
      n: t.n,
      k: t.k,
      transA: op.transA,
      transB: op.transB,
      alpha: op.alpha,
      beta: op.beta,
    });
    const call = columnMajorCall(op);
    assert.equal(call.first, "b");
    const have = new Float32Array(C0);
    sgemmColumnMajor(call, op.alpha, B, A, op.beta, have); // B's memory first
    for (let i = 0; i < want.length; i++) {
      assert.ok(Math.abs(have[i] - want[i]) <= 1e-5 * (1 + Math.abs(want[i])), `at ${i}`);
    }
  });
}
