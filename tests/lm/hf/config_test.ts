import assert from "node:assert/strict";
import { DataError } from "../../../lib/errors.ts";
import { loadHfConfig, MAX_CONTEXT, parseHfConfig } from "../../../lib/lm/hf/config.ts";
import { hfFixture } from "./_hf_fixtures.ts";

const path = "/models/x/config.json";
const base = {
  architectures: ["LlamaForCausalLM"],
  model_type: "llama",
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  vocab_size: 100,
};
const parse = (over: Record<string, unknown>) =>
  parseHfConfig(JSON.stringify({ ...base, ...over }), { path });
const refusal = (over: Record<string, unknown> | string): DataError => {
  try {
    parseHfConfig(typeof over === "string" ? over : JSON.stringify({ ...base, ...over }), { path });
  } catch (err) {
    assert.ok(err instanceof DataError);
    assert.equal(err.exitCode, 2);
    assert.ok(err.message.startsWith(path), err.message);
    assert.ok(err.hint.length > 0);
    return err;
  }
  throw new Error("not refused");
};

Deno.test("parseHfConfig() applies transformers' defaults for keys a config leaves out", () => {
  const { config, attentionBias, bosId, eosId } = parse({});
  assert.deepEqual(config, {
    dim: 64,
    hiddenDim: 128,
    nLayers: 2,
    nHeads: 4,
    nKvHeads: 4, // num_key_value_heads defaults to num_attention_heads
    vocabSize: 100,
    seqLen: 2048, // max_position_embeddings' default
    sharedClassifier: false, // LlamaConfig's tie_word_embeddings default
    ropeTheta: 10000,
    rmsNormEps: 1e-6,
  });
  assert.equal(attentionBias, false);
  assert.equal(bosId, null);
  assert.equal(eosId, null);
});

Deno.test("parseHfConfig() reads the llama fixture: GQA, tied embeddings, llama3 rope_scaling, bos/eos ids", async () => {
  const hf = await loadHfConfig(hfFixture("llama"));
  assert.deepEqual(hf.config, {
    dim: 32,
    hiddenDim: 64,
    nLayers: 2,
    nHeads: 2,
    nKvHeads: 1,
    vocabSize: 302,
    seqLen: 64,
    sharedClassifier: true,
    ropeTheta: 500000,
    ropeScaling: {
      type: "llama3",
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 512,
    },
    rmsNormEps: 1e-5,
  });
  assert.deepEqual([hf.bosId, hf.eosId], [300, 301]);
  const qwen = await loadHfConfig(hfFixture("qwen2"));
  assert.equal(qwen.attentionBias, true); // Qwen2 always has q/k/v biases
  assert.equal(qwen.config.rmsNormEps, 1e-3);
});

Deno.test("parseHfConfig() caps seq_len at a sliding window and at MAX_CONTEXT", () => {
  assert.equal(parse({ max_position_embeddings: 131072 }).config.seqLen, MAX_CONTEXT);
  const mistral = { model_type: "mistral", architectures: ["MistralForCausalLM"] };
  assert.equal(
    parse({ ...mistral, max_position_embeddings: 32768, sliding_window: 1000 }).config.seqLen,
    1000,
  );
  const qwen = { model_type: "qwen2", architectures: ["Qwen2ForCausalLM"] };
  // Qwen2's window applies only with use_sliding_window.
  assert.equal(
    parse({ ...qwen, max_position_embeddings: 2000, sliding_window: 1000 }).config.seqLen,
    2000,
  );
  assert.equal(
    parse({
      ...qwen,
      max_position_embeddings: 2000,
      sliding_window: 1000,
      use_sliding_window: true,
    })
      .config.seqLen,
    1000,
  );
  assert.deepEqual(parse({ rope_scaling: { type: "linear", factor: 2 } }).config.ropeScaling, {
    type: "linear",
    factor: 2,
  });
  assert.equal(parse({ bos_token_id: 5, eos_token_id: [7, 8] }).eosId, 7);
});

Deno.test("parseHfConfig() refuses an unsupported architecture with the path and a hint", () => {
  const gpt2 = refusal({ model_type: "gpt2", architectures: ["GPT2LMHeadModel"] });
  assert.match(gpt2.message, /unsupported architecture \(model_type "gpt2"/);
  assert.match(gpt2.hint, /LlamaForCausalLM, MistralForCausalLM or Qwen2ForCausalLM/);
  const cls = refusal({ architectures: ["LlamaForSequenceClassification"] });
  assert.match(cls.message, /unsupported architecture "LlamaForSequenceClassification"/);
  assert.match(refusal({ model_type: undefined }).message, /model_type undefined|model_type null/);
});

Deno.test("parseHfConfig() refuses malformed JSON and every bad value at once", () => {
  assert.match(refusal('{"model_type": "llama",').message, /not valid JSON/);
  assert.match(refusal("[1, 2]").message, /expected a JSON object/);
  const e = refusal({
    hidden_size: "64",
    num_key_value_heads: 3,
    hidden_act: "gelu",
    rope_scaling: { rope_type: "yarn", factor: 4 },
  });
  for (
    const part of [
      /hidden_size = "64" is not a positive integer/,
      /hidden_act "gelu" is not silu/,
      /rope_scaling type "yarn" is not supported/,
    ]
  ) assert.match(e.message, part);
  assert.match(
    refusal({ num_key_value_heads: 3 }).message,
    /4 is not divisible by num_key_value_heads 3/,
  );
  assert.match(refusal({ head_dim: 32 }).message, /head_dim 32 differs/);
  assert.match(refusal({ attention_bias: true }).message, /o_proj/);
  assert.match(refusal({ mlp_bias: true }).message, /mlp_bias/);
});

Deno.test("loadHfConfig() refuses a folder without config.json, naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const e = await loadHfConfig(dir).catch((e) => e) as DataError;
    assert.ok(e instanceof DataError);
    assert.ok(e.message.includes(`${dir}/config.json`), e.message);
    assert.equal(e.exitCode, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
