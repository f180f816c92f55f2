// A run SIGKILLed while it writes its harvested activations (tests/fixtures/kill_run.ts, half-way
// through the first training shard of the activation cache), then run again, ends with the same
// activation cache and the same SAE as a run that was never interrupted. The cache is written in a
// temporary folder renamed into place, so the killed run leaves no cache entry, only that folder.
import assert from "node:assert/strict";
import { join } from "node:path";
import { listTree, runTask } from "../tasks/_spawn.ts";
import { assertSameFiles, completeFiles, onlyRunId, runKilledAtWrite } from "./_kill_resume.ts";
import { FIXTURES, requireFixture } from "./_fixtures.ts";

requireFixture(`${FIXTURES}text/tinystories_valid_head.txt`);

const SPEC = `name: harvested
data:
  source: lm
  checkpoint: ${FIXTURES}stories260K/stories260K.bin
  tokenizer: ${FIXTURES}stories260K/tok512.bin
  train_text: [${FIXTURES}text/tinystories_valid_head.txt]
  heldout_text: [${FIXTURES}text/tinystories_sample.txt]
  context: 128
  train_tokens: 3000
  heldout_tokens: 256
  cache_dir: cache
sae: {architecture: topk, width: 32, target_l0: 4}
train: {tokens: 4096, batch_size: 256, log_every: 8, checkpoint_every: 8}
eval: {tokens: 256, lm_sequences: 2}
`;

Deno.test("a run killed while writing its harvested activations resumes to the same cache and weights", async () => {
  const ref = await Deno.makeTempDir();
  const dir = await Deno.makeTempDir();
  try {
    for (const d of [ref, dir]) await Deno.writeTextFile(join(d, "spec.yaml"), SPEC);
    const id = await onlyRunId(ref);
    const done = await runTask("run", ["spec.yaml", "--run", id], { cwd: ref });
    assert.equal(done.code, 0, done.stderr);

    await runKilledAtWrite(dir, id, "train-00000:1");
    // No cache entry yet: only the killed harvest's temporary folder (and no run finished).
    const left = await listTree(join(dir, "cache"));
    assert.ok(left.some((p) => p.split("/").some((s) => s.startsWith(".tmp-"))), left.join(","));
    assert.deepEqual([...(await completeFiles(join(dir, "cache"))).keys()], []);

    const resumed = await runTask("run", ["spec.yaml", "--run", id], { cwd: dir });
    assert.equal(resumed.code, 0, resumed.stderr);
    assertSameFiles(
      await completeFiles(join(ref, "cache")),
      await completeFiles(join(dir, "cache")),
    );
    const weights = (d: string) =>
      Deno.readFile(join(d, "runs", "harvested", id, "sae", "sae_weights.safetensors"));
    assert.deepEqual(await weights(dir), await weights(ref));
  } finally {
    await Deno.remove(ref, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});
