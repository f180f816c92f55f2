import assert from "node:assert/strict";
import { runId, sanitizeSlug, slugPart } from "../../lib/sweep/run_id.ts";
import { parseExperiment } from "../../lib/spec/load.ts";
import { resolveRunConfig } from "../../lib/spec/resolve.ts";

Deno.test("slugPart() writes architecture bare, l0_ for target_l0, s for seed, key_value otherwise", () => {
  assert.equal(slugPart("sae.architecture", "jumprelu"), "jumprelu");
  assert.equal(slugPart("sae.target_l0", 32), "l0_32");
  assert.equal(slugPart("train.seed", 0), "s0");
  assert.equal(slugPart("sae.jumprelu.bandwidth", 0.001), "bandwidth_0.001");
  assert.equal(slugPart("train.lr", 7e-5), "lr_0.00007");
  assert.equal(slugPart("data.path", "Data/Acts 1.npy"), "path_data_acts_1.npy");
});

Deno.test("sanitizeSlug() keeps only [a-z0-9_.-]", () => {
  assert.equal(sanitizeSlug("A b/c:d"), "a_b_c_d");
});

Deno.test("runId() changes when any resolved value changes, even an unswept one", () => {
  const { spec } = parseExperiment("name: t\ndata: {source: synthetic}\n", "x.yaml");
  const a = runId(resolveRunConfig(spec, { "train.seed": 0 }), { "train.seed": 0 });
  const b = runId(resolveRunConfig(spec, { "train.seed": 0, "train.lr": 1 }), { "train.seed": 0 });
  assert.match(a, /^s0-[0-9a-f]{8}$/);
  assert.notEqual(a, b);
});
