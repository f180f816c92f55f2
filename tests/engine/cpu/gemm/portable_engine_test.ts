// The fast engine on the portable path (the system CBLAS deliberately skipped through the engine
// selection's `gemm: "portable"` option): createEngine() picks the WebAssembly GEMM, a few training
// steps match the tfjs reference engine, and a run started with SAESWEEP_GEMM=portable records the
// GEMM in run.json. Never skipped: the portable path needs nothing outside the repository.
import assert from "node:assert/strict";
import {
  cpuEngineUnavailable,
  createEngine,
  engineGemm,
} from "../../../../lib/engine/create_engine.ts";
import { FastEngine } from "../../../../lib/engine/cpu/fast_engine.ts";
import { excess, makeCase, referenceEngine, runEngine } from "../_case.ts";
import { useBackend } from "../../../_tf.ts";
import { ROOT, runTask } from "../../../tasks/_spawn.ts";

/** After 3 Adam steps (lr 1e-3): |delta param| <= 1e-6 + 1e-5 max|param| (as tests/engine/cpu/). */
const PARAM_TOL = { rtol: 1e-5, atol: 1e-6 };

for (const archName of ["jumprelu", "topk"] as const) {
  Deno.test(`portable GEMM: ${archName} training steps match the reference engine`, async () => {
    await useBackend("wasm");
    const c = makeCase(archName);
    const opts = {
      sae: c.sae,
      adamEps: 1e-8,
      gradClip: c.gradClip,
      gemm: "portable" as const,
      engine: "cpu" as const,
    };
    assert.equal(cpuEngineUnavailable(c.arch, opts), null);
    const probe = await createEngine(c.arch, c.init, opts);
    assert.ok(probe instanceof FastEngine, `got ${probe.backend}`);
    assert.equal(probe.backend, "cpu-wasm-simd");
    const gemm = engineGemm(probe);
    assert.equal(gemm?.kind, "wasm-simd");
    assert.equal(gemm?.skipped, "portable GEMM requested");
    probe.dispose();

    const want = await runEngine(c, (init) => referenceEngine(c, init));
    const have = await runEngine(c, (init) => createEngine(c.arch, init, opts));
    for (let step = 0; step < c.batches.length; step++) {
      const [a, b] = [have.snapshots[step], want.snapshots[step]];
      for (const [n, t] of Object.entries(b.params)) {
        const e = excess(a.params[n].data, t.data, PARAM_TOL);
        assert(e.ratio <= 1, `step ${step + 1} ${n}: max |diff| ${e.maxAbs} (ratio ${e.ratio})`);
      }
      const [sa, sb] = [have.stats[step], want.stats[step]];
      assert(Math.abs(sa.loss - sb.loss) <= 1e-5 * Math.abs(sb.loss), `${sa.loss} vs ${sb.loss}`);
      assert(Math.abs(sa.l0 - sb.l0) <= 1e-4, `l0 ${sa.l0} vs ${sb.l0}`);
    }
  });
}

Deno.test("a run with SAESWEEP_GEMM=portable trains on the wasm GEMM and says so in run.json", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const spec = `${ROOT}tests/fixtures/specs/tiny.yaml`;
    const dry = await runTask("sweep", [spec, "--dry-run"], { cwd: dir });
    const id = dry.stdout.split("\n")[1].split(/\s+/)[1];
    const env = { SAESWEEP_GEMM: "portable", SAESWEEP_THREADS: "1" };
    const r = await runTask("run", [spec, "--run", id, "--backend", "wasm"], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/runs/tiny/${id}/run.json`));
    assert.equal(manifest.notes.engine, "cpu-wasm-simd");
    assert.equal(manifest.notes.gemm.kind, "wasm-simd");
    assert.equal(manifest.notes.gemm.threads, 1);
    assert.equal(manifest.notes.gemm.kernels, "wasm-simd");
    assert.match(manifest.notes.gemm.name, /sgemm\.wasm$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
