// Issue 28 cases 2 and 3: a run resumed, repaired or found finished on data files that changed
// since it read them is refused (exit 2, the file named, --restart as the fix, nothing written);
// --dry-run shows it as stale. The real trainer in subprocesses (kill_run.ts stops it at a step).
import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeNpy } from "../../lib/formats/npy.ts";
import { ROOT, runTask } from "./_spawn.ts";
import { rows } from "../corpus/cases.ts";

const SPEC = `name: c
data: {source: files, path: acts.npy}
sae: {width: 16, target_l0: 4, architecture: topk}
train: {tokens: 10240, batch_size: 256, log_every: 5, checkpoint_every: 10, lr_warmup_steps: 5}
eval: {tokens: 128}
`;

/** 3000 rows of width 8; `shift` changes every value but not the shape or the file size. */
function acts(shift: number): Uint8Array {
  const x = rows(3000, 8).map((v) => v + shift);
  return encodeNpy(x, { shape: [3000, 8], dtype: "<f4" });
}

async function inTempDir(fn: (dir: string, id: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "spec.yaml"), SPEC);
    await Deno.writeFile(join(dir, "acts.npy"), acts(0));
    const dry = await runTask("sweep", ["spec.yaml", "--dry-run"], { cwd: dir });
    await fn(dir, dry.stdout.split("\n")[1].split(/\s+/)[1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Every file under `dir` with its bytes, to show that a refusal wrote nothing. */
async function contents(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) Object.assign(out, await contents(path));
    else out[path] = (await Deno.readFile(path)).join(",");
  }
  return out;
}

async function interruptAtStep10(dir: string, id: string): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--config=${ROOT}deno.json`,
      "-A",
      `${ROOT}tests/fixtures/kill_run.ts`,
      "step:13",
      "spec.yaml",
      "--run",
      id,
    ],
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(out.signal, "SIGKILL", new TextDecoder().decode(out.stderr));
}

Deno.test("a run does not resume on data files whose bytes changed since its checkpoint", async () => {
  await inTempDir(async (dir, id) => {
    await interruptAtStep10(dir, id);
    await Deno.writeFile(join(dir, "acts.npy"), acts(0.5)); // same shape and size, other values
    const runs = join(dir, "runs");
    const before = await contents(runs);
    const run = await runTask("run", ["spec.yaml", "--run", id], { cwd: dir });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /acts\.npy: content changed \(same size, other bytes\)/);
    assert.match(run.stderr, new RegExp(`hint: .*--restart ${id}`));
    const sweep = await runTask("sweep", ["spec.yaml"], { cwd: dir });
    assert.equal(sweep.code, 2, sweep.stderr);
    assert.match(sweep.stderr, new RegExp(`${id}: .*acts\\.npy: content changed`));
    const dry = await runTask("sweep", ["spec.yaml", "--dry-run"], { cwd: dir });
    assert.match(dry.stdout, new RegExp(`${id}\\s+stale`));
    assert.deepEqual(await contents(runs), before, "a refused run wrote nothing");
  });
});

Deno.test("a finished run whose data file changed shows stale, is refused, and --restart retrains it", async () => {
  await inTempDir(async (dir, id) => {
    const first = await runTask("sweep", ["spec.yaml"], { cwd: dir });
    assert.equal(first.code, 0, first.stderr);
    await Deno.writeFile(join(dir, "acts.npy"), acts(0.5).subarray(0, 128 + 2000 * 8 * 4));
    // The header still says 3000 rows: a shorter file is refused when read; compare sizes first.
    const dry = await runTask("sweep", ["spec.yaml", "--dry-run"], { cwd: dir });
    assert.match(dry.stdout, new RegExp(`${id}\\s+stale`));
    assert.match(dry.stderr, /acts\.npy: size changed from \d+ to \d+ bytes/);
    await Deno.writeFile(join(dir, "acts.npy"), acts(0.5));
    const again = await runTask("sweep", ["spec.yaml"], { cwd: dir });
    assert.equal(again.code, 2, again.stdout + again.stderr);
    assert.doesNotMatch(again.stdout, /already done/);
    assert.match(again.stderr, /content changed/);
    const restarted = await runTask("sweep", ["spec.yaml", "--restart", id], { cwd: dir });
    assert.equal(restarted.code, 0, restarted.stderr);
    const done = await runTask("sweep", ["spec.yaml", "--dry-run"], { cwd: dir });
    assert.match(done.stdout, new RegExp(`${id}\\s+done`));
  });
});

Deno.test("deno task run refuses eval.tokens beyond the held-out rows before training (exit 2)", async () => {
  await inTempDir(async (dir, _id) => {
    // 3000 rows, heldout_fraction 0.05: ceil(150) held out, fewer than the 2048 asked for.
    await Deno.writeTextFile(
      join(dir, "spec.yaml"),
      SPEC.replace("eval: {tokens: 128}", "eval: {tokens: 2048}"),
    );
    const dry = await runTask("sweep", ["spec.yaml", "--dry-run"], { cwd: dir });
    const id = dry.stdout.split("\n")[1].split(/\s+/)[1];
    const r = await runTask("run", ["spec.yaml", "--run", id], { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /eval\.tokens: 2048 held-out vectors asked for, but .* has only 150/);
    const runDir = join(dir, "runs", "c", id);
    assert.deepEqual([...Deno.readDirSync(runDir)].map((e) => e.name), [], "nothing trained");
  });
});
