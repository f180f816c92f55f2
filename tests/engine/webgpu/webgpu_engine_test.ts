// Parity of the webgpu engine (hand-written WGSL kernels, on Mesa's software Vulkan in CI) with
// the cpu engine, for every architecture with a webgpu kernel at its defaults and at each of its
// parityCases (options the webgpu engine lacks kernels for must be refused, saying which), plus
// gradient clipping: parameters, Adam moments, state and statistics after each of 3 Adam steps;
// inference latents and reconstructions; a snapshot restored into a new engine continues
// bit-identically; a non-finite parameter is reported. The cpu engine is itself checked against
// the tfjs reference and by hand (tests/engine/cpu/, tests/sae/).
import assert from "node:assert/strict";
import { architectures, getArchitecture } from "../../../lib/sae/registry.ts";
import { createEngine } from "../../../lib/engine/create_engine.ts";
import { BackendUnavailableError } from "../../../lib/errors.ts";
import type { Engine } from "../../../lib/engine/engine.ts";
import { excess, type FastCase, makeCase, runEngine } from "../cpu/_case.ts";
import { webgpuTest } from "../_webgpu.ts";

/** After Adam (lr 1e-3) steps: |delta| <= 1e-6 + 1e-5 max|reference| (as the cpu engine's tests). */
const PARAM_TOL = { rtol: 1e-5, atol: 1e-6 };
/** Statistics are float32 sums on the GPU, float64 on the host. */
const STAT_RTOL = 1e-5;

interface Variant {
  label: string;
  arch: string;
  sae?: Record<string, unknown>;
  gradClip?: number;
}

const VARIANTS: Variant[] = [
  ...architectures().filter((a) => a.kernels?.webgpu).flatMap((a): Variant[] => [
    { label: a.name, arch: a.name },
    ...(a.parityCases ?? []).map((p) => ({
      label: `${a.name} ${p.label}`,
      arch: a.name,
      sae: p.sae,
    })),
  ]),
  {
    label: "jumprelu ls_qfreq_auxk recipe (quickstart)",
    arch: "jumprelu",
    sae: {
      jumprelu: {
        threshold_param: "linear",
        threshold_init: "quantile",
        encoder_scale_init: "least_squares",
        bandwidth_unit: "pre_act_std",
        bandwidth: 1,
        penalty: "quadratic_frequency",
        frequency_scale: 0.01,
        pre_act_alpha: 0.5,
        aux_alpha: 1,
        dead_tokens: 100,
      },
    },
  },
  { label: "jumprelu with grad clip", arch: "jumprelu", gradClip: 0.5 },
  { label: "topk with grad clip", arch: "topk", gradClip: 0.3 },
];

function options(c: FastCase, engine: "cpu" | "webgpu") {
  return { sae: c.sae, adamEps: 1e-8, gradClip: c.gradClip, batch: c.dims.b, engine };
}

function near(have: number, want: number, what: string): void {
  const tol = STAT_RTOL * Math.max(1, Math.abs(want));
  assert.ok(Math.abs(have - want) <= tol, `${what}: webgpu ${have}, cpu ${want}`);
}

for (const v of VARIANTS) {
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
    for (let step = 0; step < c.batches.length; step++) {
      const [a, b] = [have.snapshots[step], want.snapshots[step]];
      const groups = { params: [a.params, b.params], state: [a.state, b.state] } as const;
      for (const [group, [ga, gb]] of Object.entries(groups)) {
        for (const [n, t] of Object.entries(gb)) {
          const e = excess(ga[n].data, t.data, PARAM_TOL);
          assert(e.ratio <= 1, `step ${step + 1} ${group} ${n}: max |diff| ${e.maxAbs}`);
        }
      }
      for (const [n, t] of Object.entries(b.optimizer.v)) {
        const e = excess(a.optimizer.v[n].data, t.data, { rtol: 1e-4, atol: 1e-12 });
        assert(e.ratio <= 1, `step ${step + 1} Adam v ${n}: max |diff| ${e.maxAbs}`);
      }
      assert.equal(a.optimizer.t, b.optimizer.t);
      const [sa, sb] = [have.stats[step], want.stats[step]];
      near(sa.loss, sb.loss, `step ${step + 1} loss`);
      for (const [n, x] of Object.entries(sb.terms)) near(sa.terms[n], x, `step ${step + 1} ${n}`);
      near(sa.l0, sb.l0, `step ${step + 1} l0`);
      near(sa.fvu, sb.fvu, `step ${step + 1} fvu`);
      assert.equal(sa.steWindow === undefined, sb.steWindow === undefined);
      if (sb.steWindow !== undefined) near(sa.steWindow!, sb.steWindow, "ste window");
      assert.equal(sa.deadFrac, sb.deadFrac);
      assert.deepEqual(sa.nonFinite, []);
    }
  });
}

/** encode() of both engines after one step, on n rows that are not a multiple of the batch. */
for (const arch of ["jumprelu", "topk", "batchtopk", "relu"]) {
  webgpuTest(
    `webgpu engine encode() matches the cpu engine on a partial last chunk: ${arch}`,
    async () => {
      const c = makeCase(arch);
      const n = c.dims.b + 22;
      const x = new Float32Array(n * c.dims.d);
      x.set(c.batches[1]);
      x.set(c.batches[2].subarray(0, 22 * c.dims.d), c.dims.b * c.dims.d);
      const encoded = async (engine: Engine) => {
        try {
          engine.step(c.batches[0], { lr: c.lr, lambda: c.lambda });
          await engine.readStats();
          return await engine.encode(x, n);
        } finally {
          engine.dispose();
        }
      };
      const want = await encoded(await createEngine(c.arch, c.init, options(c, "cpu")));
      const have = await encoded(await createEngine(c.arch, c.init, options(c, "webgpu")));
      assert.equal(have.f.length, want.f.length);
      for (const k of ["f", "xHat"] as const) {
        const e = excess(have[k], want[k], PARAM_TOL);
        assert(e.ratio <= 1, `${k}: max |diff| ${e.maxAbs}`);
      }
    },
  );
}

webgpuTest("a webgpu snapshot restored into a new engine continues bit-identically", async () => {
  const c = makeCase("jumprelu", { steps: 4, sae: { jumprelu: { aux_alpha: 1 } } });
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
    for (const [n, t] of Object.entries(sa.optimizer.m)) {
      assert.deepEqual(sb.optimizer.m[n].data, t.data, `m ${n}`);
    }
  } finally {
    a.dispose();
    b.dispose();
  }
});

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
  const without = architectures().filter((a) => !a.kernels?.webgpu).map((a) => a.name);
  assert.ok(without.length > 0);
  for (const name of without) {
    const c = makeCase(name);
    await assert.rejects(
      () => createEngine(getArchitecture(name), c.init, options(c, "webgpu")),
      (e: Error) =>
        new RegExp(`engine webgpu unavailable: architecture ${name} has no webgpu`).test(e.message),
    );
  }
});
