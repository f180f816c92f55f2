import assert from "node:assert/strict";
import { hostname } from "node:os";
import { acquireRunLock } from "../../lib/store/lock.ts";
import { listRuns, readManifest, runStatus } from "../../lib/store/run_dir.ts";
import { actionFor } from "../../lib/executor/plan_status.ts";

Deno.test("runStatus() reads pending, partial, failed, running and done from the directory", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = `${root}/exp/r1`;
    assert.equal(await runStatus(dir), "pending");
    await Deno.mkdir(`${dir}/checkpoint`, { recursive: true });
    assert.equal(await runStatus(dir), "partial");
    await Deno.writeTextFile(`${dir}/run.json`, JSON.stringify({ status: "failed" }));
    assert.equal(await runStatus(dir), "failed");
    assert.equal((await readManifest(dir))?.status, "failed");
    const lock = await acquireRunLock(dir);
    assert.equal(await runStatus(dir), "running");
    await lock.release();
    await Deno.writeTextFile(`${dir}/run.json`, JSON.stringify({ status: "interrupted" }));
    assert.equal(await runStatus(dir), "partial");
    await Deno.writeTextFile(`${dir}/DONE`, "");
    assert.equal(await runStatus(dir), "done");
    await Deno.mkdir(`${root}/exp/r0`);
    assert.deepEqual(await listRuns(`${root}/exp`), [
      { runId: "r0", runDir: `${root}/exp/r0`, status: "pending" },
      { runId: "r1", runDir: dir, status: "done" },
    ]);
    assert.deepEqual(await listRuns(`${root}/none`), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("runStatus() ignores a stale lock left by a dead process", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/LOCK`,
      JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), time: "t", token: "x" }),
    );
    await Deno.writeTextFile(`${dir}/run.json`, JSON.stringify({ status: "running" }));
    assert.equal(await runStatus(dir), "partial");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("actionFor() skips done runs, resumes partial and failed ones, leaves running ones", () => {
  assert.equal(actionFor("done"), "skip");
  assert.equal(actionFor("partial"), "resume");
  assert.equal(actionFor("failed"), "resume");
  assert.equal(actionFor("pending"), "start");
  assert.equal(actionFor("running"), "busy");
});
