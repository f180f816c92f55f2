// Tests lib/engine/reference/tfjs_engine.ts: no tensor leak per step, unit-norm decoder rows, parallel
// gradient removal, Adam's first step, snapshot/restore, and the stats read.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { architectures, getArchitecture } from "../../../lib/sae/registry.ts";
import {
  normalizeRows,
  projectDecoderGrad,
  TfjsEngine,
} from "../../../lib/engine/reference/tfjs_engine.ts";
import { Rng } from "../../../lib/data/rng.ts";
import { closeness, gaussian, saeSpec, useBackend } from "../../_tf.ts";

const D = 8, F = 16, B = 32;

function engineFor(name: string, extra: Record<string, unknown> = {}) {
  const sae = saeSpec({ architecture: name, width: F, target_l0: 4, ...extra });
  const arch = getArchitecture(sae.architecture);
  const init = arch.init({ d: D, f: F }, { sae, rng: new Rng(1) });
  return { arch, sae, engine: new TfjsEngine(arch, init, { sae, adamEps: 1e-8, gradClip: null }) };
}

for (const name of architectures().map((a) => a.name)) {
  Deno.test(`${name}: a training step leaks no tensors and keeps decoder rows unit-norm`, async () => {
    await useBackend("wasm");
    const { arch, engine } = engineFor(name);
    const x = gaussian(B * D, { seed: 4 });
    engine.step(x, { lr: 1e-2, lambda: 0.01 });
    await engine.readStats();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) engine.step(x, { lr: 1e-2, lambda: 0.01 });
    const stats = await engine.readStats();
    await engine.encode(x, B);
    assert.equal(tf.memory().numTensors, before, "tensors leaked");
    assert.equal(stats.steps, 3);
    assert.ok(Number.isFinite(stats.loss) && stats.nonFinite.length === 0);
    if (arch.unitNormDecoder) {
      const w = (await engine.snapshot()).params[arch.decoderParam];
      for (let r = 0; r < F; r++) {
        let n = 0;
        for (let c = 0; c < D; c++) n += w.data[r * D + c] ** 2;
        assert.ok(Math.abs(Math.sqrt(n) - 1) < 1e-5, `row ${r} norm ${Math.sqrt(n)}`);
      }
    }
    engine.dispose();
  });
}

Deno.test("projectDecoderGrad() leaves each row's gradient orthogonal to the row", async () => {
  await useBackend("cpu");
  const w = normalizeRows(tf.tensor2d(gaussian(F * D, { seed: 1 }), [F, D]));
  const g = projectDecoderGrad(tf.tensor2d(gaussian(F * D, { seed: 2 }), [F, D]), w);
  const dots = tf.sum(tf.mul(g, w), 1).dataSync();
  assert.ok(Array.from(dots).every((v) => Math.abs(v) < 1e-5));
});

Deno.test("the first Adam step moves every parameter with a gradient by lr (times its lr scale)", async () => {
  await useBackend("cpu");
  // With bias correction the first update is lr * g / (|g| + eps) = lr * sign(g).
  const { engine, arch } = engineFor("relu");
  const before = (await engine.snapshot()).params;
  engine.step(gaussian(B * D, { seed: 5 }), { lr: 1e-3, lambda: 0.01 });
  const after = (await engine.snapshot()).params;
  assert.equal(arch.unitNormDecoder, false);
  const moved = after.b_dec.data.map((v, i) => Math.abs(v - before.b_dec.data[i]));
  assert.ok(closeness(moved, new Float32Array(D).fill(1e-3), { atol: 1e-8, rtol: 1e-4 }) <= 1);
  engine.dispose();
});

Deno.test("jumprelu threshold_lr_scale multiplies the threshold's step", async () => {
  await useBackend("cpu");
  const x = gaussian(B * D, { seed: 6 });
  const moves = await Promise.all([1, 10].map(async (scale) => {
    const { engine } = engineFor("jumprelu", {
      jumprelu: {
        threshold_param: "linear",
        threshold_lr_scale: scale,
        bandwidth: 2,
        init_threshold: 0.5,
      },
    });
    const before = (await engine.snapshot()).params.threshold.data;
    engine.step(x, { lr: 1e-3, lambda: 1 });
    const after = (await engine.snapshot()).params.threshold.data;
    engine.dispose();
    return Math.max(...after.map((v, i) => Math.abs(v - before[i])));
  }));
  assert.ok(Math.abs(moves[0] - 1e-3) < 1e-6 && Math.abs(moves[1] - 1e-2) < 1e-5, `${moves}`);
});

Deno.test("restore(snapshot()) continues training identically", async () => {
  await useBackend("wasm");
  const x1 = gaussian(B * D, { seed: 7 });
  const x2 = gaussian(B * D, { seed: 8 });
  const a = engineFor("topk").engine;
  a.step(x1, { lr: 1e-2, lambda: 0 });
  const snap = await a.snapshot();
  a.step(x2, { lr: 1e-2, lambda: 0 });
  const b = engineFor("topk").engine;
  b.restore(snap);
  b.step(x2, { lr: 1e-2, lambda: 0 });
  const pa = await a.snapshot(), pb = await b.snapshot();
  for (const k of Object.keys(pa.params)) assert.deepEqual(pb.params[k].data, pa.params[k].data);
  assert.deepEqual(pb.state.since_fired.data, pa.state.since_fired.data);
  assert.equal(pb.optimizer.t, 2);
  a.dispose();
  b.dispose();
});

Deno.test("readStats() reports the mean L0 of the steps since the last read", async () => {
  await useBackend("wasm");
  const { engine } = engineFor("topk");
  const x = gaussian(B * D, { seed: 9 });
  for (let i = 0; i < 4; i++) engine.step(x, { lr: 1e-3, lambda: 0 });
  const s = await engine.readStats();
  // TopK keeps 4 of 16 latents on every token of a Gaussian batch (all pre-activations differ).
  assert.ok(Math.abs(s.l0 - 4) < 0.5, `l0 ${s.l0}`);
  assert.equal((await engine.readStats()).steps, 0);
  engine.dispose();
});
