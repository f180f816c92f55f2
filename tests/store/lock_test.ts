import assert from "node:assert/strict";
import { hostname } from "node:os";
import { LockError } from "../../lib/errors.ts";
import { acquireRunLock, isProcessAlive, readLock } from "../../lib/store/lock.ts";

/** A pid that surely belongs to no live process: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), { args: ["eval", ""], stdout: "null" }).spawn();
  await child.status;
  return child.pid;
}

Deno.test("acquireRunLock() is exclusive until released", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lock = await acquireRunLock(`${dir}/run`);
    const info = await readLock(`${dir}/run`);
    assert.equal(info?.pid, Deno.pid);
    assert.equal(info?.host, hostname());
    await assert.rejects(acquireRunLock(`${dir}/run`), (err: unknown) => {
      assert.ok(err instanceof LockError);
      assert.match(err.message, new RegExp(`locked by pid ${Deno.pid}`));
      assert.ok(err.hint.length > 0);
      return true;
    });
    await lock.release();
    const again = await acquireRunLock(`${dir}/run`);
    await again.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("acquireRunLock() takes over a stale lock of a dead process on this host", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pid = await deadPid();
    assert.equal(isProcessAlive(pid), false);
    await Deno.writeTextFile(
      `${dir}/LOCK`,
      JSON.stringify({ pid, host: hostname(), time: "2020-01-01T00:00:00Z", token: "x" }),
    );
    const lock = await acquireRunLock(dir);
    assert.equal((await readLock(dir))?.pid, Deno.pid);
    await lock.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("acquireRunLock() refuses a lock held by another host", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/LOCK`,
      JSON.stringify({ pid: 1, host: "elsewhere", time: "2020-01-01T00:00:00Z", token: "x" }),
    );
    await assert.rejects(acquireRunLock(dir), LockError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("release() leaves a lock that another holder has taken since", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lock = await acquireRunLock(dir);
    const other = { pid: Deno.pid, host: hostname(), time: "t", token: "other" };
    await Deno.writeTextFile(`${dir}/LOCK`, JSON.stringify(other));
    await lock.release();
    assert.equal((await readLock(dir))?.token, "other");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
