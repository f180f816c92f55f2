// Tests lib/sae/matryoshka_batchtopk/: prefix widths, the loss against a hand computation of the
// BatchTopK selection and every prefix reconstruction (float64 JS), the per-config term names, and
// the spec checks on group fractions. Finite differences, wasm-vs-cpu, export and engine tests
// cover it through the registry like every architecture.
// Shapes: B batch, D d_model, F latents.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { getArchitecture } from "../../lib/sae/registry.ts";
import { prefixWidths } from "../../lib/sae/matryoshka_batchtopk/options.ts";
import { parseExperiment } from "../../lib/spec/load.ts";
import { SpecError } from "../../lib/errors.ts";
import { Rng } from "../../lib/data/rng.ts";
import { gaussian, saeSpec, useBackend } from "../_tf.ts";

const B = 4, D = 3, F = 8, K = 2;

Deno.test("prefixWidths() are the rounded cumulative group sizes ending at the width", () => {
  assert.deepEqual(prefixWidths(256, [1 / 16, 1 / 16, 1 / 8, 1 / 4, 1 / 2]), [
    16,
    32,
    64,
    128,
    256,
  ]);
  assert.deepEqual(prefixWidths(10, [0.25, 0.25, 0.5]), [3, 5, 10]); // 2.5 rounds up
  assert.deepEqual(prefixWidths(7, [1]), [7]);
});

Deno.test("matryoshka_batchtopk: loss is BatchTopK recon plus each inner prefix's recon, by hand", async () => {
  await useBackend("cpu");
  const arch = getArchitecture("matryoshka_batchtopk");
  const sae = saeSpec({
    architecture: "matryoshka_batchtopk",
    width: F,
    target_l0: K,
    matryoshka_batchtopk: { group_fractions: [0.25, 0.25, 0.5] }, // prefixes 2, 4, 8
  });
  assert.deepEqual(arch.termNames(sae), ["recon", "recon_2", "recon_4", "aux"]);
  const init = arch.init({ d: D, f: F }, { sae, rng: new Rng(7) });
  const rng = new Rng(7, 1);
  init.params.b_enc.data.forEach((_, i) => init.params.b_enc.data[i] = 0.3 * rng.normal());
  init.params.b_dec.data.forEach((_, i) => init.params.b_dec.data[i] = 0.1 * rng.normal());
  const x = gaussian(B * D, { seed: 4 });
  const p = init.params;

  // By hand: pre = (x - b_dec) W_enc + b_enc, ReLU, keep the K * B largest over the batch.
  const pre = new Float64Array(B * F);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < F; j++) {
      let v = p.b_enc.data[j];
      for (let i = 0; i < D; i++) v += (x[b * D + i] - p.b_dec.data[i]) * p.W_enc.data[i * F + j];
      pre[b * F + j] = Math.max(v, 0);
    }
  }
  const kth = [...pre].sort((a, b) => b - a)[K * B - 1];
  const f = pre.map((v) => (v >= kth && v > 0 ? v : 0));
  const reconOf = (w: number) => {
    let sum = 0;
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < D; i++) {
        let xHat = p.b_dec.data[i];
        for (let j = 0; j < w; j++) xHat += f[b * F + j] * p.W_dec.data[j * D + i];
        sum += (x[b * D + i] - xHat) ** 2;
      }
    }
    return sum / B;
  };
  const want = { recon: reconOf(F), recon_2: reconOf(2), recon_4: reconOf(4) };
  assert.ok(want.recon_2 !== want.recon, "the case must make prefixes differ");

  const got = tf.tidy(() => {
    const t = (h: { data: Float32Array; shape: number[] }) => tf.tensor(h.data, h.shape);
    const params = Object.fromEntries(Object.entries(init.params).map(([k, v]) => [k, t(v)]));
    const state = Object.fromEntries(Object.entries(init.state).map(([k, v]) => [k, t(v)]));
    const out = arch.loss(params, state, tf.tensor2d(x, [B, D]), { sae, lambda: tf.scalar(0) });
    return {
      total: out.total.dataSync()[0],
      terms: Object.fromEntries(Object.entries(out.terms).map(([k, v]) => [k, v.dataSync()[0]])),
      kept: Array.from(out.f.dataSync()).filter((v) => v > 0).length,
    };
  });
  assert.equal(got.kept, K * B);
  for (const [name, value] of Object.entries(want)) {
    assert.ok(
      Math.abs(got.terms[name] - value) <= 1e-5 * Math.max(1, value),
      `${name}: ${got.terms[name]} vs ${value}`,
    );
  }
  assert.equal(got.terms.aux, 0); // no latent has been dead for dead_tokens yet
  const sum = want.recon + want.recon_2 + want.recon_4;
  assert.ok(Math.abs(got.total - sum) <= 1e-5 * sum, `total ${got.total} vs ${sum}`);
});

Deno.test("a spec whose matryoshka group fractions do not sum to 1 or leave a group empty is rejected", () => {
  const spec = (fractions: string, width = 64) =>
    `name: m\ndata: {source: synthetic}\nsae:\n  architecture: matryoshka_batchtopk\n  width: ${width}\n  target_l0: 4\n  matryoshka_batchtopk:\n    group_fractions: ${fractions}\n`;
  assert.throws(() => parseExperiment(spec("[0.5, 0.25]"), "m.yaml"), (err) => {
    assert.ok(err instanceof SpecError);
    assert.match(
      err.message,
      /m\.yaml:8:\d+: sae\.matryoshka_batchtopk\.group_fractions: group fractions must sum to 1, got 0\.75/,
    );
    return true;
  });
  assert.throws(
    () => parseExperiment(spec("[0.001, 0.999]", 64), "m.yaml"),
    /every group needs at least one latent: prefix widths 0, 64/,
  );
  parseExperiment(spec("[0.25, 0.75]"), "m.yaml"); // valid
});
