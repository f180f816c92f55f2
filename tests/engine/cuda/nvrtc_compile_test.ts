// Every kernel the cuda engine can launch compiles with NVRTC to a CUBIN for sm_80 (A100) and
// sm_90 (H100/H200), without a GPU: the union of the step, encoder and check modules of every
// parity variant with a gpu step description (small shapes; the k-sparse ones also with the sparse
// products forced on) and of the bench shapes, one module per target. The CUBIN must hold each
// kernel by its unmangled name (what cuModuleGetFunction looks up). Skips without NVRTC off CI; under CI (.ci/run installs the nvidia-cuda-nvrtc wheel)
// it fails instead. Nothing here runs a kernel: that needs a GPU (docs/GPU.md, the bundle's cuda stage).
import assert from "node:assert/strict";
import { makeParityCase, webgpuParityVariants } from "../../../lib/bench/engine_parity.ts";
import { getArchitecture } from "../../../lib/sae/registry.ts";
import {
  cudaKernelMissing,
  enginePlan,
  type Shapes,
} from "../../../lib/engine/cuda/engine_plan.ts";
import { moduleOf, type Op } from "../../../lib/engine/cuda/step_plan.ts";
import { elementwise } from "../../../lib/engine/cuda/cuda_c.ts";
import { compileCubin } from "../../../lib/engine/cuda/nvrtc.ts";
import { CudaError } from "../../../lib/engine/cuda/ffi.ts";
import { findCudaLibrary } from "../../../lib/engine/cuda/libraries.ts";

const NVRTC = findCudaLibrary("nvrtc");
const CI = Boolean(Deno.env.get("CI"));

function nvrtcTest(name: string, fn: () => void): void {
  Deno.test({
    name,
    ignore: !NVRTC.path && !CI,
    fn() {
      if (!NVRTC.path) {
        throw new Error(
          "CI needs NVRTC for the cuda engine's compile test: pip install nvidia-cuda-nvrtc " +
            `(looked in ${NVRTC.looked.length} places, e.g. ${NVRTC.looked.slice(-2).join(", ")})`,
        );
      }
      fn();
    },
  });
}

/** Shapes of `arch`'s parameters and state at d_model D, width F (from a small init, scaled). */
function scaledShapes(archName: string, d: number, f: number): { params: Shapes; state: Shapes } {
  const c = makeParityCase(archName, { dims: { b: 8, d: 16, f: 96 }, steps: 1 });
  const scale = (h: Shapes): Shapes =>
    Object.fromEntries(
      Object.entries(h).map(([n, t]) => [n, {
        shape: t.shape.map((x) => x === 16 ? d : x === 96 ? f : x),
      }]),
    );
  return { params: scale(c.init.params), state: scale(c.init.state) };
}

function allPlans(): Op[][] {
  const plans: Op[][] = [];
  let variants = 0;
  for (const v of webgpuParityVariants()) {
    const c = makeParityCase(v.arch, { sae: v.sae, gradClip: v.gradClip, steps: 1 });
    if (cudaKernelMissing(c.arch, c.sae)) continue;
    // Each k-sparse variant also with the sparse products forced on (lists for AuxK too).
    for (const sparse of [undefined, true]) {
      const p = enginePlan(c.arch, c.init, {
        sae: c.sae,
        batch: c.dims.b,
        adamEps: 1e-8,
        gradClip: c.gradClip,
        sparse,
      });
      if (sparse && !p.layout.sparse) continue;
      plans.push(p.step, p.encode, p.checks);
    }
    variants++;
  }
  assert(variants >= 10, `only ${variants} parity variants have a gpu step description`);
  // The bench shapes, where TopK and BatchTopK (k = 32 of 4096 or more) take the sparse products
  // by the engine's rule (B/D/F 512/4096/4096 and 2304/16384/4096 as [B, D, F] = [4096, 512, 4096]...).
  for (const arch of ["jumprelu", "topk", "batchtopk", "relu"]) {
    for (const [b, d, f] of [[4096, 512, 4096], [4096, 2304, 16384]]) {
      const c = makeParityCase(arch, { steps: 1, dims: { b: 8, d: 16, f: 96 } });
      const p = enginePlan(getArchitecture(arch), scaledShapes(arch, d, f), {
        sae: { ...c.sae, width: f, target_l0: 32 },
        batch: b,
        adamEps: 1e-8,
        gradClip: null,
      });
      plans.push(p.step, p.encode, p.checks);
      if (arch === "topk" || arch === "batchtopk") {
        assert(p.layout.sparse?.main, `${arch} at [${b}, ${d}, ${f}] without the sparse products`);
      }
    }
  }
  return plans;
}

for (const target of ["sm_80", "sm_90"]) {
  nvrtcTest(`every cuda engine kernel compiles to a ${target} CUBIN holding each by name`, () => {
    const module = moduleOf(allPlans());
    assert(module.kernels.length > 100, `${module.kernels.length} kernels`);
    const sparse = module.kernels.filter((k) => /\((sparse|listed)\)$/.test(k.label));
    assert(sparse.length >= 6, `${sparse.length} sparse kernels`);
    const cubin = compileCubin(module.source, target, { kernels: module.kernels, cache: false });
    assert(
      cubin[0] === 0x7f && cubin[1] === 0x45 && cubin[2] === 0x4c && cubin[3] === 0x46,
      "not an ELF",
    );
    const text = new TextDecoder("latin1").decode(cubin);
    const missing = module.kernels.filter((k) => !text.includes(`\0${k.name}\0`));
    assert(missing.length === 0, `not in the CUBIN: ${missing.map((k) => k.label).join(", ")}`);
  });
}

nvrtcTest("a kernel that does not compile is named with the NVRTC log", () => {
  const good = elementwise({ label: "fine", n: 4, body: "x[i] = 1.0f;", buffers: { x: "x" } });
  const bad = elementwise({
    label: "broken on purpose",
    n: 4,
    body: "x[i] = undefined_name;",
    buffers: { x: "x" },
  });
  const module = moduleOf([[good, bad]]);
  assert.throws(
    () => compileCubin(module.source, "sm_90", { kernels: module.kernels, cache: false }),
    (err: unknown) => {
      assert(err instanceof CudaError);
      assert.match(err.message, /could not compile kernel k1 \(broken on purpose\) for sm_90/);
      assert.match(err.message, /undefined_name/);
      return true;
    },
  );
});
