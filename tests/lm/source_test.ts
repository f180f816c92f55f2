import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { DataError } from "../../lib/errors.ts";
import { buildCorpus, splitDocuments } from "../../lib/lm/corpus.ts";
import { harvestActivations } from "../../lib/lm/harvest.ts";
import { loadModelCheckpoint, loadModelTokenizer } from "../../lib/lm/load_model.ts";
import { createModel } from "../../lib/lm/model.ts";
import { nextTokenTargets } from "../../lib/lm/cross_entropy.ts";
import { packSequences } from "../../lib/lm/token_batch.ts";
import { openLmSource } from "../../lib/lm/source.ts";
import { LmData } from "../../lib/spec/schema.ts";
import { fixtureDocuments, FIXTURES, loadStories260k, requireFixture } from "./_fixtures.ts";

const { model, tokenizer } = await loadStories260k();
requireFixture(`${FIXTURES}text/tinystories_valid_head.txt`);

// A small harvest (a few thousand vectors of context 64) keeps each open well under a second.
function spec(cacheDir: string, overrides: Record<string, unknown> = {}) {
  return LmData.parse({
    source: "lm",
    checkpoint: "stories260K/stories260K.bin",
    tokenizer: "stories260K/tok512.bin",
    train_text: ["text/tinystories_valid_head.txt"],
    heldout_text: ["text/tinystories_valid_head.txt"],
    site: "resid_post",
    layer: 2,
    context: 64,
    train_tokens: 3000,
    heldout_tokens: 500,
    cache_dir: cacheDir,
    ...overrides,
  });
}
const options = { specDir: FIXTURES, streamSeed: 7, evalSequences: 4 };

async function filesOf(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) {
      for (const [k, v] of await filesOf(`${dir}/${e.name}`)) out.set(`${e.name}/${k}`, v);
    } else out.set(e.name, await Deno.readFile(`${dir}/${e.name}`));
  }
  return out;
}

