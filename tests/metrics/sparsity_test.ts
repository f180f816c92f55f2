import assert from "node:assert/strict";
import fc from "fast-check";
import { SparsityAccumulator } from "../../lib/metrics/sparsity.ts";

Deno.test("SparsityAccumulator gives the hand-computed metrics of a 4 x 3 example", () => {
  // f = (1,0,0), (2,0.5,0), (0,0,0), (3,0,0): fire counts (3, 1, 0) over 4 tokens
  // l0 = 4 / 4 = 1; dead: latent 2, 1/3; dense at 0.1 (> 0.4 tokens): latents 0, 1 -> 2/3;
  // dense at 0.5 (> 2 tokens): latent 0 -> 1/3; frequencies (0.75, 0.25, 0)
  const acc = new SparsityAccumulator(3);
  acc.add(new Float32Array([1, 0, 0, 2, 0.5, 0, 0, 0, 0, 3, 0, 0]), 4);
  const r = acc.result();
  assert.equal(r.l0, 1);
  assert.equal(r.dead_frac, 1 / 3);
  assert.equal(r.dense_frac, 2 / 3);
  assert.deepEqual(Array.from(r.frequencies), [0.75, 0.25, 0]);
  assert.equal(acc.result(0.5).dense_frac, 1 / 3);
  assert.equal(acc.tokens, 4);
});

Deno.test("SparsityAccumulator counts negative latents as active and accepts external counts", () => {
  // Token 1: (-1, 0); then 3 tokens counted elsewhere with counts (0, 3): totals (1, 3) over 4
  // tokens: l0 = 4 / 4 = 1, no dead latent, frequencies (0.25, 0.75)
  const acc = new SparsityAccumulator(2);
  acc.add(new Float32Array([-1, 0]));
  acc.addActiveCounts(new Int32Array([0, 3]), 3);
  const r = acc.result();
  assert.equal(r.l0, 1);
  assert.equal(r.dead_frac, 0);
  assert.deepEqual(Array.from(r.frequencies), [0.25, 0.75]);
  assert.throws(() => acc.addActiveCounts(new Int32Array([4, 0]), 3), RangeError);
  assert.throws(() => acc.addActiveCounts(new Int32Array([1]), 3), RangeError);
});

Deno.test("SparsityAccumulator: any chunking gives the one-shot result (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.array(fc.array(fc.constantFrom(0, 0, 0, 1.5, -2), { minLength: 8, maxLength: 8 }), {
        minLength: 1,
        maxLength: 20,
      }),
      fc.integer({ min: 1, max: 7 }),
      (width, rows, chunk) => {
        const f = Float32Array.from(rows.flatMap((r) => r.slice(0, width)));
        const n = rows.length;
        const once = new SparsityAccumulator(width);
        once.add(f, n);
        const chunked = new SparsityAccumulator(width);
        for (let t = 0; t < n; t += chunk) {
          chunked.add(f.subarray(t * width), Math.min(chunk, n - t));
        }
        assert.deepEqual(chunked.result(), once.result());
      },
    ),
    { numRuns: 200 },
  );
});
