// Tests lib/train/normalize.ts on hand-computed cases.
import assert from "node:assert/strict";
import {
  geometricMedian,
  mean,
  normalizationScale,
  scaleInPlace,
} from "../../lib/train/normalize.ts";

Deno.test("normalizationScale() makes the mean squared norm 1", () => {
  // Rows (3, 4) and (0, 0): mean ||x||^2 = 25 / 2, so C = sqrt(12.5).
  const x = new Float32Array([3, 4, 0, 0]);
  const c = normalizationScale(x, 2);
  assert.ok(Math.abs(c - Math.sqrt(12.5)) < 1e-6);
  scaleInPlace(x, c);
  assert.ok(Math.abs((x[0] ** 2 + x[1] ** 2 + x[2] ** 2 + x[3] ** 2) / 2 - 1) < 1e-6);
});

Deno.test("mean() averages columns", () => {
  assert.deepEqual(Array.from(mean(new Float32Array([1, 2, 3, 6]), 2)), [2, 4]);
});

Deno.test("geometricMedian() minimises the sum of distances and resists an outlier", () => {
  // Four points around (1, 1) plus an outlier at (100, 100): the mean moves to (20.8, 20.8).
  const pts = new Float32Array([0, 1, 2, 1, 1, 0, 1, 2, 100, 100]);
  const cost = (p: ArrayLike<number>) => {
    let c = 0;
    for (let i = 0; i < 5; i++) c += Math.hypot(pts[2 * i] - p[0], pts[2 * i + 1] - p[1]);
    return c;
  };
  const m = geometricMedian(pts, 2, { maxIter: 1000, tol: 1e-10 });
  for (const [dx, dy] of [[1e-3, 0], [-1e-3, 0], [0, 1e-3], [0, -1e-3], [1e-3, 1e-3]]) {
    assert.ok(cost(m) <= cost([m[0] + dx, m[1] + dy]) + 1e-6, "not a local minimum");
  }
  assert.ok(m[0] < 2 && m[1] < 2, `median ${m} pulled towards the outlier`);
  const sym = geometricMedian(new Float32Array([0, 1, 2, 1, 1, 0, 1, 2]), 2);
  assert.ok(Math.abs(sym[0] - 1) < 1e-5 && Math.abs(sym[1] - 1) < 1e-5);
});
