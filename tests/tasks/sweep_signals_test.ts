// Tests how `deno task sweep` behaves around other processes, with the real trainer in real
// subprocesses: Ctrl-C delivered twice at once (the terminal's and deno task's copy) is one
// interrupt with a summary; killing the sweep stops its children; runs another process holds
// are reported busy with the holder and exit 0.
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, runTask } from "./_spawn.ts";
import { acquireRunLock, isProcessAlive, readLock } from "../../lib/store/lock.ts";

const LONG = `name: long
data: {source: synthetic, d_model: 8, n_features: 16}
sae: {width: 32, target_l0: 4}
train: {tokens: 100000000, batch_size: 256, log_every: 5, checkpoint_every: 10, backend: wasm}
eval: {tokens: 256}
sweep:
  sae.architecture: [topk, relu]
`;

const SHORT = LONG.replace("tokens: 100000000", "tokens: 5120").replace(
  "[topk, relu]",
  "[topk, relu, batchtopk]",
);

/** Polls `cond` every 50 ms until it holds; throws after `timeoutMs`. */
async function waitFor(cond: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function runDirs(dir: string): string[] {
  const root = join(dir, "runs", "long");
  try {
    // Run directories only: the sweep keeps its manifest in a hidden .submissions/ beside them.
    return Array.from(Deno.readDirSync(root)).filter((e) => !e.name.startsWith("."))
      .map((e) => join(root, e.name));
  } catch {
    return [];
  }
}

/** Child pids once both runs hold their lock and have logged a metrics line. */
async function trainingPids(dir: string): Promise<number[]> {
  let pids: number[] = [];
  await waitFor(
    async () => {
      const dirs = runDirs(dir);
      if (dirs.length < 2) return false;
      pids = [];
      for (const d of dirs) {
        const lock = await readLock(d);
        const metrics = await Deno.readTextFile(join(d, "metrics.jsonl")).catch(() => "");
        if (!lock || !metrics.trim()) return false;
        pids.push(lock.pid);
      }
      return true;
    },
    120_000,
    "both runs training",
  );
  return pids;
}

function spawnSweep(dir: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--config=${ROOT}deno.json`,
      "-A",
      `${ROOT}tasks/sweep.ts`,
      "long.yaml",
      "--jobs",
      "2",
    ],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function inTempDir(spec: string, fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "long.yaml"), spec);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("sweep counts a Ctrl-C delivered twice at once as one: children checkpoint, summary, exit 130", async () => {
  await inTempDir(LONG, async (dir) => {
    const sweep = spawnSweep(dir);
    const pids = await trainingPids(dir);
    // Two signals sent at once may merge into one in the kernel: send the copy (deno task's
    // forward) as soon as the sweep shows it handled the first.
    const reader = sweep.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let stderr = "";
    sweep.kill("SIGINT");
    while (!stderr.includes("interrupting:")) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += value;
    }
    sweep.kill("SIGINT");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += value;
    }
    const stdout = await new Response(sweep.stdout).text();
    const status = await sweep.status;
    assert.equal(status.code, 130, stderr);
    assert.match(stdout, /0 done, 0 skipped \(already done\), 0 failed, 2 interrupted/);
    assert.match(stderr, /interrupted: .*Re-run the same command to resume/);
    assert.doesNotMatch(stderr, /stopping now/);
    for (const pid of pids) assert.ok(!isProcessAlive(pid), `child ${pid} still runs`);
    for (const d of runDirs(dir)) {
      const manifest = JSON.parse(await Deno.readTextFile(join(d, "run.json")));
      assert.equal(manifest.status, "interrupted");
      await Deno.stat(join(d, "checkpoint", "latest.json"));
    }
  });
});

Deno.test("killing the sweep with SIGKILL stops its children, which checkpoint", async () => {
  await inTempDir(LONG, async (dir) => {
    const sweep = spawnSweep(dir);
    const pids = await trainingPids(dir);
    sweep.kill("SIGKILL");
    await sweep.output();
    await waitFor(
      () => Promise.resolve(pids.every((p) => !isProcessAlive(p))),
      60_000,
      "children exit",
    );
    for (const d of runDirs(dir)) {
      const manifest = JSON.parse(await Deno.readTextFile(join(d, "run.json")));
      assert.equal(manifest.status, "interrupted", d);
    }
  });
});

Deno.test("sweep reports a run another process holds as busy with its pid and exits 0", async () => {
  await inTempDir(SHORT, async (dir) => {
    const dry = await runTask("sweep", ["long.yaml", "--dry-run"], { cwd: dir });
    const held = dry.stdout.split("\n")[2].split(/\s+/)[1]; // the second run's id
    const lock = await acquireRunLock(join(dir, "runs", "long", held));
    try {
      const r = await runTask("sweep", ["long.yaml"], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`${held}\\s+busy\\s+locked by pid ${Deno.pid} on `));
      assert.match(r.stdout, /2 done, 0 skipped \(already done\), 0 failed, 1 busy/);
    } finally {
      await lock.release();
    }
  });
});

Deno.test("two sweeps on one spec at once train each run once and neither fails", async () => {
  await inTempDir(SHORT.replace("tokens: 5120", "tokens: 400000"), async (dir) => {
    const [a, b] = await Promise.all([
      runTask("sweep", ["long.yaml"], { cwd: dir }),
      runTask("sweep", ["long.yaml"], { cwd: dir }),
    ]);
    for (const r of [a, b]) {
      assert.equal(r.code, 0, r.stdout + r.stderr);
      // No row of the results table says failed (the summary line's "0 failed" may end the line
      // when the other sweep finished a run first and this one skipped it).
      assert.doesNotMatch(r.stdout, /^\S+\s+failed\s/m);
      assert.match(r.stdout, /, 0 failed\b/);
    }
    const done = (s: string) => Number(s.match(/^(\d+) done,/m)?.[1] ?? 0);
    assert.equal(done(a.stdout) + done(b.stdout), 3, a.stdout + b.stdout);
    for (const d of runDirs(dir)) await Deno.stat(join(d, "DONE"));
  });
});

Deno.test("run --progress jsonl reports a run another process holds as busy, not failed", async () => {
  await inTempDir(SHORT, async (dir) => {
    const dry = await runTask("sweep", ["long.yaml", "--dry-run"], { cwd: dir });
    const id = dry.stdout.split("\n")[1].split(/\s+/)[1];
    const lock = await acquireRunLock(join(dir, "runs", "long", id));
    try {
      const r = await runTask("run", ["long.yaml", "--run", id, "--progress", "jsonl"], {
        cwd: dir,
      });
      const result = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
      assert.equal(result.status, "busy", r.stdout + r.stderr);
      assert.match(result.error, new RegExp(`locked by pid ${Deno.pid} on `));
    } finally {
      await lock.release();
    }
  });
});
