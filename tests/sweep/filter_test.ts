import assert from "node:assert/strict";
import { UsageError } from "../../lib/errors.ts";
import { parseExperiment } from "../../lib/spec/load.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";
import { filterPlans, parseRunFilters } from "../../lib/sweep/filter.ts";

const { spec, axes } = parseExperiment(
  "name: t\ndata: {source: synthetic}\nsweep:\n  sae.architecture: [jumprelu, topk]\n" +
    "  sae.target_l0: [8, 16]\n  train.seed: [0, 1]\n",
  "x.yaml",
);
const plans = expandSweep({ spec, axes, specPath: "x", specDir: "/", specHash: "" }, {
  outDir: "/o",
});

Deno.test("filterPlans() accepts full paths and short keys, ANDing different keys", () => {
  const f = parseRunFilters(["architecture=topk", "target_l0=16", "seed=0"], axes);
  assert.deepEqual(f.map((x) => x.path), ["sae.architecture", "sae.target_l0", "train.seed"]);
  const kept = filterPlans(plans, f);
  assert.equal(kept.length, 1);
  assert.deepEqual(kept[0].overrides, {
    "sae.architecture": "topk",
    "sae.target_l0": 16,
    "train.seed": 0,
  });
  assert.equal(filterPlans(plans, parseRunFilters(["sae.architecture=topk"], axes)).length, 4);
});

Deno.test("filterPlans() ORs repeated values of one key", () => {
  assert.equal(filterPlans(plans, parseRunFilters(["seed=0", "seed=1"], axes)).length, 8);
});

Deno.test("parseRunFilters() refuses an unknown key as a usage error with a suggestion", () => {
  assert.throws(() => parseRunFilters(["widht=3"], axes), (err: unknown) => {
    assert.ok(err instanceof UsageError);
    assert.match(err.message, /not a config key; did you mean `width`\?/);
    return true;
  });
  assert.throws(() => parseRunFilters(["nokey"], axes), UsageError);
});
