// Parity of the webgpu engine (hand-written WGSL kernels, on Mesa's software Vulkan in CI) with
// the cpu engine, for every architecture with a webgpu kernel at its defaults and at each of its
// parityCases (options the webgpu engine lacks kernels for must be refused, saying which), plus
// gradient clipping: parameters, Adam moments, state and statistics after each of 3 Adam steps;
// inference latents and reconstructions; a snapshot restored into a new engine continues
// bit-identically; a non-finite parameter is reported. The cpu engine is itself checked against
// the tfjs reference and by hand (tests/engine/cpu/, tests/sae/).
import assert from "node:assert/strict";
import { getArchitecture } from "../../../lib/sae/registry.ts";
import { createEngine } from "../../../lib/engine/create_engine.ts";
import { BackendUnavailableError } from "../../../lib/errors.ts";
import {
  compareEncodings,
  compareRuns,
  encodeAfterStep,
  makeParityCase as makeCase,
  type ParityCase,
  runEngine,
  webgpuParityVariants,
} from "../../../lib/bench/engine_parity.ts";
import { webgpuTest } from "../_webgpu.ts";
import { openDevice } from "../../../lib/engine/webgpu/device.ts";
import { chooseTile, TEXTURE_TILES, tileName } from "../../../lib/engine/webgpu/gemm.ts";
import { stepProducts } from "../../../lib/engine/webgpu/gemm_bench.ts";

function options(c: ParityCase, engine: "cpu" | "webgpu") {
  return { sae: c.sae, adamEps: 1e-8, gradClip: c.gradClip, batch: c.dims.b, engine };
}

// The comparison (lib/bench/engine_parity.ts, also run by `deno task gpu-probe --parity` on a GPU):
// parameters and state within 1e-6 + 1e-5 max|cpu|, Adam v within 1e-12 + 1e-4 max|cpu|, loss,
// terms, L0, FVU and STE window within 1e-5 relative, dead fraction and health exactly.
for (const v of webgpuParityVariants()) {
  webgpuTest(`webgpu engine matches the cpu engine over 3 Adam steps: ${v.label}`, async () => {
    const c = makeCase(v.arch, { sae: v.sae, gradClip: v.gradClip });
    const why = c.arch.kernels!.webgpu!.unsupported(c.sae);
    if (why) {
      await assert.rejects(
        () => createEngine(c.arch, c.init, options(c, "webgpu")),
        (e: Error) => e instanceof BackendUnavailableError && e.message.includes(why),
      );
      return;
    }
    const want = await runEngine(c, (init) => createEngine(c.arch, init, options(c, "cpu")));
    const have = await runEngine(c, (init) => createEngine(c.arch, init, options(c, "webgpu")));
    const report = compareRuns(have, want);
    assert.deepEqual(report.failures, [], `worst ${report.worst} at ${report.worstAt}`);
    assert.ok(report.worst <= 1);
  });
}

// With no dead latent AuxK's programs are dispatched with zero workgroups on the dense path: the
// step must still match (AuxK adds nothing then).
for (const v of webgpuParityVariants().filter((v) => !v.sae && !v.gradClip)) {
  const c = makeCase(v.arch);
  const step = c.arch.kernels!.webgpu!.step(c.sae, { d: c.dims.d, f: c.dims.f });
  if (!step.terms.some((t) => t.kind === "auxk")) continue;
  webgpuTest(`webgpu engine matches the cpu engine with no dead latent: ${v.label}`, async () => {
    c.init.state.since_fired.data.fill(0);
    const want = await runEngine(c, (init) => createEngine(c.arch, init, options(c, "cpu")));
    const have = await runEngine(c, (init) => createEngine(c.arch, init, options(c, "webgpu")));
    const report = compareRuns(have, want);
    assert.deepEqual(report.failures, [], `worst ${report.worst} at ${report.worstAt}`);
  });
}

// At B/D/F 64/64/128 every dense product of the step has rows of 64 floats, so on a software
// adapter its GEMMs read A and B from textures (gemm.ts TEXTURE_TILES) filled by copies between
// passes: the same comparison through those copies.
const TEXTURE_DIMS = { b: 64, d: 64, f: 128 };
for (const arch of ["jumprelu", "relu", "topk", "gated", "matryoshka_batchtopk"]) {
  webgpuTest(`webgpu engine matches the cpu engine with GEMMs on textures: ${arch}`, async () => {
    const { device, fallback } = await openDevice();
    if (fallback) {
      for (const p of stepProducts(TEXTURE_DIMS.b, TEXTURE_DIMS.d, TEXTURE_DIMS.f)) {
        const tile = chooseTile(device.limits, p.options, true);
        assert.ok(TEXTURE_TILES.includes(tile as never), `${p.name}: ${tileName(tile)}`);
      }
    }
    device.destroy();
    const c = makeCase(arch, { dims: TEXTURE_DIMS });
    const want = await runEngine(c, (init) => createEngine(c.arch, init, options(c, "cpu")));
    const have = await runEngine(c, (init) => createEngine(c.arch, init, options(c, "webgpu")));
    const report = compareRuns(have, want);
    assert.deepEqual(report.failures, [], `worst ${report.worst} at ${report.worstAt}`);
  });
}

