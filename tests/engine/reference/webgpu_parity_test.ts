// WebGPU parity: for every architecture (and the JumpReLU option variants), the same parameters
// and batch give the same loss terms, latents, gradients and 1- and 3-step Adam updates on the
// webgpu backend as on tfjs's pure-JS cpu backend (the reference).
//
// Tolerances (float32; the two backends sum in different orders):
// - loss terms and step statistics: relative 1e-5;
// - latents, reconstructions, gradients, Adam moments: max |diff| <= 1e-5 * max |ref| + 1e-7;
// - parameters after 1 and 3 steps: max |diff| <= 1e-6 * max |ref| + 1e-6, i.e. under 0.2% of one
//   step at lr 1e-3 (measured on llvmpipe: <= 1.2e-7).
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../../lib/engine/reference/select_backend.ts";
import type { HostTensors } from "../../../lib/sae/types.ts";
import {
  type EngineRun,
  engineSteps,
  excess,
  lossAndGrads,
  type LossGrads,
  makeCase,
  type ParityCase,
} from "./_parity.ts";
import { webgpuTest } from "../_webgpu.ts";
import { architectures } from "../../../lib/sae/registry.ts";

// Every registered architecture at its defaults, plus the JumpReLU options together.
const CASES: ParityCase[] = [
  ...architectures().map((a) => makeCase(a.name, a.name)),
  makeCase("jumprelu linear threshold, post step input, quadratic penalty, clip", "jumprelu", {
    sae: {
      pre_encoder_bias: false,
      jumprelu: { threshold_param: "linear", step_input: "post", penalty: "quadratic" },
    },
    gradClip: 0.5,
  }),
];

const VALUES = { rtol: 1e-5, atol: 1e-7 };
const PARAMS = { rtol: 1e-6, atol: 1e-6 };

function close(what: string, a: number, b: number, rtol = 1e-5): void {
  assert.ok(
    Math.abs(a - b) <= rtol * Math.max(1, Math.abs(b)),
    `${what}: webgpu ${a} vs cpu ${b}`,
  );
}

function closeArrays(
  what: string,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  tol: { rtol: number; atol: number },
): void {
  const e = excess(a, b, tol);
  assert.ok(
    e.ratio <= 1,
    `${what}: max |webgpu - cpu| ${e.maxAbs.toExponential(2)} at ${e.at} ` +
      `(webgpu ${a[e.at]}, cpu ${b[e.at]}) exceeds ${tol.atol} + ${tol.rtol} * max |cpu|`,
  );
}

function closeTensors(
  what: string,
  a: HostTensors,
  b: HostTensors,
  tol: { rtol: number; atol: number },
): void {
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), `${what}: tensor names`);
  for (const n of Object.keys(b)) closeArrays(`${what} ${n}`, a[n].data, b[n].data, tol);
}

/** Runs `fn` on the cpu backend, then on webgpu. */
async function onBoth<T>(fn: () => Promise<T>): Promise<{ cpu: T; gpu: T }> {
  await selectBackend("cpu");
  const cpu = await fn();
  const choice = await selectBackend("webgpu");
  assert.equal(choice.used, "webgpu");
  try {
    return { cpu, gpu: await fn() };
  } finally {
    await selectBackend("cpu");
  }
}

for (const c of CASES) {
  webgpuTest(`${c.label}: webgpu loss terms, latents and gradients match cpu`, async () => {
    const { cpu, gpu } = await onBoth<LossGrads>(() => lossAndGrads(c));
    close("total loss", gpu.total, cpu.total);
    for (const n of c.arch.termNames(c.sae)) close(`term ${n}`, gpu.terms[n], cpu.terms[n]);
    closeArrays("latents f", gpu.f, cpu.f, VALUES);
    closeArrays("reconstruction", gpu.xHat, cpu.xHat, VALUES);
    closeTensors("gradient", gpu.grads, cpu.grads, VALUES);
    // The case must exercise what it claims to: every parameter has a gradient, the JumpReLU
    // threshold gets one through the STE kernel, and AuxK is active.
    for (const [n, g] of Object.entries(cpu.grads)) {
      assert.ok(g.data.some((v) => v !== 0), `cpu gradient of ${n} is all zero`);
    }
    if (c.arch.termNames(c.sae).includes("aux")) assert.ok(cpu.terms.aux > 0, "aux term is zero");
  });

  webgpuTest(`${c.label}: webgpu Adam steps 1 and 3 match cpu`, async () => {
    // tf.memory() needs an initialised backend, even when this is the file's first test.
    await selectBackend("cpu");
    const before = tf.memory().numTensors;
    const { cpu, gpu } = await onBoth<EngineRun>(() => engineSteps(c));
    assert.equal(tf.memory().numTensors, before, "engine steps leaked tensors");
    for (const s of [0, 2]) {
      const [a, b] = [gpu.snapshots[s], cpu.snapshots[s]];
      closeTensors(`step ${s + 1} parameter`, a.params, b.params, PARAMS);
      closeTensors(`step ${s + 1} state`, a.state, b.state, VALUES);
      closeTensors(`step ${s + 1} Adam m`, a.optimizer.m, b.optimizer.m, VALUES);
      closeTensors(`step ${s + 1} Adam v`, a.optimizer.v, b.optimizer.v, VALUES);
      assert.equal(a.optimizer.t, s + 1);
      const [sa, sb] = [gpu.stats[s], cpu.stats[s]];
      close(`step ${s + 1} loss`, sa.loss, sb.loss);
      close(`step ${s + 1} l0`, sa.l0, sb.l0);
      close(`step ${s + 1} fvu`, sa.fvu, sb.fvu);
      for (const n of c.arch.termNames(c.sae)) {
        close(`step ${s + 1} ${n}`, sa.terms[n], sb.terms[n]);
      }
      assert.deepEqual(sa.nonFinite, []);
    }
    // The steps moved the parameters by about lr each (so the comparison above means something).
    const moved = Math.max(
      ...Object.entries(cpu.snapshots[2].params).map(([n, t]) =>
        excess(t.data, c.init.params[n].data, { rtol: 0, atol: 1 }).maxAbs
      ),
    );
    assert.ok(moved > c.lr, `parameters moved only ${moved} in 3 steps`);
  });
}
