import assert from "node:assert/strict";
import { hostname } from "node:os";
import { LockError } from "../../lib/errors.ts";
import {
  acquireRunLock,
  isProcessAlive,
  processStartTime,
  readLock,
} from "../../lib/store/lock.ts";

/** A pid that surely belongs to no live process: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", ""],
    stdout: "null",
    stderr: "null",
  }).spawn();
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

Deno.test("acquireRunLock() refuses a lock held by another host and says how to clear it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/LOCK`,
      JSON.stringify({ pid: 1, host: "elsewhere", time: "2020-01-01T00:00:00Z", token: "x" }),
    );
    await assert.rejects(acquireRunLock(dir), (err: unknown) => {
      assert.ok(err instanceof LockError);
      assert.match(
        err.message,
        /locked by pid 1 on elsewhere since 2020-01-01T00:00:00Z: this host cannot check processes on elsewhere/,
      );
      assert.equal(
        err.hint,
        `if no process on elsewhere trains this run any more, delete ${dir}/LOCK`,
      );
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("processStartTime() gives when a child process started, to a few seconds", async () => {
  const before = Date.now();
  const child = new Deno.Command("sleep", { args: ["30"], stdout: "null", stderr: "null" })
    .spawn();
  const after = Date.now();
  try {
    // ps derives start times from the boot time (whole seconds): allow 3 s either way.
    const started = Date.parse((await processStartTime(child.pid))!);
    assert.ok(
      started >= before - 3000 && started <= after + 3000,
      `${started} not in [${before}, ${after}]`,
    );
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
  assert.equal(await processStartTime(child.pid), undefined);
});

/** Writes a LOCK naming this (live) process, with `extra` fields on top. */
async function writeOwnLock(dir: string, extra: Record<string, unknown>): Promise<void> {
  const info = { pid: Deno.pid, host: hostname(), time: "2020-01-01T00:00:00Z", token: "x" };
  await Deno.writeTextFile(`${dir}/LOCK`, JSON.stringify({ ...info, ...extra }));
}

