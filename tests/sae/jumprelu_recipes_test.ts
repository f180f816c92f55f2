// Tests the JumpReLU recipes of lib/sae/jumprelu/ against hand computations in float64 JS: the
// AuxK-on-dead-latents term (SynthSAEBench), weighted by min(n_dead / k_aux, 1), with more and
// fewer dead latents than k_aux. The fast kernel's parity with this reference is in tests/engine/cpu/.
// Shapes: B batch, D d_model, F latents.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { getArchitecture } from "../../lib/sae/registry.ts";
import { Rng } from "../../lib/data/rng.ts";
import type { HostTensors } from "../../lib/sae/types.ts";
import { gaussian, saeSpec, useBackend } from "../_tf.ts";

const B = 5, D = 4, F = 8;

/** The AuxK term by hand: top k_aux of ReLU(pi) among dead latents reconstruct e = x - x_hat. */
function auxByHand(
  p: HostTensors,
  x: Float32Array,
  options: { dead: boolean[]; k: number; alpha: number },
): number {
  const theta = p.threshold.data;
  const pi = new Float64Array(B * F);
  const xHat = new Float64Array(B * D);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < F; j++) {
      let v = p.b_enc.data[j];
      for (let i = 0; i < D; i++) v += (x[b * D + i] - p.b_dec.data[i]) * p.W_enc.data[i * F + j];
      pi[b * F + j] = v;
    }
    for (let i = 0; i < D; i++) {
      let v = p.b_dec.data[i];
      for (let j = 0; j < F; j++) {
        const f = pi[b * F + j] > theta[j] ? pi[b * F + j] : 0;
        v += f * p.W_dec.data[j * D + i];
      }
      xHat[b * D + i] = v;
    }
  }
  const e = Array.from(x, (v, i) => v - xHat[i]);
  const mean = Array.from(
    { length: D },
    (_, i) => e.filter((_, k) => k % D === i).reduce((a, c) => a + c, 0) / B,
  );
  let err = 0, spread = 0;
  for (let b = 0; b < B; b++) {
    const candidates = [...Array(F).keys()].filter((j) => options.dead[j] && pi[b * F + j] > 0)
      .sort((a, c) => pi[b * F + c] - pi[b * F + a]).slice(0, options.k);
    for (let i = 0; i < D; i++) {
      let eHat = 0;
      for (const j of candidates) eHat += pi[b * F + j] * p.W_dec.data[j * D + i];
      err += (e[b * D + i] - eHat) ** 2;
      spread += (e[b * D + i] - mean[i]) ** 2;
    }
  }
  const nDead = options.dead.filter(Boolean).length;
  return options.alpha * Math.min(nDead / options.k, 1) * err / spread;
}

for (
  const [label, auxK] of [["more dead latents than k_aux", 2], [
    "fewer dead latents than k_aux",
    6,
  ]] as const
) {
  Deno.test(`jumprelu AuxK recipe with ${label} matches the formula by hand`, async () => {
    await useBackend("cpu");
    const arch = getArchitecture("jumprelu");
    const sae = saeSpec({
      architecture: "jumprelu",
      width: F,
      jumprelu: {
        threshold_param: "linear",
        init_threshold: 0.2,
        aux_alpha: 0.5,
        aux_k: auxK,
        dead_tokens: 10,
      },
    });
    assert.deepEqual(arch.termNames(sae), ["recon", "sparsity", "aux"]);
    const init = arch.init({ d: D, f: F }, { sae, rng: new Rng(3) });
    const rng = new Rng(3, 2);
    for (const n of ["b_enc", "b_dec"]) {
      init.params[n].data.forEach((_, i) => init.params[n].data[i] = 0.2 * rng.normal());
    }
    const dead = [true, false, true, true, false, false, true, false]; // 4 dead latents
    init.state.since_fired.data.set(dead.map((d) => (d ? 50 : 3)));
    const x = gaussian(B * D, { seed: 8 });
    const got = tf.tidy(() => {
      const t = (h: HostTensors) =>
        Object.fromEntries(Object.entries(h).map(([k, v]) => [k, tf.tensor(v.data, v.shape)]));
      const out = arch.loss(t(init.params), t(init.state), tf.tensor2d(x, [B, D]), {
        sae,
        lambda: tf.scalar(0),
      });
      return out.terms.aux.dataSync()[0];
    });
    const want = auxByHand(init.params, x, { dead, k: auxK, alpha: 0.5 });
    assert.ok(want > 0);
    assert.ok(Math.abs(got - want) <= 1e-5 * want, `aux ${got} vs ${want} by hand`);
  });
}

