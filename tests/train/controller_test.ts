// Boundaries of lib/train/controller.ts, one update at a time with hand-computed log(lambda):
// the start and freeze steps, the +-0.5 clamp per update, the L0 floor of 1e-3 inside the log,
// the lambda floor (anti-windup) and atFloor()'s 1e-9 band. Convergence on plants is in
// schedules_test.ts.
import assert from "node:assert/strict";
import {
  atFloor,
  type ControllerState,
  initController,
  lambdaFloor,
  updateController,
} from "../../lib/train/controller.ts";

const OPTS = { targetL0: 8, gain: 0.25, freezeStep: 100, startStep: 20, damping: 0 };

/** The state after one update from lambda 1 (log 0). */
function once(l0: number, over: Partial<typeof OPTS> & { logFloor?: number } = {}, step = 50) {
  return updateController(initController(1), { step, l0 }, { ...OPTS, ...over });
}

Deno.test("updateController() starts at startStep exactly and freezes at freezeStep exactly", () => {
  // L0 16 = 2 x target: log(lambda) moves by 0.25 * ln 2 when it updates.
  const moved = 0.25 * Math.log(2);
  assert.equal(once(16, {}, 19).logLambda, 0);
  assert.equal(once(16, {}, 19).lastError, null);
  assert.ok(Math.abs(once(16, {}, 20).logLambda - moved) < 1e-15);
  assert.ok(Math.abs(once(16, {}, 99).logLambda - moved) < 1e-15);
  assert.equal(once(16, {}, 99).frozen, false);
  const frozen = once(16, {}, 100);
  assert.deepEqual([frozen.logLambda, frozen.frozen], [0, true]);
  // Every reading is recorded, updated or not: (step, lambda before the update, l0).
  assert.deepEqual(once(16, {}, 19).trajectory, [[19, 1, 16]]);
  assert.deepEqual(frozen.trajectory, [[100, 1, 16]]);
});

Deno.test("updateController() moves log(lambda) by gain x error up to 0.5 per update, either way", () => {
  // gain 0.25: error ln 4 (L0 32) -> 0.25 ln 4 = 0.3466 unclamped; ln 8 (L0 64) -> 0.5199 -> 0.5.
  assert.ok(Math.abs(once(32).logLambda - 0.25 * Math.log(4)) < 1e-15);
  assert.equal(once(64).logLambda, 0.5);
  assert.ok(Math.abs(once(2).logLambda + 0.25 * Math.log(4)) < 1e-15);
  assert.equal(once(1).logLambda, -0.5);
  // Exactly at the clamp: gain 0.5 x error 1 (L0 = 8e, ln e = 1 within an ulp) is 0.5 either way.
  assert.ok(Math.abs(once(8 * Math.E, { gain: 0.5 }).logLambda - 0.5) < 1e-15);
  assert.ok(Math.abs(once(8 / Math.E, { gain: 0.5 }).logLambda + 0.5) < 1e-15);
  // On target: no move.
  assert.equal(once(8).logLambda, 0);
});

Deno.test("updateController() reads an L0 at or below 1e-3 as 1e-3, above it as itself", () => {
  const floorError = Math.log(1e-3 / 8);
  assert.equal(once(0).lastError, floorError);
  assert.equal(once(1e-3).lastError, floorError);
  assert.equal(once(1e-4).lastError, floorError);
  assert.equal(once(2e-3).lastError, Math.log(2e-3 / 8));
  // A non-finite reading changes nothing but is recorded.
  const nan = once(NaN);
  assert.deepEqual([nan.logLambda, nan.lastError, nan.trajectory.length], [0, null, 1]);
});

Deno.test("updateController() adds damping x the error's change per update", () => {
  // First update: e1 = ln 2 (L0 16), no previous error. Second: e2 = ln 4 (L0 32), damping 3:
  // delta = 0.1 x (ln 4 + 3 (ln 4 - ln 2)) = 0.1 x 5 ln 2 = 0.3466.
  const opts = { ...OPTS, gain: 0.1, damping: 3 };
  const first = updateController(initController(1), { step: 30, l0: 16 }, opts);
  assert.ok(Math.abs(first.logLambda - 0.1 * Math.log(2)) < 1e-15);
  const second = updateController(first, { step: 40, l0: 32 }, opts);
  assert.ok(Math.abs(second.logLambda - (0.1 * Math.log(2) + 0.5 * Math.log(2))) < 1e-15);
});

Deno.test("updateController() never takes log(lambda) below the floor, lands on it, and leaves it upward", () => {
  const at = (logLambda: number): ControllerState => ({ ...initController(1), logLambda });
  const opts = { ...OPTS, logFloor: -1 };
  const down = (from: number) => updateController(at(from), { step: 50, l0: 1 }, opts).logLambda;
  // L0 1: the move is -0.5 (clamped). From -0.7 it would reach -1.2: held at -1.
  assert.equal(down(-0.7), -1);
  assert.equal(down(-1), -1);
  assert.equal(down(-0.5), -1); // lands exactly on the floor
  assert.equal(down(-0.4), -0.9); // above the floor: unclamped
  // At the floor, an L0 above target raises lambda again.
  const up = updateController(at(-1), { step: 50, l0: 64 }, opts).logLambda;
  assert.equal(up, -0.5);
  // No floor: unbounded.
  assert.equal(updateController(at(-30), { step: 50, l0: 1 }, OPTS).logLambda, -30.5);
});

Deno.test("lambdaFloor() is log(start / max_drop); atFloor() holds within 1e-9 of it, not beyond", () => {
  assert.equal(lambdaFloor(3e-2, 30), Math.log(1e-3));
  assert.equal(lambdaFloor(1, null), undefined);
  const floor = Math.log(1e-3);
  const state = (d: number): ControllerState => ({ ...initController(1), logLambda: floor + d });
  assert.equal(atFloor(state(0), floor), true);
  assert.equal(atFloor(state(0.5e-9), floor), true);
  assert.equal(atFloor(state(-0.5e-9), floor), true);
  assert.equal(atFloor(state(2e-9), floor), false);
  assert.equal(atFloor(state(-2e-9), floor), false);
  assert.equal(atFloor(state(0.1), floor), false);
  assert.equal(atFloor(state(0), undefined), false);
});
