// Test helper: the arguments and the check of the GPU engines' tanh(x) and sech^2(x) (the tanh
// penalty's, lib/engine/{webgpu,cuda}/tanh_sech2.ts) against Math.tanh and 1 / cosh^2 in float64
// of the float32 argument: relative 2e-6 (a few float32 ulps) + 1e-30.
import assert from "node:assert/strict";

/** Arguments the step meets: c f with f >= 0, and a few negatives. */
export const TANH_XS = [
  0,
  1e-6,
  1e-3,
  0.01,
  0.05,
  0.1,
  0.124,
  0.125,
  0.126,
  0.2,
  0.5,
  1,
  2,
  4,
  9,
  10,
  20,
  40,
  1e30,
  -1e-3,
  -0.1,
  -0.3,
  -3,
];

/** Asserts (tanh, sech^2) pairs against float64 within the tolerance above. */
export function assertTanhSech2(have: ArrayLike<number>, where: string): void {
  TANH_XS.forEach((x, i) => {
    const xf = Math.fround(x);
    const want = [Math.tanh(xf), 1 / Math.cosh(xf) ** 2];
    for (const [k, name] of [[0, "tanh"], [1, "sech^2"]] as const) {
      const h = have[2 * i + k];
      const w = want[k];
      assert.ok(
        Math.abs(h - w) <= 2e-6 * Math.abs(w) + 1e-30,
        `${where}: ${name}(${x}) = ${h}, want ${w}`,
      );
    }
  });
}
