import assert from "node:assert/strict";
import fc from "fast-check";
import { ReconstructionAccumulator } from "../../lib/metrics/reconstruction.ts";

function close(actual: number, expected: number, tol = 1e-12, what = "value") {
  assert.ok(
    Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)),
    `${what}: ${actual} vs ${expected}`,
  );
}

Deno.test("ReconstructionAccumulator gives the hand-computed metrics of a 3 x 2 example", () => {
  // x = (1,0), (0,2), (2,2); x_hat = (1,0), (0,1), (1,1)
  // squared errors 0, 1, 2: mse = 3 / 3 = 1
  // mean(x) = (1, 4/3); sum ||x||^2 = 1 + 4 + 8 = 13; n ||mean||^2 = 3 (1 + 16/9) = 25/3
  // sum ||x - mean||^2 = 13 - 25/3 = 14/3, so fvu = 3 / (14/3) = 9/14, explained variance 5/14
  // ||x_hat|| / ||x||: 1/1, 1/2, sqrt(2)/sqrt(8) = 1/2: l2_ratio = 2/3
  // A = sum ||x_hat||^2 = 1 + 1 + 2 = 4; B = sum <x_hat, x> = 1 + 2 + 4 = 7: gamma = 4/7
  const acc = new ReconstructionAccumulator(2);
  acc.add(new Float32Array([1, 0, 0, 2, 2, 2]), new Float32Array([1, 0, 0, 1, 1, 1]), 3);
  const r = acc.result();
  close(r.mse, 1, 1e-12, "mse");
  close(r.fvu, 9 / 14, 1e-12, "fvu");
  close(r.explained_variance, 5 / 14, 1e-12, "explained_variance");
  close(r.l2_ratio, 2 / 3, 1e-12, "l2_ratio");
  close(r.shrinkage_gamma, 4 / 7, 1e-12, "shrinkage_gamma");
  assert.equal(acc.tokens, 3);
});

Deno.test("shrinkage_gamma minimises sum ||x_hat / g - x||^2 (checked by a scan over g)", () => {
  const x = new Float32Array([1, 0, 0, 2, 2, 2, -1, 3]);
  const xHat = new Float32Array([0.8, 0.1, 0, 1.5, 1.7, 1.2, -0.5, 2]);
  const acc = new ReconstructionAccumulator(2);
  acc.add(x, xHat);
  const g = acc.result().shrinkage_gamma;
  const loss = (gg: number) => x.reduce((s, v, i) => s + (xHat[i] / gg - v) ** 2, 0);
  for (const eps of [1e-3, -1e-3]) assert.ok(loss(g) < loss(g + eps));
  assert.ok(g < 1, "this x_hat is shrunk");
});

Deno.test("ReconstructionAccumulator: perfect reconstruction has fvu 0 and gamma 1; rows of zeros skip l2_ratio", () => {
  const x = new Float32Array([1, 2, 0, 0, 3, -1]);
  const acc = new ReconstructionAccumulator(2);
  acc.add(x, x);
  const r = acc.result();
  assert.equal(r.mse, 0);
  assert.equal(r.fvu, 0);
  close(r.shrinkage_gamma, 1);
  close(r.l2_ratio, 1); // the (0, 0) row is left out of the mean
  assert.ok(Number.isNaN(new ReconstructionAccumulator(3).result().mse));
  assert.throws(() => acc.add(x, x, 4), RangeError);
});

Deno.test("fvu stays accurate when the mean is large compared with the spread", () => {
  // x = 1e4 + (+-1) per dim: naive float32 sum ||x||^2 - n ||mean||^2 loses everything
  const n = 1000, d = 4;
  const x = new Float32Array(n * d), xHat = new Float32Array(n * d);
  for (let i = 0; i < n * d; i++) {
    x[i] = 1e4 + (Math.floor(i / d) % 2 === 0 ? 1 : -1); // rows alternate around the mean
    xHat[i] = 1e4;
  }
  const acc = new ReconstructionAccumulator(d);
  for (let c = 0; c < 10; c++) {
    acc.add(
      x.subarray(c * 100 * d, (c + 1) * 100 * d),
      xHat.subarray(c * 100 * d, (c + 1) * 100 * d),
    );
  }
  close(acc.result().fvu, 1, 1e-9, "fvu"); // predicting the mean explains nothing
});

Deno.test("ReconstructionAccumulator: any chunking gives the one-shot result (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 2, max: 30 }),
      fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (d, n, cuts, seed) => {
        let s = seed;
        const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 4 - 2;
        const x = Float32Array.from({ length: n * d }, rand);
        const xHat = Float32Array.from({ length: n * d }, rand);
        const once = new ReconstructionAccumulator(d);
        once.add(x, xHat, n);
        const chunked = new ReconstructionAccumulator(d);
        let t = 0, k = 0;
        while (t < n) {
          const m = Math.min(cuts[k++ % cuts.length], n - t);
          chunked.add(x.subarray(t * d), xHat.subarray(t * d), m);
          t += m;
        }
        const a = once.result(), b = chunked.result();
        for (const key of Object.keys(a) as (keyof typeof a)[]) close(b[key], a[key], 1e-9, key);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("l2_ratio leaves out only rows that are exactly zero: the smallest non-zero row counts", () => {
  // Rows x = (0, 0) with x_hat = (5, 0): left out. x = (2^-70, 0) with x_hat = (2^-69, 0): ratio
  // 2, counted however small. x = (1, 0) with x_hat = (1, 0): ratio 1. Mean (2 + 1) / 2 = 1.5.
  const acc = new ReconstructionAccumulator(2);
  acc.add(
    new Float32Array([0, 0, 2 ** -70, 0, 1, 0]),
    new Float32Array([5, 0, 2 ** -69, 0, 1, 0]),
  );
  assert.equal(acc.result().l2_ratio, 1.5);
  // The smallest float32 (2^-149) squares to 2^-298 in float64: still above 0.
  const tiny = new ReconstructionAccumulator(1);
  tiny.add(new Float32Array([2 ** -149]), new Float32Array([2 ** -148]));
  assert.equal(tiny.result().l2_ratio, 2);
});
