import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  HARVEST_SHAPES,
  measureHarvest,
  randomCheckpoint,
} from "../../lib/bench/harvest_throughput.ts";

const tiny = {
  name: "tiny",
  config: { dim: 16, hiddenDim: 24, nLayers: 3, nHeads: 4, nKvHeads: 2, vocabSize: 40, seqLen: 32 },
  sequences: 3,
};

Deno.test("randomCheckpoint() is seeded, shaped like its config and scaled by 1/sqrt(fan-in)", () => {
  const a = randomCheckpoint(tiny, 0);
  assert.deepEqual(randomCheckpoint(tiny, 0), a);
  assert.notDeepEqual(randomCheckpoint(tiny, 1).weights.wq, a.weights.wq);
  // K = 16 * 2 / 4 = 8; w2 [L, D, H] has fan-in H = 24: |w| <= sqrt(3 / 24).
  assert.equal(a.weights.wk.length, 3 * 8 * 16);
  assert.equal(a.weights.w2.length, 3 * 16 * 24);
  assert.ok(a.weights.w2.every((w) => Math.abs(w) <= Math.sqrt(3 / 24)));
  assert.equal(a.weights.classifier, a.weights.tokenEmbedding);
  assert.deepEqual(HARVEST_SHAPES.map((s) => s.name), [
    "stories260K",
    "stories15M",
    "stories42M",
    "stories110M",
  ]);
});

Deno.test("measureHarvest() counts the harvested vectors and reports the four-to-one time ratio", async () => {
  await tf.setBackend("cpu");
  const before = tf.memory().numTensors;
  const r = await measureHarvest(tiny, { length: 9, repeats: 1 });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(r.tokens, 3 * 8); // BOS left out
  assert.equal(r.layer, 1);
  const ratio = r.one_site_tokens_per_s / r.four_sites_tokens_per_s;
  assert.ok(Math.abs(ratio - r.four_over_one) <= 1e-9 * ratio);
});
