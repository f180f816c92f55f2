// A run SIGKILLed while it samples its training text (tests/fixtures/kill_run.ts, in the middle of
// writing the second chunk of samples), then run again, ends with the same sample and activation
// caches and the same SAE as a run that was never interrupted.
import assert from "node:assert/strict";
import { join } from "node:path";
import { listTree } from "../tasks/_spawn.ts";
import { assertKillResumes } from "./_kill_resume.ts";
import { FIXTURES, requireFixture } from "./_fixtures.ts";

requireFixture(`${FIXTURES}text/tinystories_sample.txt`);

Deno.test("a run killed while sampling its text resumes to the same caches and weights", async () => {
  await assertKillResumes({
    // 520 sequences: two chunks of 512 (8 of the second used), of 8 tokens each (BOS + 7 sampled).
    name: "sampled",
    trainText: "{sample: {sequences: 520, length: 8, temperature: 1, top_p: 0.95, seed: 9}}",
    write: "chunk-00001:1",
    afterReference(stderr) {
      assert.match(stderr, /sampling train text: 100% \(8192\/8192 tokens\)/);
    },
    async afterKill(dir) {
      // Killed half-way through the second chunk: the first is cached, the second only as a temp.
      const left = await listTree(join(dir, "cache", "samples"));
      assert.ok(left.some((p) => p.endsWith("/chunk-00000.i32")), left.join(","));
      assert.ok(!left.some((p) => p.endsWith("/chunk-00001.i32")), left.join(","));
      assert.ok(left.some((p) => p.endsWith(".tmp")), left.join(","));
    },
  });
});
