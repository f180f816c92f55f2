// The optimiser passes on the WebAssembly kernels give bit-identical results to the TypeScript
// passes of lib/engine/cpu/adam.ts (same float64 operations in the same order), on one thread and two.
import assert from "node:assert/strict";
import { createWasmGemm } from "../../../lib/engine/cpu/gemm/wasm_gemm.ts";
import { JS_UPDATE, wasmUpdate } from "../../../lib/engine/cpu/wasm_update.ts";
import { Rng } from "../../../lib/data/rng.ts";

function filled(gemm: ReturnType<typeof createWasmGemm>, n: number, rng: Rng, sd: number) {
  const a = gemm.arena.f32(n)!;
  rng.fillNormal(a, sd);
  return a;
}

for (const threads of [1, 2]) {
  Deno.test(`wasm optimiser passes match the TypeScript ones bit for bit on ${threads} thread(s)`, async () => {
    const gemm = createWasmGemm({ threads });
    try {
      assert.equal(await gemm.started(), threads);
      const wasm = wasmUpdate(gemm);
      const rng = new Rng(11, 3);
      // Odd row length and row count, and enough entries to split over the threads.
      const [rows, d] = [1031, 67];
      for (const beta1 of [0, 0.9]) {
        const p = filled(gemm, rows * d, rng, 0.1);
        const g = filled(gemm, rows * d, rng, 0.01);
        const m = filled(gemm, rows * d, rng, 0.001);
        const v = gemm.arena.f32(rows * d)!;
        for (let i = 0; i < v.length; i++) v[i] = Math.abs(rng.normal()) * 1e-4;
        const copies = [p, g, m, v].map((a) => new Float32Array(a));
        const [p2, g2, m2, v2] = copies;
        const opt = { beta1, beta2: 0.999, c1: 1 - beta1 ** 3, c2: 1 - 0.999 ** 3, lr: 1e-3 };
        wasm.projectRows(g, p, d);
        JS_UPDATE.projectRows(g2, p2, d);
        assert.deepEqual(g, g2, "projectRows");
        wasm.adamUpdate(p, g, { ...opt, m, v, eps: 1e-8, scale: 0.75 });
        JS_UPDATE.adamUpdate(p2, g2, { ...opt, m: m2, v: v2, eps: 1e-8, scale: 0.75 });
        assert.deepEqual([p, m, v], [p2, m2, v2], `adam beta1 ${beta1}`);
        wasm.normalizeRows(p, d);
        JS_UPDATE.normalizeRows(p2, d);
        assert.deepEqual(p, p2, "normalizeRows");
      }
    } finally {
      gemm.close();
    }
  });
}
