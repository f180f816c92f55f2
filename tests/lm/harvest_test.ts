import assert from "node:assert/strict";
import { harvestActivations, harvestSites, MAX_BATCH_TOKENS } from "../../lib/lm/harvest.ts";
import type { LlamaModel } from "../../lib/lm/model.ts";
import { BOS_ID } from "../../lib/lm/tokenizer.ts";
import { loadStories260k } from "./_fixtures.ts";

const { model } = await loadStories260k();

/** The model, counting its forward passes. */
function counting(m: LlamaModel): { model: LlamaModel; passes: () => number } {
  let n = 0;
  return {
    model: { ...m, forward: (b, o) => (n++, m.forward(b, o)) },
    passes: () => n,
  };
}

// 24 sequences of 180 tokens: 4320 padded tokens, two passes of at most 4096.
const seqs = Array.from(
  { length: 24 },
  (_, i) =>
    Int32Array.from({ length: 180 }, (_, t) => (t === 0 ? BOS_ID : 3 + ((i * 7 + t * 13) % 500))),
);

Deno.test("harvestSites() takes four sites from the passes one site takes, each equal to its own harvest", async () => {
  assert.equal(MAX_BATCH_TOKENS, 4096);
  const points = [
    { site: "resid_pre", layer: 3 },
    { site: "attn_out", layer: 1 },
    { site: "mlp_out", layer: 3 },
    { site: "resid_post", layer: 0 },
  ] as const;
  const one = counting(model);
  await harvestSites(one.model, seqs, { points: [points[0]], excludeBos: true });
  const four = counting(model);
  const got = await harvestSites(four.model, seqs, { points: [...points], excludeBos: true });
  assert.equal(one.passes(), 2);
  assert.equal(four.passes(), 2);
  for (const [i, p] of points.entries()) {
    const alone = await harvestActivations(model, seqs, { ...p, excludeBos: true });
    assert.equal(alone.length, 24 * 179 * 64);
    assert.deepEqual(got[i], alone, `${p.site}.${p.layer}`);
  }
});

Deno.test("harvestSites() leaves out position 0 only: a BOS sampled inside a sequence is a row", async () => {
  const seq = Int32Array.of(BOS_ID, 300, 301, BOS_ID, 302);
  const [rows] = await harvestSites(model, [seq], {
    points: [{ site: "resid_post", layer: 1 }],
    excludeBos: true,
  });
  assert.equal(rows.length, 4 * 64); // positions 1 to 4
  const [all] = await harvestSites(model, [seq], {
    points: [{ site: "resid_post", layer: 1 }],
    excludeBos: false,
  });
  assert.equal(all.length, 5 * 64);
  assert.deepEqual(rows, all.subarray(64));
});
