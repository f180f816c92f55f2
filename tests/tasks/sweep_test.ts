import assert from "node:assert/strict";
import { listTree, ROOT, runTask } from "./_spawn.ts";

const SPEC = `${ROOT}tests/fixtures/specs/tiny.yaml`;
/** `tasks/sweep.ts` spawning the stand-in trainer (tests/fixtures/fake_run.ts) for each run. */
const FAKE_SWEEP = "tests/fixtures/fake_sweep.ts";

/** How many run directories under `dir` hold the fake trainer's checkpoint/WAITING marker. */
async function waitingRuns(dir: string): Promise<number> {
  return (await listTree(dir)).filter((p) => p.endsWith("/checkpoint/WAITING")).length;
}

/** Polls `cond` every 50 ms until it holds; throws after `timeoutMs`. */
async function waitFor(cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function inTempDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("sweep exits 2 with located errors and writes nothing for a bad spec", async () => {
  await inTempDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/bad.yaml`,
      'name: t\ndata: {source: synthetic}\ntrain:\n  lr: "0.1"\n',
    );
    const r = await runTask(FAKE_SWEEP, ["bad.yaml"], { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^error: 1 problem in spec:\nbad.yaml:4:7: train.lr: expected a number > 0/m,
    );
    assert.match(r.stderr, /^hint: /m);
    assert.deepEqual(await listTree(dir), ["bad.yaml"]);
  });
});

Deno.test("sweep --dry-run lists numbered runs with status and writes nothing", async () => {
  await inTempDir(async (dir) => {
    const r = await runTask("sweep", [SPEC, "--dry-run"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.match(lines[0], /^#\s+run id\s+status\s+sae.architecture\s+sae.target_l0\s+train.seed$/);
    assert.match(lines[1], /^0\s+jumprelu-l0_2-s0-[0-9a-f]{8}\s+pending\s+jumprelu\s+2\s+0$/);
    assert.match(lines[4], /^3\s+topk-l0_4-s0-[0-9a-f]{8}\s+pending\s+topk\s+4\s+0$/);
    assert.match(lines[5], /^4 runs: 4 pending/);
    assert.deepEqual(await listTree(dir), []);
  });
});

Deno.test("sweep trains pending runs, then skips them all on a second sweep", async () => {
  await inTempDir(async (dir) => {
    const first = await runTask(FAKE_SWEEP, [SPEC, "--jobs", "2", "--filter", "target_l0=2"], {
      cwd: dir,
    });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /2 done, 0 skipped \(already done\), 0 failed/);
    const tree = await listTree(`${dir}/runs/tiny`);
    assert.equal(tree.filter((p) => p.endsWith("/DONE")).length, 2);
    assert.ok(!tree.some((p) => p.endsWith("/LOCK")), "locks are released");
    const again = await runTask(FAKE_SWEEP, [SPEC, "--filter", "target_l0=2"], { cwd: dir });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^all 2 runs already done$/m);
    const dry = await runTask("sweep", [SPEC, "--dry-run"], { cwd: dir });
    assert.match(dry.stdout, /4 runs: 2 done, 2 pending/);
  });
});

Deno.test("sweep exits 1 and reports the reason when a run fails, continuing with others", async () => {
  await inTempDir(async (dir) => {
    const r = await runTask(
      FAKE_SWEEP,
      [SPEC, "--filter", "seed=0", "--filter", "architecture=topk"],
      { cwd: dir, env: { FAKE_FAIL: "l0_2" } },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stdout,
      /topk-l0_2-s0-\w+\s+failed\s+training diverged at step 1: loss is not finite/,
    );
    assert.match(r.stdout, /1 done, 0 skipped \(already done\), 1 failed/);
  });
});

Deno.test("sweep on SIGINT lets running runs checkpoint, exits 130 and leaves them resumable", async () => {
  await inTempDir(async (dir) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--config=${ROOT}deno.json`,
        "-A",
        `${ROOT}${FAKE_SWEEP}`,
        SPEC,
        "--jobs",
        "2",
      ],
      cwd: dir,
      env: { FAKE_HANG: "1", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let err = "";
    while ((err.match(/start /g) ?? []).length < 2) {
      const { value, done } = await stderr.read();
      if (done) break;
      err += value;
    }
    // Both children listen for the abort once they have written checkpoint/WAITING; the deadline
    // only bounds a broken run, it is not a guess at how long a child takes.
    await waitFor(async () => (await waitingRuns(dir)) === 2, 120_000);
    child.kill("SIGINT");
    for (;;) {
      const { value, done } = await stderr.read();
      if (done) break;
      err += value;
    }
    const out = await new Response(child.stdout).text();
    const status = await child.status;
    assert.equal(status.code, 130, err);
    assert.match(
      err,
      /interrupted: jumprelu-l0_2-s0-\w+, jumprelu-l0_4-s0-\w+; 2 not started\. Re-run/,
    );
    assert.match(out, /0 done, 0 skipped \(already done\), 0 failed, 2 interrupted/);
    const dry = await runTask("sweep", [SPEC, "--dry-run"], { cwd: dir });
    assert.match(dry.stdout, /4 runs: 2 partial, 2 pending/);
  });
});

Deno.test("sweep refuses an unknown --filter key with exit 2", async () => {
  await inTempDir(async (dir) => {
    const r = await runTask("sweep", [SPEC, "--filter", "widht=3"], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /error: --filter key `widht` is not a config key; did you mean `width`\?/,
    );
  });
});

Deno.test("sweep --help and run --help describe every flag and exit 0", async () => {
  await inTempDir(async (dir) => {
    const sweep = await runTask("sweep", ["--help"], { cwd: dir });
    assert.equal(sweep.code, 0);
    for (
      const flag of [
        "--dry-run",
        "--jobs",
        "--backend",
        "--filter",
        "--out",
        "--max-runs",
        "--restart",
        "--force",
      ]
    ) {
      assert.ok(sweep.stdout.includes(flag), flag);
    }
    const run = await runTask("run", ["--help"], { cwd: dir });
    assert.equal(run.code, 0);
    for (const flag of ["--run", "--out", "--backend", "--progress"]) {
      assert.ok(run.stdout.includes(flag), flag);
    }
  });
});

Deno.test("sweep exits 2 and writes nothing when a data file the spec names is missing", async () => {
  await inTempDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/files.yaml`,
      "name: t\ndata: {source: files, path: acts/missing.npy}\nsae: {width: 16, target_l0: 4}\n",
    );
    const r = await runTask(FAKE_SWEEP, ["files.yaml"], { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^error: the data cannot be trained on; nothing trained:\n {2}data\.path: .*acts\/missing\.npy does not exist$/m,
    );
    assert.match(r.stderr, /^hint: paths in a spec are relative to the spec file/m);
    assert.deepEqual(await listTree(dir), ["files.yaml"]);
    const dry = await runTask(FAKE_SWEEP, ["files.yaml", "--dry-run"], { cwd: dir });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stderr, /warning: data\.path: .*missing\.npy does not exist/);
  });
});
