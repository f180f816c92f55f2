// train.lambda.validation_tokens: the L0 controller reads held-out vectors that the final evaluation
// does not use. Checked on the rows each reads (by value, against the source's held-out rows), the
// refusal of too few, and on real training where the held-out data is denser than the training
// data, so only the held-out reading hits the target there.
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
import { controlMask, readHeldout } from "../../lib/train/control_set.ts";
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

Deno.test("controlMask() spreads the controller's rows evenly (interleaved) or puts them last (after)", () => {
  // 5 evaluated + 2 control rows: control row j is floor((j + 1/2) * 7 / 2) = 1 and 5.
  const split = { evalTokens: 5, controlTokens: 2 };
  assert.deepEqual(Array.from(controlMask({ ...split, layout: "interleaved" })), [
    0,
    1,
    0,
    0,
    0,
    1,
    0,
  ]);
  assert.deepEqual(Array.from(controlMask({ ...split, layout: "after" })), [0, 0, 0, 0, 0, 1, 1]);
  // 8192 + 1920 (the stories260K specs): each of 10 equal stretches holds 192 control rows.
  const mask = controlMask({ evalTokens: 8192, controlTokens: 1920, layout: "interleaved" });
  assert.equal(mask.length, 10112);
  for (let s = 0; s < 10; s++) {
    const part = mask.subarray((s * 10112) / 10, ((s + 1) * 10112) / 10);
    assert.equal(part.reduce((a, b) => a + b, 0), 192, `stretch ${s}`);
  }
});

Deno.test("readHeldout() gives the evaluation and the controller disjoint held-out rows, in order, raw", async () => {
  const source = createSyntheticSource(
    SyntheticData.parse({ source: "synthetic", d_model: D, n_features: 64 }),
    { streamSeed: 0 },
  );
  const all = await source.heldout(150);
  const rowsOf = (x: Float32Array) =>
    Array.from({ length: x.length / D }, (_, r) => {
      const i = all.findIndex((_, j) =>
        j % D === 0 && x.subarray(r * D, (r + 1) * D).every((v, k) => v === all[j + k])
      );
      return i / D;
    });
  const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
  for (const layout of ["interleaved", "after"] as const) {
    const split = { evalTokens: 100, controlTokens: 50, layout };
    const { evaluated, control } = await readHeldout(source, { evalTokens: 100, split, what: "x" });
    const controlRows = layout === "after" ? range(100, 150) : range(0, 50).map((j) => 3 * j + 1);
    assert.deepEqual(rowsOf(control!), controlRows, layout);
    assert.deepEqual(
      rowsOf(evaluated),
      range(0, 150).filter((r) => !controlRows.includes(r)),
      layout,
    );
  }
  // No split: the first eval.tokens rows, as before the controller read held-out rows.
  const { evaluated, control } = await readHeldout(source, {
    evalTokens: 100,
    split: null,
    what: "x",
  });
  assert.deepEqual(rowsOf(evaluated), range(0, 100));
  assert.equal(control, null);
});

Deno.test("readHeldout() refuses held-out data too short for eval.tokens + validation_tokens", async () => {
  const dir = await twoShards(vectors(3, 200, 1), vectors(3, 100, 2));
  const source = await openFilesSource(
    FilesData.parse({ source: "files", path: "acts", heldout_fraction: 0.3 }),
    { specDir: dir, streamSeed: 0 },
  );
  try {
    const split = { evalTokens: 80, controlTokens: 50, layout: "interleaved" as const };
    await assert.rejects(
      readHeldout(source, { evalTokens: 80, split, what: "data.path acts" }),
      (err: unknown) => {
        assert.ok(err instanceof DataError);
        assert.match(err.message, /reads 50 held-out vectors beside the 80 .* has 90$/);
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

Deno.test("a run without a controller evaluates around the controller's rows when the spec has them (interleaved)", async () => {
  // TopK trains the same whatever train.lambda says, so only the evaluated rows differ: layout after
  // evaluates the first eval.tokens rows, as a spec without validation_tokens does; interleaved
  // evaluates the others.
  const dir = await Deno.makeTempDir();
  const spec = join(dir, "spec.yaml");
  await Deno.writeTextFile(
    spec,
    `name: split
data: {source: synthetic, d_model: ${D}, n_features: 64, mean_active: 3}
sae: {architecture: topk, width: 32, target_l0: 3}
train: {tokens: 8192, batch_size: 256, lr: 0.003, lr_warmup_steps: 5, checkpoint_every: 1000}
eval: {tokens: 512}
sweep:
  train.lambda.validation_layout: [after, interleaved]
  train.lambda.validation_tokens: [256]
`,
  );
  const plans = expandSweep(await loadExperiment(spec), { outDir: join(dir, "runs") });
  const [after, interleaved] = [await trainRun(plans[0]), await trainRun(plans[1])];
  const none = { ...plans[0], runDir: join(dir, "none"), runId: "none" };
  none.config = structuredClone(plans[0].config);
  delete none.config.train.lambda.validation_tokens;
  const plain = await trainRun(none);
  assert.equal(after.mse, plain.mse);
  assert.notEqual(interleaved.mse, plain.mse);
  assert.equal(interleaved.eval_tokens, 512);
});
