// firingHistogram(): log10-density bins by hand, the dead bin, and the clamped ends.
import assert from "node:assert/strict";
import { firingHistogram } from "../../lib/metrics/firing_histogram.ts";

Deno.test("firingHistogram() bins log10 frequencies and counts never-firing latents apart", () => {
  // log10: 1 -> 0 (last bin, closed), 0.5 -> -0.301 ([-0.5, 0)), 0.01 -> -2 ([-2, -1.5)),
  // 0.003 -> -2.52 ([-3, -2.5)), 1e-9 -> -9 (below lo = -4: first bin), 0 and 0 -> dead.
  const h = firingHistogram([1, 0.5, 0.01, 0.003, 1e-9, 0, 0], { lo: -4, bin: 0.5 });
  assert.deepEqual(h, { lo: -4, bin: 0.5, counts: [1, 0, 1, 0, 1, 0, 0, 2], dead: 2 });
});

Deno.test("firingHistogram() defaults to half-decade bins from 10^-7 to 1", () => {
  const h = firingHistogram([1e-7, 0.1]);
  assert.equal(h.counts.length, 14);
  assert.equal(h.counts[0], 1); // [-7, -6.5)
  assert.equal(h.counts[12], 1); // [-1, -0.5)
  assert.equal(h.dead, 0);
});

Deno.test("firingHistogram() puts a frequency on a bin edge in the bin it opens, just below in the one before", () => {
  // Decade edges are exact in log10: 1e-3 -> -3 opens bin 2 of [-4, 0) in half decades (edges
  // -4, -3.5, -3, ...); a hair below it falls into bin 1. lo itself opens bin 0.
  const below = (p: number) => p * (1 - 2 ** -40);
  const h = firingHistogram([1e-3, below(1e-3), 1e-2, below(1e-2), 1e-4, below(1e-4)], {
    lo: -4,
    bin: 0.5,
  });
  assert.deepEqual(h.counts, [2, 1, 1, 1, 1, 0, 0, 0]);
  // 1 is the closed end of the last bin; anything in (0, 1] has a bin; 0 and NaN are dead.
  const ends = firingHistogram([1, below(1), 5e-324, 0, NaN], { lo: -4, bin: 0.5 });
  assert.deepEqual(ends, { lo: -4, bin: 0.5, counts: [1, 0, 0, 0, 0, 0, 0, 2], dead: 2 });
});
