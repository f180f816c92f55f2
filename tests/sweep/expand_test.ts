import assert from "node:assert/strict";
import { jumpreluOptions } from "../../lib/sae/jumprelu/options.ts";
import fc from "fast-check";
import type { LoadedExperiment } from "../../lib/spec/load.ts";
import { parseExperiment } from "../../lib/spec/load.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";

function loaded(text: string): LoadedExperiment {
  const { spec, axes } = parseExperiment(text, "x.yaml");
  return { spec, axes, specPath: "x.yaml", specDir: "/specs", specHash: "0".repeat(16) };
}

const BASE = "name: t\ndata: {source: synthetic, d_model: 8}\nsae: {width: 64}\n";

Deno.test("expandSweep() yields one run per grid point, last axis fastest", () => {
  const plans = expandSweep(
    loaded(
      BASE +
        "sweep:\n  sae.architecture: [jumprelu, topk]\n  sae.target_l0: [4, 8, 16]\n  train.seed: [0, 1]\n",
    ),
    { outDir: "/out" },
  );
  assert.equal(plans.length, 12);
  assert.deepEqual(plans.slice(0, 3).map((p) => Object.values(p.overrides)), [
    ["jumprelu", 4, 0],
    ["jumprelu", 4, 1],
    ["jumprelu", 8, 0],
  ]);
  assert.deepEqual(plans.map((p) => p.index), [...Array(12).keys()]);
  assert.match(plans[0].runId, /^jumprelu-l0_4-s0-[0-9a-f]{8}$/);
  assert.equal(plans[0].runDir, `/out/t/${plans[0].runId}`);
});

Deno.test("expandSweep() moves zip axes together as one axis", () => {
  const plans = expandSweep(
    loaded(
      BASE +
        "sweep:\n  train.seed: [0, 1]\n  zip:\n    - sae.width: [32, 128]\n      train.lr: [0.1, 0.2]\n",
    ),
    { outDir: "/out" },
  );
  assert.deepEqual(plans.map((p) => [p.config.train.seed, p.config.sae.width, p.config.train.lr]), [
    [0, 32, 0.1],
    [0, 128, 0.2],
    [1, 32, 0.1],
    [1, 128, 0.2],
  ]);
  assert.match(plans[1].runId, /^s0-width_128-lr_0.2-[0-9a-f]{8}$/);
});

Deno.test("expandSweep() resolves the config: overrides applied, experiment named, no sweep/report", () => {
  const [plan] = expandSweep(loaded(BASE + "sweep:\n  sae.jumprelu.bandwidth: [0.05]\n"), {
    outDir: "runs",
  });
  assert.equal(plan.config.experiment, "t");
  assert.equal(jumpreluOptions(plan.config.sae).bandwidth, 0.05);
  assert.equal(jumpreluOptions(plan.config.sae).init_threshold, 0.001);
  assert.deepEqual(Object.keys(plan.config).sort(), ["data", "eval", "experiment", "sae", "train"]);
  assert.ok(plan.runDir.startsWith("/"), "runDir is absolute");
});

Deno.test("expandSweep() of a spec without sweep yields a single run", () => {
  const plans = expandSweep(loaded(BASE), { outDir: "/out" });
  assert.equal(plans.length, 1);
  assert.match(plans[0].runId, /^run-[0-9a-f]{8}$/);
});

const axisValues = fc.uniqueArray(fc.integer({ min: 1, max: 31 }), { minLength: 1, maxLength: 4 });

