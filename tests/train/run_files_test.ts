// Every file a run writes (run.json, metrics.jsonl, checkpoints, sae/, summary.json, DONE, LOCK)
// is either replaced atomically or only appended to, seen through a write interposer
// (../store/_write_spy.ts) over the real trainer, interrupted and resumed: so no reader, and no
// crash at any byte, can meet a torn copy of any of them.
import assert from "node:assert/strict";
import { basename, dirname, join, relative } from "node:path";
import { loadExperiment } from "../../lib/spec/load.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";
import { trainRun } from "../../lib/train/train_run.ts";
import { InterruptedError } from "../../lib/errors.ts";
import { spyWrites, type WriteEvent, writesInPlace } from "../store/_write_spy.ts";
import { listTree } from "../tasks/_spawn.ts";

const SPEC = `name: files
data: {source: synthetic, d_model: 8, n_features: 16}
sae: {width: 32, target_l0: 4, architecture: topk}
train: {tokens: 10240, batch_size: 256, log_every: 5, checkpoint_every: 10, backend: wasm}
eval: {tokens: 256}
`;

/** Temp names of the project's atomic writers (lib/store/atomic.ts, lib/formats/safetensors.ts). */
const TEMP = /^\..+\.[0-9a-z]+\.tmp$|\.tmp-\d+-[0-9a-f]{8}$/;

Deno.test("a run, interrupted and resumed, writes no file in place except appends to metrics.jsonl", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  await Deno.writeTextFile(join(dir, "spec.yaml"), SPEC);
  const [plan] = expandSweep(await loadExperiment(join(dir, "spec.yaml")), {
    outDir: join(dir, "runs"),
  });
  const spy = spyWrites();
  let events: WriteEvent[];
  try {
    const controller = new AbortController();
    await assert.rejects(
      trainRun(plan, {
        signal: controller.signal,
        onProgress: (p) => p.step >= 10 && controller.abort(),
      }),
      InterruptedError,
    );
    await trainRun(plan);
  } finally {
    spy.restore();
    events = spy.events.filter((e) => e.path.startsWith(plan.runDir + "/"));
  }
  const rel = (p: string) => relative(plan.runDir, p);
  const inPlace = events.filter((e) => writesInPlace(e) && !TEMP.test(basename(e.path)));
  // Appends to metrics.jsonl (a torn last line is dropped on resume); LOCK may only be created
  // exclusively in place where hard links are missing (lib/store/lock.ts).
  const allowed = (e: WriteEvent) =>
    (rel(e.path) === "metrics.jsonl" && (e.op === "open" || e.op === "writeFile") && e.append) ||
    (rel(e.path) === "LOCK" && e.op === "open" && e.createNew);
  assert.deepEqual(inPlace.filter((e) => !allowed(e)).map((e) => `${e.op} ${rel(e.path)}`), []);
  // Everything else in the run directory was published by a rename or link of a temp file that
  // sat beside it.
  const published = new Set<string>();
  for (const e of events) {
    if (e.op !== "rename" && e.op !== "link") continue;
    assert.match(basename(e.from), TEMP, `${e.op} ${rel(e.from)} -> ${rel(e.path)}`);
    assert.equal(dirname(e.from), dirname(e.path));
    published.add(rel(e.path));
  }
  const files: string[] = [];
  for (const p of await listTree(plan.runDir)) {
    if (p !== "metrics.jsonl" && (await Deno.stat(join(plan.runDir, p))).isFile) files.push(p);
  }
  assert.deepEqual(files.filter((p) => !published.has(p)), []);
  // The files a finished run must have are among them (the spy saw the whole run).
  for (
    const p of ["run.json", "summary.json", "DONE", "sae/cfg.json", "sae/sae_weights.safetensors"]
  ) {
    assert.ok(files.includes(p), `${p} in ${files.join(", ")}`);
  }
  assert.ok(published.has("LOCK") || inPlace.some((e) => rel(e.path) === "LOCK"), "LOCK written");
  await Deno.remove(dir, { recursive: true });
});
