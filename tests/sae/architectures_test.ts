// Tests lib/sae/*.ts: loss gradients against finite differences where the loss is smooth, against
// the pure-JS backend everywhere (wasm vs cpu), the JumpReLU threshold gradient and loss against a
// hand computation, and the inference encoders' sparsity.
// Shapes: B batch, D d_model, F latents.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { architectures, getArchitecture } from "../../lib/sae/registry.ts";
import type { Architecture, HostTensors, TensorMap } from "../../lib/sae/types.ts";
import type { SaeSpec } from "../../lib/spec/schema.ts";
import { Rng } from "../../lib/data/rng.ts";
import { closeness, gaussian, saeSpec, useBackend } from "../_tf.ts";

const B = 8, D = 6, F = 12;

function saeFor(arch: string, extra: Record<string, unknown> = {}): SaeSpec {
  return saeSpec({ architecture: arch, width: F, target_l0: 3, ...extra });
}

/** Parameters after init, perturbed so biases and thresholds are not trivially zero. */
function hostParams(
  arch: Architecture,
  sae: SaeSpec,
  seed = 3,
): { params: HostTensors; state: HostTensors } {
  const init = arch.init({ d: D, f: F }, { sae, rng: new Rng(seed) });
  const rng = new Rng(seed, 9);
  for (const [name, t] of Object.entries(init.params)) {
    if (name.startsWith("b_") || name === "r_mag") {
      t.data.forEach((_, i) => t.data[i] = 0.1 * rng.normal());
    }
  }
  // Dead-latent clocks: mark every other latent dead so AuxK has work to do.
  if (init.state.since_fired) {
    init.state.since_fired.data.forEach((_, i) => init.state.since_fired.data[i] = i % 2 ? 1e9 : 0);
  }
  return init;
}

function toTensors(h: HostTensors): TensorMap {
  return Object.fromEntries(Object.entries(h).map(([k, t]) => [k, tf.tensor(t.data, t.shape)]));
}

/** Total loss, or the sum of the named terms only. */
function lossOf(
  arch: Architecture,
  sae: SaeSpec,
  host: { params: HostTensors; state: HostTensors },
  x: Float32Array,
  options: { lambda?: number; terms?: readonly string[] } = {},
): number {
  return tf.tidy(() => {
    const out = arch.loss(toTensors(host.params), toTensors(host.state), tf.tensor2d(x, [B, D]), {
      sae,
      lambda: tf.scalar(options.lambda ?? 0.05),
    });
    if (!options.terms) return out.total.dataSync()[0];
    return options.terms.reduce((acc, t) => acc + out.terms[t].dataSync()[0], 0);
  });
}

function gradsOf(
  arch: Architecture,
  sae: SaeSpec,
  host: { params: HostTensors; state: HostTensors },
  x: Float32Array,
  lambda = 0.05,
): Record<string, Float32Array> {
  return tf.tidy(() => {
    const vars = Object.fromEntries(
      Object.entries(host.params).map((
        [k, t],
      ) => [k, tf.variable(tf.tensor(t.data, t.shape), true, `g_${k}_${Math.random()}`)]),
    );
    const state = toTensors(host.state);
    const xt = tf.tensor2d(x, [B, D]);
    const names = Object.keys(vars);
    const { grads } = tf.variableGrads(
      () => arch.loss(vars, state, xt, { sae, lambda: tf.scalar(lambda) }).total,
      names.map((n) => vars[n]),
    );
    const out: Record<string, Float32Array> = {};
    for (const n of names) {
      out[n] = grads[vars[n].name]
        ? new Float32Array(grads[vars[n].name].dataSync())
        : new Float32Array(host.params[n].data.length);
    }
    Object.values(vars).forEach((v) => v.dispose());
    return out;
  });
}

