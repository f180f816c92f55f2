import assert from "node:assert/strict";
import { DataError } from "../../lib/errors.ts";
import { loadCheckpoint, parseCheckpoint } from "../../lib/lm/checkpoint.ts";
import { CHECKPOINT, requireFixture } from "./_fixtures.ts";

Deno.test("loadCheckpoint() reads the stories260K header and shares the classifier", async () => {
  const { config, weights } = await loadCheckpoint(requireFixture(CHECKPOINT));
  // Header values stated in ../shared/fixtures/README.md.
  assert.deepEqual(config, {
    dim: 64,
    hiddenDim: 172,
    nLayers: 5,
    nHeads: 8,
    nKvHeads: 4,
    vocabSize: 512,
    seqLen: 512,
    sharedClassifier: true,
  });
  assert.equal(weights.tokenEmbedding.length, 512 * 64);
  assert.equal(weights.wk.length, 5 * 32 * 64);
  assert.equal(weights.w2.length, 5 * 64 * 172);
  assert.equal(weights.classifier, weights.tokenEmbedding);
  // RMSNorm gains of a trained model are finite and mostly positive.
  assert.ok(weights.rmsFinal.every(Number.isFinite));
});

Deno.test("parseCheckpoint() rejects a truncated file and a bad header with DataError", async () => {
  const bytes = await Deno.readFile(requireFixture(CHECKPOINT));
  assert.throws(
    () => parseCheckpoint(bytes.subarray(0, bytes.length - 4), { name: "cut.bin" }),
    (e: unknown) =>
      e instanceof DataError && /cut\.bin: 1056536 bytes, but header .* implies 1056540/.test(
        e.message,
      ) && e.hint.length > 0,
  );
  const bad = bytes.slice(0, 64);
  new DataView(bad.buffer).setInt32(12, 7, true); // n_heads = 7 does not divide dim 64
  assert.throws(() => parseCheckpoint(bad), /dim 64 is not divisible by n_heads 7/);
  assert.throws(() => parseCheckpoint(new Uint8Array(10)), DataError);
});

Deno.test("parseCheckpoint() reads an unshared classifier after the RoPE tables", () => {
  // A hand-made model: dim 2, hidden 2, 1 layer, 1 head, 1 kv head, vocab -3 (unshared), seq_len 1.
  const header = [2, 2, 1, 1, 1, -3, 1];
  const floats = 6 + 2 + 4 + 4 + 4 + 4 + 2 + 4 + 4 + 4 + 2 + 1 + 1 + 6;
  const bytes = new Uint8Array(28 + 4 * floats);
  const view = new DataView(bytes.buffer);
  header.forEach((h, i) => view.setInt32(4 * i, h, true));
  for (let i = 0; i < floats; i++) view.setFloat32(28 + 4 * i, i, true);
  const { config, weights } = parseCheckpoint(bytes);
  assert.equal(config.vocabSize, 3);
  assert.equal(config.sharedClassifier, false);
  assert.deepEqual(Array.from(weights.tokenEmbedding), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(Array.from(weights.rmsFinal), [38, 39]); // after 38 floats of earlier arrays
  assert.deepEqual(Array.from(weights.classifier), [42, 43, 44, 45, 46, 47]); // after 2 RoPE floats
});
