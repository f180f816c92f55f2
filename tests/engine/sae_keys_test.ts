// The shared `sae` keys are declared once (lib/engine/sae_keys.ts): the spec schema, the registry's
// reserved names and the effective config all follow that declaration.
import assert from "node:assert/strict";
import { saeCoreKeys, saeSharedKeys } from "../../lib/engine/sae_keys.ts";
import { saeSchema } from "../../lib/spec/schema.ts";
import {
  architectureNames,
  getArchitecture,
  registerArchitecture,
} from "../../lib/sae/registry.ts";
import { parseExperiment } from "../../lib/spec/load.ts";
import { resolveRunConfig } from "../../lib/spec/resolve.ts";
import { effectiveConfig } from "../../lib/sweep/effective_config.ts";

Deno.test("the spec's sae section is architecture, the shared keys, then one section per architecture", () => {
  assert.deepEqual(saeSharedKeys(), ["width", "target_l0", "pre_encoder_bias", "b_dec_init"]);
  assert.deepEqual(Object.keys(saeSchema().parse({})), [
    "architecture",
    ...saeSharedKeys(),
    ...architectureNames(),
  ]);
});

Deno.test("registerArchitecture() refuses every shared key as a name", () => {
  const topk = getArchitecture("topk");
  for (const key of ["architecture", ...saeSharedKeys()]) {
    assert.throws(() => registerArchitecture({ ...topk, name: key }), /not a shared key/, key);
  }
});

Deno.test("effectiveConfig() keeps the core keys always and the other shared keys only where used", () => {
  const { spec } = parseExperiment("name: t\ndata: {source: synthetic}\n", "x.yaml");
  for (const name of architectureNames()) {
    const arch = getArchitecture(name);
    const sae = effectiveConfig(resolveRunConfig(spec, { "sae.architecture": name })).sae;
    assert.deepEqual(
      Object.keys(sae),
      ["architecture", ...saeCoreKeys(), ...arch.uses, name],
      name,
    );
  }
  assert.deepEqual(saeCoreKeys(), ["width", "target_l0"]);
});
