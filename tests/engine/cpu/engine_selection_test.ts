// createEngine() picks the CPU engine under auto whatever the tfjs backend when OpenBLAS loads, the
// tfjs reference engine with `engine: "reference"` or for an architecture without a cpu kernel, and
// the portable GEMM, saying why, without a CBLAS.
import assert from "node:assert/strict";
import {
  cpuEngineUnavailable,
  createEngine,
  engineChoice,
} from "../../../lib/engine/create_engine.ts";
import { BackendUnavailableError } from "../../../lib/errors.ts";
import { FastEngine } from "../../../lib/engine/cpu/fast_engine.ts";
import { TfjsEngine } from "../../../lib/engine/reference/tfjs_engine.ts";
import { loadBlas } from "../../../lib/engine/cpu/blas.ts";
import { architectures } from "../../../lib/sae/registry.ts";
import { makeCase } from "./_case.ts";
import { useBackend } from "../../_tf.ts";

const CI = Boolean(Deno.env.get("CI"));

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`createEngine() auto picks the CPU engine for every architecture with a cpu kernel on ${backend} when OpenBLAS loads, and reference when asked`, async () => {
    await useBackend(backend);
    const { blas, reason } = loadBlas();
    if (!blas) {
      assert.ok(
        !CI,
        `OpenBLAS is required under CI (apt-get install libopenblas0-pthread): ${reason}`,
      );
      return;
    }
    for (const arch of architectures()) {
      const c = makeCase(arch.name);
      const opts = { sae: c.sae, adamEps: 1e-8, gradClip: null };
      const engine = await createEngine(c.arch, c.init, opts);
      assert.ok(arch.kernels?.cpu, `${arch.name} has a cpu kernel`);
      assert.equal(cpuEngineUnavailable(c.arch), null);
      assert.ok(engine instanceof FastEngine, `${arch.name} on ${backend}: ${engine.backend}`);
      assert.equal(engine.backend, "cpu-openblas");
      const choice = engineChoice(engine)!;
      assert.equal(choice.requested, "auto");
      assert.equal(choice.used, "cpu");
      assert.equal(choice.gemm?.kind, "openblas");
      engine.dispose();
      const ref = await createEngine(c.arch, c.init, { ...opts, engine: "reference" });
      assert.ok(ref instanceof TfjsEngine);
      assert.equal(ref.backend, backend);
      assert.equal(engineChoice(ref)?.used, "reference");
      ref.dispose();
    }
  });
}

Deno.test("an architecture without a cpu kernel trains on the reference engine under auto, and engine cpu refuses it saying why", async () => {
  await useBackend("cpu");
  const c = makeCase("relu");
  const bare = { ...c.arch, kernels: {} };
  const opts = { sae: c.sae, adamEps: 1e-8, gradClip: null };
  assert.match(cpuEngineUnavailable(bare) ?? "", /relu has no cpu kernel/);
  const engine = await createEngine(bare, c.init, opts);
  assert.ok(engine instanceof TfjsEngine);
  const choice = engineChoice(engine)!;
  assert.equal(choice.used, "reference");
  assert.ok(choice.notes.some((n) => /cpu: architecture relu has no cpu kernel/.test(n)));
  assert.ok(choice.notes.some((n) => /webgpu: architecture relu has no webgpu kernel/.test(n)));
  engine.dispose();
  await assert.rejects(
    () => createEngine(bare, c.init, { ...opts, engine: "cpu" }),
    (e: Error) => e instanceof BackendUnavailableError && /engine cpu unavailable/.test(e.message),
  );
});

Deno.test("without a CBLAS (SAESWEEP_BLAS points nowhere) the fast path runs on the portable GEMM and names the missing library", async () => {
  // The library is loaded once per process, so check the message through a child process.
  const code = `
    import * as tf from "@tensorflow/tfjs";
    import { cpuEngineUnavailable } from "./lib/engine/create_engine.ts";
    import { selectGemm } from "./lib/engine/cpu/gemm/select_gemm.ts";
    import { getArchitecture } from "./lib/sae/registry.ts";
    await tf.setBackend("cpu");
    console.log(cpuEngineUnavailable(getArchitecture("jumprelu")));
    const { info } = selectGemm({ threads: 1 });
    console.log(info.kind, info.skipped);
  `;
  const root = new URL("../../../", import.meta.url).pathname;
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
