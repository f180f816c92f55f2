// Test helper run as a subprocess (the CUDA libraries load once per process, here the CPU
// stand-ins): the cuda engine with its sparse products forced on against the cpu engine, at a
// shape the parity variants do not reach (B 70, D 40, F 200: d over a warp and not a multiple of
// it, several columns per selection thread, part-empty column chunks, AuxK's k 20 of 200 over
// more entries than the row dot's warps), over three Adam steps and in encode() after one step
// (inference selection: BatchTopK's running threshold). Prints one JSON line per case.
import { createEngine } from "../../../lib/engine/create_engine.ts";
import {
  cloneInit,
  compareEncodings,
  compareRuns,
  encodeAfterStep,
  makeParityCase,
  portableCpuEngine,
  runEngine,
} from "../../../lib/bench/engine_parity.ts";

const DIMS = { b: 70, d: 40, f: 200 };

for (const arch of Deno.args) {
  const c = makeParityCase(arch, { dims: DIMS, steps: 3 });
  const cuda = (init = c.init) =>
    createEngine(c.arch, init, {
      sae: c.sae,
      adamEps: 1e-8,
      gradClip: null,
      batch: DIMS.b,
      engine: "cuda",
      sparse: true,
    });
  const want = await runEngine(c, (init) => portableCpuEngine(c, init));
  const have = await runEngine(c, (init) => cuda(init));
  const step = compareRuns(have, want);
  // encode() on B + 5 rows (one full batch and a partial one) after one step.
  const encode = compareEncodings(
    await encodeAfterStep(c, await cuda(cloneInit(c.init)), 5),
    await encodeAfterStep(c, portableCpuEngine(c, cloneInit(c.init)), 5),
  );
  console.log(JSON.stringify({
    arch,
    worst: step.worst,
    failures: step.failures.slice(0, 3),
    encode,
  }));
}
