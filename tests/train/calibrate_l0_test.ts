// Tests lib/train/calibrate_l0.ts and JumpReLU's `threshold_init: quantile`: each latent's
// threshold leaves exactly round(B * l0 / F) of the calibration rows above it (counted by hand),
// the encoder input is x - b_dec when asked, and a run started that way logs its first L0 near the
// target while the paper's constant start is far above it.
import assert from "node:assert/strict";
import { join } from "node:path";
import { calibrateL0, calibrationSample } from "../../lib/train/calibrate_l0.ts";
import { getArchitecture } from "../../lib/sae/registry.ts";
import { JS_BLAS } from "../../lib/engine/cpu/js_gemm.ts";
import { Rng } from "../../lib/data/rng.ts";
import { loadExperiment } from "../../lib/spec/load.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";
import { trainRun } from "../../lib/train/train_run.ts";
import { gaussian, saeSpec } from "../_tf.ts";

const B = 200, D = 6, F = 10, L0 = 3;

/**
 * Pre-activation (x_r - bDec) . W[:, i] by hand, as the calibration sees it: float32 inputs, a
 * float64 sum (the GEMM accumulates in float64), a float32 result.
 */
function preAct(x: Float32Array, w: Float32Array, r: number, i: number, bDec?: Float32Array) {
  let pre = 0;
  for (let k = 0; k < D; k++) pre += Math.fround(x[r * D + k] - (bDec?.[k] ?? 0)) * w[k * F + i];
  return Math.fround(pre);
}

/** Standard deviation of every pre-activation x W (rows and latents pooled), by hand. */
function pooledStdByHand(x: Float32Array, w: Float32Array): number {
  let sum = 0, sq = 0;
  for (let r = 0; r < B; r++) {
    for (let i = 0; i < F; i++) {
      const pre = preAct(x, w, r, i);
      sum += pre;
      sq += pre * pre;
    }
  }
  const n = B * F;
  return Math.sqrt(sq / n - (sum / n) ** 2);
}

/** Rows of x (minus bDec) whose pre-activation x W[:, i] is above theta_i, per latent i. */
function countsAbove(x: Float32Array, w: Float32Array, theta: Float32Array, bDec?: Float32Array) {
  const counts = new Array(F).fill(0);
  for (let r = 0; r < B; r++) {
    for (let i = 0; i < F; i++) if (preAct(x, w, r, i, bDec) > theta[i]) counts[i]++;
  }
  return counts;
}

for (const subtractBDec of [false, true]) {
  Deno.test(`calibrateL0() puts each JumpReLU threshold at the quantile that fires l0 / F of the rows (subtractBDec ${subtractBDec})`, () => {
    const arch = getArchitecture("jumprelu");
    const sae = saeSpec({
      architecture: "jumprelu",
      width: F,
      jumprelu: { threshold_param: "linear" },
    });
    const init = arch.init({ d: D, f: F }, { sae, rng: new Rng(5) });
    init.params.b_dec.data.set([0.3, -0.2, 0.1, 0, 0.5, -0.4]);
    const x = gaussian(B * D, { seed: 9 });
    calibrateL0(arch, init, { x, b: B, targetL0: L0, blas: JS_BLAS, subtractBDec });
    const theta = init.params.threshold.data;
    const counts = countsAbove(
      x,
      init.params.W_enc.data,
      theta,
      subtractBDec ? init.params.b_dec.data : undefined,
    );
    // round(200 * 3 / 10) = 60 rows above each threshold (none is floored: all are well above 1e-4).
    assert.ok(theta.every((t) => t > 1e-3), Array.from(theta).join());
    assert.deepEqual(counts, new Array(F).fill(60));
  });
}

const SPEC = (init: string) => `
name: qinit
data: {source: synthetic, d_model: 16, n_features: 64, mean_active: 4}
sae: {architecture: jumprelu, width: 64, target_l0: 4, jumprelu: {threshold_param: linear, threshold_init: ${init}}}
train: {tokens: 2560, batch_size: 256, lr: 0.001, log_every: 1, backend: wasm, lambda: {interval: 1}}
eval: {tokens: 512}
`;

