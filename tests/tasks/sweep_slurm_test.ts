// `deno task sweep --executor slurm` without a cluster: flag checks, the dry-run script with the
// spec's resources and the flags merged, and a clear error where sbatch is missing. The real
// cluster test is tests/executor/slurm_test.ts.
import assert from "node:assert/strict";
import { listTree, ROOT, runTask } from "./_spawn.ts";

const TINY = await Deno.readTextFile(`${ROOT}tests/fixtures/specs/tiny.yaml`);
const SLURM_SECTION =
  `executor:\n  slurm: { partition: short, time: "30", sbatch: ["--qos=low"] }\n`;

async function inSpecDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/tiny.yaml`, TINY + SLURM_SECTION);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("sweep --dry-run --executor slurm prints the script with spec and flag resources merged", async () => {
  await inSpecDir(async (dir) => {
    const r = await runTask("sweep", [
      "tiny.yaml",
      "--dry-run",
      "--executor",
      "slurm",
      "--time",
      "1:00:00",
      "--gres",
      "gpu:1",
      "--sbatch=--account=lab",
      "--max-concurrent",
      "3",
    ], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^4 runs: 4 pending \(dry run/m);
    const options = r.stdout.split("\n").filter((l) => l.startsWith("#SBATCH "));
    for (
      const line of [
        "--array=0-3%3",
        "--partition=short",
        "--time=1:00:00",
        "--gres=gpu:1",
        "--qos=low",
        "--account=lab",
      ]
    ) assert.ok(options.includes(`#SBATCH ${line}`), line);
    assert.match(
      r.stdout,
      / --manifest \S+\/runs\/tiny\/\.submissions\/\S+\/manifest\.json --index /,
    );
    assert.deepEqual(await listTree(dir), ["tiny.yaml"]);
  });
});

Deno.test("sweep refuses Slurm flags without --executor slurm and bad Slurm values, exit 2", async () => {
  await inSpecDir(async (dir) => {
    const local = await runTask("sweep", ["tiny.yaml", "--partition", "gpu", "--wait"], {
      cwd: dir,
    });
    assert.equal(local.code, 2);
    assert.match(local.stderr, /^error: --partition, --wait only apply to --executor slurm$/m);
    const bad = await runTask("sweep", ["tiny.yaml", "--executor", "slurm", "--time", "1h"], {
      cwd: dir,
    });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: bad Slurm option: --time: a Slurm time such as 90/m);
    assert.deepEqual(await listTree(dir), ["tiny.yaml"]);
  });
});

Deno.test("sweep --executor slurm without sbatch exits 2 with a hint and writes nothing", async () => {
  await inSpecDir(async (dir) => {
    const r = await runTask("sweep", ["tiny.yaml", "--executor", "slurm"], {
      cwd: dir,
      env: { PATH: `${dir}/empty` },
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^error: sbatch not found: this machine is not a Slurm submit host$/m);
    assert.match(
      r.stderr,
      /^hint: run the sweep on a cluster login node, or use --executor local$/m,
    );
    assert.deepEqual(await listTree(dir), ["tiny.yaml"]);
  });
});
