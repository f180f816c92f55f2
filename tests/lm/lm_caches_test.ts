import assert from "node:assert/strict";
import { join } from "node:path";
import { DataError } from "../../lib/errors.ts";
import { readActivationCache } from "../../lib/lm/activation_cache.ts";
import { sampleSequences } from "../../lib/lm/generate.ts";
import { harvestActivations } from "../../lib/lm/harvest.ts";
import { harvestMemoryBytes, prepareLmCaches } from "../../lib/lm/lm_caches.ts";
import { openLmSource } from "../../lib/lm/source.ts";
import { LmData } from "../../lib/spec/schema.ts";
import { FIXTURES, loadStories260k, requireFixture } from "./_fixtures.ts";

const { model, tokenizer } = await loadStories260k();
requireFixture(`${FIXTURES}text/tinystories_valid_head.txt`);

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
    train_tokens: 2000,
    heldout_tokens: 300,
    cache_dir: cacheDir,
    ...overrides,
  });
}
const options = { specDir: FIXTURES, evalSequences: 4 };
const SITES = ["resid_pre", "attn_out", "mlp_out", "resid_post"] as const;

async function filesOf(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) {
      for (const [k, v] of await filesOf(`${dir}/${e.name}`)) out.set(`${e.name}/${k}`, v);
    } else out.set(e.name, await Deno.readFile(`${dir}/${e.name}`));
  }
  return out;
}

