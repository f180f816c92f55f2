// Issue 28 case 6: DONE does not list run.json (it is rewritten as a run goes), so a finished run
// whose run.json is truncated must still show as damaged and be repaired from its final
// checkpoint, like a damaged summary.json. The real trainer.
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadExperiment } from "../../lib/spec/load.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";
import { trainRun } from "../../lib/train/train_run.ts";
import { finishedRun, runStatus } from "../../lib/store/run_dir.ts";
import { runTask } from "../tasks/_spawn.ts";

const SPEC = `name: rj
data: {source: synthetic, d_model: 8, n_features: 16}
sae: {width: 32, target_l0: 4, architecture: topk}
train: {tokens: 5120, batch_size: 256, log_every: 5, checkpoint_every: 10, backend: wasm}
eval: {tokens: 256}
`;

Deno.test("a finished run with a truncated run.json is damaged, then repaired to the same weights", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "spec.yaml"), SPEC);
    const [plan] = expandSweep(await loadExperiment(join(dir, "spec.yaml")), {
      outDir: join(dir, "runs"),
    });
    await trainRun(plan);
    const manifestPath = join(plan.runDir, "run.json");
    const weightsPath = join(plan.runDir, "sae", "sae_weights.safetensors");
    const weights = await Deno.readFile(weightsPath);
    const text = await Deno.readTextFile(manifestPath);
    await Deno.writeTextFile(manifestPath, text.slice(0, text.length / 2));
    assert.equal(await runStatus(plan.runDir), "damaged");
    assert.deepEqual(await finishedRun(plan.runDir), { damage: ["run.json is unreadable"] });
    const dry = await runTask("sweep", ["spec.yaml", "--dry-run"], { cwd: dir });
    assert.match(dry.stdout, /1 runs: 1 damaged/);
    const warnings: string[] = [];
    await trainRun(plan, { onWarning: (m) => warnings.push(m) });
    assert.match(warnings.join("\n"), /was done but run\.json is unreadable; repairing it/);
    assert.equal(JSON.parse(await Deno.readTextFile(manifestPath)).status, "done");
    assert.deepEqual(await Deno.readFile(weightsPath), weights);
    assert.equal(await runStatus(plan.runDir), "done");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
