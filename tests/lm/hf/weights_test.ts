import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { DataError } from "../../../lib/errors.ts";
import { readSafetensors } from "../../../lib/formats/safetensors.ts";
import { loadHfConfig } from "../../../lib/lm/hf/config.ts";
import { interleaveHeads, readHfWeights } from "../../../lib/lm/hf/weights.ts";
import { createModel, hookKey, type HookPoint } from "../../../lib/lm/model.ts";
import { packSequences } from "../../../lib/lm/token_batch.ts";
import { copyFixture, hfFixture, removeCopy } from "./_hf_fixtures.ts";

await tf.setBackend("wasm");
await tf.ready();

/** Max abs difference of the model's logits and residual streams from the numpy forward pass. */
async function parity(name: "llama" | "qwen2"): Promise<Record<string, number>> {
  const dir = hfFixture(name);
  const hf = await loadHfConfig(dir);
  const model = createModel({ config: hf.config, weights: await readHfWeights(dir, hf) });
  const ref = await readSafetensors(`${dir}/reference.safetensors`);
  const L = hf.config.nLayers;
  // Residual stream i: the embeddings (i = 0), then the output of block i - 1.
  const points: HookPoint[] = [
    { site: "resid_pre", layer: 0 },
    ...Array.from({ length: L }, (_, l) => ({ site: "resid_post" as const, layer: l })),
  ];
  // Two sequences: the reference tokens and a shorter prefix, so right padding is exercised too.
  const tokens = Array.from(ref.tokens.data);
  const { logits, captured } = model.forward(packSequences([tokens, tokens.slice(0, 5)]), {
    capture: points,
  });
  const T = tokens.length;
  const maxDiff = (got: Float32Array, want: Float32Array) =>
    got.subarray(0, want.length).reduce((m, g, i) => Math.max(m, Math.abs(g - want[i])), 0);
  const out: Record<string, number> = {
    logits: maxDiff(await logits!.data() as Float32Array, ref.logits.data),
  };
  points.forEach((p, i) => {
    out[`resid.${i}`] = maxDiff(
      captured[hookKey(p)].dataSync() as Float32Array,
      ref[`resid.${i}`].data,
    );
  });
  // The padded prefix sees only its own 5 tokens: its logits equal the reference's first 5 rows.
  const V = hf.config.vocabSize;
  const prefix = (await logits!.data() as Float32Array).subarray(T * V, (T + 5) * V);
  out.prefix = maxDiff(prefix, ref.logits.data.subarray(0, 5 * V));
  tf.dispose([logits!, ...Object.values(captured)]);
  model.dispose();
  return out;
}

for (const name of ["llama", "qwen2"] as const) {
  Deno.test(`the ${name} fixture folder matches its numpy forward pass at every layer to 1e-4`, async () => {
    const diffs = await parity(name);
    const layers = name === "llama" ? 2 : 3;
    assert.deepEqual(Object.keys(diffs).length, layers + 3); // logits, prefix, resid.0..L
    for (const [what, d] of Object.entries(diffs)) assert.ok(d <= 1e-4, `${name} ${what}: ${d}`);
  });
}

Deno.test("interleaveHeads() moves row i + hs/2 of each head next to row i", () => {
  // Two heads of size 4, rows of width 2 (row r holds [r, 10 r]): per head, HF order 0 1 | 2 3
  // pairs 0 with 2 and 1 with 3, so llama2.c's interleaved order is 0 2 1 3.
  const rows = Float32Array.from({ length: 16 }, (_, k) => (k % 2 === 0 ? 1 : 10) * (k >> 1));
  const out = interleaveHeads(rows, { rows: 8, hs: 4 });
  const order = Array.from({ length: 8 }, (_, r) => out[2 * r]);
  assert.deepEqual(order, [0, 2, 1, 3, 4, 6, 5, 7]);
  assert.deepEqual(Array.from({ length: 8 }, (_, r) => out[2 * r + 1]), order.map((r) => 10 * r));
  // A bias (width 1) moves alike.
  assert.deepEqual([...interleaveHeads(Float32Array.of(0, 1, 2, 3), { rows: 4, hs: 4 })], [
    0,
    2,
    1,
    3,
  ]);
});

Deno.test("readHfWeights() refuses a missing shard, naming it, with exit code 2", async () => {
  const dir = await copyFixture("qwen2");
  try {
    await Deno.remove(`${dir}/model-00002-of-00002.safetensors`);
    const hf = await loadHfConfig(dir);
    const e = await readHfWeights(dir, hf).catch((e) => e) as DataError;
    assert.ok(e instanceof DataError);
    assert.match(e.message, /missing shard .*model-00002-of-00002\.safetensors/);
    assert.match(e.hint, /model\.safetensors\.index\.json lists 2 shards/);
    assert.equal(e.exitCode, 2);
  } finally {
    await removeCopy(dir);
  }
});

Deno.test("readHfWeights() refuses weights that do not fit config.json, and a folder without weights", async () => {
  const dir = await copyFixture("llama");
  try {
    const hf = await loadHfConfig(dir);
    const wider = { ...hf, config: { ...hf.config, hiddenDim: 65 } };
    const e = await readHfWeights(dir, wider).catch((e) => e) as DataError;
    assert.ok(e instanceof DataError);
    assert.match(
      e.message,
      /model\.layers\.0\.mlp\.gate_proj\.weight has shape \[64,32\], config\.json implies \[65,32\]/,
    );
    assert.equal(e.exitCode, 2);
    const untied = { ...hf, config: { ...hf.config, sharedClassifier: false } };
    const e2 = await readHfWeights(dir, untied).catch((e) => e) as DataError;
    assert.match(e2.message, /tensor lm_head\.weight is missing/);
    await Deno.remove(`${dir}/model.safetensors`);
    const e3 = await readHfWeights(dir, hf).catch((e) => e) as DataError;
    assert.match(
      e3.message,
      /neither model\.safetensors nor model\.safetensors\.index\.json found/,
    );
    assert.equal(e3.exitCode, 2);
  } finally {
    await removeCopy(dir);
  }
});
