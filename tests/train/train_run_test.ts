// Tests lib/train/train_run.ts end to end on tiny synthetic specs: checkpoint/resume gives the same
// final weights as an uninterrupted run, divergence keeps the last good checkpoint and marks the
// run failed, a finished run is not retrained, and the run directory describes itself.
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadExperiment } from "../../lib/spec/load.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";
import { trainRun } from "../../lib/train/train_run.ts";
import type { RunPlan } from "../../lib/sweep/plan.ts";
import { DivergenceError, InterruptedError } from "../../lib/errors.ts";
import type { RunManifest, RunSummary } from "../../lib/store/records.ts";
import { loadCheckpoint } from "../../lib/train/checkpoint.ts";
import { createSyntheticSource } from "../../lib/data/synthetic.ts";
import { writeNpy } from "../../lib/formats/npy.ts";
import { SyntheticData } from "../../lib/spec/schema.ts";

const SPEC = `
name: resume
data: {source: synthetic, d_model: 8, n_features: 24, mean_active: 3}
sae: {width: 16, jumprelu: {threshold_param: linear}}
train:
  tokens: 10240
  batch_size: 256
  lr: 0.003
  lr_warmup_steps: 4
  log_every: 5
  checkpoint_every: 10
  backend: wasm
  lambda: {interval: 5, freeze_at: 0.8}
eval: {tokens: 512}
sweep:
  sae.architecture: [jumprelu, relu, gated, topk, batchtopk]
  sae.target_l0: [3]
`;

async function plansIn(outDir: string, spec = SPEC): Promise<RunPlan[]> {
  const path = join(outDir, "spec.yaml");
  await Deno.writeTextFile(path, spec);
  return expandSweep(await loadExperiment(path), { outDir });
}

const read = (p: string) => Deno.readFile(p);

Deno.test("trainRun() resumed after an interruption ends with the same weights as an uninterrupted run", async () => {
  const a = await Deno.makeTempDir();
  const b = await Deno.makeTempDir();
  const plansA = await plansIn(a);
  const plansB = await plansIn(b);
  for (let i = 0; i < plansA.length; i++) {
    const full = await trainRun(plansA[i]);
    const controller = new AbortController();
    await assert.rejects(
      trainRun(plansB[i], {
        onProgress: (p) => p.step >= 12 && controller.abort(),
        signal: controller.signal,
      }),
      InterruptedError,
    );
    const manifest: RunManifest = JSON.parse(
      await Deno.readTextFile(join(plansB[i].runDir, "run.json")),
    );
    assert.equal(manifest.status, "interrupted");
    const ckpt = await loadCheckpoint(join(plansB[i].runDir, "checkpoint"));
    assert.equal(ckpt?.meta.step, 15, "checkpoint at the first sync point after the abort");
    const resumed = await trainRun(plansB[i]);
    const arch = plansA[i].config.sae.architecture;
    assert.deepEqual(
      await read(join(plansB[i].runDir, "sae", "sae_weights.safetensors")),
      await read(join(plansA[i].runDir, "sae", "sae_weights.safetensors")),
      `${arch}: weights differ after resume`,
    );
    for (const k of ["l0", "fvu", "mse", "dead_frac", "lambda"] as (keyof RunSummary)[]) {
      assert.equal(resumed[k], full[k], `${arch}: ${k}`);
    }
    const lines = (await Deno.readTextFile(join(plansB[i].runDir, "metrics.jsonl"))).trim().split(
      "\n",
    );
    assert.deepEqual(lines.map((l) => JSON.parse(l).step), [5, 10, 15, 20, 25, 30, 35, 40]);
  }
});

