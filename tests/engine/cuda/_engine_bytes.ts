// Test helper run as a subprocess (the CUDA libraries load once per process): creates the cuda
// engine for the TopK parity case on the device SAESWEEP_CUDA_LIB_DIR's driver shows and prints
// one JSON line: the device's free memory before and after, and what deviceBytes() and
// cudaRunBytes() say the engine allocates.
import { makeParityCase } from "../../../lib/bench/engine_parity.ts";
import { openCudaDevice } from "../../../lib/engine/cuda/device.ts";
import { createCudaEngine } from "../../../lib/engine/cuda/create_cuda_engine.ts";
import { deviceBytes, enginePlan } from "../../../lib/engine/cuda/engine_plan.ts";
import { cudaRunBytes } from "../../../lib/engine/cuda/run_bytes.ts";

const c = makeParityCase("topk", { steps: 1 });
const options = { sae: c.sae, adamEps: 1e-8, gradClip: null, batch: c.dims.b };
const before = openCudaDevice().memory().free;
const engine = createCudaEngine(c.arch, c.init, options);
const after = openCudaDevice().memory().free;
engine.dispose();
console.log(JSON.stringify({
  allocated: before - after,
  deviceBytes: deviceBytes(enginePlan(c.arch, c.init, options)),
  estimate: cudaRunBytes(c.arch, c.sae, { d: c.dims.d, batch: c.dims.b }),
}));
