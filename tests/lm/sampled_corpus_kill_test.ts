// A run SIGKILLed while it samples its training text (tests/fixtures/kill_run.ts, in the middle of
// writing the second chunk of samples), then run again, ends with the same sample and activation
// caches and the same SAE as a run that was never interrupted.
import assert from "node:assert/strict";
import { join } from "node:path";
import { listTree, runTask } from "../tasks/_spawn.ts";
import { assertSameFiles, completeFiles, onlyRunId, runKilledAtWrite } from "./_kill_resume.ts";
import { FIXTURES, requireFixture } from "./_fixtures.ts";

requireFixture(`${FIXTURES}text/tinystories_sample.txt`);

// 520 sequences: two chunks of 512 (8 of the second used), of 8 tokens each (BOS + 7 sampled).
const SPEC = `name: sampled
data:
  source: lm
  checkpoint: ${FIXTURES}stories260K/stories260K.bin
  tokenizer: ${FIXTURES}stories260K/tok512.bin
  train_text: {sample: {sequences: 520, length: 8, temperature: 1, top_p: 0.95, seed: 9}}
  heldout_text: [${FIXTURES}text/tinystories_sample.txt]
  context: 128
  train_tokens: 3000
  heldout_tokens: 256
  cache_dir: cache
sae: {architecture: topk, width: 32, target_l0: 4}
train: {tokens: 4096, batch_size: 256, log_every: 8, checkpoint_every: 8}
eval: {tokens: 256, lm_sequences: 2}
`;

Deno.test("a run killed while sampling its text resumes to the same caches and weights", async () => {
  const ref = await Deno.makeTempDir();
  const dir = await Deno.makeTempDir();
  try {
    for (const d of [ref, dir]) await Deno.writeTextFile(join(d, "spec.yaml"), SPEC);
    const id = await onlyRunId(ref);
    const done = await runTask("run", ["spec.yaml", "--run", id], { cwd: ref });
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, /sampling train text: 100% \(8192\/8192 tokens\)/);

    await runKilledAtWrite(dir, id, "chunk-00001:1");
    // Killed half-way through the second chunk: the first is cached, the second only as a temp.
    const left = await listTree(join(dir, "cache", "samples"));
    assert.ok(left.some((p) => p.endsWith("/chunk-00000.i32")), left.join(","));
    assert.ok(!left.some((p) => p.endsWith("/chunk-00001.i32")), left.join(","));
    assert.ok(left.some((p) => p.endsWith(".tmp")), left.join(","));

    const resumed = await runTask("run", ["spec.yaml", "--run", id], { cwd: dir });
    assert.equal(resumed.code, 0, resumed.stderr);
    assertSameFiles(
      await completeFiles(join(ref, "cache")),
      await completeFiles(join(dir, "cache")),
    );
    const weights = (d: string) =>
      Deno.readFile(join(d, "runs", "sampled", id, "sae", "sae_weights.safetensors"));
    assert.deepEqual(await weights(dir), await weights(ref));
  } finally {
    await Deno.remove(ref, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});