Deno.test("jumprelu without the AuxK recipe has no aux term and only the diagnostic clock (the paper's SAE)", () => {
  const arch = getArchitecture("jumprelu");
  const sae = saeSpec({ architecture: "jumprelu", width: F });
  assert.deepEqual(arch.termNames(sae), ["recon", "sparsity"]);
  // The dead-latent clock feeds the health statistics only; the paper's loss never reads it.
  assert.deepEqual(
    Object.keys(arch.init({ d: D, f: F }, { sae, rng: new Rng(1) }).state),
    ["since_fired"],
  );
});

Deno.test("jumprelu tanh penalty: value and threshold gradient match the formulas by hand", async () => {
  await useBackend("cpu");
  const arch = getArchitecture("jumprelu");
  const eps = 0.5, c = 4, lambda = 0.3;
  const sae = saeSpec({
    architecture: "jumprelu",
    width: F,
    jumprelu: { threshold_param: "linear", init_threshold: 0.1, bandwidth: eps, penalty: "tanh" },
  });
  const init = arch.init({ d: D, f: F }, { sae, rng: new Rng(4) });
  const x = gaussian(B * D, { seed: 6 });
  const p = init.params;
  // pi = (x - b_dec) W_enc + b_enc with zero biases; f = pi where pi > theta.
  const pi = (b: number, j: number) => {
    let v = 0;
    for (let i = 0; i < D; i++) v += x[b * D + i] * p.W_enc.data[i * F + j];
    return v;
  };
  let penalty = 0;
  const dThetaSparsity = new Float64Array(F); // the sparsity term's share of d loss / d theta
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < F; j++) {
      const th = p.threshold.data[j];
      const f = pi(b, j) > th ? pi(b, j) : 0;
      penalty += Math.tanh(c * f);
      const inWindow = Math.abs((pi(b, j) - th) / eps) < 0.5;
      const dSdf = (lambda * c * (1 - Math.tanh(c * f) ** 2)) / B;
      if (inWindow) dThetaSparsity[j] += dSdf * (-th / eps);
    }
  }
  penalty *= lambda / B;
  // The reference's sparsity term and its threshold gradient, differentiated by tfjs.
  const gradAt = (l: number) =>
    tf.tidy(() => {
      const theta = tf.variable(tf.tensor(p.threshold.data, [F]));
      const params = {
        ...Object.fromEntries(Object.entries(p).map(([k, v]) => [k, tf.tensor(v.data, v.shape)])),
        threshold: theta,
      };
      const { value, grads } = tf.variableGrads(() =>
        arch.loss(params, {}, tf.tensor2d(x, [B, D]), { sae, lambda: tf.scalar(l) }).terms
          .sparsity, [theta]);
      const out = { value: value.dataSync()[0], grad: Array.from(grads[theta.name].dataSync()) };
      theta.dispose();
      return out;
    });
  const got = gradAt(lambda);
  assert.ok(
    Math.abs(got.value - penalty) <= 1e-6 * Math.max(1, penalty),
    `${got.value} vs ${penalty}`,
  );
  got.grad.forEach((g, j) => {
    assert.ok(
      Math.abs(g - dThetaSparsity[j]) <= 1e-5 * Math.max(1, Math.abs(dThetaSparsity[j])),
      `theta ${j}: ${g} vs ${dThetaSparsity[j]}`,
    );
  });
  assert.ok(dThetaSparsity.some((v) => v !== 0), "some pre-activation falls in the STE window");
});

