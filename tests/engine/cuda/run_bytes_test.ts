// cudaRunBytes() (the device memory a sweep reserves for a run, from its shapes alone) equals the
// engine's own count for full-size parameters for every parity variant with a gpu step, and that
// count is what the engine allocates: measured on the CPU stand-in driver, whose free memory drops
// by each cuMemAlloc (a subprocess; needs a C++ compiler, as CI has).
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { makeParityCase, webgpuParityVariants } from "../../../lib/bench/engine_parity.ts";
import {
  cudaKernelMissing,
  deviceBytes,
  enginePlan,
} from "../../../lib/engine/cuda/engine_plan.ts";
import { workBuffers } from "../../../lib/engine/cuda/step_plan.ts";
import { getArchitecture } from "../../../lib/sae/registry.ts";
import { cudaRunBytes } from "../../../lib/engine/cuda/run_bytes.ts";
import { HAS_CXX, jsonOnEmulator } from "./_emulator.ts";

const HELPER = fileURLToPath(new URL("./_engine_bytes.ts", import.meta.url));
const CI = Boolean(Deno.env.get("CI"));

Deno.test("cudaRunBytes() from shapes alone equals the engine plan's bytes for every gpu variant", () => {
  const variants = webgpuParityVariants();
  let checked = 0;
  for (const v of variants) {
    const sae = makeParityCase(v.arch, { sae: v.sae, steps: 1 }).sae;
    if (cudaKernelMissing(getArchitecture(v.arch), sae)) continue; // e.g. a webgpu-only option
    for (const dims of [{ b: 48, d: 16, f: 96 }, { b: 300, d: 40, f: 1000 }]) {
      const c = makeParityCase(v.arch, { sae: v.sae, steps: 1, dims });
      const options = { sae: c.sae, adamEps: 1e-8, gradClip: v.gradClip ?? null, batch: dims.b };
      const want = deviceBytes(enginePlan(c.arch, c.init, options));
      const have = cudaRunBytes(c.arch, c.sae, { d: dims.d, batch: dims.b });
      assert.equal(have, want, `${v.label} at ${JSON.stringify(dims)}`);
      checked++;
    }
  }
  assert.ok(checked >= 8, `only ${checked} variants with a gpu step`);
});

Deno.test("deviceBytes() counts each parameter four times (value, gradient, Adam m and v)", () => {
  const c = makeParityCase("topk", { steps: 1 });
  const options = { sae: c.sae, adamEps: 1e-8, gradClip: null, batch: c.dims.b };
  const plan = enginePlan(c.arch, c.init, options);
  const { d, f } = c.dims;
  // TopK's parameters: W_enc [D, F], W_dec [F, D], b_enc [F], b_dec [D]; each buffer >= 16 bytes.
  const params = 4 * 4 * (2 * d * f + f + d);
  const buffer = (n: number) => Math.max(16, 4 * n);
  const rest = [...Object.values(plan.stateSizes), ...Object.values(workBuffers(plan.layout))]
    .reduce((a, n) => a + buffer(n), 0);
  assert.equal(deviceBytes(plan), params + rest);
});

Deno.test({
  name: "the cuda engine allocates on the device exactly what deviceBytes() and the estimate say",
  ignore: !HAS_CXX && !CI,
  async fn() {
    assert.ok(HAS_CXX, "CI needs a C++ compiler (c++) for the CUDA stand-ins: apt-get install g++");
    const r = (await jsonOnEmulator([HELPER])).at(-1);
    assert.ok(r.allocated > 0, JSON.stringify(r));
    assert.equal(r.deviceBytes, r.allocated);
    assert.equal(r.estimate, r.allocated);
  },
});

Deno.test("deviceBytes() counts the sparse products' lists: u32 [B, F] per list, with counts", () => {
  const c = makeParityCase("topk", { steps: 1 });
  const { b, f } = c.dims;
  const bytes = (sparse: boolean) =>
    deviceBytes(
      enginePlan(c.arch, c.init, { sae: c.sae, adamEps: 1e-8, gradClip: null, batch: b, sparse }),
    );
  const plan = enginePlan(c.arch, c.init, { sae: c.sae, adamEps: 1e-8, gradClip: null, batch: b });
  assert.deepEqual(plan.layout.sparse, { main: true, aux: true }, "the rule takes k-sparse TopK");
  // Each row's kept latents and AuxK's ([B, F] and [B] each), each latent's rows by column chunk
  // ([F, B] and [chunks, F]).
  const chunks = Math.min(64, b);
  assert.equal(bytes(true) - bytes(false), 4 * (2 * (b * f + b) + f * b + chunks * f));
  assert.equal(deviceBytes(plan), bytes(true));
});