for (const arch of architectures()) {
  const name = arch.name;
  Deno.test(`${name}: directional derivatives of the loss match central finite differences`, async () => {
    await useBackend("cpu");
    const smooth = arch.gradientCheck;
    const sae = saeFor(name, smooth.sae);
    const host = hostParams(arch, sae);
    const x = gaussian(B * D, { seed: 11 });
    const grads = gradsOf(arch, sae, host, x);
    for (const p of smooth.params) {
      const v = gaussian(host.params[p].data.length, { seed: 5 });
      const h = 1e-2;
      const shifted = (sign: number) => {
        const data = host.params[p].data.map((w, i) => w + sign * h * v[i]);
        return {
          params: { ...host.params, [p]: { shape: host.params[p].shape, data } },
          state: host.state,
        };
      };
      const terms = { terms: smooth.terms };
      const fd =
        (lossOf(arch, sae, shifted(1), x, terms) - lossOf(arch, sae, shifted(-1), x, terms)) /
        (2 * h);
      const analytic = grads[p].reduce((acc, g, i) => acc + g * v[i], 0);
      assert.ok(
        Math.abs(fd - analytic) <= 2e-3 + 1e-2 * Math.abs(analytic),
        `${p}: finite difference ${fd} vs gradient ${analytic}`,
      );
    }
  });

  Deno.test(`${name}: loss and every gradient on wasm match the pure-JS cpu backend`, async () => {
    const sae = saeFor(name);
    const host = hostParams(arch, sae);
    const x = gaussian(B * D, { seed: 12 });
    await useBackend("cpu");
    const refLoss = lossOf(arch, sae, host, x);
    const ref = gradsOf(arch, sae, host, x);
    await useBackend("wasm");
    const loss = lossOf(arch, sae, host, x);
    const got = gradsOf(arch, sae, host, x);
    await useBackend("cpu");
    assert.ok(
      Math.abs(loss - refLoss) <= 1e-5 * Math.abs(refLoss) + 1e-6,
      `loss ${loss} vs ${refLoss}`,
    );
    for (const p of Object.keys(ref)) {
      assert.ok(
        closeness(got[p], ref[p], { atol: 1e-5, rtol: 1e-3 }) <= 1,
        `gradient of ${p} differs`,
      );
    }
  });

  Deno.test(`${name}: encode() gives non-negative latents and decode() has shape [B, D]`, async () => {
    await useBackend("cpu");
    const sae = saeFor(name);
    const host = hostParams(arch, sae);
    const x = tf.tensor2d(gaussian(B * D, { seed: 13 }), [B, D]);
    const f = arch.encode(toTensors(host.params), toTensors(host.state), x, sae);
    assert.deepEqual(f.shape, [B, F]);
    assert.ok(Array.from(f.dataSync()).every((v) => v >= 0));
    if (name === "topk") {
      const rows = f.arraySync() as number[][];
      assert.ok(rows.every((r) => r.filter((v) => v > 0).length <= 3));
    }
    assert.deepEqual(arch.decode(toTensors(host.params), f).shape, [B, D]);
  });
}

/** JumpReLU forward pieces computed in float64 JS from host parameters. */
function jumpReluByHand(host: HostTensors, x: Float32Array, theta: Float32Array) {
  const pi = new Float64Array(B * F);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < F; j++) {
      let acc = host.b_enc.data[j];
      for (let i = 0; i < D; i++) {
        acc += (x[b * D + i] - host.b_dec.data[i]) * host.W_enc.data[i * F + j];
      }
      pi[b * F + j] = acc;
    }
  }
  const f = pi.map((v, k) => (v > theta[k % F] ? v : 0));
  const resid = new Float64Array(B * D); // xHat - x
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < D; i++) {
      let acc = host.b_dec.data[i] - x[b * D + i];
      for (let j = 0; j < F; j++) acc += f[b * F + j] * host.W_dec.data[j * D + i];
      resid[b * D + i] = acc;
    }
  }
  return { pi, f, resid };
}

