// Tests lib/train/lambda_scale.ts: hand-computed units per penalty, and the controller started at the
// derived unit on a simulated plant whose needed lambda spans more than 1000x across targets
// (quadratic-frequency penalty): every target is reached; a start that ignores the penalty's cost
// per unit of L0 (the normalisation) leaves the high targets at the floor.
import assert from "node:assert/strict";
import {
  centredVariance,
  lambdaUnit,
  MARGINAL_VALUE,
  penaltyPerL0,
  type PenaltyShape,
  penaltyShape,
} from "../../lib/train/lambda_scale.ts";
import {
  controllerLambda,
  initController,
  lambdaFloor,
  updateController,
} from "../../lib/train/controller.ts";
import { JumpReluOptions } from "../../lib/sae/jumprelu/options.ts";
import type { SaeConfig } from "../../lib/sae/types.ts";

const near = (a: number, b: number, tol = 1e-12) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} != ${b}`);

Deno.test("centredVariance() is the mean squared norm of x - b_dec per row", () => {
  const x = new Float32Array([1, 2, 3, 4]); // rows (1, 2), (3, 4)
  near(centredVariance(x, 2), (5 + 25) / 2);
  // Minus b_dec (1, 1): rows (0, 1), (2, 3) -> (1 + 13) / 2.
  near(centredVariance(x, 2, new Float32Array([1, 1])), 7);
});

Deno.test("penaltyPerL0() is each penalty's cost per unit of L0 at the target, by hand", () => {
  // T 16, F 512, V 0.64: m = sqrt(0.64 / 16) = 0.2.
  const at = { targetL0: 16, width: 512, variance: 0.64 };
  near(penaltyPerL0({ kind: "l0" }, at), 1);
  near(penaltyPerL0({ kind: "quadratic" }, at), 0.1 / 16); // 2 x 0.05 / T at L0 = 1.05 T
  // 1 + 2 * 16 / (512 * 0.01) = 1 + 32 / 5.12 = 7.25.
  near(penaltyPerL0({ kind: "quadratic_frequency", frequencyScale: 0.01 }, at), 7.25);
  near(penaltyPerL0({ kind: "tanh", tanhScale: 4 }, at), Math.tanh(0.2)); // tanh(4 x 0.2 / 4) = 0.19737532
  near(penaltyPerL0({ kind: "l1" }, at), 0.2);
});

Deno.test("lambdaUnit() is MARGINAL_VALUE x V / T over the penalty's cost per unit of L0, by hand", () => {
  const at = { targetL0: 16, width: 512, variance: 0.64 };
  assert.deepEqual(MARGINAL_VALUE, {
    l0: 0.01,
    quadratic: 0.01,
    tanh: 0.01,
    quadratic_frequency: 0.04,
    l1: 0.25,
  });
  // L1: 0.25 * 0.04 / 0.2 = 0.05; JumpReLU L0: 0.01 * 0.04 / 1 = 4e-4; quadratic frequency:
  // 0.04 * 0.04 / 7.25 = 1.6e-3 / 7.25 = 2.2069e-4.
  near(lambdaUnit({ kind: "l1" }, at), 0.05);
  near(lambdaUnit({ kind: "l0" }, at), 4e-4);
  near(lambdaUnit({ kind: "quadratic_frequency", frequencyScale: 0.01 }, at), 1.6e-3 / 7.25);
  // T 4 vs 128 at F 512, s 0.01: (1/4) / 2.5625 vs (1/128) / 51 = 637x between the targets.
  const qf: PenaltyShape = { kind: "quadratic_frequency", frequencyScale: 0.01 };
  const low = lambdaUnit(qf, { targetL0: 4, width: 512, variance: 1 });
  const high = lambdaUnit(qf, { targetL0: 128, width: 512, variance: 1 });
  near(low / high, (128 * 51) / (4 * 2.5625), 1e-12);
});

Deno.test("penaltyShape() reads JumpReLU's penalty and gives L1 to ReLU and Gated", () => {
  const jr = (penalty: string) =>
    ({
      architecture: "jumprelu",
      jumprelu: JumpReluOptions.parse({ penalty, frequency_scale: 0.02, tanh_scale: 3 }),
    }) as unknown as SaeConfig;
  assert.deepEqual(penaltyShape(jr("l0")), { kind: "l0" });
  assert.deepEqual(penaltyShape(jr("quadratic_frequency")), {
    kind: "quadratic_frequency",
    frequencyScale: 0.02,
  });
  assert.deepEqual(penaltyShape(jr("tanh")), { kind: "tanh", tanhScale: 3 });
  assert.deepEqual(penaltyShape({ architecture: "relu" } as SaeConfig), { kind: "l1" });
  assert.deepEqual(penaltyShape({ architecture: "gated" } as SaeConfig), { kind: "l1" });
  assert.equal(penaltyShape({ architecture: "topk" } as SaeConfig), null);
});

Deno.test("the floor is start / max_drop of the derived start: lambda stops there, and moves freely above it", () => {
  const start = 2e-5;
  const logFloor = lambdaFloor(start, 30)!;
  near(Math.exp(logFloor), 2e-5 / 30);
  const opts = { targetL0: 10, gain: 1, freezeStep: 10_000, startStep: 0, damping: 0, logFloor };
  // L0 far below the target: each update asks for -0.5 in log; after 10 updates lambda sits at
  // the floor (exp(-5) < 1 / 30).
  let s = initController(start);
  for (let step = 10; step <= 100; step += 10) s = updateController(s, { step, l0: 0.1 }, opts);
  near(controllerLambda(s), start / 30, 1e-9);
  // Just above the floor (one update of log(1 / 1.1) from the start): unclamped.
  const one = updateController(initController(start), { step: 10, l0: 10 / 1.1 }, opts);
  near(controllerLambda(one), start / 1.1, 1e-9);
  assert.equal(one.logStart, Math.log(start));
});

/**
 * A plant for the quadratic-frequency penalty: at equilibrium a unit of L0 is worth
 * c V / L0 and costs lambda (1 + 2 L0 / (F s)) (lib/train/lambda_scale.ts), so L0_eq solves
 * lambda (L0 + 2 L0^2 / (F s)) = c V; c is the plant's own constant, off from MARGINAL_VALUE by
 * `mismatch`. L0 starts at the target (quantile thresholds) and relaxes to L0_eq at 2% per step.
 */
function simulate(targetL0: number, options: { start: number; mismatch: number }): number {
  const width = 512, s = 0.01, variance = 0.9;
  const c = MARGINAL_VALUE.quadratic_frequency * options.mismatch;
  const l0Eq = (lambda: number) => {
    // Positive root of (2 / (F s)) L^2 + L - c V / lambda = 0.
    const a = 2 / (width * s), k = (c * variance) / lambda;
    return (-1 + Math.sqrt(1 + 4 * a * k)) / (2 * a);
  };
  const steps = 2000, interval = 10;
  const opts = {
    targetL0,
    gain: 0.3,
    freezeStep: Math.floor(0.95 * steps),
    startStep: 0,
    damping: 0.1 / (3e-3 * interval), // horizon 0.1 at lr 3e-3
    logFloor: lambdaFloor(options.start, 30),
  };
  let state = initController(options.start);
  let l0 = targetL0;
  for (let step = 1; step <= steps; step++) {
    l0 += 0.02 * (l0Eq(controllerLambda(state)) - l0);
    if (step % interval === 0) state = updateController(state, { step, l0 }, opts);
  }
  return l0;
}

Deno.test("started at the derived unit, the controller reaches targets whose needed lambda differs by >1000x", () => {
  const qf: PenaltyShape = { kind: "quadratic_frequency", frequencyScale: 0.01 };
  const unit = (t: number) => lambdaUnit(qf, { targetL0: t, width: 512, variance: 0.9 });
  assert.ok(unit(2) / unit(256) > 1000, `${unit(2) / unit(256)}`);
  for (const targetL0 of [2, 4, 16, 64, 128, 256]) {
    // The plant's constant 3x below and above the unit's: the controller covers the rest.
    for (const mismatch of [1 / 3, 3]) {
      const l0 = simulate(targetL0, { start: unit(targetL0), mismatch });
      assert.ok(Math.abs(l0 / targetL0 - 1) < 0.05, `target ${targetL0} x${mismatch}: L0 ${l0}`);
    }
  }
});

Deno.test("without the normalisation (one start for all targets) the high targets end at the floor", () => {
  // The unit of target 4 used at every target, as one sae.jumprelu.lambda does.
  const start = lambdaUnit({ kind: "quadratic_frequency", frequencyScale: 0.01 }, {
    targetL0: 4,
    width: 512,
    variance: 0.9,
  });
  assert.ok(Math.abs(simulate(4, { start, mismatch: 1 }) / 4 - 1) < 0.05);
  const l0 = simulate(128, { start, mismatch: 1 });
  assert.ok(l0 < 0.9 * 128, `L0 ${l0}`);
  // Nor does the cost per unit of L0 alone suffice: V / T x MARGINAL_VALUE without the
  // frequency term leaves lambda 51x too high at 128.
  const noCost = (MARGINAL_VALUE.quadratic_frequency * 0.9) / 128;
  assert.ok(simulate(128, { start: noCost, mismatch: 1 }) < 0.9 * 128);
});
