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

// Matryoshka's group products use sub-matrices: columns [lo, hi) of a row-major [rows, cols]
// matrix start at element lo with leading dimension cols (GemmOp.at). Each case is checked against
// the product of the sub-matrices copied out.
const SUB: { label: string; transA: boolean; transB: boolean }[] = [
  { label: "x_hat += f[:, lo:hi] W_dec[lo:hi]", transA: false, transB: false },
  { label: "df[:, lo:hi] += D W_dec[lo:hi]^T", transA: false, transB: true },
  { label: "gW_dec[lo:hi] += f[:, lo:hi]^T D", transA: true, transB: false },
];
for (const t of SUB) {
  Deno.test(`columnMajorCall() maps a product of sub-matrices: ${t.label}`, () => {
    // Row-major parents: P [6, 9] (the code f), W [9, 4] (W_dec), D [6, 4], G [6, 9] (df).
    const rows = 6, cols = 9, d = 4, lo = 2, hi = 7, w = hi - lo;
    const P = fill(rows * cols), W = fill(cols * d), D = fill(rows * d), G0 = fill(rows * cols);
    const G1 = fill(cols * d);
    const sub = (m: Float32Array, width: number, r: [number, number], c: [number, number]) => {
      const out = new Float32Array((r[1] - r[0]) * (c[1] - c[0]));
      for (let i = r[0]; i < r[1]; i++) {
        for (let j = c[0]; j < c[1]; j++) {
          out[(i - r[0]) * (c[1] - c[0]) + j - c[0]] = m[i * width + j];
        }
      }
      return out;
    };
    const pCols = sub(P, cols, [0, rows], [lo, hi]); // [rows, w]
    const wRows = sub(W, d, [lo, hi], [0, d]); // [w, d]
    let op: GemmOp, A: Float32Array, B: Float32Array, C: Float32Array, want: Float32Array;
    let read: (c: Float32Array) => Float32Array;
    const base = { kind: "gemm" as const, label: t.label, alpha: 1, beta: 1, transA: t.transA };
    if (!t.transA && !t.transB) {
      op = {
        ...base,
        m: rows,
        n: d,
        k: w,
        transB: false,
        a: "f",
        b: "W",
        c: "x",
        at: { a: lo, lda: cols, b: lo * d },
      };
      A = P, B = W, C = new Float32Array(D);
      want = new Float32Array(D);
      JS_BLAS.sgemm(pCols, wRows, { c: want, m: rows, n: d, k: w, beta: 1 });
      read = (c) => c;
    } else if (t.transB) {
      op = {
        ...base,
        m: rows,
        n: w,
        k: d,
        transB: true,
        a: "D",
        b: "W",
        c: "df",
        at: { b: lo * d, c: lo, ldc: cols },
      };
      A = D, B = W, C = new Float32Array(G0);
      want = sub(G0, cols, [0, rows], [lo, hi]);
      JS_BLAS.sgemm(D, wRows, { c: want, m: rows, n: w, k: d, transB: true, beta: 1 });
      read = (c) => sub(c, cols, [0, rows], [lo, hi]);
    } else {
      op = {
        ...base,
        m: w,
        n: d,
        k: rows,
        transB: false,
        a: "f",
        b: "D",
        c: "gW",
        at: { a: lo, lda: cols, c: lo * d },
      };
      A = P, B = D, C = new Float32Array(G1);
      want = sub(G1, d, [lo, hi], [0, d]);
      JS_BLAS.sgemm(pCols, D, { c: want, m: w, n: d, k: rows, transA: true, beta: 1 });
      read = (c) => sub(c, d, [lo, hi], [0, d]);
    }
    const call = columnMajorCall(op);
    // cuBLAS receives the pointers moved by the offsets (cuda_engine.ts #prepare).
    const at = (m: Float32Array, off = 0) => m.subarray(off);
    sgemmColumnMajor(call, 1, at(B, op.at?.b), at(A, op.at?.a), 1, at(C, op.at?.c));
    const have = read(C);
    for (let i = 0; i < want.length; i++) {
      assert.ok(Math.abs(have[i] - want[i]) <= 1e-5 * (1 + Math.abs(want[i])), `at ${i}`);
    }
  });
}
