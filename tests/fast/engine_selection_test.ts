// createEngine() picks the fast CPU engine on the cpu/wasm tfjs backends when OpenBLAS loads, the
// tfjs reference engine with `reference: true`, and the portable GEMM, saying why, without a CBLAS.
import assert from "node:assert/strict";
import { createEngine, fastPathUnavailable } from "../../lib/train/create_engine.ts";
import { FastEngine } from "../../lib/fast/fast_engine.ts";
import { TfjsEngine } from "../../lib/train/tfjs_engine.ts";
import { loadBlas } from "../../lib/fast/blas.ts";
import { architectures } from "../../lib/sae/registry.ts";
import { makeCase } from "./_case.ts";
import { useBackend } from "../_tf.ts";

const CI = Boolean(Deno.env.get("CI"));

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`createEngine() uses the fast engine for every architecture with a kernel on ${backend} when OpenBLAS loads`, async () => {
    await useBackend(backend);
    const { blas, reason } = loadBlas();
    if (!blas) {
      assert.ok(
        !CI,
        `OpenBLAS is required under CI (apt-get install libopenblas0-pthread): ${reason}`,
      );
      return;
    }
    for (const { name: arch, kernel } of architectures()) {
      const c = makeCase(arch);
      const engine = createEngine(c.arch, c.init, { sae: c.sae, adamEps: 1e-8, gradClip: null });
      if (kernel) {
        assert.equal(fastPathUnavailable(c.arch), null);
        assert.ok(engine instanceof FastEngine, `${arch} on ${backend}: ${engine.backend}`);
        assert.equal(engine.backend, "cpu-openblas");
      } else {
        // An architecture without a kernel trains on the reference engine, and says why.
        assert.match(fastPathUnavailable(c.arch) ?? "", /has no fast kernel/);
        assert.ok(engine instanceof TfjsEngine, `${arch} on ${backend}: ${engine.backend}`);
      }
      engine.dispose();
      const ref = createEngine(c.arch, c.init, {
        sae: c.sae,
        adamEps: 1e-8,
        gradClip: null,
        reference: true,
      });
      assert.ok(ref instanceof TfjsEngine);
      assert.equal(ref.backend, backend);
      ref.dispose();
    }
  });
}

Deno.test("without a CBLAS (SAESWEEP_BLAS points nowhere) the fast path runs on the portable GEMM and names the missing library", async () => {
  // The library is loaded once per process, so check the message through a child process.
  const code = `
    import * as tf from "@tensorflow/tfjs";
    import { fastPathUnavailable } from "./lib/train/create_engine.ts";
    import { selectGemm } from "./lib/gemm/select_gemm.ts";
    import { getArchitecture } from "./lib/sae/registry.ts";
    await tf.setBackend("cpu");
    console.log(fastPathUnavailable(getArchitecture("jumprelu")));
    const { info } = selectGemm({ threads: 1 });
    console.log(info.kind, info.skipped);
  `;
  const root = new URL("../../", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", `${root}deno.json`, code],
    cwd: root,
    env: { SAESWEEP_BLAS: "/nonexistent/libopenblas.so.0" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const [unavailable, gemm] = text.trim().split("\n");
  assert.equal(unavailable, "null", text + new TextDecoder().decode(out.stderr));
  assert.match(gemm, /^wasm-simd no CBLAS library found \(\/nonexistent\/libopenblas\.so\.0/);
  assert.match(gemm, /apt-get install libopenblas0-pthread/);
});
