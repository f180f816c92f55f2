// Health statistics of a training step (lib/engine/step_stats.ts) as both engines report them: a
// hand-computed JumpReLU case (3 tokens x 4 latents with chosen pre-activations, thresholds and
// dead-latent clocks), and parity of the fast engine with the tfjs reference on the parity cases.
import assert from "node:assert/strict";
import { getArchitecture } from "../../lib/sae/registry.ts";
import type { Engine, StepStats } from "../../lib/engine/engine.ts";
import type { InitResult } from "../../lib/engine/types.ts";
import { deadFraction, statsFromRow } from "../../lib/engine/step_stats.ts";
import { FastEngine } from "../../lib/engine/cpu/fast_engine.ts";
import { JS_BLAS } from "../../lib/engine/cpu/js_gemm.ts";
import { TfjsEngine } from "../../lib/engine/reference/tfjs_engine.ts";
import { makeCase, referenceEngine, runEngine } from "./cpu/_case.ts";
import { saeSpec, useBackend } from "../_tf.ts";
import { Rng } from "../../lib/data/rng.ts";

// Pre-activations pi [3, 4] (x through W_enc = I, b_enc = 0, no pre-encoder bias), thresholds
// theta, bandwidth eps = 0.2: the STE window is |pi - theta| < 0.1.
const PI = [
  [0.45, 0.7, 0.95, 0.0], // in window: latents 0 (0.05) and 2 (0.05)
  [0.58, 0.2, 1.05, 1.85], // latents 0 (0.08) and 2 (0.05); latent 3 is 0.15 away
  [0.3, 0.55, 0.5, 1.8], // latent 1 (0.05)
];
const THETA = [0.5, 0.5, 1.0, 2.0];
const IN_WINDOW = 5 / 12;
// Clocks before the step and dead_tokens 100: latents 0-2 fire in this batch (0.58 > 0.5,
// 0.7 > 0.5, 1.05 > 1) and reset to 0; latent 3 never passes 2.0 and ticks 98 + 3 = 101 >= 100.
const SINCE = [500, 50, 200, 98];
const DEAD = 1 / 4;

function goldenInit(): { init: InitResult; sae: ReturnType<typeof saeSpec> } {
  const sae = saeSpec({
    architecture: "jumprelu",
    width: 4,
    target_l0: 2,
    pre_encoder_bias: false,
    jumprelu: { threshold_param: "linear", bandwidth: 0.2, dead_tokens: 100 },
  });
  const arch = getArchitecture("jumprelu");
  const init = arch.init({ d: 4, f: 4 }, { sae, rng: new Rng(1, 2) });
  const eye = new Float32Array(16).map((_, i) => i % 5 === 0 ? 1 : 0);
  init.params.W_enc.data.set(eye);
  init.params.W_dec.data.set(eye);
  init.params.b_enc.data.fill(0);
  init.params.b_dec.data.fill(0);
  init.params.threshold.data.set(THETA);
  init.state.since_fired.data.set(SINCE);
  return { init, sae };
}

async function oneStep(make: (init: InitResult) => Engine): Promise<StepStats> {
  const { init } = goldenInit();
  const engine = make(init);
  try {
    engine.step(Float32Array.from(PI.flat()), { lr: 1e-9, lambda: 0.01 });
    return await engine.readStats();
  } finally {
    engine.dispose();
  }
}

Deno.test("both engines report the hand-computed STE-window and dead fractions of a JumpReLU step", async () => {
  await useBackend("cpu");
  const arch = getArchitecture("jumprelu");
  const { sae } = goldenInit();
  const engines: [string, (init: InitResult) => Engine][] = [
    ["tfjs", (init) => new TfjsEngine(arch, init, { sae, adamEps: 1e-8, gradClip: null })],
    ["fast", (init) =>
      new FastEngine(arch, init, {
        sae,
        kernel: arch.kernels?.cpu!,
        adamEps: 1e-8,
        gradClip: null,
        blas: JS_BLAS,
        backend: "test",
      })],
  ];
  for (const [name, make] of engines) {
    const s = await oneStep(make);
    assert.ok(s.steWindow !== undefined, `${name}: no steWindow`);
    assert.ok(Math.abs(s.steWindow - IN_WINDOW) < 1e-7, `${name}: steWindow ${s.steWindow}`);
    assert.equal(s.deadFrac, DEAD, `${name}: deadFrac`);
    assert.ok(Math.abs(s.l0 - 4 / 3) < 1e-6, `${name}: l0 ${s.l0}`); // 1 + 2 + 1 active
  }
});

Deno.test("statsFromRow() averages the STE-window fraction over the steps that reported one", () => {
  // Row [loss, recon, l0, sse, sst, ste] summed over 4 steps, 2 of which reported a window.
  const s = statsFromRow([4, 4, 8, 1, 2, 0.6], {
    steps: 4,
    termNames: ["recon"],
    nonFinite: [],
    steSteps: 2,
    deadFrac: 0.25,
  });
  assert.equal(s.steWindow, 0.3);
  assert.equal(s.deadFrac, 0.25);
  assert.equal(s.l0, 2);
  const none = statsFromRow([1, 1, 1, 1, 1, 0], { steps: 1, termNames: ["recon"], nonFinite: [] });
  assert.equal(none.steWindow, undefined);
  assert.equal(none.deadFrac, undefined);
});

Deno.test("deadFraction() counts clocks at or past dead_tokens", () => {
  assert.equal(deadFraction(Float32Array.from([0, 99, 100, 1e9]), 100), 0.5);
  assert.equal(deadFraction(new Float32Array(0), 100), 0);
});

Deno.test("fast and reference engines agree on health statistics over three steps", async () => {
  await useBackend("cpu");
  const cases: [string, Record<string, unknown>][] = [
    ["jumprelu", {}],
    ["jumprelu", { jumprelu: { penalty: "tanh", threshold_param: "linear", aux_alpha: 1 } }],
    ["jumprelu", { jumprelu: { step_input: "post", init_threshold: 0.02 } }],
    ["topk", {}],
    ["relu", {}],
  ];
  for (const [name, overrides] of cases) {
    const c = makeCase(name, { sae: overrides });
    const arch = c.arch;
    const want = await runEngine(c, (init) => referenceEngine(c, init));
    const have = await runEngine(c, (init) =>
      new FastEngine(arch, init, {
        sae: c.sae,
        kernel: arch.kernels?.cpu!,
        adamEps: 1e-8,
        gradClip: null,
        blas: JS_BLAS,
        backend: "test",
      }));
    const label = `${name} ${JSON.stringify(overrides)}`;
    const entries = c.dims.b * c.dims.f;
    for (let step = 0; step < c.batches.length; step++) {
      const [a, b] = [have.stats[step], want.stats[step]];
      if (name === "jumprelu") {
        assert.ok(b.steWindow! > 0, `${label}: the case puts entries in the window`);
        // Entries exactly at the window's edge may round differently: one entry of slack.
        assert.ok(
          Math.abs(a.steWindow! - b.steWindow!) <= 1 / entries + 1e-7,
          `${label} step ${step + 1}: steWindow ${a.steWindow} vs ${b.steWindow}`,
        );
      } else {
        assert.equal(a.steWindow, undefined, label);
        assert.equal(b.steWindow, undefined, label);
      }
      assert.equal(a.deadFrac, b.deadFrac, `${label} step ${step + 1}: deadFrac`);
      if (name === "relu") assert.equal(a.deadFrac, undefined, label);
      else assert.equal(typeof a.deadFrac, "number", `${label}: the clock gives a dead fraction`);
    }
  }
});