for (const deadOnly of [true, false]) {
  Deno.test(`jumprelu pre-activation loss (${deadOnly ? "dead latents" : "all latents"}): value and theta, b_enc gradients by hand`, async () => {
    await useBackend("cpu");
    const arch = getArchitecture("jumprelu");
    const alpha = 0.7;
    const sae = saeSpec({
      architecture: "jumprelu",
      width: F,
      jumprelu: {
        threshold_param: "linear",
        init_threshold: 0.3,
        pre_act_alpha: alpha,
        pre_act_dead_only: deadOnly,
        dead_tokens: 10,
      },
    });
    assert.deepEqual(arch.termNames(sae), ["recon", "sparsity", "pre_act"]);
    const init = arch.init({ d: D, f: F }, { sae, rng: new Rng(5) });
    const dead = [false, true, true, false, true, false, false, true];
    if (deadOnly) init.state.since_fired.data.set(dead.map((d) => (d ? 50 : 0)));
    else assert.ok(init.state.since_fired.data.every((v) => v === 0)); // clock unused here
    const x = gaussian(B * D, { seed: 2 });
    const p = init.params;
    // By hand: pi = x W_enc (zero biases); the term is alpha / B sum_b sum_i ReLU(theta_i - pi_bi)
    // over counted latents; d/d theta_i = alpha / B per entry below; d/d b_enc_i = -that.
    let want = 0;
    const dTheta = new Float64Array(F);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < F; j++) {
        if (deadOnly && !dead[j]) continue;
        let pi = 0;
        for (let i = 0; i < D; i++) pi += x[b * D + i] * p.W_enc.data[i * F + j];
        const gap = p.threshold.data[j] - pi;
        if (gap > 0) {
          want += (alpha * gap) / B;
          dTheta[j] += alpha / B;
        }
      }
    }
    const got = tf.tidy(() => {
      const vars = Object.fromEntries(
        Object.entries(p).map(([k, v]) => [k, tf.variable(tf.tensor(v.data, v.shape))]),
      );
      const state = Object.fromEntries(
        Object.entries(init.state).map(([k, v]) => [k, tf.tensor(v.data, v.shape)]),
      );
      const { value, grads } = tf.variableGrads(
        () =>
          arch.loss(vars, state, tf.tensor2d(x, [B, D]), { sae, lambda: tf.scalar(0) }).terms
            .pre_act,
        [vars.threshold, vars.b_enc],
      );
      const out = {
        value: value.dataSync()[0],
        theta: Array.from(grads[vars.threshold.name].dataSync()),
        bEnc: Array.from(grads[vars.b_enc.name].dataSync()),
      };
      Object.values(vars).forEach((v) => v.dispose());
      return out;
    });
    assert.ok(want > 0);
    assert.ok(Math.abs(got.value - want) <= 1e-5 * want, `${got.value} vs ${want}`);
    got.theta.forEach((g, j) =>
      assert.ok(Math.abs(g - dTheta[j]) <= 1e-6, `theta ${j}: ${g} vs ${dTheta[j]}`)
    );
    got.bEnc.forEach((g, j) =>
      assert.ok(Math.abs(g + dTheta[j]) <= 1e-6, `b_enc ${j}: ${g} vs ${-dTheta[j]}`)
    );
  });
}

Deno.test("jumprelu quadratic-frequency penalty: value and threshold gradient match the formulas by hand", async () => {
  await useBackend("cpu");
  const arch = getArchitecture("jumprelu");
  const eps = 0.4, s = 0.3, lambda = 0.2;
  const sae = saeSpec({
    architecture: "jumprelu",
    width: F,
    jumprelu: {
      threshold_param: "linear",
      init_threshold: 0.05,
      bandwidth: eps,
      penalty: "quadratic_frequency",
      frequency_scale: s,
    },
  });
  const init = arch.init({ d: D, f: F }, { sae, rng: new Rng(7) });
  const x = gaussian(B * D, { seed: 9 });
  const p = init.params;
  // By hand, with zero biases: p_j = (1 / B) #{b : pi_bj > theta_j}; the penalty is
  // lambda sum_j p_j (1 + p_j / s), and through the step STE d H_bj / d theta_j = -(1 / eps) on
  // entries with |pi_bj - theta_j| < eps / 2, so d / d theta_j = lambda (1 + 2 p_j / s) / B *
  // (-1 / eps) * #window_j.
  let penalty = 0;
  const dTheta = new Float64Array(F);
  for (let j = 0; j < F; j++) {
    const th = p.threshold.data[j];
    let fired = 0, window = 0;
    for (let b = 0; b < B; b++) {
      let pi = 0;
      for (let i = 0; i < D; i++) pi += x[b * D + i] * p.W_enc.data[i * F + j];
      if (pi > th) fired++;
      if (Math.abs(pi - th) < eps / 2) window++;
    }
    const freq = fired / B;
    penalty += lambda * freq * (1 + freq / s);
    dTheta[j] = ((lambda * (1 + (2 * freq) / s)) / B) * (-1 / eps) * window;
  }
  const got = tf.tidy(() => {
    const theta = tf.variable(tf.tensor(p.threshold.data, [F]));
    const params = {
      ...Object.fromEntries(Object.entries(p).map(([k, v]) => [k, tf.tensor(v.data, v.shape)])),
      threshold: theta,
    };
    const { value, grads } = tf.variableGrads(
      () =>
        arch.loss(params, {}, tf.tensor2d(x, [B, D]), { sae, lambda: tf.scalar(lambda) }).terms
          .sparsity,
      [theta],
    );
    const out = { value: value.dataSync()[0], grad: Array.from(grads[theta.name].dataSync()) };
    theta.dispose();
    return out;
  });
  // Differs from lambda * L0 whenever some latent fires (the quadratic part).
  assert.ok(penalty > 0);
  assert.ok(Math.abs(got.value - penalty) <= 1e-6 * penalty, `${got.value} vs ${penalty}`);
  got.grad.forEach((g, j) =>
    assert.ok(
      Math.abs(g - dTheta[j]) <= 1e-5 * Math.max(1, Math.abs(dTheta[j])),
      `theta ${j}: ${g} vs ${dTheta[j]}`,
    )
  );
  assert.ok(dTheta.some((v) => v !== 0), "some pre-activation falls in the STE window");
});
