// The sparse products on the WebAssembly SIMD kernels against the TypeScript loops of ActiveOps
// (float32 rounding of d-term sums), bit-identical on one thread and two, with operands inside
// the module's memory and outside it (copied in and back).
import assert from "node:assert/strict";
import { ActiveList } from "../../../lib/engine/cpu/active.ts";
import { ActiveOps } from "../../../lib/engine/cpu/active_ops.ts";
import { JS_BLAS } from "../../../lib/engine/cpu/js_gemm.ts";
import { WasmSparse } from "../../../lib/engine/cpu/wasm_sparse.ts";
import { arenaMemory, type HostMemory, JS_MEMORY } from "../../../lib/engine/cpu/host_memory.ts";
import { createWasmGemm, type WasmGemm } from "../../../lib/engine/cpu/gemm/wasm_gemm.ts";
import { Rng } from "../../../lib/data/rng.ts";
import { excess } from "../../_tf.ts";
import { getArchitecture } from "../../../lib/sae/registry.ts";
import { saeSchema } from "../../../lib/spec/schema.ts";
import { FastEngine } from "../../../lib/engine/cpu/fast_engine.ts";

// Shapes: B batch, D d_model (odd, off the SIMD width), F latents; ~K entries per row.
const [B, D, F, K] = [300, 37, 257, 40];

interface Results {
  xHat: Float32Array;
  dots: Float32Array;
  grad: Float32Array;
  gW: Float32Array;
  gSrc: Float32Array;
  gAcc: Float32Array;
}

function run(ops: ActiveOps, memory: HostMemory): Results {
  const rng = new Rng(21, 4);
  const f32 = (n: number, sd: number) => {
    const a = memory.f32(n);
    rng.fillNormal(a, sd);
    return a;
  };
  const list = new ActiveList(16, memory);
  list.reset(B, F);
  for (let r = 0; r < B; r++) {
    list.startRow(r);
    // Uneven rows (some empty) and uneven latents (low indices busier).
    for (let i = 0; i < F; i++) {
      if (rng.uniform() < (K / F) * (2 * (1 - i / F)) * (r % 7 ? 1 : 0)) {
        list.push(r, i, rng.normal());
      }
    }
  }
  list.finish();
  const w = f32(F * D, 1);
  const dy = f32(B * D, 1);
  const src = f32(B * D, 1);
  const bias = f32(D, 1);
  const add = f32(F, 1);
  const xHat = memory.f32(B * D);
  ops.decode(list, list.val, { w, d: D, out: xHat, bias });
  const dots = memory.f32(list.n);
  ops.dots(list, { a: dy, w, d: D, out: dots });
  const gW = f32(F * D, 0.1);
  const gSrc = f32(F * D, 0.1);
  ops.backward(list, { dy, w, gW, src, gSrc, d: D, add });
  const gAcc = f32(F * D, 0.1);
  ops.accumulate(list, list.grad, { src, g: gAcc, d: D });
  const copy = (a: Float32Array) => new Float32Array(a);
  return {
    xHat: copy(xHat),
    dots: copy(dots),
    grad: copy(list.grad.subarray(0, list.n)),
    gW: copy(gW),
    gSrc: copy(gSrc),
    gAcc: copy(gAcc),
  };
}

function wasmOps(gemm: WasmGemm) {
  return new ActiveOps(JS_BLAS, { denseAbove: Infinity, sparse: new WasmSparse(gemm) });
}

Deno.test("wasm sparse products match the TypeScript loops, on one thread and two, in place or copied", async () => {
  const one = createWasmGemm({ threads: 1 });
  const two = createWasmGemm({ threads: 2 });
  try {
    assert.equal(await two.started(), 2);
    const want = run(new ActiveOps(JS_BLAS, { denseAbove: Infinity }), JS_MEMORY);
    const inPlace = run(wasmOps(one), arenaMemory(one.arena));
    const copied = run(wasmOps(one), JS_MEMORY);
    // n D ~ 4e5 multiply-adds per product: above the parallel threshold, so two threads split.
    const threaded = run(wasmOps(two), arenaMemory(two.arena));
    for (const [k, v] of Object.entries(want) as [keyof Results, Float32Array][]) {
      const e = excess(inPlace[k], v, { rtol: 1e-5, atol: 1e-5 });
      assert(e.ratio <= 1, `${k}: max |diff| ${e.maxAbs} at ${e.at}`);
      assert.deepEqual(copied[k], inPlace[k], `${k} copied vs in place`);
      assert.deepEqual(threaded[k], inPlace[k], `${k} two threads vs one`);
    }
  } finally {
    one.close();
    two.close();
  }
});

Deno.test("wasm selection keeps the same latents as the TypeScript selection (jumprelu, topk)", async () => {
  const two = createWasmGemm({ threads: 2 });
  try {
    assert.equal(await two.started(), 2);
    for (const name of ["jumprelu", "topk"]) {
      const arch = getArchitecture(name);
      const [d, f, b] = [16, 300, 400]; // b f = 1.2e5 scanned entries: split over both threads
      const sae = saeSchema().parse({ architecture: name, width: f, target_l0: 7 });
      const init = arch.init({ d, f }, { sae, rng: new Rng(0, 7) });
      const x = new Float32Array(b * d);
      new Rng(3, 3).fillNormal(x, 1);
      const engine = (wasm?: WasmGemm) =>
        new FastEngine(arch, init, {
          sae,
          kernel: arch.kernels?.cpu!,
          adamEps: 1e-8,
          gradClip: null,
          blas: JS_BLAS,
          backend: "test",
          wasm,
        });
      if (name === "jumprelu") {
        // Thresholds between the pre-activations' quantiles, so some latents fire and some don't.
        const t = init.params.log_threshold;
        for (let i = 0; i < f; i++) t.data[i] = Math.log(0.5 + 3 * (i / f));
      }
      const [want, got] = [engine(), engine(two)].map((e) => e.encode(x, b));
      const fired = want.f.filter((v) => v !== 0).length;
      assert(fired > b && fired < b * f / 4, `${name}: ${fired} latents fired`);
      assert.deepEqual(got.f, want.f, `${name} latents`);
    }
  } finally {
    two.close();
  }
});
