import assert from "node:assert/strict";
import { join } from "node:path";
import { DataError } from "../../lib/errors.ts";
import { sampleSequences } from "../../lib/lm/generate.ts";
import { sampledCorpus, sampleKey, type SampleSpec } from "../../lib/lm/sampled_corpus.ts";
import { loadStories260k } from "./_fixtures.ts";

const { model } = await loadStories260k();
const spec: SampleSpec = { sequences: 10, length: 12, temperature: 1, top_p: 0.95, seed: 4 };
const base = { checkpointSha256: "ab".repeat(32), part: "train", chunk: 4 };

async function files(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(dir)) out.set(e.name, await Deno.readFile(join(dir, e.name)));
  return out;
}

Deno.test("sampledCorpus() caches whole chunks of the sequences sampleSequences() gives, as int32", async () => {
  const cacheDir = await Deno.makeTempDir();
  try {
    const progress: number[] = [];
    const got = await sampledCorpus(model, spec, {
      ...base,
      cacheDir,
      onProgress: (p) => progress.push(p.done),
    });
    // Reference: twelve sequences decoded as one batch (each draws from its own stream).
    const want = await sampleSequences(model, {
      first: 0,
      count: 12,
      length: 12,
      temperature: 1,
      topP: 0.95,
      seed: 4,
    });
    assert.deepEqual(got.sequences, want.slice(0, 10));
    assert.equal(got.sampledChunks, 3); // 4 + 4 + 4 sequences, of which 2 of the last are used
    const cached = await files(got.dir);
    assert.deepEqual([...cached.keys()].sort(), [
      "chunk-00000.i32",
      "chunk-00001.i32",
      "chunk-00002.i32",
    ]);
    // chunk 2 holds sequences 8 to 11, little-endian int32, row-major [4, 12].
    const last = cached.get("chunk-00002.i32")!;
    const view = new DataView(last.buffer, last.byteOffset, last.byteLength);
    assert.equal(last.length, 4 * 12 * 4);
    assert.deepEqual(
      Array.from({ length: 48 }, (_, i) => view.getInt32(i * 4, true)),
      want.slice(8).flatMap((s) => Array.from(s)),
    );
    assert.equal(progress.at(-1), 12 * 12);
    assert.ok(progress.every((d, i) => i === 0 || d >= progress[i - 1]), "progress goes forward");
    // More sequences reuse the three chunks and sample only the fourth.
    const more = await sampledCorpus(model, { ...spec, sequences: 14 }, { ...base, cacheDir });
    assert.equal(more.dir, got.dir);
    assert.equal(more.sampledChunks, 1);
    assert.deepEqual(more.sequences.slice(0, 12), want);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("sampledCorpus() resumes from the chunks on disk and ends with identical files", async () => {
  const cacheDir = await Deno.makeTempDir();
  try {
    const first = await sampledCorpus(model, spec, { ...base, cacheDir });
    const before = await files(first.dir);
    // As if killed after chunk 0: chunks 1 and 2 are missing.
    await Deno.remove(join(first.dir, "chunk-00001.i32"));
    await Deno.remove(join(first.dir, "chunk-00002.i32"));
    const resumed = await sampledCorpus(model, spec, { ...base, cacheDir });
    assert.equal(resumed.sampledChunks, 2);
    assert.deepEqual(await files(resumed.dir), before);
    assert.deepEqual(resumed.sequences, first.sequences);
    // Complete: nothing is sampled again.
    assert.equal((await sampledCorpus(model, spec, { ...base, cacheDir })).sampledChunks, 0);
    // A chunk of the wrong size is refused with its path and a hint, not silently used.
    await Deno.writeFile(join(first.dir, "chunk-00001.i32"), new Uint8Array(10));
    await assert.rejects(
      sampledCorpus(model, spec, { ...base, cacheDir }),
      (e) =>
        e instanceof DataError && /chunk-00001\.i32 has 10 bytes, expected 192/.test(e.message) &&
        /delete that file/.test(e.hint ?? ""),
    );
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("sampleKey() changes with every sampling setting but the count, the checkpoint and the chunk", async () => {
  const key = (s: Partial<SampleSpec>, o: Partial<typeof base> = {}) =>
    sampleKey({ ...spec, ...s }, { ...base, ...o });
  const keys = await Promise.all([
    key({}),
    key({ length: 13 }),
    key({ temperature: 0.9 }),
    key({ top_p: 1 }),
    key({ seed: 5 }),
    key({}, { checkpointSha256: "cd".repeat(32) }),
    key({}, { chunk: 8 }),
  ]);
  assert.equal(new Set(keys).size, keys.length);
  assert.equal(await key({}), keys[0]);
  assert.equal(await key({ sequences: 11 }), keys[0]); // more sequences: more chunks of one cache
});

Deno.test("sampledCorpus() refuses a length beyond the model's seq_len", async () => {
  await assert.rejects(
    sampledCorpus(model, { ...spec, length: 513 }, { ...base, cacheDir: "/nonexistent" }),
    /sample\.length 513 exceeds the model's seq_len 512/,
  );
});
