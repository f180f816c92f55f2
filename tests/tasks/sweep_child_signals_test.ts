// Issue 28 cases 4, 11, 12 and 14: how a sweep ends when its run's process is stopped from outside
// (SIGTERM, SIGKILL), when the terminal closes (SIGHUP to sweep and child at once) and when a
// run's LOCK cannot be read. The real trainer in real subprocesses; the tests wait for marker
// files (the child's LOCK and its first metrics line), never for a time.
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, runTask } from "./_spawn.ts";
import { isProcessAlive, readLock } from "../../lib/store/lock.ts";

const SPEC = `name: one
data: {source: synthetic, d_model: 8, n_features: 16}
sae: {width: 32, target_l0: 4, architecture: topk}
train: {tokens: 100000000, batch_size: 256, log_every: 5, checkpoint_every: 10, backend: wasm}
eval: {tokens: 256}
`;

async function waitFor(cond: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function runDir(dir: string): string {
  const root = join(dir, "runs", "one");
  const name = Array.from(Deno.readDirSync(root)).find((e) => !e.name.startsWith("."))!.name;
  return join(root, name);
}

/** The pid of the run's process once it holds its lock and has logged a metrics line. */
async function trainingPid(dir: string): Promise<number> {
  let pid = 0;
  await waitFor(
    async () => {
      try {
        const d = runDir(dir);
        const lock = await readLock(d);
        const metrics = await Deno.readTextFile(join(d, "metrics.jsonl")).catch(() => "");
        pid = lock?.pid ?? 0;
        return pid > 0 && metrics.trim() !== "";
      } catch {
        return false;
      }
    },
    120_000,
    "the run training",
  );
  return pid;
}

function spawnSweep(dir: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", `--config=${ROOT}deno.json`, "-A", `${ROOT}tasks/sweep.ts`, "one.yaml"],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function inTempDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "one.yaml"), SPEC);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function manifest(dir: string): Promise<{ status: string; error?: { message: string } }> {
  return JSON.parse(await Deno.readTextFile(join(runDir(dir), "run.json")));
}

Deno.test("SIGTERM to a run's process makes the sweep exit 1, the run checkpointed and interrupted", async () => {
  await inTempDir(async (dir) => {
    const sweep = spawnSweep(dir);
    Deno.kill(await trainingPid(dir), "SIGTERM");
    const out = await sweep.output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, stdout + stderr);
    assert.match(stdout, /0 done, 0 skipped \(already done\), 0 failed, 1 interrupted/);
    assert.match(stderr, /error: 1 run was stopped by a signal from outside this sweep: /);
    assert.match(stderr, /hint: re-run the same command to resume/);
    assert.equal((await manifest(dir)).status, "interrupted");
    await Deno.stat(join(runDir(dir), "checkpoint", "latest.json"));
  });
});

Deno.test("SIGHUP to the sweep and its run at once (a closed terminal) checkpoints and exits 130", async () => {
  await inTempDir(async (dir) => {
    const sweep = spawnSweep(dir);
    const pid = await trainingPid(dir);
    sweep.kill("SIGHUP");
    Deno.kill(pid, "SIGHUP");
    const out = await sweep.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 130, stderr);
    assert.ok(!isProcessAlive(pid), "the run's process still runs");
    assert.equal((await manifest(dir)).status, "interrupted");
    await Deno.stat(join(runDir(dir), "checkpoint", "latest.json"));
    await assert.rejects(Deno.stat(join(runDir(dir), "LOCK")), Deno.errors.NotFound);
  });
});

Deno.test("a run's process killed by SIGKILL leaves run.json failed with the signal, not running", async () => {
  await inTempDir(async (dir) => {
    const sweep = spawnSweep(dir);
    Deno.kill(await trainingPid(dir), "SIGKILL");
    const out = await sweep.output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 1, stdout);
    assert.match(stdout, /failed\s+killed by SIGKILL \(the out-of-memory killer sends SIGKILL\)/);
    const m = await manifest(dir);
    assert.equal(m.status, "failed");
    assert.match(m.error!.message, /^killed by SIGKILL/);
  });
});

Deno.test("a run with an unreadable LOCK fails the sweep (exit 1) with a hint, not busy", async () => {
  await inTempDir(async (dir) => {
    const dry = await runTask("sweep", ["one.yaml", "--dry-run"], { cwd: dir });
    const id = dry.stdout.split("\n")[1].split(/\s+/)[1];
    await Deno.mkdir(join(dir, "runs", "one", id), { recursive: true });
    await Deno.writeTextFile(join(dir, "runs", "one", id, "LOCK"), '{"pid": 12');
    const r = await runTask("sweep", ["one.yaml"], { cwd: dir });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `${id}\\s+failed\\s+run .* has an unreadable LOCK file; hint: if no process trains this run, delete `,
      ),
    );
    assert.match(r.stdout, /0 done, 0 skipped \(already done\), 1 failed$/m);
  });
});