/** encode() of both engines after one step, on n rows that are not a multiple of the batch. */
for (const arch of ["jumprelu", "topk", "batchtopk", "relu", "gated"]) {
  webgpuTest(
    `webgpu engine encode() matches the cpu engine on a partial last chunk: ${arch}`,
    async () => {
      const c = makeCase(arch);
      const encoded = async (engine: "cpu" | "webgpu") =>
        encodeAfterStep(c, await createEngine(c.arch, c.init, options(c, engine)), 22);
      const want = await encoded("cpu");
      const have = await encoded("webgpu");
      assert.equal(have.f.length, want.f.length);
      for (const e of compareEncodings(have, want)) {
        assert(e.ratio <= 1, `${e.k}: max |diff| ${e.maxAbs}`);
      }
    },
  );
}

// Resume on JumpReLU with AuxK, with the tanh penalty and with the step penalty on post-activations.
for (
  const label of [
    "AuxK on dead latents",
    "tanh penalty, linear theta, AuxK",
    "post step input, quadratic penalty, theta inside the kernel at 0",
  ]
) {
  const { sae } = getArchitecture("jumprelu").parityCases!.find((p) => p.label === label)!;
  webgpuTest(
    `a webgpu snapshot restored into a new engine continues bit-identically: jumprelu ${label}`,
    () => resumesBitIdentically(makeCase("jumprelu", { steps: 4, sae })),
  );
}

webgpuTest(
  "a webgpu snapshot restored into a new engine continues bit-identically: gated",
  () => resumesBitIdentically(makeCase("gated", { steps: 4 })),
);

async function resumesBitIdentically(c: ParityCase): Promise<void> {
  const hyper = { lr: c.lr, lambda: c.lambda };
  const a = await createEngine(c.arch, c.init, options(c, "webgpu"));
  const b = await createEngine(c.arch, c.init, options(c, "webgpu"));
  try {
    for (const x of c.batches.slice(0, 2)) a.step(x, hyper);
    await a.readStats();
    b.restore(await a.snapshot());
    for (const x of c.batches.slice(2)) {
      a.step(x, hyper);
      b.step(x, hyper);
    }
    const [sa, sb] = [await a.snapshot(), await b.snapshot()];
    assert.equal(sb.optimizer.t, 4);
    for (const group of ["params", "state"] as const) {
      for (const [n, t] of Object.entries(sa[group])) {
        assert.deepEqual(sb[group][n].data, t.data, `${group} ${n}`);
      }
    }
    for (const moment of ["m", "v"] as const) {
      for (const [n, t] of Object.entries(sa.optimizer[moment])) {
        assert.deepEqual(sb.optimizer[moment][n].data, t.data, `${moment} ${n}`);
      }
    }
  } finally {
    a.dispose();
    b.dispose();
  }
}

webgpuTest("the webgpu engine names a parameter that holds NaN or Inf", async () => {
  const c = makeCase("topk");
  const engine = await createEngine(c.arch, c.init, options(c, "webgpu"));
  try {
    const s = await engine.snapshot();
    s.params.b_enc.data[3] = NaN;
    s.state.since_fired.data[0] = Infinity;
    engine.restore(s);
    const stats = await engine.readStats();
    assert.deepEqual(stats.nonFinite.sort(), ["b_enc", "since_fired"]);
  } finally {
    engine.dispose();
  }
});

webgpuTest("engine webgpu refuses an architecture without a webgpu kernel, naming it", async () => {
  // Every registered architecture has one now: copies of two with their cpu kernel only stand in.
  for (const name of ["gated", "relu"]) {
    const registered = getArchitecture(name);
    const arch = {
      ...registered,
      name: `${name}_cpu_only`,
      kernels: { cpu: registered.kernels!.cpu },
    };
    const c = makeCase(name);
    await assert.rejects(
      () => createEngine(arch, c.init, options(c, "webgpu")),
      (e: Error) =>
        new RegExp(`engine webgpu unavailable: architecture ${name}_cpu_only has no webgpu kernel`)
          .test(e.message),
    );
  }
});
