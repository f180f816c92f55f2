// Measures the GEMM candidates of issue 15 against each other on the engine's own Float32Arrays:
// the system CBLAS (through FFI), OpenBLAS bundled elsewhere, the repository's WebAssembly SIMD
// GEMM on 1 and N threads, tfjs-backend-wasm's matMul (XNNPACK) and the plain TypeScript GEMM.
import * as tf from "@tensorflow/tfjs";
import type { Blas, GemmOptions } from "../engine/cpu/blas.ts";
import { JS_BLAS } from "../engine/cpu/js_gemm.ts";
import { createWasmGemm } from "../engine/cpu/gemm/wasm_gemm.ts";

export interface GemmShape {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  /** What the product is in a training step. */
  label: string;
}

/** The three dense products of a step at B D F: encoder, decoder-weight gradient, input gradient. */
export function stepGemmShapes(s: { batch: number; d_model: number; d_sae: number }): GemmShape[] {
  const { batch: b, d_model: d, d_sae: f } = s;
  return [
    { m: b, n: f, k: d, transB: true, label: "encoder x W_enc^T" },
    { m: f, n: d, k: b, transA: true, label: "gradient f^T dy" },
    { m: b, n: d, k: f, label: "decode f W_dec" },
  ];
}

export interface GemmMeasurement {
  provider: string;
  threads: number;
  shape: string;
  gflops: number;
}

/**
 * tfjs-backend-wasm's matMul (XNNPACK for plain products) behind the Blas contract: operands
 * copied into tensors, transposed first (its transposed matMul is ~20x slower), C copied out.
 */
export function tfjsWasmGemm(): Blas {
  return {
    name: "tfjs-wasm:xnnpack",
    threads: 1,
    sgemm(a: Float32Array, b: Float32Array, o: GemmOptions): void {
      const { c, m, n, k, transA = false, transB = false, alpha = 1, beta = 0 } = o;
      const out = tf.tidy(() => {
        let ta = tf.tensor2d(a.subarray(0, m * k), transA ? [k, m] : [m, k]);
        let tb = tf.tensor2d(b.subarray(0, k * n), transB ? [n, k] : [k, n]);
        if (transA) ta = tf.transpose(ta);
        if (transB) tb = tf.transpose(tb);
        return tf.matMul(ta, tb);
      });
      const data = out.dataSync() as Float32Array;
      out.dispose();
      if (alpha === 1 && beta === 0) c.set(data);
      else for (let i = 0; i < m * n; i++) c[i] = alpha * data[i] + (beta === 0 ? 0 : beta * c[i]);
    },
  };
}

function timeGemm(blas: Blas, s: GemmShape, repeats: number): number {
  const a = new Float32Array(s.m * s.k).fill(0.01);
  const b = new Float32Array(s.k * s.n).fill(0.01);
  const c = new Float32Array(s.m * s.n);
  const opts = { c, m: s.m, n: s.n, k: s.k, transA: s.transA, transB: s.transB };
  blas.sgemm(a, b, opts);
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    blas.sgemm(a, b, opts);
    best = Math.min(best, performance.now() - t0);
  }
  return (2 * s.m * s.n * s.k) / (best / 1000) / 1e9;
}

/**
 * Best-of-`repeats` GFLOP/s of each provider on each shape, providers interleaved per shape so
 * that all see the same machine load. tfjs-wasm is measured only when it is the active backend.
 */
export async function measureGemmCandidates(
  shapes: readonly GemmShape[],
  options: { cblas: Blas[]; threads: number; repeats?: number; js?: boolean },
): Promise<GemmMeasurement[]> {
  const repeats = options.repeats ?? 3;
  const wasm1 = createWasmGemm({ threads: 1 });
  const wasmN = options.threads > 1 ? createWasmGemm({ threads: options.threads }) : null;
  const wasmNThreads = wasmN ? await wasmN.started() : 1;
  const providers: [Blas, number][] = [
    ...options.cblas.map((b) => [b, b.threads] as [Blas, number]),
    [wasm1, 1],
    ...(wasmN ? [[wasmN, wasmNThreads] as [Blas, number]] : []),
    ...(tf.getBackend() === "wasm" ? [[tfjsWasmGemm(), 1] as [Blas, number]] : []),
    ...(options.js ? [[JS_BLAS, 1] as [Blas, number]] : []),
  ];
  const out: GemmMeasurement[] = [];
  try {
    for (const s of shapes) {
      for (const [blas, threads] of providers) {
        const shape = `${s.m}x${s.k}x${s.n}${s.transA ? " tA" : ""}${s.transB ? " tB" : ""}`;
        out.push({ provider: blas.name, threads, shape, gflops: timeGemm(blas, s, repeats) });
      }
    }
  } finally {
    wasm1.close();
    wasmN?.close();
  }
  return out;
}

/** The measurements as a fixed-width table (one row per provider and product). */
export function formatGemmTable(rows: readonly GemmMeasurement[]): string {
  const w = Math.max(8, ...rows.map((r) => r.provider.length));
  const lines = [`${"provider".padEnd(w)}  threads  ${"product".padEnd(22)}  GFLOP/s`];
  for (const r of rows) {
    lines.push(
      `${r.provider.padEnd(w)}  ${String(r.threads).padStart(7)}  ${r.shape.padEnd(22)}  ${
        r.gflops.toFixed(1).padStart(7)
      }`,
    );
  }
  return lines.join("\n");
}
