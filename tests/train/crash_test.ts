// Crash tests of the real trainer in a real subprocess (tasks/run.ts, through the test entry
// tests/fixtures/kill_run.ts that installs the fault hook): the process is killed
// with SIGKILL at a training step and at every phase of a checkpoint write, and corrupted
// checkpoints are offered to it; each time a re-run must finish with weights byte-identical to
// an uninterrupted run, falling back to the previous checkpoint (and saying so) when needed.
import assert from "node:assert/strict";
import { join } from "node:path";
import { listTree, ROOT } from "../tasks/_spawn.ts";

const SPEC = `name: crash
data: {source: synthetic, d_model: 8, n_features: 16}
sae: {width: 32, target_l0: 4}
train: {tokens: 10240, batch_size: 256, log_every: 5, checkpoint_every: 10, lr_warmup_steps: 5}
eval: {tokens: 256}
sweep:
  sae.architecture: [jumprelu, topk]
`;

interface Spawned {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

function deno(task: string, args: string[], cwd: string): Promise<Spawned> {
  return denoScript(`${ROOT}tasks/${task}.ts`, args, cwd);
}

async function denoScript(script: string, args: string[], cwd: string): Promise<Spawned> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", `--config=${ROOT}deno.json`, "-A", script, ...args],
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    signal: out.signal,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  } as Spawned;
}

/** Run ids from the sweep's --dry-run table (never hard-coded: the id hash may change). */
async function runIds(dir: string): Promise<string[]> {
  const dry = await deno("sweep", ["spec.yaml", "--dry-run"], dir);
  assert.equal(dry.code, 0, dry.stderr);
  return dry.stdout.split("\n").slice(1).map((l) => l.split(/\s+/)[1]).filter((id) =>
    id && /-/.test(id)
  );
}

const weights = (dir: string, id: string) =>
  Deno.readFile(join(dir, "runs", "crash", id, "sae", "sae_weights.safetensors"));

/**
 * Trains `id` once in `dir`, killed at `kill` (a fault point or a write, see kill_run.ts);
 * asserts SIGKILL and returns stderr.
 */
async function killedAt(dir: string, id: string, kill: string): Promise<string> {
  const r = await denoScript(
    `${ROOT}tests/fixtures/kill_run.ts`,
    [kill, "spec.yaml", "--run", id],
    dir,
  );
  assert.equal(r.signal, "SIGKILL", `${kill}: expected SIGKILL, got exit ${r.code}\n${r.stderr}`);
  return r.stderr;
}

/** metrics.jsonl lines without their timing fields (which differ between runs). */
async function metricsOf(dir: string, id: string): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(join(dir, "runs", "crash", id, "metrics.jsonl"));
  return text.split("\n").filter((l) => l.trim()).map((l) => {
    const { tokens_per_s: _t, elapsed_s: _e, ...rest } = JSON.parse(l);
    return rest;
  });
}

/** Finishes `id` in `dir`; returns stderr (warnings). */
async function finish(dir: string, id: string): Promise<string> {
  const r = await deno("run", ["spec.yaml", "--run", id], dir);
  assert.equal(r.code, 0, r.stderr);
  return r.stderr;
}

