// Test helper run as a subprocess (the CUDA libraries load once per process, here the CPU
// stand-ins): the cuda engine with its sparse products forced on against the cpu engine, at a
// shape the parity variants do not reach (B 70, D 40, F 200: d over a warp and not a multiple of
// it, several columns per selection thread, part-empty column chunks, AuxK's k 20 of 200 over
// more entries than the row dot's warps), over three Adam steps and in encode() after one step
// (inference selection: BatchTopK's running threshold). Prints one JSON line per case.
import { createEngine } from "../../../lib/engine/create_engine.ts";
import {
  cloneInit,
  compareRuns,
  excess,
  makeParityCase,
  PARAM_TOL,
  portableCpuEngine,
  runEngine,
} from "../../../lib/bench/engine_parity.ts";
import type { Engine } from "../../../lib/engine/engine.ts";

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
  const n = DIMS.b + 5;
  const x = new Float32Array(n * DIMS.d);
  x.set(c.batches[1]);
  x.set(c.batches[2].subarray(0, 5 * DIMS.d), DIMS.b * DIMS.d);
  const encoded = async (engine: Engine) => {
    try {
      engine.step(c.batches[0], { lr: c.lr, lambda: c.lambda });
      await engine.readStats();
      return await engine.encode(x, n);
    } finally {
      engine.dispose();
    }
  };
  const a = await encoded(await cuda(cloneInit(c.init)));
  const b = await encoded(portableCpuEngine(c, cloneInit(c.init)));
  const encode = (["f", "xHat"] as const).map((k) => ({ k, ...excess(a[k], b[k], PARAM_TOL) }));
  console.log(JSON.stringify({
    arch,
    worst: step.worst,
    failures: step.failures.slice(0, 3),
    encode: encode.map((e) => ({ k: e.k, ratio: e.ratio, maxAbs: e.maxAbs })),
  }));
}