async function withDirs(n: number, fn: (...dirs: string[]) => Promise<void>) {
  const dirs = await Promise.all(Array.from({ length: n }, () => Deno.makeTempDir()));
  try {
    await fn(...dirs);
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
}

Deno.test("prepareLmCaches() writes four sites from one pass byte-identical to four single-site harvests", async () => {
  await withDirs(2, async (together, apart) => {
    const cfgs = [
      ...SITES.map((site) => spec(together, { site })),
      spec(together, { site: "resid_post", layer: 0 }),
    ];
    const what = new Set<string>();
    const prepared = await prepareLmCaches(cfgs, {
      ...options,
      onProgress: (p) => what.add(p.what),
    });
    assert.deepEqual(prepared.map((p) => p.harvested), [true, true, true, true, true]);
    // One harvest of the training text and one of the held-out text, each naming all five sites.
    const all = "resid_pre.2, attn_out.2, mlp_out.2, resid_post.2, resid_post.0";
    assert.deepEqual([...what].sort(), [
      `harvesting ${all} (held-out)`,
      `harvesting ${all} (train)`,
    ]);
    for (const cfg of cfgs) {
      await openLmSource({ ...cfg, cache_dir: apart }, { ...options, streamSeed: 0 });
    }
    const [a, b] = [await filesOf(together), await filesOf(apart)];
    assert.equal([...a.keys()].filter((k) => k.endsWith("manifest.json")).length, 5);
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    for (const [k, v] of a) assert.deepEqual(v, b.get(k), k);
    // Every cache now exists: nothing is harvested again.
    const again = await prepareLmCaches(cfgs, options);
    assert.deepEqual(again.map((p) => p.harvested), [false, false, false, false, false]);
    assert.deepEqual(again.map((p) => p.key), prepared.map((p) => p.key));
  });
});

Deno.test("harvestMemoryBytes() counts every site's rows, the tokens and one pass", () => {
  // stories260K: D 64, H 172, V 512. 4 sites x (2000 + 300) rows x 64 x 4 bytes = 2,355,200;
  // tokens 2300 x 4 = 9,200; one pass 4096 x (8*64 + 3*172 + 512) x 4 x 2 = 50,462,720.
  const bytes = harvestMemoryBytes(model.config, { points: 4, trainRows: 2000, heldoutRows: 300 });
  assert.equal(bytes, 2355200 + 9200 + 50462720);
});

Deno.test("prepareLmCaches() refuses a harvest above the memory limit before harvesting, not at it", async () => {
  await withDirs(1, async (dir) => {
    const cfgs = SITES.map((site) => spec(dir, { site }));
    const need = harvestMemoryBytes(model.config, { points: 4, trainRows: 2000, heldoutRows: 300 });
    await assert.rejects(prepareLmCaches(cfgs, { ...options, memoryLimitBytes: need - 1 }), (e) => {
      assert.ok(e instanceof DataError);
      assert.match(
        e.message,
        /harvesting 4 sites \(resid_pre\.2, attn_out\.2, mlp_out\.2, resid_post\.2\) from one pass needs about 0\.05 GiB/,
      );
      assert.match(e.hint, /lower data\.train_tokens, or sweep fewer data\.site/);
      assert.equal(e.exitCode, 2);
      return true;
    });
    assert.deepEqual([...(await filesOf(dir)).keys()], []); // nothing written
    const ok = await prepareLmCaches(cfgs, { ...options, memoryLimitBytes: need });
    assert.ok(ok.every((p) => p.harvested));
  });
});

Deno.test("a sampled training text is harvested from the model's own sequences; held-out stays real text", async () => {
  await withDirs(1, async (dir) => {
    const sample = { sequences: 20, length: 16, temperature: 1, top_p: 0.9, seed: 2 };
    const cfg = spec(dir, { train_text: { sample }, train_tokens: 200 });
    const source = await openLmSource(cfg, { ...options, streamSeed: 0 });
    // Reference: the twenty sequences sampled directly, harvested with BOS positions left out.
    const seqs = await sampleSequences(model, {
      first: 0,
      count: 20,
      length: 16,
      temperature: 1,
      topP: 0.9,
      seed: 2,
    });
    const want = await harvestActivations(model, seqs, {
      site: "resid_post",
      layer: 2,
      excludeBos: true,
      maxRows: 200,
    });
    const d = source.describe();
    const cache = await readActivationCache(d.cache_dir as string);
    assert.equal(cache!.manifest.train_rows, 200);
    assert.deepEqual(cache!.train, want);
    assert.deepEqual(cache!.manifest.inputs.train_sample, sample);
    assert.deepEqual(d.train_sample, sample); // recorded in run.json
    assert.deepEqual(cache!.manifest.inputs.train_text_sha256, []);
    assert.equal(cache!.manifest.inputs.heldout_sample, undefined);
    // The held-out part is the same as with text training (it depends only on the held-out text).
    const textSource = await openLmSource(spec(dir), { ...options, streamSeed: 0 });
    assert.deepEqual(await source.heldout(300), await textSource.heldout(300));
    assert.notEqual(d.cache_key, textSource.describe().cache_key);
    // The sampled chunk is cached beside the activations.
    const samples = [...(await filesOf(join(dir, "samples"))).keys()];
    assert.equal(samples.length, 1);
    assert.match(samples[0], /^[0-9a-f]{64}\/chunk-00000\.i32$/);
    // Other sampling settings are another cache.
    const hot = await openLmSource(
      spec(dir, { train_text: { sample: { ...sample, temperature: 1.5 } }, train_tokens: 200 }),
      { ...options, streamSeed: 0 },
    );
    assert.notEqual(hot.describe().cache_key, d.cache_key);
  });
});

Deno.test("a sampled held-out text needs its own seed and shares no sequence with training", async () => {
  await withDirs(1, async (dir) => {
    const sample = { sequences: 20, length: 16, temperature: 1, top_p: 1, seed: 2 };
    const same = spec(dir, {
      train_text: { sample },
      heldout_text: { sample },
      train_tokens: 100,
      heldout_tokens: 100,
    });
    await assert.rejects(
      openLmSource(same, { ...options, streamSeed: 0 }),
      /data\.heldout_text\.sample\.seed = 2 is the training sample's seed/,
    );
    const cfg = { ...same, heldout_text: { sample: { ...sample, seed: 3 } } };
    const prepared = (await prepareLmCaches([cfg], options))[0];
    const train = await sampleSequences(model, {
      first: 0,
      count: 20,
      length: 16,
      temperature: 1,
      topP: 1,
      seed: 2,
    });
    // The held-out part: the seed-3 sequences in order until 100 vectors (position 0 left out).
    const held = await sampleSequences(model, {
      first: 0,
      count: 20,
      length: 16,
      temperature: 1,
      topP: 1,
      seed: 3,
    });
    let n = 0;
    for (let v = 0; v < 100; n++) v += held[n].length - 1;
    assert.deepEqual(prepared.heldout, held.slice(0, Math.max(n, 4)));
    // Training: the seed-2 sequences in order until 100 vectors, skipping any equal to a held-out
    // one (short samples do coincide: "Once upon a time, ..." openings).
    const heldSet = new Set(prepared.heldout.map((s) => s.join()));
    let skipped = 0, taken = 0;
    for (let i = 0, v = 0; v < 100; i++) {
      if (heldSet.has(train[i].join())) skipped++;
      else (taken++, v += train[i].length - 1);
    }
    const cache = await readActivationCache(prepared.dir);
    assert.deepEqual(cache!.manifest.info, {
      train_sequences: taken,
      heldout_sequences: prepared.heldout.length,
      skipped_overlapping_documents: skipped,
    });
    // At temperature 0 every sequence is the greedy one, whatever the seed: each training sequence
    // equals a held-out one and is skipped, so none is left.
    const greedy = { ...sample, temperature: 0 };
    await assert.rejects(
      prepareLmCaches([{
        ...cfg,
        train_text: { sample: greedy },
        heldout_text: { sample: { ...greedy, seed: 3 } },
      }], options),
      /training text gives 0 activation vectors/,
    );
    // Not enough sampled text: the error says how many vectors it gave and how to get more.
    await assert.rejects(
      prepareLmCaches([{ ...cfg, train_tokens: 10000 }], options),
      /training text gives \d+ activation vectors .*data\.train_tokens = 10000/,
    );
  });
});

Deno.test("a sampled training sequence equal to a held-out text sequence is skipped", async () => {
  await withDirs(1, async (dir) => {
    // At temperature 0 every sampled sequence is the greedy story; held-out text that encodes to
    // exactly those tokens (BOS + 23) makes each of them a held-out sequence.
    const sample = { sequences: 3, length: 24, temperature: 0, top_p: 1, seed: 1 };
    const [greedy] = await sampleSequences(model, { ...sample, first: 0, count: 1, topP: 1 });
    const story = tokenizer.decode(greedy);
    assert.deepEqual(tokenizer.encode(story, { bos: true }), Array.from(greedy));
    await Deno.writeTextFile(join(dir, "held.txt"), story);
    const cfg = spec(dir, {
      train_text: { sample },
      heldout_text: [join(dir, "held.txt")],
      context: 24,
      train_tokens: 1,
      heldout_tokens: 1,
    });
    await assert.rejects(
      prepareLmCaches([cfg], { ...options, evalSequences: 1 }),
      /training text gives 0 activation vectors/,
    );
  });
});
