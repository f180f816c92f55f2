// Golden tests of lib/features/collect.ts against fixtures/golden.json (plain numpy loops):
// frequencies, histograms, top-k contexts with per-token activations; band samples by property.
import assert from "node:assert/strict";
import { FeatureAccumulator, histogramInto } from "../../lib/features/collect.ts";
import { contextSlots, sliceLatents, windowLength } from "../../lib/features/feature_data.ts";
import { loadGolden } from "./_golden.ts";

const g = await loadGolden();
const F = g.width;

function collect(chunks: number[]) {
  const acc = new FeatureAccumulator(F);
  let at = 0;
  for (const rows of chunks) {
    acc.add(g.f.subarray(at * F, (at + rows) * F), rows);
    at += rows;
  }
  return acc.finish(g, g.options);
}

Deno.test("finish() gives numpy's frequencies, means, maxima and histograms", () => {
  const s = collect([4, 7]);
  const close = (a: ArrayLike<number>, b: number[]) =>
    b.forEach((v, i) => assert.ok(Math.abs(a[i] - v) < 1e-6, `${i}: ${a[i]} vs ${v}`));
  assert.equal(s.rows, 11);
  close(s.frequency, g.expected.frequency);
  close(s.maxAct, g.expected.maxAct);
  close(s.meanAct, g.expected.meanAct);
  assert.deepEqual(Array.from(s.histogram), g.expected.histogram.flat());
});

Deno.test("finish() gives numpy's top-k contexts, token windows and per-token activations", () => {
  const s = collect([11]);
  const C = contextSlots(g.options), W = windowLength(g.options);
  for (let i = 0; i < F; i++) {
    const want = g.expected.top[i];
    for (let slot = 0; slot < g.options.topK; slot++) {
      const at = i * C + slot;
      const ctx = want[slot];
      if (!ctx) {
        assert.equal(s.contextRow[at], -1, `latent ${i} slot ${slot} should be empty`);
        continue;
      }
      assert.equal(s.contextRow[at], ctx.row, `latent ${i} slot ${slot}`);
      assert.equal(s.contextValue[at], Math.fround(ctx.value));
      assert.deepEqual(Array.from(s.contextTokens.subarray(at * W, (at + 1) * W)), ctx.tokens);
      assert.deepEqual(
        Array.from(s.contextActs.subarray(at * W, (at + 1) * W)),
        ctx.acts.map(Math.fround),
      );
    }
  }
  // Chunking does not change anything.
  assert.deepEqual(collect([1, 3, 2, 5]), s);
});

Deno.test("band samples are distinct, lie in their rank band, and repeat for the same seed", () => {
  // Latent 0 fires on 8 rows: top 3, then 5 left in two bands (ranks 0-1 and 2-4 of the rest).
  const s = collect([11]);
  const C = contextSlots(g.options);
  const vals = Array.from({ length: 11 }, (_, r) => g.f[r * F]).filter((v) => v !== 0)
    .sort((a, b) => b - a).slice(3);
  const bands = [vals.slice(0, 2), vals.slice(2)];
  for (let band = 0; band < 2; band++) {
    const v = s.contextValue[0 * C + g.options.topK + band];
    assert.ok(bands[band].includes(v), `band ${band}: ${v} not in ${bands[band]}`);
  }
  // Over many seeds every member of a band gets drawn, and only members.
  const seen = new Set<number>();
  for (let seed = 0; seed < 40; seed++) {
    const acc = new FeatureAccumulator(F);
    acc.add(g.f, 11);
    const t = acc.finish(g, { ...g.options, seed, perBand: 2 });
    const Ct = contextSlots({ ...g.options, perBand: 2 });
    const two = [t.contextValue[Ct - 2], t.contextValue[Ct - 1]];
    assert.notEqual(two[0], two[1]);
    two.forEach((v) => seen.add(v));
  }
  assert.deepEqual([...seen].sort(), [...bands[1]].sort());
  assert.deepEqual(collect([11]), s);
});

Deno.test("histogramInto() follows numpy's edge rule: a value on an edge goes right, max goes last", () => {
  const out = new Float32Array(4);
  histogramInto(out, [0, 0.25, 0.5, 0.74, 0.75, 1], 1);
  // Bins [0,.25) [.25,.5) [.5,.75) [.75,1]: 0 | .25 | .5 .74 | .75 1.
  assert.deepEqual(Array.from(out), [1, 1, 2, 2]);
  // Where (v / max) * B rounds across an edge, numpy corrects by comparing with the edge itself
  // (expected counts from numpy.histogram).
  const down = new Float32Array(3);
  histogramInto(down, [0.4333333333333333, 1.3], 1.3); // floor gives bin 1; below edge 1
  assert.deepEqual(Array.from(down), [1, 0, 1]);
  const up = new Float32Array(5);
  histogramInto(up, [0.13999999999999999, 0.7], 0.7); // floor gives bin 0; on edge 1
  assert.deepEqual(Array.from(up), [0, 1, 0, 0, 1]);
});

Deno.test("finish() refuses more rows than the held-out tokens give", () => {
  const acc = new FeatureAccumulator(F);
  acc.add(g.f, 11);
  assert.throws(
    () => acc.finish({ sequences: g.sequences.slice(0, 2), firstPosition: 1 }, g.options),
    /held-out tokens give 8 activation rows, but 11 rows were encoded/,
  );
});

Deno.test("sliceLatents() keeps the chosen latents' rows of every array, in the given order", () => {
  const s = { ...collect([11]), vocab: ["a"] };
  const L = 2;
  const lens = {
    promotedIds: Float32Array.from({ length: F * L }, (_, k) => k),
    promotedValues: Float32Array.from({ length: F * L }, (_, k) => k / 10),
    suppressedIds: Float32Array.from({ length: F * L }, (_, k) => 100 + k),
    suppressedValues: Float32Array.from({ length: F * L }, (_, k) => -k),
  };
  const data = { ...s, ...lens };
  const part = sliceLatents(data, [3, 0]);
  assert.equal(part.width, 2);
  const C = contextSlots(g.options), W = windowLength(g.options), B = g.options.bins;
  const rowsOf = (a: Float32Array, per: number, i: number) =>
    Array.from(a.subarray(i * per, (i + 1) * per));
  for (const [k, i] of [[0, 3], [1, 0]]) {
    assert.equal(part.frequency[k], data.frequency[i]);
    assert.deepEqual(rowsOf(part.histogram, B, k), rowsOf(data.histogram, B, i));
    assert.deepEqual(rowsOf(part.contextTokens, C * W, k), rowsOf(data.contextTokens, C * W, i));
    assert.deepEqual(rowsOf(part.contextActs, C * W, k), rowsOf(data.contextActs, C * W, i));
    assert.deepEqual(rowsOf(part.contextRow, C, k), rowsOf(data.contextRow, C, i));
    assert.deepEqual(rowsOf(part.suppressedIds, L, k), rowsOf(data.suppressedIds, L, i));
  }
});
