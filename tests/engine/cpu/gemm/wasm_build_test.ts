// The committed lib/engine/cpu/gemm/sgemm.wasm is exactly what its AssemblyScript source builds to with the
// flags in lib/engine/cpu/gemm/build_wasm.ts (AssemblyScript comes from the npm registry).
import assert from "node:assert/strict";
import { buildWasm } from "../../../../lib/engine/cpu/gemm/build_wasm.ts";
import { WASM_URL } from "../../../../lib/engine/cpu/gemm/wasm_gemm.ts";

Deno.test("sgemm.wasm is reproducible from lib/engine/cpu/gemm/assembly/sgemm.ts (deno task build-wasm)", async () => {
  const built = await buildWasm();
  const committed = await Deno.readFile(WASM_URL);
  assert.equal(built.length, committed.length, "size differs: run `deno task build-wasm`");
  assert.deepEqual(built, committed, "bytes differ: run `deno task build-wasm`");
});