Deno.test("trainRun() skips a finished run and describes it in run.json and sae/cfg.json", async () => {
  const dir = await Deno.makeTempDir();
  const [plan] = await plansIn(dir);
  const first = await trainRun(plan);
  const doneBefore = await Deno.readTextFile(join(plan.runDir, "DONE"));
  const second = await trainRun(plan);
  assert.deepEqual(second, first);
  assert.equal(await Deno.readTextFile(join(plan.runDir, "DONE")), doneBefore);
  const manifest: RunManifest = JSON.parse(await Deno.readTextFile(join(plan.runDir, "run.json")));
  assert.equal(manifest.status, "done");
  assert.equal(manifest.backend?.used, "wasm");
  assert.ok(manifest.norm_scale && manifest.norm_scale > 0);
  assert.equal(manifest.config.sae.architecture, "jumprelu");
  assert.ok(Array.isArray(manifest.notes?.lambda_trajectory));
  const cfg = JSON.parse(await Deno.readTextFile(join(plan.runDir, "sae", "cfg.json")));
  assert.equal(cfg.architecture, "jumprelu");
  assert.equal(cfg.d_in, 8);
  assert.equal(cfg.d_sae, 16);
  assert.equal(first.l0_target, 3);
  assert.ok(first.fvu > 0 && first.fvu < 1.5);
  assert.ok(first.mmcs !== undefined && first.mmcs > 0);
});

Deno.test("trainRun() stops a diverging run, names the step and keeps the last good checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  const [plan] = await plansIn(dir);
  const controller = new AbortController();
  await assert.rejects(
    trainRun(plan, {
      onProgress: (p) => p.step >= 10 && controller.abort(),
      signal: controller.signal,
    }),
    InterruptedError,
  );
  // Same run directory, absurd learning rate: parameters overflow on the first resumed steps.
  const bad: RunPlan = {
    ...plan,
    config: { ...plan.config, train: { ...plan.config.train, lr: 1e38, lr_warmup_steps: 0 } },
  };
  const err = await trainRun(bad).then(() => undefined, (e) => e);
  assert.ok(err instanceof DivergenceError, `expected DivergenceError, got ${err}`);
  assert.ok(err.step > 10 && err.step <= 15, `step ${err.step}`);
  assert.match(err.message, /not finite/);
  const manifest: RunManifest = JSON.parse(await Deno.readTextFile(join(plan.runDir, "run.json")));
  assert.equal(manifest.status, "failed");
  assert.equal(manifest.error?.step, err.step);
  const ckpt = await loadCheckpoint(join(plan.runDir, "checkpoint"));
  assert.equal(ckpt?.meta.step, 10);
  assert.ok(Object.values(ckpt!.snapshot.params).every((t) => t.data.every(Number.isFinite)));
  await assert.rejects(Deno.stat(join(plan.runDir, "DONE")));
});

Deno.test("trainRun() trains from a user's .npy activations (files source, path relative to the spec)", async () => {
  const dir = await Deno.makeTempDir();
  // 6,000 activation vectors of width 8 from the synthetic generator, saved as float16 .npy.
  const synthetic = createSyntheticSource(
    SyntheticData.parse({ source: "synthetic", d_model: 8, n_features: 24, mean_active: 3 }),
    { streamSeed: 0 },
  );
  const rows = await synthetic.nextBatch(6000);
  await Deno.mkdir(join(dir, "acts"));
  await writeNpy(join(dir, "acts", "layer3.npy"), rows, { shape: [6000, 8], dtype: "<f2" });
  const spec = SPEC.replace(
    "data: {source: synthetic, d_model: 8, n_features: 24, mean_active: 3}",
    "data: {source: files, path: acts/layer3.npy, heldout_fraction: 0.1, shuffle_buffer: 2048}",
  ).replace(
    "sae.architecture: [jumprelu, relu, gated, topk, batchtopk]",
    "sae.architecture: [topk]",
  )
    .replace("eval: {tokens: 512}", "eval: {tokens: 600}");
  const [plan] = await plansIn(dir, spec);
  const summary = await trainRun(plan);
  assert.equal(summary.d_model, 8);
  assert.equal(summary.eval_tokens, 600);
  assert.ok(Math.abs(summary.l0 - 3) < 0.1, `l0 ${summary.l0}`);
  assert.ok(summary.fvu < 0.9, `fvu ${summary.fvu}`);
  assert.equal(summary.mmcs, undefined, "no ground truth for file data");
  const manifest: RunManifest = JSON.parse(await Deno.readTextFile(join(plan.runDir, "run.json")));
  assert.match(JSON.stringify(manifest.notes?.data), /layer3\.npy/);
});