Deno.test("expandSweep() ids are unique and deterministic; count is the product of axis lengths", () => {
  fc.assert(
    fc.property(
      axisValues,
      fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 3 }),
      fc.subarray(["jumprelu", "relu", "gated", "topk", "batchtopk"], { minLength: 1 }),
      (l0s, seeds, archs) => {
        const text = BASE + "sweep:\n" + `  sae.architecture: [${archs.join(", ")}]\n` +
          `  sae.target_l0: [${l0s.join(", ")}]\n  train.seed: [${seeds.join(", ")}]\n`;
        const a = expandSweep(loaded(text), { outDir: "/out" });
        const b = expandSweep(loaded(text), { outDir: "/elsewhere" });
        assert.equal(a.length, l0s.length * seeds.length * archs.length);
        assert.equal(new Set(a.map((p) => p.runId)).size, a.length);
        assert.deepEqual(a.map((p) => p.runId), b.map((p) => p.runId));
        for (const p of a) assert.match(p.runId, /^[a-z0-9_.-]+-[0-9a-f]{8}$/);
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("expandSweep() ids do not depend on key order or formatting of the spec", () => {
  const a = expandSweep(loaded(BASE + "train: {lr: 0.001, seed: 3}\n"), { outDir: "/o" });
  const b = expandSweep(
    loaded(
      "sae:\n  width: 64\ntrain:\n  seed: 3\n  lr: 1.0e-3\nname: t\ndata: {d_model: 8, source: synthetic}\n",
    ),
    { outDir: "/o" },
  );
  assert.equal(a[0].runId, b[0].runId);
});

Deno.test("expandSweep() trains a TopK run once when a JumpReLU option is crossed with architectures", () => {
  const plans = expandSweep(
    loaded(
      BASE +
        "sweep:\n  sae.architecture: [jumprelu, topk]\n  sae.jumprelu.bandwidth: [0.001, 0.01, 0.1]\n",
    ),
    { outDir: "/out" },
  );
  // Three JumpReLU runs, one TopK run (it does not read sae.jumprelu), indexed in order.
  assert.deepEqual(plans.map((p) => p.runId.replace(/-[0-9a-f]{8}$/, "")), [
    "jumprelu-bandwidth_0.001",
    "jumprelu-bandwidth_0.01",
    "jumprelu-bandwidth_0.1",
    "topk",
  ]);
  assert.deepEqual(plans.map((p) => p.index), [0, 1, 2, 3]);
  assert.equal(new Set(plans.map((p) => p.runDir)).size, 4);
  // Each plan keeps only the swept values its run reads: the TopK run carries no bandwidth.
  assert.deepEqual(plans.map((p) => p.overrides), [
    { "sae.architecture": "jumprelu", "sae.jumprelu.bandwidth": 0.001 },
    { "sae.architecture": "jumprelu", "sae.jumprelu.bandwidth": 0.01 },
    { "sae.architecture": "jumprelu", "sae.jumprelu.bandwidth": 0.1 },
    { "sae.architecture": "topk" },
  ]);
});

Deno.test("expandSweep() merges a swept section into the spec's section instead of replacing it", () => {
  // Issue 28 case 1: `sweep: {sae: [...]}` used to train jumprelu at target 16 (the defaults).
  const plans = expandSweep(
    loaded(
      "name: t\ndata: {source: synthetic, d_model: 8}\n" +
        "sae: {architecture: topk, target_l0: 4, width: 16}\n" +
        "train: {tokens: 20000, lr: 0.003, batch_size: 512}\n" +
        "sweep:\n  sae: [{width: 32}, {width: 64}]\n  train: [{seed: 1}]\n",
    ),
    { outDir: "/out" },
  );
  assert.deepEqual(
    plans.map(({ config: { sae, train } }) => [
      sae.architecture,
      sae.target_l0,
      sae.width,
      train.tokens,
      train.lr,
      train.batch_size,
      train.seed,
    ]),
    [["topk", 4, 32, 20000, 0.003, 512, 1], ["topk", 4, 64, 20000, 0.003, 512, 1]],
  );
});

Deno.test("expandSweep() replaces the data section when a swept map names another source", () => {
  const plans = expandSweep(
    loaded(
      "name: t\ndata: {source: synthetic, d_model: 8}\nsae: {width: 64}\n" +
        "sweep:\n  data: [{d_model: 16}, {source: files, path: x.npy}]\n",
    ),
    { outDir: "/out" },
  );
  assert.deepEqual(plans.map((p) => p.config.data.source), ["synthetic", "files"]);
  assert.equal((plans[0].config.data as { d_model: number }).d_model, 16);
  assert.equal((plans[1].config.data as { path: string }).path, "x.npy");
});
