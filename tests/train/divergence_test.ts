// Tests lib/train/divergence.ts on hand-made statistics, and end to end: a learning rate of 1e6
// blows every architecture up without a NaN; each run must end failed, never done.
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkDivergence, DIVERGENCE_LIMITS } from "../../lib/train/divergence.ts";
import type { StepStats } from "../../lib/engine/engine.ts";
import { loadExperiment } from "../../lib/spec/load.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";
import { trainRun } from "../../lib/train/train_run.ts";
import { DivergenceError } from "../../lib/errors.ts";
import type { RunManifest } from "../../lib/store/records.ts";

function stats(over: Partial<StepStats>): StepStats {
  return { steps: 1, loss: 0.5, terms: {}, l0: 4, fvu: 0.3, nonFinite: [], ...over };
}

Deno.test("checkDivergence() passes healthy statistics and a high FVU during warmup", () => {
  assert.equal(checkDivergence(stats({}), { step: 50, warmupSteps: 10 }), null);
  // A fresh SAE reconstructs worse than the mean (FVU ~3 measured at step 10 of a normal run).
  assert.equal(checkDivergence(stats({ fvu: 3 }), { step: 10, warmupSteps: 10 }), null);
  // Every latent dead but reconstruction as good as the mean: a legitimate (bad) sparse SAE.
  assert.equal(checkDivergence(stats({ l0: 0, fvu: 1 }), { step: 50, warmupSteps: 10 }), null);
});

Deno.test("checkDivergence() names the quantity of non-finite and finite blow-ups", () => {
  const at = { step: 20, warmupSteps: 10 };
  assert.deepEqual(checkDivergence(stats({ nonFinite: ["W_enc", "b_dec"] }), at), {
    quantity: "parameter W_enc, b_dec",
    detail: "is not finite",
  });
  assert.equal(checkDivergence(stats({ loss: NaN }), at)?.quantity, "loss");
  assert.equal(checkDivergence(stats({ fvu: Infinity }), at)?.quantity, "fvu");
  const over = DIVERGENCE_LIMITS.fvuAfterWarmup * 1.01;
  assert.equal(checkDivergence(stats({ fvu: over }), at)?.quantity, "fvu");
  assert.equal(
    checkDivergence(stats({ fvu: 7.5e11 }), at)?.detail,
    "is 7.50e+11, above 10.0 " +
      "(reconstruction far worse than the mean)",
  );
  // Before warmup ends only the absolute limit applies.
  assert.equal(
    checkDivergence(stats({ fvu: 7.5e11 }), { step: 5, warmupSteps: 10 })?.quantity,
    "fvu",
  );
  assert.equal(checkDivergence(stats({ fvu: over }), { step: 5, warmupSteps: 10 }), null);
  assert.equal(checkDivergence(stats({ l0: 0, fvu: 2.5 }), at)?.quantity, "l0");
});

Deno.test("trainRun() marks runs blown up by lr 1e6 failed with the step and quantity, never done", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "blow.yaml");
  await Deno.writeTextFile(
    path,
    `name: blow
data: {source: synthetic, d_model: 8, n_features: 16}
sae: {width: 32}
train: {tokens: 20480, batch_size: 256, lr: 1000000, log_every: 5, checkpoint_every: 10, lr_warmup_steps: 10, backend: wasm}
eval: {tokens: 256}
sweep:
  sae.architecture: [jumprelu, relu, gated, topk, batchtopk]
  sae.target_l0: [4]
`,
  );
  for (const plan of expandSweep(await loadExperiment(path), { outDir: dir })) {
    const arch = plan.config.sae.architecture;
    const err = await trainRun(plan).then(() => undefined, (e) => e);
    assert.ok(err instanceof DivergenceError, `${arch}: expected DivergenceError, got ${err}`);
    assert.ok(err.step >= 5 && err.step <= 20, `${arch}: step ${err.step}`);
    const manifest: RunManifest = JSON.parse(
      await Deno.readTextFile(join(plan.runDir, "run.json")),
    );
    assert.equal(manifest.status, "failed", arch);
    assert.equal(manifest.error?.step, err.step, arch);
    assert.equal(manifest.error?.quantity, err.quantity, arch);
    await assert.rejects(Deno.stat(join(plan.runDir, "DONE")), Deno.errors.NotFound, arch);
  }
  await Deno.remove(dir, { recursive: true });
});
