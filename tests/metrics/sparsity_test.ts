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

/** An accumulator of `tokens` tokens whose latent i fired on counts[i] of them. */
function withCounts(counts: number[], tokens: number): SparsityAccumulator {
  const acc = new SparsityAccumulator(counts.length);
  acc.addActiveCounts(counts, tokens);
  return acc;
}

Deno.test("dense_frac counts latents above the threshold, not at it, on both sides of it", () => {
  // 10 tokens, threshold 0.5 (exact in binary): 5 fires is exactly half, 6 is above, 4 below.
  // Dense: only the latent with 6 -> 1/3; at 0.4 the 5 and the 6 -> 2/3; at 0.6 none.
  const acc = withCounts([4, 5, 6], 10);
  assert.equal(acc.result(0.5).dense_frac, 1 / 3);
  assert.equal(acc.result(0.4).dense_frac, 2 / 3);
  assert.equal(acc.result(0.6).dense_frac, 0);
  // A latent on every token is dense at any threshold below 1, and not at 1.
  assert.equal(withCounts([10, 0], 10).result(0.99).dense_frac, 1 / 2);
  assert.equal(withCounts([10, 0], 10).result(1).dense_frac, 0);
  // One token above half of 2^40 tokens is above 0.5 (by 2^-40, no tolerance is allowed).
  assert.equal(withCounts([2 ** 39 + 1, 2 ** 39], 2 ** 40).result(0.5).dense_frac, 1 / 2);
  // At threshold 0 every latent that fired at all is dense, a dead one is not.
  assert.equal(withCounts([1, 0, 0, 0], 10).result(0).dense_frac, 1 / 4);
});

Deno.test("dense_frac: a latent on exactly the threshold's fraction of tokens is not dense, for decimal thresholds", () => {
  // The threshold is written in decimal in the spec (eval.dense_threshold); a latent on 29 of 100
  // tokens is on exactly 0.29 of them and is not "more than 0.29". 0.29 * 100 rounds to
  // 28.999999999999996 in float64, so a product comparison would count it.
  assert.equal(withCounts([29, 30, 28], 100).result(0.29).dense_frac, 1 / 3);
  assert.equal(withCounts([57, 58], 100).result(0.57).dense_frac, 1 / 2);
  assert.equal(withCounts([5700, 5701], 10000).result(0.57).dense_frac, 1 / 2);
});

Deno.test("dense_frac agrees with exact integer arithmetic at, above and below k/1000 thresholds (property)", () => {
  // Reference: a latent with c of n tokens is dense at threshold k/1000 iff c * 1000 > k * n,
  // evaluated in integers (exact). n is a multiple of 1000 / gcd(k, 1000), so that a count of
  // exactly k/1000 of the tokens exists; c is drawn at that count and one either side.
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 999 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: -1, max: 1 }),
      (k, m, offset) => {
        const n = (m * 1000) / gcd(k, 1000);
        const c = (k * n) / 1000 + offset;
        const threshold = Number(`0.${String(k).padStart(3, "0")}`);
        const dense = c * 1000 > k * n ? 1 : 0;
        const got = withCounts([c], n).result(threshold).dense_frac;
        assert.equal(got, dense, `${c} of ${n} tokens at threshold ${threshold}`);
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("dead_frac counts latents that never fired; one firing makes a latent alive", () => {
  assert.equal(withCounts([0, 1, 0, 10], 10).result().dead_frac, 2 / 4);
  assert.equal(withCounts([1, 1, 1, 1], 10).result().dead_frac, 0);
  assert.equal(withCounts([0, 0], 10).result().dead_frac, 1);
});
