import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { evaluateSplice, meanCrossEntropy } from "../../lib/lm/evaluate.ts";
import { fixtureDocuments, loadStories260k } from "./_fixtures.ts";

const { model, tokenizer } = await loadStories260k();
// The first 24 tokens of each sample story keep these tests fast; the 1.266 figure is in model_test.
const stories = (await fixtureDocuments("tinystories_sample.txt")).map((s) =>
  tokenizer.encode(s, { bos: true }).slice(0, 24)
);

Deno.test("evaluateSplice() with an identity reconstruction gives delta LM loss exactly 0", async () => {
  for (const site of ["resid_pre", "attn_out", "mlp_out", "resid_post"] as const) {
    const seen: number[] = [];
    const r = await evaluateSplice(model, stories, {
      site,
      layer: 2,
      excludeBos: true,
      reconstruct: (x, n) => {
        seen.push(n);
        return x.slice();
      },
    });
    assert.equal(r.ce_spliced - r.ce_clean, 0, site);
    // Zeroing the residual stream destroys the model (~9 nats); one block's attention at layer 2
    // matters little on these short prefixes (+0.02 nats), but it still raises the loss.
    const margin = site.startsWith("resid") ? 1 : 0.01;
    assert.ok(
      r.ce_zero_ablated > r.ce_clean + margin,
      `${site}: zero ablation ${r.ce_zero_ablated}`,
    );
    // The reconstructor sees every non-BOS position once: 5 stories x 23 tokens.
    assert.deepEqual(seen, [5 * 23]);
    assert.equal(r.tokens, 5 * 22); // predictions from the 22 non-BOS, non-final positions
  }
});

Deno.test("evaluateSplice() clean loss equals meanCrossEntropy() and noise raises the loss", async () => {
  const { ce, tokens } = await meanCrossEntropy(model, stories, { excludeBos: true });
  const r = await evaluateSplice(model, stories, {
    site: "resid_post",
    layer: 1,
    excludeBos: true,
    reconstruct: (x) => x.map((v, i) => v + (i % 2 === 0 ? 0.5 : -0.5)),
  });
  assert.equal(r.ce_clean, ce);
  assert.equal(r.tokens, tokens);
  assert.ok(r.ce_spliced > r.ce_clean, `${r.ce_spliced} vs ${r.ce_clean}`);
  assert.ok(r.ce_zero_ablated > r.ce_spliced);
});

Deno.test("evaluateSplice() with BOS included also splices the BOS position", async () => {
  const seen: number[] = [];
  const r = await evaluateSplice(model, stories, {
    site: "resid_post",
    layer: 0,
    excludeBos: false,
    reconstruct: (x, n) => {
      seen.push(n);
      return x;
    },
  });
  assert.deepEqual(seen, [5 * 24]);
  assert.equal(r.tokens, 5 * 23);
  assert.equal(r.ce_spliced, r.ce_clean);
});

Deno.test("evaluateSplice() leaks no tensors and rejects a reconstruction of the wrong size", async () => {
  const before = tf.memory().numTensors;
  await evaluateSplice(model, stories.slice(0, 2), {
    site: "mlp_out",
    layer: 4,
    excludeBos: true,
    reconstruct: (x) => Promise.resolve(x),
  });
  assert.equal(tf.memory().numTensors, before);
  await assert.rejects(
    evaluateSplice(model, stories.slice(0, 2), {
      site: "mlp_out",
      layer: 4,
      excludeBos: true,
      reconstruct: (x) => x.subarray(0, 64),
    }),
    /reconstruction at mlp_out\.4 has 64 values, expected 46 x 64/,
  );
  assert.equal(tf.memory().numTensors, before);
});
