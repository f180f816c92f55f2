// The cuda engine's sparse products (lib/engine/cuda/sparse.ts) on the CPU stand-ins, at a shape
// the parity variants of cuda-check (emulated_engine_test.ts, "... (sparse)") do not reach: B 70,
// D 40, F 200 (_sparse_cases.ts): three Adam steps against the cpu engine within the parity
// tolerance, and encode() (inference selection and decode over the lists) within PARAM_TOL; and
// the plan: which products the engine's rule makes sparse (lib/engine/sparse_plan.ts) and the
// kernels it then launches instead of GEMMs. Needs a C++ compiler (as CI has).
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { makeParityCase } from "../../../lib/bench/engine_parity.ts";
import { enginePlan } from "../../../lib/engine/cuda/engine_plan.ts";
import { HAS_CXX, jsonOnEmulator } from "./_emulator.ts";

const HELPER = fileURLToPath(new URL("./_sparse_cases.ts", import.meta.url));
const CI = Boolean(Deno.env.get("CI"));

function plan(arch: string, sparse?: boolean) {
  const c = makeParityCase(arch, { steps: 1 });
  return enginePlan(c.arch, c.init, {
    sae: c.sae,
    adamEps: 1e-8,
    gradClip: null,
    batch: c.dims.b,
    sparse,
  });
}

Deno.test("the cuda engine's rule makes k-sparse codes' products sparse, and only those", () => {
  // Parity shapes: k 6 of 96 latents (6 x 8 <= 96); AuxK's k 8 as small.
  for (const arch of ["topk", "batchtopk", "matryoshka_batchtopk"]) {
    assert.deepEqual(plan(arch).layout.sparse, { main: true, aux: true }, arch);
    assert.equal(plan(arch, false).layout.sparse, undefined, `${arch} with sparse: false`);
  }
  for (const arch of ["relu", "jumprelu", "gated"]) {
    assert.equal(plan(arch, true).layout.sparse, undefined, `${arch} with sparse: true`);
  }
  const labels = (arch: string, sparse?: boolean) =>
    plan(arch, sparse).step.filter((op) => op.kind === "gemm").map((op) => op.label);
  // TopK's step keeps the encoder's GEMM and b_dec's [1, F] x [F, D] correction: the decode, the
  // latent gradients and the weight gradients run over lists; the dense plan has them all.
  assert.deepEqual(labels("topk"), ["pre = xIn W_enc + b_enc", "gb_dec -= W_enc gb_enc"]);
  assert.ok(labels("topk", false).length >= 5, labels("topk", false).join(", "));
  // Matryoshka's inner prefixes stay dense.
  assert.ok(labels("matryoshka_batchtopk").some((l) => l.startsWith("x_hat_")));
});

Deno.test({
  name: "the cuda engine with sparse products matches the cpu engine at B 70, D 40, F 200",
  ignore: !HAS_CXX && !CI,
  async fn() {
    assert.ok(HAS_CXX, "CI needs a C++ compiler (c++) for the CUDA stand-ins: apt-get install g++");
    const archs = ["topk", "batchtopk", "matryoshka_batchtopk"];
    const rows = await jsonOnEmulator([HELPER, ...archs]);
    assert.deepEqual(rows.map((r) => r.arch), archs);
    for (const r of rows) {
      assert.deepEqual(r.failures, [], `${r.arch}: worst ${r.worst}`);
      for (const e of r.encode) assert.ok(e.ratio <= 1, `${r.arch} encode ${e.k}: ${e.maxAbs}`);
    }
  },
});