Deno.test("openLmSource() harvests byte-identical caches twice and re-uses a cache", async () => {
  const a = await Deno.makeTempDir(), b = await Deno.makeTempDir();
  try {
    const first = await openLmSource(spec(a), options);
    const second = await openLmSource(spec(b), options);
    const [fa, fb] = [await filesOf(a), await filesOf(b)];
    assert.deepEqual([...fa.keys()].sort(), [...fb.keys()].sort());
    assert.ok([...fa.keys()].some((k) => k.endsWith("/train-00000.safetensors")));
    for (const [k, v] of fa) assert.deepEqual(v, fb.get(k), k);
    assert.equal(first.describe().harvested_now, true);
    assert.equal(first.describe().train_rows, 3000);
    // Re-opening finds the cache: nothing harvested, same vectors, no temporary directories left.
    const again = await openLmSource(spec(a), options);
    assert.equal(again.describe().harvested_now, false);
    assert.equal(again.describe().cache_key, first.describe().cache_key);
    assert.deepEqual(await again.heldout(500), await first.heldout(500));
    assert.deepEqual(await again.sample(100), await second.sample(100));
    assert.equal([...(await filesOf(a)).keys()].filter((k) => k.includes(".tmp")).length, 0);
    // A different input (here the layer) is a different cache entry.
    const other = await openLmSource(spec(a, { layer: 3 }), options);
    assert.notEqual(other.describe().cache_key, first.describe().cache_key);
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});

Deno.test("held-out activations are the model's site activations of the first documents", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const source = await openLmSource(spec(dir), options);
    const docs = await fixtureDocuments("tinystories_valid_head.txt");
    const first = tokenizer.encode(docs[0], { bos: true }).slice(0, 64);
    const want = await harvestActivations(model, [first], {
      site: "resid_post",
      layer: 2,
      excludeBos: true,
    });
    assert.equal(want.length, 63 * 64); // BOS left out
    assert.deepEqual(await source.heldout(63), want);
    assert.equal((await source.heldout(10 ** 6)).length, 500 * 64);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the training stream visits every row once per pass and resumes exactly", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const source = await openLmSource(spec(dir), options);
    // Reference: the 3000 rows harvested directly from the same training documents.
    const docs = await fixtureDocuments("tinystories_valid_head.txt");
    const corpus = buildCorpus({
      train: [docs.join("<|endoftext|>")],
      heldout: [docs.join("<|endoftext|>")],
    }, {
      tokenizer,
      context: 64,
      trainTokens: 3000,
      heldoutTokens: 500,
      evalSequences: 4,
      excludeBos: true,
    });
    const all = await harvestActivations(model, corpus.train, {
      site: "resid_post",
      layer: 2,
      excludeBos: true,
      maxRows: 3000,
    });
    const rowsOf = (data: Float32Array) =>
      Array.from({ length: data.length / 64 }, (_, r) => data.subarray(r * 64, (r + 1) * 64).join())
        .sort();
    const pass: Float32Array[] = [];
    for (let i = 0; i < 3; i++) pass.push(await source.nextBatch(1000)); // one pass of 3000 rows
    assert.deepEqual(rowsOf(Float32Array.from(pass.flatMap((p) => Array.from(p)))), rowsOf(all));
    assert.deepEqual(source.cursor(), { epoch: 1, index: 0 });
    await source.nextBatch(2500);
    const saved = source.cursor();
    const next = await source.nextBatch(700); // crosses into the next pass
    const resumed = await openLmSource(spec(dir), options);
    resumed.seek(JSON.parse(JSON.stringify(saved)));
    assert.deepEqual(await resumed.nextBatch(700), next);
    const otherSeed = await openLmSource(spec(dir), { ...options, streamSeed: 8 });
    assert.notDeepEqual(await otherSeed.nextBatch(10), await resumed.nextBatch(10));
    assert.throws(() => resumed.seek({ epoch: 0, index: 3000 }), DataError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evaluateLm() gives delta 0 for identity and a higher loss for zero ablation", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const source = await openLmSource(spec(dir), options);
    const before = tf.memory().numTensors;
    const r = await source.evaluateLm!((x) => x);
    assert.equal(tf.memory().numTensors, before);
    assert.equal(r.ce_spliced, r.ce_clean);
    assert.ok(r.ce_zero_ablated > r.ce_clean + 1);
    assert.equal(r.tokens, 4 * 62); // 4 sequences of 64 tokens, predictions from non-BOS positions
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("buildCorpus() keeps held-out documents out of training", () => {
  const text = ["a cat", "a dog", "a bird", "a fish"].join("<|endoftext|>\n");
  // One vector more than "a bird" gives (BOS excluded), so training needs "a fish" too.
  const corpus = buildCorpus({ train: [text], heldout: [text] }, {
    tokenizer,
    context: 16,
    trainTokens: tokenizer.encode("a bird").length + 1,
    heldoutTokens: 3,
    evalSequences: 2,
    excludeBos: true,
  });
  const decode = (seqs: Int32Array[]) => seqs.map((s) => tokenizer.decode(s));
  assert.deepEqual(decode(corpus.heldout), ["a cat", "a dog"]);
  assert.deepEqual(decode(corpus.train), ["a bird", "a fish"]);
  assert.equal(corpus.skippedOverlap, 2);
  assert.deepEqual(splitDocuments(" x <|endoftext|>\n\n<|endoftext|> y\n"), ["x", "y"]);
  assert.throws(
    () =>
      buildCorpus({ train: [text], heldout: [text] }, {
        tokenizer,
        context: 16,
        trainTokens: 100,
        heldoutTokens: 3,
        evalSequences: 2,
        excludeBos: true,
      }),
    /training text gives \d+ activation vectors .* data\.train_tokens = 100/,
  );
});

Deno.test("openLmSource() names a missing file and a layer the model lacks", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      openLmSource(spec(dir, { train_text: ["text/nope.txt"] }), options),
      /cannot read data\.train_text .*nope\.txt/,
    );
    await assert.rejects(
      openLmSource(spec(dir, { layer: 5 }), options),
      /data\.layer = 5, but the model has layers 0\.\.4/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openLmSource() harvests a Hugging Face folder, leaving out its BOS (id 300) by position", async () => {
  const dir = await Deno.makeTempDir();
  const folder = new URL("./hf/fixtures/llama", import.meta.url).pathname;
  try {
    const hfSpec = spec(dir, {
      checkpoint: folder,
      tokenizer: null, // the folder's tokenizer.json
      layer: 1,
      context: 16,
      train_tokens: 300,
      heldout_tokens: 40,
    });
    const source = await openLmSource(hfSpec, options);
    assert.equal(source.dModel, 32);
    assert.equal(source.describe().train_rows, 300);
    const loaded = await loadModelCheckpoint(folder);
    const { tokenizer: hfTok } = await loadModelTokenizer(null, loaded);
    const hfModel = createModel(loaded.checkpoint);
    const docs = await fixtureDocuments("tinystories_valid_head.txt");
    const first = hfTok.encode(docs[0], { bos: true }).slice(0, 16);
    assert.equal(first[0], 300);
    // The model's resid_post.1 at positions 1..15: everything but the BOS position.
    const point = { site: "resid_post" as const, layer: 1 };
    const { captured } = hfModel.forward(packSequences([first]), {
      capture: [point],
      logits: false,
    });
    const want = (await captured["resid_post.1"].data() as Float32Array).slice(32);
    tf.dispose(Object.values(captured));
    assert.equal(want.length, 15 * 32); // BOS left out
    assert.deepEqual(await source.heldout(15), want);
    // Cross-entropy leaves out the prediction made from BOS alone: 14 of the 15 predictions count.
    const targets = nextTokenTargets(packSequences([first]), { excludeBos: true });
    assert.equal(targets.count, 14);
    assert.equal(targets.mask[0], 0);
    // The features dashboard gets one display string per token of the model's vocabulary.
    assert.equal(source.lmFeatureInputs!().vocab.length, 302);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
