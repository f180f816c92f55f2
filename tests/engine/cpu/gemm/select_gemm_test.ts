// selectGemm() takes the CBLAS where one loads and the WebAssembly GEMM otherwise or when asked
// (`portable`), saying why; denseAboveFor() moves the sparse/dense switch for the slower GEMM.
import assert from "node:assert/strict";
import { denseAboveFor, selectGemm } from "../../../../lib/engine/cpu/gemm/select_gemm.ts";
import { loadBlas } from "../../../../lib/engine/cpu/blas.ts";

const CI = Boolean(Deno.env.get("CI"));

Deno.test("selectGemm() prefers the CBLAS and gives the portable GEMM when asked", () => {
  const portable = selectGemm({ prefer: "portable", threads: 1 });
  assert.equal(portable.info?.kind, "wasm-simd");
  assert.equal(portable.info?.threads, 1);
  assert.equal(portable.info?.skipped, "portable GEMM requested");
  const auto = selectGemm({ prefer: "auto", threads: 1 });
  const { blas, reason } = loadBlas();
  if (!blas) {
    assert.ok(!CI, `OpenBLAS is required under CI: ${reason}`);
    assert.equal(auto.info?.kind, "wasm-simd");
    assert.equal(auto.info?.skipped, reason);
    return;
  }
  assert.equal(auto.blas, blas);
  assert.equal(auto.info?.kind, blas.name.split(":")[0]);
  assert.equal(auto.info?.skipped, undefined);
});

Deno.test("denseAboveFor() moves the sparse/dense switch up for the slower wasm GEMM only", () => {
  const info = (kind: string, threads: number) => ({ kind, name: kind, threads });
  assert.equal(denseAboveFor(info("wasm-simd", 1)), 0.08);
  assert.equal(denseAboveFor(info("wasm-simd", 2)), 0.04);
  assert.equal(denseAboveFor(info("openblas", 2)), undefined);
});
