// The WebAssembly SIMD GEMM against the plain TypeScript GEMM (an independent implementation):
// every transpose combination, alpha and beta, sizes off the 6 x 8 tile and the 120 x 256
// blocks, beta = 0 ignoring NaN in C, and the two-thread split.
import assert from "node:assert/strict";
import {
  createWasmGemm,
  type WasmGemm,
  WasmThreadError,
} from "../../../../lib/engine/cpu/gemm/wasm_gemm.ts";
import { jsSgemm } from "../../../../lib/engine/cpu/js_gemm.ts";
import type { GemmOptions } from "../../../../lib/engine/cpu/blas.ts";
import { Rng } from "../../../../lib/data/rng.ts";
import { excess } from "../../../_tf.ts";

function random(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  rng.fillNormal(a, 1);
  return a;
}

/** Runs both GEMMs on copies of one C and asserts they agree to float32 rounding of k terms. */
function compare(gemm: WasmGemm, shape: Omit<GemmOptions, "c">, rng: Rng, label: string) {
  const { m, n, k } = shape;
  const a = random(m * k, rng);
  const b = random(k * n, rng);
  const c0 = random(m * n, rng);
  const want = new Float32Array(c0);
  const got = new Float32Array(c0);
  jsSgemm(a, b, { ...shape, c: want });
  gemm.sgemm(a, b, { ...shape, c: got });
  // Entries are sums of k products of N(0,1) values: rounding error ~ 1e-7 sqrt(k) k.
  const e = excess(got, want, { rtol: 0, atol: 2e-6 * Math.max(1, k) });
  assert(e.ratio <= 1, `${label}: max |diff| ${e.maxAbs} at ${e.at}`);
}

Deno.test("wasm sgemm matches the TypeScript GEMM for every transpose, alpha and beta", () => {
  const gemm = createWasmGemm({ threads: 1 });
  const rng = new Rng(3, 7);
  try {
    for (
      const [m, n, k] of [[1, 1, 1], [5, 13, 7], [6, 8, 256], [37, 70, 300], [9, 2100, 3], [
        121,
        17,
        260,
      ]]
    ) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          for (const [alpha, beta] of [[1, 0], [0.7, 1], [-1.5, 0.25]]) {
            const shape = { m, n, k, transA, transB, alpha, beta };
            compare(gemm, shape, rng, JSON.stringify(shape));
          }
        }
      }
    }
  } finally {
    gemm.close();
  }
});

Deno.test("wasm sgemm with beta 0 overwrites C without reading it, and k = 0 scales C by beta", () => {
  const gemm = createWasmGemm({ threads: 1 });
  try {
    const a = Float32Array.of(1, 2, 3, 4); // [2, 2]
    const b = Float32Array.of(5, 6, 7, 8); // [2, 2]
    const c = Float32Array.of(NaN, NaN, Infinity, NaN);
    gemm.sgemm(a, b, { c, m: 2, n: 2, k: 2 });
    assert.deepEqual([...c], [19, 22, 43, 50]);
    gemm.sgemm(a, b, { c, m: 2, n: 2, k: 0, beta: 0.5 });
    assert.deepEqual([...c], [9.5, 11, 21.5, 25]);
  } finally {
    gemm.close();
  }
});

Deno.test("wasm sgemm on two threads gives the same C as on one", async () => {
  const one = createWasmGemm({ threads: 1 });
  const two = createWasmGemm({ threads: 2 });
  const rng = new Rng(5, 9);
  try {
    assert.equal(await two.started(), 2, "the helper thread did not start");
    // 2 m n k = 2 * 203 * 150 * 70 > 4e6 FLOPs: split into row ranges [0, 102) and [102, 203).
    for (const transA of [false, true]) {
      const shape = { m: 203, n: 150, k: 70, transA, transB: !transA, alpha: 1.25, beta: 0.5 };
      const a = random(shape.m * shape.k, rng);
      const b = random(shape.k * shape.n, rng);
      const c = random(shape.m * shape.n, rng);
      const c1 = new Float32Array(c);
      const c2 = new Float32Array(c);
      one.sgemm(a, b, { ...shape, c: c1 });
      two.sgemm(a, b, { ...shape, c: c2 });
      assert.deepEqual(c2, c1);
      compare(two, shape, rng, `two threads ${JSON.stringify(shape)}`);
    }
  } finally {
    one.close();
    two.close();
  }
});

Deno.test("a job that fails on a helper thread throws WasmThreadError instead of hanging, and the next call works", async () => {
  const two = createWasmGemm({ threads: 2 });
  try {
    assert.equal(await two.started(), 2, "the helper thread did not start");
    // The caller's share is empty; the helper's reads far beyond the memory and traps.
    const beyond = 2 ** 31;
    assert.throws(
      () => two.run("sparseDots", [beyond, beyond, beyond, beyond, 4, beyond], [[0, 0], [0, 8]]),
      (e: Error) => e instanceof WasmThreadError && /helper thread 1 failed/.test(e.message),
    );
    const rng = new Rng(8, 1);
    compare(two, { m: 203, n: 150, k: 70 }, rng, "after a failed job");
  } finally {
    two.close();
  }
});