async function withDirs(
  fn: (ref: string, dir: string, ids: string[]) => Promise<void>,
  spec = SPEC,
) {
  const ref = await Deno.makeTempDir();
  const dir = await Deno.makeTempDir();
  try {
    for (const d of [ref, dir]) await Deno.writeTextFile(join(d, "spec.yaml"), spec);
    const ids = await runIds(ref);
    assert.equal(ids.length, spec === SPEC ? 2 : 1);
    for (const id of ids) await finish(ref, id);
    await fn(ref, dir, ids);
  } finally {
    await Deno.remove(ref, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a run SIGKILLed at a step or during any checkpoint phase resumes to identical weights", async () => {
  await withDirs(async (ref, dir, ids) => {
    const points = [
      "step:7", // between checkpoints
      "checkpoint-tensors:20", // state file written, latest.json not yet
      "checkpoint-previous:20", // previous.json written, latest.json not yet
      "checkpoint-latest:20", // latest.json written, old state file not yet removed
      "checkpoint-tensors:40", // final checkpoint, before the SAE is exported
    ];
    for (const id of ids) {
      for (const point of points) {
        await killedAt(dir, id, point);
        const ckpt = join(dir, "runs", "crash", id, "checkpoint");
        // Several kills in a row: each resumes from what the previous one left.
        if (point === "checkpoint-tensors:40") {
          const left = await listTree(ckpt);
          assert.ok(left.includes("latest.json"), left.join(","));
        }
      }
      await finish(dir, id);
      assert.deepEqual(await weights(dir, id), await weights(ref, id), `${id}: weights differ`);
      const tree = await listTree(join(dir, "runs", "crash", id));
      assert.ok(!tree.some((p) => p.endsWith(".tmp") || p.includes(".tmp-")), tree.join(","));
      assert.ok(!tree.includes("LOCK"));
    }
  });
});

Deno.test("with the controller reading held-out vectors, a run killed between checkpoints resumes to identical weights and metrics", async () => {
  // validation_tokens: lambda follows the L0 of held-out rows; the reading must not depend on
  // where the run restarted.
  const spec = SPEC.replace(
    "lr_warmup_steps: 5}",
    "lr_warmup_steps: 5, lambda: {validation_tokens: 256}}",
  ).replace("sae.architecture: [jumprelu, topk]", "sae.architecture: [jumprelu]");
  await withDirs(async (ref, dir, [id]) => {
    await killedAt(dir, id, "step:17");
    await killedAt(dir, id, "step:33");
    await finish(dir, id);
    assert.deepEqual(await weights(dir, id), await weights(ref, id));
    const lines = await metricsOf(dir, id);
    assert.deepEqual(lines, await metricsOf(ref, id));
    assert.ok(lines.every((l) => typeof l.l0_validation === "number"), JSON.stringify(lines[0]));
  }, spec);
});

Deno.test("a crash in the middle of any write costs no checkpoint and leaves metrics.jsonl as if never killed", async () => {
  await withDirs(async (ref, dir, ids) => {
    const id = ids[0];
    // In this order, each run resuming from what the previous kill left (40 steps, checkpoints
    // every 10, a metrics line every 5). A writer that is not atomic leaves a half-written file
    // that the next start must either never see or fall back from, which the test refuses.
    const kills = [
      "write:LOCK:1", // the run lock, first thing a run writes
      "write:metrics.jsonl:4", // half of the line of step 15 (the first write empties the file)
      "step:37", // lines of 35 written after the checkpoint at 30: redone on resume
      "write:latest.json:1", // the final checkpoint's pointer (resumed from 30)
      "write:previous.json:1", // the final checkpoint's copy of the old pointer
      "write:state-:1", // the final checkpoint's tensors
      "write:sae_weights:1", // the export, after the final checkpoint
      "write:summary.json:1",
      "write:DONE:1",
    ];
    for (const kill of kills) {
      const stderr = await killedAt(dir, id, kill);
      assert.doesNotMatch(stderr, /resuming from the previous one|no usable checkpoint/, kill);
    }
    const stderr = await finish(dir, id);
    assert.doesNotMatch(stderr, /resuming from the previous one/);
    assert.deepEqual(await weights(dir, id), await weights(ref, id), "weights differ");
    // Every line once, in order, with the values of the uninterrupted run.
    const [got, want] = [await metricsOf(dir, id), await metricsOf(ref, id)];
    assert.deepEqual(got.map((l) => l.step), want.map((l) => l.step));
    assert.deepEqual(got, want);
    const run = join(dir, "runs", "crash", id);
    const manifest = JSON.parse(await Deno.readTextFile(join(run, "run.json")));
    assert.equal(manifest.notes.checkpoint_fallback, undefined);
    const tree = await listTree(run);
    assert.ok(!tree.some((p) => p.endsWith(".tmp") || p.includes(".tmp-")), tree.join(","));
    assert.ok(!tree.includes("LOCK"));
  });
});

Deno.test("a garbled or tampered latest checkpoint falls back to the previous one, saying so", async () => {
  await withDirs(async (ref, dir, ids) => {
    const id = ids[1];
    const ckpt = join(dir, "runs", "crash", id, "checkpoint");
    const tampers: [string, () => Promise<void>, RegExp][] = [
      ["truncated latest.json", async () => {
        const text = await Deno.readTextFile(join(ckpt, "latest.json"));
        await Deno.writeTextFile(join(ckpt, "latest.json"), text.slice(0, 40));
      }, /latest\.json is not valid JSON/],
      ["larger step", async () => {
        const rec = JSON.parse(await Deno.readTextFile(join(ckpt, "latest.json")));
        await Deno.writeTextFile(join(ckpt, "latest.json"), JSON.stringify({ ...rec, step: 40 }));
      }, /latest\.json was modified after it was written/],
      ["garbled tensors", async () => {
        const rec = JSON.parse(await Deno.readTextFile(join(ckpt, "latest.json")));
        const bytes = await Deno.readFile(join(ckpt, rec.tensorsFile));
        bytes[bytes.length - 3] ^= 0xff;
        await Deno.writeFile(join(ckpt, rec.tensorsFile), bytes);
      }, /state-30\.safetensors does not match latest\.json/],
      ["latest.json null", async () => {
        await Deno.writeTextFile(join(ckpt, "latest.json"), "null");
      }, /latest\.json does not hold a checkpoint record/],
    ];
    for (const [what, tamper, message] of tampers) {
      await Deno.remove(join(dir, "runs"), { recursive: true }).catch(() => {});
      await killedAt(dir, id, "step:33"); // checkpoints at 20 (previous) and 30 (latest)
      await tamper();
      const stderr = await finish(dir, id);
      assert.match(stderr, message, what);
      assert.match(stderr, /resuming from the previous one at step 20/, what);
      assert.deepEqual(await weights(dir, id), await weights(ref, id), `${what}: weights differ`);
    }
    // Under a sweep the child's warning reaches the sweep's output, and run.json records it.
    await Deno.remove(join(dir, "runs"), { recursive: true });
    await killedAt(dir, id, "step:33");
    await Deno.writeTextFile(join(ckpt, "latest.json"), "{");
    const sweep = await deno("sweep", ["spec.yaml", "--filter", "architecture=topk"], dir);
    assert.equal(sweep.code, 0, sweep.stderr);
    assert.match(sweep.stderr, /warning: .*resuming from the previous one at step 20/);
    const manifest = JSON.parse(
      await Deno.readTextFile(join(dir, "runs", "crash", id, "run.json")),
    );
    assert.equal(manifest.notes.checkpoint_fallback.resumed_from_step, 20);
    assert.equal(manifest.notes.metrics_lines_dropped, 2); // lines of steps 25 and 30
    assert.deepEqual(await weights(dir, id), await weights(ref, id));
  });
});

Deno.test("a run whose checkpoints are all unusable fails with a hint to --restart, which recovers it", async () => {
  await withDirs(async (ref, dir, ids) => {
    const id = ids[0];
    const ckpt = join(dir, "runs", "crash", id, "checkpoint");
    await killedAt(dir, id, "step:33");
    for (const name of ["latest.json", "previous.json"]) {
      await Deno.writeTextFile(join(ckpt, name), "{garbage");
    }
    const again = await deno("run", ["spec.yaml", "--run", id], dir);
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /no usable checkpoint in .*: latest\.json is not valid JSON/);
    assert.match(
      again.stderr,
      /hint: start the run over: deno task sweep <spec> --restart <run id>/,
    );
    const restarted = await deno(
      "sweep",
      ["spec.yaml", "--restart", id, "--filter", `architecture=${id.split("-")[0]}`],
      dir,
    );
    assert.equal(restarted.code, 0, restarted.stderr);
    assert.match(restarted.stderr, new RegExp(`restarting ${id}`));
    assert.deepEqual(await weights(dir, id), await weights(ref, id));
  });
});