Deno.test("threshold_init: quantile starts training at the target L0; constant starts far above", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const firstL0: Record<string, number> = {};
    for (const init of ["quantile", "constant"]) {
      const path = join(dir, `${init}.yaml`);
      await Deno.writeTextFile(path, SPEC(init));
      const [plan] = expandSweep(await loadExperiment(path), { outDir: join(dir, init) });
      await trainRun(plan);
      const first = JSON.parse(
        (await Deno.readTextFile(join(plan.runDir, "metrics.jsonl"))).split("\n")[0],
      );
      firstL0[init] = first.l0;
    }
    // The normalisation sample is not the first batch, so the start is near, not exactly at, 4.
    assert.ok(Math.abs(firstL0.quantile - 4) < 1, `quantile start L0 ${firstL0.quantile}`);
    assert.ok(firstL0.constant > 20, `constant start L0 ${firstL0.constant}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("jumprelu bandwidth_unit pre_act_std: eps = bandwidth x the pooled std of x W_enc, by hand", () => {
  const arch = getArchitecture("jumprelu");
  const sae = saeSpec({
    architecture: "jumprelu",
    width: F,
    target_l0: L0,
    jumprelu: { bandwidth: 0.5, bandwidth_unit: "pre_act_std", init_threshold: 0.01 },
  });
  const init = arch.init({ d: D, f: F }, { sae, rng: new Rng(2) });
  const x = gaussian(B * D, { seed: 12, std: 0.7, mean: 0.2 });
  // By hand: mean and variance of every entry of x W_enc (float64 over float32 products).
  const std = pooledStdByHand(x, init.params.W_enc.data);
  const sample = calibrationSample(init, { x, b: B, targetL0: L0, blas: JS_BLAS });
  assert.ok(Math.abs(sample.preActStd("W_enc") - std) <= 1e-6 * std);
  const thetaBefore = Array.from(init.params.log_threshold.data);
  arch.initFromSample!(init, sample, sae);
  assert.ok(Math.abs(init.state.bandwidth.data[0] - 0.5 * std) <= 1e-6 * std);
  // What summary.json and run.json record as the eps the run used.
  const resolved = arch.resolvedOptions!(init.state, sae)["sae.jumprelu.bandwidth"];
  assert.ok(Math.abs(resolved - 0.5 * std) <= 1e-6 * std, `${resolved}`);
  // threshold_init stays constant: the thresholds are untouched.
  assert.deepEqual(Array.from(init.params.log_threshold.data), thetaBefore);
  // The absolute unit keeps no bandwidth state (the paper's SAE).
  const plain = saeSpec({ architecture: "jumprelu", width: F, target_l0: L0 });
  const plainState = arch.init({ d: D, f: F }, { sae: plain, rng: new Rng(2) }).state;
  assert.equal(plainState.bandwidth, undefined);
  assert.deepEqual(arch.resolvedOptions!(plainState, plain), { "sae.jumprelu.bandwidth": 0.001 });
});

Deno.test("jumprelu encoder_scale_init least_squares: encoder x s with s = <x - b_dec, x_hat> / |x_hat|^2, by hand", () => {
  const arch = getArchitecture("jumprelu");
  const sae = saeSpec({
    architecture: "jumprelu",
    width: F,
    target_l0: L0,
    jumprelu: {
      threshold_init: "quantile",
      encoder_scale_init: "least_squares",
      bandwidth: 0.5,
      bandwidth_unit: "pre_act_std",
    },
  });
  const init = arch.init({ d: D, f: F }, { sae, rng: new Rng(3) });
  init.params.b_dec.data.set([0.3, -0.2, 0.1, 0, 0.5, -0.4]);
  const x = gaussian(B * D, { seed: 4, std: 0.7 });
  const w = Float32Array.from(init.params.W_enc.data);
  const wDec = init.params.W_dec.data;
  const bDec = init.params.b_dec.data;
  // The unscaled start: quantile thresholds, pre-activations x W (no pre-encoder subtraction here).
  const reference = arch.init({ d: D, f: F }, { sae, rng: new Rng(3) });
  const plainSae = saeSpec({
    architecture: "jumprelu",
    width: F,
    target_l0: L0,
    jumprelu: { threshold_init: "quantile" },
  });
  arch.initFromSample!(
    reference,
    calibrationSample(reference, { x, b: B, targetL0: L0, blas: JS_BLAS }),
    plainSae,
  );
  const theta = reference.params.log_threshold.data.map(Math.exp);
  // By hand: x_hat = f W_dec over the rows, then s and the pooled pre-activation std.
  let dot = 0, norm = 0;
  for (let r = 0; r < B; r++) {
    const f = new Array(F).fill(0);
    for (let i = 0; i < F; i++) {
      const pre = preAct(x, w, r, i);
      if (pre > theta[i]) f[i] = pre;
    }
    for (let k = 0; k < D; k++) {
      let xHat = 0;
      for (let i = 0; i < F; i++) xHat += f[i] * wDec[i * D + k];
      dot += (x[r * D + k] - bDec[k]) * xHat;
      norm += xHat * xHat;
    }
  }
  const s = dot / norm;
  const std = pooledStdByHand(x, w);
  assert.ok(s > 0 && Math.abs(s - 1) > 0.05, `s ${s}: the case must scale`);
  arch.initFromSample!(
    init,
    calibrationSample(init, { x, b: B, targetL0: L0, blas: JS_BLAS }),
    sae,
  );
  const close = (a: number, b: number, what: string) =>
    assert.ok(Math.abs(a - b) <= 1e-4 * Math.abs(b), `${what}: ${a} vs ${b}`);
  for (let j = 0; j < w.length; j++) close(init.params.W_enc.data[j], s * w[j], `W_enc[${j}]`);
  for (let i = 0; i < F; i++) {
    close(Math.exp(init.params.log_threshold.data[i]), s * theta[i], `theta[${i}]`);
  }
  close(init.state.bandwidth.data[0], 0.5 * s * std, "eps");
});