for (const param of ["log", "linear"] as const) {
  Deno.test(`jumprelu (${param} threshold): loss and threshold gradient match the paper's formulas by hand`, async () => {
    await useBackend("cpu");
    const eps = 0.5; // wide window so many pre-activations fall inside it
    const lambda = 0.3;
    const sae = saeFor("jumprelu", {
      jumprelu: { bandwidth: eps, threshold_param: param, init_threshold: 0.2 },
    });
    const arch = getArchitecture("jumprelu");
    const host = hostParams(arch, sae);
    const x = gaussian(B * D, { seed: 21 });
    const theta = param === "log"
      ? host.params.log_threshold.data.map(Math.exp)
      : host.params.threshold.data;
    const { pi, resid } = jumpReluByHand(host.params, x, theta);
    // Loss: mean_b sum_d resid^2 + lambda * mean_b sum_j H(pi - theta).
    let recon = 0, l0 = 0;
    resid.forEach((r) => recon += r * r);
    pi.forEach((v, k) => l0 += v > theta[k % F] ? 1 : 0);
    const expectedLoss = recon / B + lambda * l0 / B;
    assert.ok(
      Math.abs(lossOf(arch, sae, host, x, { lambda }) - expectedLoss) < 1e-4 * expectedLoss,
    );
    // dL/dtheta_j = sum_b [-(theta/eps) K_bj dL/df_bj - (lambda/B)(1/eps) K_bj], dL/df_bj = (2/B) sum_d resid_bd W_dec[j, d].
    const expected = new Float64Array(F);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < F; j++) {
        const u = (pi[b * F + j] - theta[j]) / eps;
        if (!(u > -0.5 && u < 0.5)) continue;
        let dLdf = 0;
        for (let i = 0; i < D; i++) {
          dLdf += (2 / B) * resid[b * D + i] * host.params.W_dec.data[j * D + i];
        }
        expected[j] += -(theta[j] / eps) * dLdf - (lambda / B) / eps;
      }
    }
    const grads = gradsOf(arch, sae, host, x, lambda);
    const got = param === "log" ? grads.log_threshold : grads.threshold;
    const want = param === "log" ? expected.map((g, j) => g * theta[j]) : expected;
    assert.ok(want.some((g) => g !== 0), "test batch must put some pre-activations in the window");
    assert.ok(closeness(got, want, { atol: 1e-5, rtol: 1e-4 }) <= 1, `${got} vs ${want}`);
  });
}

Deno.test("jumprelu: the sparsity term sends no gradient to the encoder (d/dpi H = 0)", async () => {
  await useBackend("cpu");
  const arch = getArchitecture("jumprelu");
  const sae = saeFor("jumprelu", { jumprelu: { bandwidth: 0.5, init_threshold: 0.2 } });
  const host = hostParams(arch, sae);
  const x = gaussian(B * D, { seed: 22 });
  const small = gradsOf(arch, sae, host, x, 0.001);
  const large = gradsOf(arch, sae, host, x, 100);
  for (const p of ["W_enc", "b_enc", "W_dec", "b_dec"]) {
    assert.ok(
      closeness(large[p], small[p], { atol: 1e-6, rtol: 1e-5 }) <= 1,
      `${p} depends on lambda`,
    );
  }
  assert.ok(closeness(large.log_threshold, small.log_threshold, { atol: 1e-6, rtol: 1e-5 }) > 1);
});

Deno.test("relu: the penalty is lambda * sum_i f_i ||W_dec,i|| averaged over the batch", async () => {
  await useBackend("cpu");
  const arch = getArchitecture("relu");
  const sae = saeFor("relu");
  const host = hostParams(arch, sae);
  // Scale decoder rows so their norms differ from 1.
  host.params.W_dec.data.forEach((v, k) =>
    host.params.W_dec.data[k] = v * (1 + Math.floor(k / D) * 0.1)
  );
  const x = gaussian(B * D, { seed: 23 });
  const out = tf.tidy(() => {
    const r = arch.loss(toTensors(host.params), {}, tf.tensor2d(x, [B, D]), {
      sae,
      lambda: tf.scalar(2),
    });
    return { sparsity: r.terms.sparsity.dataSync()[0], f: r.f.arraySync() as number[][] };
  });
  let expected = 0;
  for (const row of out.f) {
    row.forEach((fi, j) => {
      let n = 0;
      for (let i = 0; i < D; i++) n += host.params.W_dec.data[j * D + i] ** 2;
      expected += 2 * fi * Math.sqrt(n);
    });
  }
  assert.ok(Math.abs(out.sparsity - expected / B) < 1e-4 * expected / B);
});
