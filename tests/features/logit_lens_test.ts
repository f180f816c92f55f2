// Golden tests of lib/features/logit_lens.ts and measures.ts against fixtures/golden.json (numpy,
// float64): promoted and suppressed token lists through the folded final RMSNorm, and the measures.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { FeatureAccumulator } from "../../lib/features/collect.ts";
import { logitLens } from "../../lib/features/logit_lens.ts";
import { featureMeasures, meanMaxCosine, tokenEntropy } from "../../lib/features/measures.ts";
import { gaussian, useBackend } from "../_tf.ts";
import { loadGolden } from "./_golden.ts";

await useBackend("wasm");
const g = await loadGolden();

Deno.test("logitLens() lists numpy's promoted and suppressed tokens with the final norm folded in", async () => {
  const before = tf.memory().numTensors;
  const lens = await logitLens(g.decoder, g, { tokens: 3 });
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(Array.from(lens.promotedIds), g.expected.promoted.flat());
  assert.deepEqual(Array.from(lens.suppressedIds), g.expected.suppressed.flat());
  const close = (a: Float32Array, b: number[]) =>
    b.forEach((v, i) =>
      assert.ok(Math.abs(a[i] - v) < 1e-5 * (1 + Math.abs(v)), `${a[i]} vs ${v}`)
    );
  close(lens.promotedValues, g.expected.promotedValues.flat());
  close(lens.suppressedValues, g.expected.suppressedValues.flat());
  // Without the norm weights the lists differ on this case: the fold matters.
  const plain = await logitLens(g.decoder, { ...g, finalNorm: new Float32Array(4).fill(1) }, {
    tokens: 3,
  });
  assert.notDeepEqual(Array.from(plain.promotedIds), g.expected.promoted.flat());
});

Deno.test("featureMeasures() gives numpy's entropy, same-token fraction and decoder MMCS", async () => {
  const acc = new FeatureAccumulator(g.width);
  acc.add(g.f, g.rows);
  const stats = acc.finish(g, g.options);
  const lens = await logitLens(g.decoder, g, { tokens: 3 });
  const m = await featureMeasures({ ...stats, ...lens, vocab: [] }, g.decoder, g.dModel);
  const want = g.expected.measures;
  assert.ok(Math.abs(m.top_token_entropy! - want.top_token_entropy) < 1e-12);
  assert.equal(m.same_token_frac, want.same_token_frac);
  assert.ok(Math.abs(m.decoder_mmcs! - want.decoder_mmcs) < 1e-5, `${m.decoder_mmcs}`);
});

Deno.test("tokenEntropy() is 0 for one token and log2(k) for k equally common ones", () => {
  assert.equal(tokenEntropy([7, 7, 7]), 0);
  assert.equal(tokenEntropy([1, 2, 3, 4]), 2);
  assert.ok(Math.abs(tokenEntropy([1, 1, 2]) - (Math.log2(3) - 2 / 3)) < 1e-12);
});

Deno.test("logitLens() and meanMaxCosine() agree with plain loops across several blocks", async () => {
  // 600 latents: logit lens blocks of 256, cosine blocks of 512 (both have a partial last block).
  const F = 600, D = 8, V = 40;
  const decoder = gaussian(F * D, { seed: 1 }), unembed = gaussian(V * D, { seed: 2 });
  const finalNorm = gaussian(D, { seed: 3, mean: 1, std: 0.2 });
  const lens = await logitLens(decoder, { unembed, finalNorm, dModel: D }, { tokens: 2 });
  for (const i of [0, 255, 256, 511, 512, 599]) {
    const logits = Array.from({ length: V }, (_, t) => {
      let s = 0;
      for (let d = 0; d < D; d++) s += unembed[t * D + d] * finalNorm[d] * decoder[i * D + d];
      return s;
    });
    const order = [...logits.keys()].sort((a, b) => logits[b] - logits[a]);
    assert.deepEqual(Array.from(lens.promotedIds.subarray(i * 2, i * 2 + 2)), order.slice(0, 2));
    assert.deepEqual(
      Array.from(lens.suppressedIds.subarray(i * 2, i * 2 + 2)),
      order.slice(-2).reverse(),
    );
  }
  const rows = [...Array(F).keys()].filter((i) => i % 7 !== 3); // skip some, as dead latents
  const norm = (i: number) => Math.hypot(...decoder.subarray(i * D, (i + 1) * D));
  let sum = 0;
  for (const i of rows) {
    let best = -Infinity;
    for (const j of rows) {
      if (j === i) continue;
      let dot = 0;
      for (let d = 0; d < D; d++) dot += decoder[i * D + d] * decoder[j * D + d];
      best = Math.max(best, dot / (norm(i) * norm(j)));
    }
    sum += best;
  }
  assert.ok(Math.abs((await meanMaxCosine(decoder, D, rows)) - sum / rows.length) < 1e-5);
});
