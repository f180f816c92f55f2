// A run SIGKILLed while it writes its harvested activations (tests/fixtures/kill_run.ts, half-way
// through the first training shard of the activation cache), then run again, ends with the same
// activation cache and the same SAE as a run that was never interrupted. The cache is written in a
// temporary folder renamed into place, so the killed run leaves no cache entry, only that folder.
import assert from "node:assert/strict";
import { join } from "node:path";
import { listTree } from "../tasks/_spawn.ts";
import { assertKillResumes, completeFiles } from "./_kill_resume.ts";
import { FIXTURES, requireFixture } from "./_fixtures.ts";

requireFixture(`${FIXTURES}text/tinystories_valid_head.txt`);

Deno.test("a run killed while writing its harvested activations resumes to the same cache and weights", async () => {
  await assertKillResumes({
    name: "harvested",
    trainText: `[${FIXTURES}text/tinystories_valid_head.txt]`,
    write: "train-00000:1",
    async afterKill(dir) {
      // No cache entry yet: only the killed harvest's temporary folder (and no run finished).
      const left = await listTree(join(dir, "cache"));
      assert.ok(left.some((p) => p.split("/").some((s) => s.startsWith(".tmp-"))), left.join(","));
      assert.deepEqual([...(await completeFiles(join(dir, "cache"))).keys()], []);
    },
  });
});
