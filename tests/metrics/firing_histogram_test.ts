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
