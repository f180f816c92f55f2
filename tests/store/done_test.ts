// Tests lib/store/done.ts with the real trainer: DONE lists the files of a finished run, a run
// whose files were deleted or garbled is reported damaged (not done) and repaired from its final
// checkpoint to identical weights; resuming removes temp files of interrupted writes and says
// which metrics lines it dropped.
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadExperiment } from "../../lib/spec/load.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";
import { trainRun } from "../../lib/train/train_run.ts";
import { runStatus } from "../../lib/store/run_dir.ts";
import { DONE_FILES, readDone, verifyDone } from "../../lib/store/done.ts";
import { InterruptedError } from "../../lib/errors.ts";
import { listTree, runTask } from "../tasks/_spawn.ts";
import { loadRuns } from "../../lib/report/load_runs.ts";

const SPEC = `name: done
data: {source: synthetic, d_model: 8, n_features: 16}
sae: {width: 32, target_l0: 4, architecture: topk}
train: {tokens: 10240, batch_size: 256, log_every: 5, checkpoint_every: 10, backend: wasm}
eval: {tokens: 256}
`;

async function onePlan(dir: string) {
  await Deno.writeTextFile(join(dir, "spec.yaml"), SPEC);
  const [plan] = expandSweep(await loadExperiment(join(dir, "spec.yaml")), {
    outDir: join(dir, "runs"),
  });
  return plan;
}

Deno.test("a finished run whose files were deleted or garbled is damaged, then repaired to the same weights", async () => {
  const dir = await Deno.makeTempDir();
  const plan = await onePlan(dir);
  await trainRun(plan);
  const done = await readDone(plan.runDir);
  assert.deepEqual(Object.keys(done?.files ?? {}), [...DONE_FILES]);
  assert.equal(await runStatus(plan.runDir), "done");
  const weightsPath = join(plan.runDir, "sae", "sae_weights.safetensors");
  const weights = await Deno.readFile(weightsPath);
  // Timing fields include the (short) repair; every metric must be the same.
  const metrics = async () => {
    const { tokens_per_s: _t, train_seconds: _s, ...rest } = JSON.parse(
      await Deno.readTextFile(join(plan.runDir, "summary.json")),
    );
    return rest;
  };
  const summary = await metrics();

  await Deno.remove(join(plan.runDir, "sae"), { recursive: true });
  assert.equal(await runStatus(plan.runDir), "damaged");
  assert.deepEqual(await verifyDone(plan.runDir, done!), [
    "sae/cfg.json is missing",
    "sae/sae_weights.safetensors is missing",
  ]);
  const dry = await runTask("sweep", ["spec.yaml", "--dry-run"], { cwd: dir });
  assert.match(dry.stdout, /1 runs: 1 damaged/);
  const report = await loadRuns([join(dir, "runs", "done")]);
  assert.equal((report.table.objects()[0] as { status: string }).status, "damaged");
  assert.match(
    report.problems.map((p) => p.message).join("\n"),
    /finished run is damaged: sae\/cfg\.json is missing; sae\/sae_weights\.safetensors is missing/,
  );
  const warnings: string[] = [];
  await trainRun(plan, { onWarning: (m) => warnings.push(m) });
  assert.match(warnings.join("\n"), /was done but sae\/cfg\.json is missing; .*repairing it/);
  assert.deepEqual(await Deno.readFile(weightsPath), weights);
  assert.equal(await runStatus(plan.runDir), "done");

  await Deno.writeTextFile(join(plan.runDir, "summary.json"), "{garbage");
  assert.equal(await runStatus(plan.runDir), "damaged");
  await trainRun(plan);
  assert.deepEqual(await metrics(), summary);
  assert.deepEqual(await Deno.readFile(weightsPath), weights);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("resuming removes temp files of interrupted writes and names the metrics lines it drops", async () => {
  const dir = await Deno.makeTempDir();
  const plan = await onePlan(dir);
  const controller = new AbortController();
  await assert.rejects(
    trainRun(plan, {
      signal: controller.signal,
      onProgress: (p) => p.step >= 10 && controller.abort(),
    }),
    InterruptedError,
  );
  // What a process killed mid-write leaves: temp files of atomic writes, a metrics line past
  // the checkpoint (step 10).
  await Deno.writeTextFile(join(plan.runDir, ".summary.json.1a2b3c.tmp"), "{");
  await Deno.writeTextFile(join(plan.runDir, "checkpoint", ".latest.json.zz9.tmp"), "{");
  await Deno.mkdir(join(plan.runDir, "sae"));
  await Deno.writeTextFile(join(plan.runDir, "sae", "sae_weights.safetensors.tmp-77-0123abcd"), "");
  const line = JSON.stringify({ step: 15, tokens: 3840, loss: 1 });
  await Deno.writeTextFile(join(plan.runDir, "metrics.jsonl"), line + "\n", { append: true });
  const warnings: string[] = [];
  await trainRun(plan, { onWarning: (m) => warnings.push(m) });
  const tree = await listTree(plan.runDir);
  assert.deepEqual(tree.filter((p) => /\.tmp/.test(p)), []);
  assert.match(
    warnings.join("\n"),
    /resuming at step 10; dropped 1 metrics\.jsonl line written after/,
  );
  await Deno.remove(dir, { recursive: true });
});
