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

Deno.test("checkDivergence() passes healthy statistics and a fresh SAE's high FVU", () => {
  const at = { step: 50, warmupSteps: 10, widthRatio: 8, bestFvu: 0.3 };
  assert.equal(checkDivergence(stats({}), at), null);
  // The shortened quickstart (width 256, d_model 32) reads FVU 10.4 at its first sync point.
  assert.equal(checkDivergence(stats({ fvu: 10.4 }), { ...at, bestFvu: undefined }), null);
  assert.equal(checkDivergence(stats({ fvu: 10.4 }), { ...at, bestFvu: 10.6 }), null);
  // Every latent dead, reconstruction as good as before: a legitimate (bad) sparse SAE.
  assert.equal(checkDivergence(stats({ l0: 0, fvu: 2.5 }), { ...at, bestFvu: 2.4 }), null);
});

Deno.test("checkDivergence() names the quantity of non-finite and finite blow-ups", () => {
  const at = { step: 20, warmupSteps: 10, widthRatio: 4, bestFvu: 0.5 };
  assert.deepEqual(checkDivergence(stats({ nonFinite: ["W_enc", "b_dec"] }), at), {
    quantity: "parameter W_enc, b_dec",
    detail: "is not finite",
  });
  assert.equal(checkDivergence(stats({ loss: NaN }), at)?.quantity, "loss");
  assert.equal(checkDivergence(stats({ fvu: Infinity }), at)?.quantity, "fvu");
  // Absolute limit: 100 x width / d_model, at any step, even the first reading.
  const first = { step: 5, warmupSteps: 10, widthRatio: 4 };
  assert.equal(checkDivergence(stats({ fvu: 399 }), first), null);
  assert.deepEqual(checkDivergence(stats({ fvu: 7.5e11 }), first), {
    quantity: "fvu",
    detail: "is 7.50e+11, above 400 (reconstruction far worse than the mean)",
  });
  // Rising: above 10 and 10 x the best after warmup; neither alone is enough.
  const rise = DIVERGENCE_LIMITS.rising * 1.5;
  assert.equal(
    checkDivergence(stats({ fvu: 15 }), { ...at, bestFvu: 1 })?.detail,
    "rose to 15.0 from 1.00 (reconstruction far worse than the mean)",
  );
  assert.equal(checkDivergence(stats({ fvu: rise }), { ...at, bestFvu: 2 }), null);
  assert.equal(checkDivergence(stats({ fvu: 9 }), { ...at, bestFvu: 0.1 }), null);
  assert.equal(checkDivergence(stats({ fvu: 15 }), { ...at, step: 10, bestFvu: 1 }), null);
  assert.equal(checkDivergence(stats({ l0: 0, fvu: 2.5 }), { ...at, bestFvu: 1 })?.quantity, "l0");
});

/** The next float64 above x > 0 (one ulp up), by its bits. */
function nextUp(x: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigUint64(0, view.getBigUint64(0) + 1n);
  return view.getFloat64(0);
}

Deno.test("checkDivergence(): the absolute FVU limit holds at 100 x max(1, width / d_model), trips one ulp above", () => {
  const at = (widthRatio: number) => ({ step: 1, warmupSteps: 10, widthRatio });
  assert.equal(checkDivergence(stats({ fvu: 400 }), at(4)), null);
  assert.equal(checkDivergence(stats({ fvu: nextUp(400) }), at(4))?.quantity, "fvu");
  // Narrower than d_model: the limit stays 100, not 100 x 0.5.
  assert.equal(checkDivergence(stats({ fvu: 100 }), at(0.5)), null);
  assert.equal(checkDivergence(stats({ fvu: 60 }), at(0.5)), null);
  assert.equal(checkDivergence(stats({ fvu: nextUp(100) }), at(0.5))?.quantity, "fvu");
  assert.equal(checkDivergence(stats({ fvu: 100 }), at(1)), null);
  assert.equal(checkDivergence(stats({ fvu: nextUp(100) }), at(1))?.quantity, "fvu");
});

Deno.test("checkDivergence(): the rising check needs FVU above 10 and above 10 x the best, each by any margin", () => {
  const at = { step: 11, warmupSteps: 10, widthRatio: 8 };
  // Above 10 x best (best 0.1 -> 1) but exactly 10, then one ulp above 10.
  assert.equal(checkDivergence(stats({ fvu: 10 }), { ...at, bestFvu: 0.1 }), null);
  assert.equal(
    checkDivergence(stats({ fvu: nextUp(10) }), { ...at, bestFvu: 0.1 })?.quantity,
    "fvu",
  );
  // Above 10 but exactly 10 x best (best 2 -> 20), then one ulp above 20.
  assert.equal(checkDivergence(stats({ fvu: 20 }), { ...at, bestFvu: 2 }), null);
  assert.equal(checkDivergence(stats({ fvu: nextUp(20) }), { ...at, bestFvu: 2 })?.quantity, "fvu");
  // The relative checks start the step after warmup ends, and need a best FVU.
  assert.equal(checkDivergence(stats({ fvu: 50 }), { ...at, step: 10, bestFvu: 1 }), null);
  assert.equal(
    checkDivergence(stats({ fvu: 50 }), { ...at, step: 11, bestFvu: 1 })?.quantity,
    "fvu",
  );
  assert.equal(checkDivergence(stats({ fvu: 50 }), { ...at, bestFvu: undefined }), null);
});

Deno.test("checkDivergence(): dead latents need L0 exactly 0, FVU above 2 and above 2 x the best", () => {
  const at = { step: 11, warmupSteps: 10, widthRatio: 8 };
  const dead = (fvu: number, bestFvu: number, l0 = 0) =>
    checkDivergence(stats({ l0, fvu }), { ...at, bestFvu })?.quantity ?? null;
  assert.equal(dead(2, 0.5), null); // exactly 2
  assert.equal(dead(nextUp(2), 0.5), "l0");
  assert.equal(dead(3, 1.5), null); // exactly 2 x best
  assert.equal(dead(nextUp(3), 1.5), "l0");
  assert.equal(dead(5, 1, 2 ** -30), null); // a few latents still fire
  assert.equal(dead(5, 1, 0), "l0");
  assert.equal(
    checkDivergence(stats({ l0: 0, fvu: 5 }), { ...at, step: 10, bestFvu: 1 }),
    null,
  ); // in warmup
});

Deno.test("checkDivergence() treats every non-finite loss and FVU as divergence, finite extremes not", () => {
  const at = { step: 1, warmupSteps: 10, widthRatio: 1 };
  for (const bad of [NaN, Infinity, -Infinity]) {
    assert.equal(checkDivergence(stats({ loss: bad }), at)?.quantity, "loss", `loss ${bad}`);
    assert.equal(checkDivergence(stats({ fvu: bad }), at)?.quantity, "fvu", `fvu ${bad}`);
  }
  assert.equal(checkDivergence(stats({ loss: Number.MAX_VALUE }), at), null);
  assert.equal(checkDivergence(stats({ loss: -1e300, fvu: 0 }), at), null);
  assert.equal(checkDivergence(stats({ nonFinite: ["b_enc"] }), at)?.quantity, "parameter b_enc");
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
