import assert from "node:assert/strict";
import { hostname } from "node:os";
import { acquireRunLock } from "../../lib/store/lock.ts";
import { listRuns, markRunEnded, readManifest, runStatus } from "../../lib/store/run_dir.ts";
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
  assert.equal(actionFor("stale"), "refuse");
});

Deno.test("markRunEnded() records how a run whose process died ended, only over `running`", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const deadLock = { pid: 2 ** 22 + 12345, host: hostname(), time: "t", token: "x" };
    await Deno.writeTextFile(`${dir}/LOCK`, JSON.stringify(deadLock));
    await Deno.writeTextFile(`${dir}/run.json`, JSON.stringify({ run_id: "r", status: "running" }));
    assert.equal(await markRunEnded(dir, { status: "failed", message: "killed by SIGKILL" }), true);
    const m = await readManifest(dir);
    assert.equal(m?.run_id, "r");
    assert.equal(m?.status, "failed");
    assert.deepEqual(m?.error, { message: "killed by SIGKILL" });
    await assert.rejects(Deno.stat(`${dir}/LOCK`), Deno.errors.NotFound); // taken over, released
    // Anything but `running` is what the run itself recorded: left alone.
    assert.equal(await markRunEnded(dir, { status: "interrupted", message: "x" }), false);
    assert.equal((await readManifest(dir))?.status, "failed");
    // A live holder's run is not this process's to change.
    await Deno.writeTextFile(`${dir}/run.json`, JSON.stringify({ status: "running" }));
    const lock = await acquireRunLock(dir);
    try {
      assert.equal(await markRunEnded(dir, { status: "failed", message: "x" }), false);
      assert.equal((await readManifest(dir))?.status, "running");
    } finally {
      await lock.release();
    }
    // No run.json (the run never started): nothing is created.
    const empty = `${dir}/none`;
    assert.equal(await markRunEnded(empty, { status: "failed", message: "x" }), false);
    await assert.rejects(Deno.stat(empty), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
