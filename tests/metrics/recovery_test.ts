import assert from "node:assert/strict";
import { featureRecovery } from "../../lib/metrics/recovery.ts";

Deno.test("featureRecovery() gives the hand-computed mmcs of a 2-D example", () => {
  // True directions e1, e2, (1,1) (normalised inside). Decoder rows (2,0), (0.6,0.8), (0,-1), (0,0).
  // max cosines: e1 -> 1 (row 0); e2 -> 0.8 (row 1; row 2 is -1, signed); (1,1)/sqrt2 -> 1.4/sqrt2
  // = 0.98995 (row 1). mmcs = (1 + 0.8 + 0.98995) / 3 = 0.92998; recovered (> 0.9): 2 of 3.
  const r = featureRecovery(
    new Float32Array([2, 0, 0.6, 0.8, 0, -1, 0, 0]),
    new Float32Array([1, 0, 0, 1, 1, 1]),
    { dModel: 2 },
  );
  const expected = (1 + 0.8 + 1.4 / Math.SQRT2) / 3;
  assert.ok(Math.abs(r.mmcs - expected) < 1e-6, `mmcs ${r.mmcs} vs ${expected}`);
  assert.equal(r.recovered_frac, 2 / 3);
  assert.ok(Math.abs(r.max_cos[1] - 0.8) < 1e-6);
  // With threshold 0.995 the diagonal (max cosine 0.98995) is not recovered.
  assert.equal(
    featureRecovery(new Float32Array([2, 0, 0.6, 0.8]), new Float32Array([1, 1]), {
      dModel: 2,
      threshold: 0.995,
    }).recovered_frac,
    0,
  );
});

Deno.test("featureRecovery() of the true directions themselves is perfect", () => {
  const dirs = new Float32Array([0.6, 0.8, 0, 0, 0, 1, 1, 0, 0]);
  const r = featureRecovery(dirs, dirs, { dModel: 3 });
  assert.ok(Math.abs(r.mmcs - 1) < 1e-6);
  assert.equal(r.recovered_frac, 1);
  assert.throws(() => featureRecovery(dirs, new Float32Array(4), { dModel: 3 }), RangeError);
});

Deno.test("featureRecovery() counts a feature recovered above the threshold, not at it", () => {
  // Decoder row (1, 1, 1, 1) / 2 and true direction e1: cosine exactly 0.5 (every factor is a
  // power of two). A signed cosine of -1 (the opposite row) never recovers.
  const dec = new Float32Array([1, 1, 1, 1]);
  const e1 = new Float32Array([1, 0, 0, 0]);
  const at = (threshold: number) =>
    featureRecovery(dec, e1, { dModel: 4, threshold }).recovered_frac;
  assert.equal(featureRecovery(dec, e1, { dModel: 4 }).max_cos[0], 0.5);
  assert.equal(at(0.5), 0);
  assert.equal(at(0.5 - 2 ** -53), 1); // the next float below 0.5: no slack is allowed
  assert.equal(at(0.5 + 2 ** -30), 0);
  // Cosine 1 exactly: not above a threshold of 1, above one just under it.
  assert.equal(featureRecovery(e1, e1, { dModel: 4, threshold: 1 }).recovered_frac, 0);
  assert.equal(featureRecovery(e1, e1, { dModel: 4, threshold: 1 - 2 ** -53 }).recovered_frac, 1);
  const opposite = new Float32Array([-1, 0, 0, 0]);
  const r = featureRecovery(opposite, e1, { dModel: 4, threshold: -0.5 });
  assert.deepEqual([r.max_cos[0], r.mmcs, r.recovered_frac], [-1, -1, 0]);
  // Default threshold 0.9: cosines 0.875 and 0.9375 (7/8, 15/16 in exact float32) on either side.
  const two = featureRecovery(
    new Float32Array([7, Math.sqrt(15), 0, 0]),
    new Float32Array([1, 0, 0, 0]),
    { dModel: 4 },
  );
  assert.ok(Math.abs(two.max_cos[0] - 7 / 8) < 1e-6);
  assert.equal(two.recovered_frac, 0);
  const hi = featureRecovery(
    new Float32Array([15, Math.sqrt(31), 0, 0]),
    new Float32Array([1, 0, 0, 0]),
    { dModel: 4 },
  );
  assert.ok(Math.abs(hi.max_cos[0] - 15 / 16) < 1e-6);
  assert.equal(hi.recovered_frac, 1);
});
