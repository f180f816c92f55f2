import assert from "node:assert/strict";
import { DataError } from "../../lib/errors.ts";
import { loadModelCheckpoint, loadModelTokenizer } from "../../lib/lm/load_model.ts";
import { CHECKPOINT, requireFixture, TOKENIZER } from "./_fixtures.ts";
import { copyFixture, hfFixture, removeCopy } from "./hf/_hf_fixtures.ts";

const sha256 = async (bytes: Uint8Array) =>
  Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");

Deno.test("loadModelCheckpoint() reads a llama2.c file as before and hashes its bytes", async () => {
  const loaded = await loadModelCheckpoint(requireFixture(CHECKPOINT));
  assert.equal(loaded.format, "llama2c");
  assert.equal(loaded.sha256, "b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696");
  assert.equal(loaded.checkpoint.config.ropeTheta, undefined); // llama2.c's fixed choices apply
  const tok = await loadModelTokenizer(requireFixture(TOKENIZER), loaded);
  assert.equal(tok.tokenizer.vocabSize, 512);
  const e = await loadModelTokenizer(null, loaded).catch((e) => e) as DataError;
  assert.ok(e instanceof DataError);
  assert.match(e.message, /data\.tokenizer is not set/);
  assert.equal(e.exitCode, 2);
});

Deno.test("loadModelCheckpoint() reads a Hugging Face folder; its hash covers config and every shard", async () => {
  const dir = await copyFixture("qwen2");
  try {
    const loaded = await loadModelCheckpoint(dir);
    assert.equal(loaded.format, "hf");
    assert.equal(loaded.defaultTokenizer, `${dir}/tokenizer.json`);
    const files = [
      "config.json",
      "model-00001-of-00002.safetensors",
      "model-00002-of-00002.safetensors",
    ];
    const hashes = await Promise.all(
      files.map(async (f) => await sha256(await Deno.readFile(`${dir}/${f}`))),
    );
    assert.equal(loaded.sha256, await sha256(new TextEncoder().encode(hashes.join("\n"))));
    const tok = await loadModelTokenizer(null, loaded);
    assert.deepEqual(tok.tokenizer.encode("the", { bos: true }).slice(0, 1), [1]);
    assert.equal(tok.sha256, await sha256(await Deno.readFile(`${dir}/tokenizer.json`)));
    // Without its tokenizer.json the folder needs data.tokenizer.
    await Deno.remove(`${dir}/tokenizer.json`);
    const e = await loadModelTokenizer(null, loaded).catch((e) => e) as DataError;
    assert.match(e.message, /cannot read tokenizer .*tokenizer\.json/);
    assert.match(e.hint, /set data\.tokenizer/);
    assert.equal(e.exitCode, 2);
  } finally {
    await removeCopy(dir);
  }
});

Deno.test("loadModelTokenizer() refuses a tokenizer larger than the model's vocabulary", async () => {
  const loaded = await loadModelCheckpoint(hfFixture("llama"));
  const small = {
    ...loaded,
    checkpoint: { ...loaded.checkpoint, config: { ...loaded.checkpoint.config, vocabSize: 301 } },
  };
  const e = await loadModelTokenizer(null, small).catch((e) => e) as DataError;
  assert.ok(e instanceof DataError);
  assert.match(e.message, /302 tokens, but the checkpoint's vocab_size is 301/);
});