Deno.test("a lock records the holder's start time, its host's boot time and its Slurm job", async () => {
  const dir = await Deno.makeTempDir();
  const vars = { SLURM_JOB_ID: "41", SLURM_ARRAY_JOB_ID: "40", SLURM_ARRAY_TASK_ID: "1" };
  try {
    for (const [k, v] of Object.entries(vars)) Deno.env.set(k, v);
    const lock = await acquireRunLock(dir);
    const info = await readLock(dir);
    await lock.release();
    assert.equal(info?.pid_start, await processStartTime(Deno.pid));
    const booted = Date.parse(info!.boot_time!);
    assert.ok(Math.abs(booted - (Date.now() - Deno.osUptime() * 1000)) < 3000, info?.boot_time);
    assert.deepEqual(info?.slurm, { job_id: "41", array_job_id: "40", array_task_id: "1" });
  } finally {
    for (const k of Object.keys(vars)) Deno.env.delete(k);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("acquireRunLock() takes over a lock whose pid now belongs to another process", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // This process is alive, but started at another time than the lock's holder did.
    const start = await processStartTime(Deno.pid);
    assert.ok(start, "ps reports this process's start time");
    await writeOwnLock(dir, { pid_start: "1970-01-01T00:00:00.000Z", token: "old" });
    const lock = await acquireRunLock(dir);
    assert.notEqual((await readLock(dir))?.token, "old");
    await lock.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("acquireRunLock() takes over a lock written before this host rebooted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeOwnLock(dir, { boot_time: "2000-01-01T00:00:00.000Z", token: "old" });
    const lock = await acquireRunLock(dir);
    assert.notEqual((await readLock(dir))?.token, "old");
    await lock.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a live pid without a recorded start time is refused with a hint about reused pids", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeOwnLock(dir, {});
    await assert.rejects(acquireRunLock(dir), (err: unknown) => {
      assert.ok(err instanceof LockError);
      assert.match(
        err.hint,
        new RegExp(`if pid ${Deno.pid} is not a saesweep run \\(pids are reused\\), delete`),
      );
      return true;
    });
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

Deno.test("a task takes over the lock its own Slurm job left on another node before a requeue", async () => {
  const dir = await Deno.makeTempDir();
  const vars = { SLURM_JOB_ID: "5", SLURM_ARRAY_JOB_ID: "4", SLURM_ARRAY_TASK_ID: "0" };
  try {
    for (const [k, v] of Object.entries(vars)) Deno.env.set(k, v);
    const slurm = { job_id: "5", array_job_id: "4", array_task_id: "0" };
    const old = { pid: 1, host: "othernode", time: "2020-01-01T00:00:00Z", token: "old", slurm };
    await Deno.writeTextFile(`${dir}/LOCK`, JSON.stringify(old));
    const lock = await acquireRunLock(dir);
    assert.equal((await readLock(dir))?.host, hostname());
    await lock.release();
  } finally {
    for (const k of Object.keys(vars)) Deno.env.delete(k);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("acquireRunLock() refuses an empty or half-written LOCK instead of taking it over", async () => {
  // Its holder cannot be checked: taking it over could run the same run twice at once.
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/run`);
    const half = JSON.stringify({ pid: Deno.pid, host: hostname(), time: "t" }).slice(0, 20);
    for (const text of ["", half]) {
      await Deno.writeTextFile(`${dir}/run/LOCK`, text);
      await assert.rejects(acquireRunLock(`${dir}/run`), (err: unknown) => {
        assert.ok(err instanceof LockError);
        assert.match(err.message, /has an unreadable LOCK file/);
        assert.match(err.hint, /if no process trains this run, delete .*run\/LOCK/);
        return true;
      });
      assert.equal(await Deno.readTextFile(`${dir}/run/LOCK`), text);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("acquireRunLock() leaves no temp file and a complete LOCK", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lock = await acquireRunLock(`${dir}/run`);
    assert.deepEqual([...Deno.readDirSync(`${dir}/run`)].map((e) => e.name), ["LOCK"]);
    assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/run/LOCK`)).token, lock.info.token);
    await lock.release();
    assert.deepEqual([...Deno.readDirSync(`${dir}/run`)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a LOCK is never visible half-written: a crash writing to LOCK in place is not possible", async () => {
  // Any write that goes to the LOCK path itself fails half-way here (as a crash would leave it).
  // acquireRunLock() must write elsewhere first, so LOCK is absent or complete at every moment.
  const dir = await Deno.makeTempDir();
  const open = Deno.open;
  const write = Deno.FsFile.prototype.write;
  const paths = new WeakMap<Deno.FsFile, string>();
  Deno.open = async (path, options) => {
    const file = await open(path, options);
    paths.set(file, String(path));
    return file;
  };
  Deno.FsFile.prototype.write = async function (this: Deno.FsFile, p: Uint8Array) {
    if (paths.get(this)?.endsWith("/LOCK")) {
      await write.call(this, p.subarray(0, p.length >> 1));
      throw new Error("crashed mid-write");
    }
    return write.call(this, p);
  };
  try {
    const lock = await acquireRunLock(`${dir}/run`).finally(() => {
      Deno.open = open;
      Deno.FsFile.prototype.write = write;
    });
    assert.equal((await readLock(`${dir}/run`))?.pid, Deno.pid);
    await lock.release();
  } finally {
    Deno.open = open;
    Deno.FsFile.prototype.write = write;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a recorded start time within 10 s of the holder's either way is the same process, beyond it another", async () => {
  // processStartTime() of one process is the same on every call (ps's lstart, whole seconds), so
  // offsets from it are exact: 10 s is the tolerance itself (same), 11 s is past it (reused pid).
  const start = await processStartTime(Deno.pid);
  assert.ok(start, "ps reports this process's start time");
  const shifted = (s: number) => new Date(Date.parse(start) + s * 1000).toISOString();
  for (const s of [-10, -9, 0, 9, 10]) {
    const dir = await Deno.makeTempDir();
    try {
      await writeOwnLock(dir, { pid_start: shifted(s), token: "old" });
      await assert.rejects(acquireRunLock(dir), LockError, `start ${s} s off: the same process`);
      assert.equal((await readLock(dir))?.token, "old");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
  for (const s of [-11, 11]) {
    const dir = await Deno.makeTempDir();
    try {
      await writeOwnLock(dir, { pid_start: shifted(s), token: "old" });
      const lock = await acquireRunLock(dir);
      assert.notEqual((await readLock(dir))?.token, "old", `start ${s} s off: another process`);
      await lock.release();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("a recorded boot time a few seconds off either way is this boot, well beyond 10 s a reboot", async () => {
  // The boot time is derived from the uptime (whole seconds), so it is known to about 1 s: 8 s
  // off is inside the 10 s tolerance, 12 s outside, either way.
  const booted = Date.now() - Deno.osUptime() * 1000;
  const start = await processStartTime(Deno.pid);
  const at = (s: number) => new Date(booted + s * 1000).toISOString();
  for (const s of [-8, 8]) {
    const dir = await Deno.makeTempDir();
    try {
      await writeOwnLock(dir, { boot_time: at(s), pid_start: start, token: "old" });
      await assert.rejects(acquireRunLock(dir), LockError, `boot ${s} s off: this boot`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
  for (const s of [-12, 12]) {
    const dir = await Deno.makeTempDir();
    try {
      await writeOwnLock(dir, { boot_time: at(s), pid_start: start, token: "old" });
      const lock = await acquireRunLock(dir);
      assert.notEqual((await readLock(dir))?.token, "old", `boot ${s} s off: a reboot`);
      await lock.release();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});
