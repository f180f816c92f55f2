// train.lambda.validation_tokens: the L0 controller reads held-out vectors that the final evaluation
// does not use. Checked on the rows it reads, its refusal of too few, and on real training where the
// held-out data is denser than the training data, so only the held-out reading hits the target there.
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  buildSyntheticModel,
  createSyntheticSource,
  generateSynthetic,
} from "../../lib/data/synthetic.ts";
import { openFilesSource } from "../../lib/data/files.ts";
import { Rng } from "../../lib/data/rng.ts";
import { FilesData, SyntheticData } from "../../lib/spec/schema.ts";
import { encodeNpy } from "../../lib/formats/npy.ts";
import { DataError } from "../../lib/errors.ts";
import { loadControlSet } from "../../lib/train/control_set.ts";
import { loadExperiment } from "../../lib/spec/load.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";
import { trainRun } from "../../lib/train/train_run.ts";

const D = 16;

/** `rows` vectors of a 64-feature synthetic model (seed 7: the same directions for every call). */
function vectors(meanActive: number, rows: number, stream: number): Float32Array {
  const model = buildSyntheticModel(
    SyntheticData.parse({
      source: "synthetic",
      d_model: D,
      n_features: 64,
      mean_active: meanActive,
      seed: 7,
    }),
  );
  return generateSynthetic(model, new Rng(7, stream), { n: rows });
}

/** A files dataset of two shards, the second held out: training rows `a`, held-out rows `b`. */
async function twoShards(a: Float32Array, b: Float32Array): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(join(dir, "acts"));
  for (const [name, x] of [["a.npy", a], ["b.npy", b]] as const) {
    await Deno.writeFile(
      join(dir, "acts", name),
      encodeNpy(x, { shape: [x.length / D, D], dtype: "<f4" }),
    );
  }
  return dir;
}

Deno.test("loadControlSet() reads the held-out rows after eval.tokens, divided by the scale", async () => {
  const source = createSyntheticSource(
    SyntheticData.parse({ source: "synthetic", d_model: D, n_features: 64 }),
    { streamSeed: 0 },
  );
  const x = await loadControlSet(source, {
    evalTokens: 100,
    tokens: 50,
    scale: 4,
    what: "synthetic",
  });
  const all = await source.heldout(150);
  assert.equal(x.length, 50 * D);
  for (let i = 0; i < x.length; i++) assert.equal(x[i], all[100 * D + i] / 4);
});

Deno.test("loadControlSet() refuses held-out data too short for eval.tokens + validation_tokens", async () => {
  const dir = await twoShards(vectors(3, 200, 1), vectors(3, 100, 2));
  const source = await openFilesSource(
    FilesData.parse({ source: "files", path: "acts", heldout_fraction: 0.3 }),
    { specDir: dir, streamSeed: 0 },
  );
  try {
    await assert.rejects(
      loadControlSet(source, { evalTokens: 80, tokens: 50, scale: 1, what: "data.path acts" }),
      (err: unknown) => {
        assert.ok(err instanceof DataError);
        assert.match(err.message, /reads 50 held-out vectors after the 80 .* has 90$/);
        assert.match(err.hint, /at least eval.tokens \+ train.lambda.validation_tokens = 130/);
        return true;
      },
    );
  } finally {
    source.close();
  }
});

Deno.test("with validation_tokens the controller hits the target on held-out data denser than the training data", async () => {
  // Training rows have 3 active features on average, held-out rows 6: a ReLU SAE at the L0 that
  // fits the training batches is far above it on held-out rows.
  const dir = await twoShards(vectors(3, 32768, 1), vectors(6, 32768, 2));
  const spec = join(dir, "spec.yaml");
  await Deno.writeTextFile(
    spec,
    `name: control
data: {source: files, path: acts, heldout_fraction: 0.5, shuffle_buffer: 4096}
sae: {architecture: relu, width: 64, target_l0: 4}
train:
  tokens: 153600
  batch_size: 256
  lr: 0.003
  lr_warmup_steps: 20
  lr_decay_start: 0.85
  log_every: 50
  checkpoint_every: 1000
  lambda: {interval: 10}
eval: {tokens: 4096}
sweep:
  zip:
    - train.lambda.validation_tokens: [4096]
`,
  );
  const [plan] = expandSweep(await loadExperiment(spec), { outDir: join(dir, "runs") });
  const held = await trainRun(plan);
  assert.ok(
    Math.abs(held.l0_rel_error) <= 0.05,
    `held-out reading: held-out L0 ${held.l0} for target 4`,
  );
  const lines = (await Deno.readTextFile(join(plan.runDir, "metrics.jsonl"))).trim().split("\n")
    .map((l) => JSON.parse(l));
  assert.ok(lines.every((l) => typeof l.l0_validation === "number"));

  // The same run reading the training batches: on target there, well above it on held-out rows.
  const batchPlan = { ...plan, runDir: join(dir, "batch"), runId: "batch" };
  batchPlan.config = structuredClone(plan.config);
  delete batchPlan.config.train.lambda.validation_tokens;
  const batch = await trainRun(batchPlan);
  assert.ok(batch.l0_rel_error > 0.2, `batch reading: held-out L0 ${batch.l0} for target 4`);
});
