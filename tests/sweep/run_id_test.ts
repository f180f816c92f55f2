import assert from "node:assert/strict";
import { runId, sanitizeSlug, slugPart } from "../../lib/sweep/run_id.ts";
import { parseExperiment } from "../../lib/spec/load.ts";
import { resolveRunConfig } from "../../lib/spec/resolve.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";
import { effectiveConfig, RUN_ID_SCHEME } from "../../lib/sweep/effective_config.ts";
import { ROOT } from "../tasks/_spawn.ts";

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

Deno.test("runId() changes when a value the run reads changes, even an unswept one", () => {
  const { spec } = parseExperiment("name: t\ndata: {source: synthetic}\n", "x.yaml");
  const id = (overrides: Record<string, unknown>) =>
    runId(effectiveConfig(resolveRunConfig(spec, overrides)), { "train.seed": 0 });
  const a = id({ "train.seed": 0 });
  const b = id({ "train.seed": 0, "train.lr": 1 });
  assert.match(a, /^s0-[0-9a-f]{8}$/);
  assert.notEqual(a, b);
});

const GOLDEN_SPEC = `name: golden
data: { source: synthetic, d_model: 32, n_features: 256, mean_active: 6 }
sae: { width: 256 }
train: { tokens: 100000, batch_size: 1024, lr: 0.003 }
sweep:
  sae.architecture: [jumprelu, relu, gated, topk, batchtopk]
  sae.target_l0: [8]
`;

function ids(text: string): string[] {
  const parsed = parseExperiment(text, "golden.yaml");
  const loaded = { ...parsed, specPath: "golden.yaml", specDir: "/tmp", specHash: "0" };
  return expandSweep(loaded, { outDir: "/tmp/runs" }).map((p) => p.runId);
}

Deno.test("a sweep resolves each grid point once: the spec's checks resolve, expandSweep reuses", () => {
  const parsed = parseExperiment(GOLDEN_SPEC, "golden.yaml");
  assert.equal(parsed.configs.length, 5);
  const loaded = { ...parsed, specPath: "golden.yaml", specDir: "/tmp", specHash: "0" };
  const plans = expandSweep(loaded, { outDir: "/tmp/runs" });
  // The very objects the checks resolved (not equal copies), and run.json's effective config
  // is the one the id hashed.
  plans.forEach((p, i) => assert.equal(p.config, parsed.configs[i]));
  for (const p of plans) assert.equal(runId(p.effective!, p.overrides), p.runId);
  assert.deepEqual(plans.map((p) => p.effective), plans.map((p) => effectiveConfig(p.config)));
});

Deno.test("run ids of a fixed spec are pinned (scheme 2: effective config)", () => {
  // These change only when the hash scheme changes (then RUN_ID_SCHEME goes up) or when a
  // default that the architecture reads changes: both rename finished runs, on purpose. The
  // penalty runs were renamed when the L0 controller's defaults changed (gain 0.3, derivative
  // horizon from the learning rate, freeze at 0.95), again when lambda got its bounds
  // (train.lambda.max_drop 30), and again when train.lambda.mode became normalized; the k runs
  // kept their ids. A spec that says mode controller keeps the ids of before that default.
  assert.equal(RUN_ID_SCHEME, 2);
  assert.deepEqual(ids(GOLDEN_SPEC), [
    "jumprelu-l0_8-6e9b15c4",
    "relu-l0_8-cba3234d",
    "gated-l0_8-171b4576",
    "topk-l0_8-a8c53adb",
    "batchtopk-l0_8-668c213d",
  ]);
  assert.deepEqual(
    ids(GOLDEN_SPEC.replace("lr: 0.003 }", "lr: 0.003, lambda: { mode: controller } }")),
    [
      "jumprelu-l0_8-6fbacf43",
      "relu-l0_8-111276d3",
      "gated-l0_8-c08dc62a",
      "topk-l0_8-a8c53adb",
      "batchtopk-l0_8-668c213d",
    ],
  );
});

Deno.test("another architecture's options and unread shared keys leave a run id unchanged", () => {
  const base = ids(GOLDEN_SPEC);
  const withJumpRelu = ids(GOLDEN_SPEC.replace(
    "sae: { width: 256 }",
    "sae: { width: 256, jumprelu: { bandwidth: 0.05 }, topk: { aux_alpha: 0.5 } }",
  ));
  // Only jumprelu and topk read those options.
  assert.deepEqual(
    base.map((id, i) => id === withJumpRelu[i]),
    [false, true, true, false, true],
  );
  // relu does not read pre_encoder_bias; the others do.
  const noBias = ids(
    GOLDEN_SPEC.replace("sae: { width: 256 }", "sae: { width: 256, pre_encoder_bias: false }"),
  );
  assert.deepEqual(base.map((id, i) => id === noBias[i]), [false, true, false, false, false]);
  // The lambda schedule matters to penalty architectures only.
  const lambda = ids(GOLDEN_SPEC.replace("lr: 0.003 }", "lr: 0.003, lambda: { freeze_at: 0.5 } }"));
  assert.deepEqual(base.map((id, i) => id === lambda[i]), [false, false, false, true, true]);
});

/**
 * Run ids of `spec` after `registration` (code run before expanding), in a subprocess: the
 * registry is process-wide and other tests read its contents.
 */
async function idsAfter(registration: string, spec: string): Promise<string[]> {
  const script = `
    import { registerArchitecture, getArchitecture } from "${ROOT}lib/sae/registry.ts";
    import { parseExperiment } from "${ROOT}lib/spec/load.ts";
    import { expandSweep } from "${ROOT}lib/sweep/expand.ts";
    import { TopKOptions } from "${ROOT}lib/sae/topk/options.ts";
    import { z } from "zod";
    ${registration}
    const loaded = { ...parseExperiment(${
    JSON.stringify(spec)
  }, "g.yaml"), specPath: "g.yaml", specDir: "/", specHash: "0" };
    console.log(JSON.stringify(expandSweep(loaded, { outDir: "/runs" }).map((p) => p.runId)));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", `--config=${ROOT}deno.json`, script],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assert.equal(out.code, 0, dec.decode(out.stderr));
  return JSON.parse(dec.decode(out.stdout));
}

Deno.test("registering another architecture leaves existing run ids unchanged", async () => {
  const registration = `registerArchitecture({
    ...getArchitecture("topk"),
    name: "topk_copy",
    options: z.strictObject({ extra: z.number().default(3).describe("an extra option") }),
  });`;
  assert.deepEqual(await idsAfter(registration, GOLDEN_SPEC), ids(GOLDEN_SPEC));
});

/** The run id of a one-run spec of a probe architecture (TopK's maths) with `options` (zod). */
async function probeId(options: string, version = 1): Promise<string> {
  const registration = `registerArchitecture({ ...getArchitecture("topk"), name: "probe", ` +
    `options: ${options}, defaultsVersion: ${version} });`;
  const spec = "name: p\ndata: {source: synthetic}\nsae: {architecture: probe}\n";
  return (await idsAfter(registration, spec))[0];
}

Deno.test("adding an option whose default keeps the behaviour renames no run; a defaultsVersion bump does", async () => {
  const before = await probeId("TopKOptions");
  const added = await probeId(
    'TopKOptions.extend({ new_knob: z.number().default(0).describe("a new option, off") })',
  );
  const changed = await probeId(
    'TopKOptions.extend({ aux_alpha: z.number().default(0.5).describe("a changed default") })',
  );
  assert.match(before, /^run-[0-9a-f]{8}$/);
  assert.equal(added, before);
  // Without a defaultsVersion bump a changed default would keep the id too: the version is what
  // renames (tests/sae/defaults_test.ts makes sure a changed default comes with a bump).
  assert.equal(changed, before);
  assert.notEqual(await probeId("TopKOptions", 2), before);
});

Deno.test("train.precision absent renames no run; fp32 written out is the same run, tf32 another", () => {
  const before = ids(GOLDEN_SPEC);
  const withPrecision = (p: string) =>
    ids(GOLDEN_SPEC.replace("lr: 0.003 }", `lr: 0.003, precision: ${p} }`));
  const tf32 = withPrecision("tf32");
  assert.equal(tf32.length, before.length);
  tf32.forEach((id, i) => assert.notEqual(id, before[i]));
  assert.deepEqual(withPrecision("fp32"), before);
  assert.notDeepEqual(withPrecision("bf16"), tf32);
});

Deno.test("a change of a penalty's lambda unit renames exactly that penalty's normalized runs", () => {
  // The ids before PENALTY_UNIT_VERSION existed (computed on 9f713b5): only the tanh and
  // quadratic-frequency runs of mode normalized, whose units moved to version 2, change; the L0
  // penalty's unit did not move, and mode controller reads no unit.
  const spec = (mode: string) =>
    GOLDEN_SPEC.replace("lr: 0.003 }", `lr: 0.003, lambda: { mode: ${mode} } }`)
      .replace("sae: { width: 256 }", "sae: { width: 256, jumprelu: { lambda: 0.001 } }")
      .replace(
        "sae.architecture: [jumprelu, relu, gated, topk, batchtopk]",
        "sae.jumprelu.penalty: [l0, tanh, quadratic_frequency]",
      );
  const normalized = ids(spec("normalized").replace(", jumprelu: { lambda: 0.001 }", ""));
  assert.deepEqual(normalized, [
    "penalty_l0-l0_8-6e9b15c4",
    "penalty_tanh-l0_8-71ec3ed8", // 1eaea580 at unit version 1
    "penalty_quadratic_frequency-l0_8-6254f3a9", // 586022ff at unit version 1
  ]);
  assert.deepEqual(ids(spec("controller")), [
    "penalty_l0-l0_8-6fbacf43",
    "penalty_tanh-l0_8-2d30f35f",
    "penalty_quadratic_frequency-l0_8-95555af5",
  ]);
});

Deno.test("validation_layout interleaved renames every run of a spec with validation_tokens; after keeps the old ids", () => {
  // The ids before train.lambda.validation_layout existed (computed on 0845ff3): the controller's
  // rows then followed the evaluated ones, which layout after reproduces. Interleaved moves the
  // evaluated rows of every run, TopK's included, so every run is renamed.
  const spec = (lambda: string) =>
    GOLDEN_SPEC.replace("lr: 0.003 }", `lr: 0.003, lambda: ${lambda} }`);
  const old = [
    "jumprelu-l0_8-881e50f3",
    "relu-l0_8-156f6481",
    "gated-l0_8-1d8ec21c",
    "topk-l0_8-a8c53adb",
    "batchtopk-l0_8-668c213d",
  ];
  assert.deepEqual(ids(spec("{ validation_tokens: 256, validation_layout: after }")), old);
  const interleaved = ids(spec("{ validation_tokens: 256 }"));
  interleaved.forEach((id, i) => assert.notEqual(id, old[i]));
  assert.deepEqual(
    ids(spec("{ validation_tokens: 256, validation_layout: interleaved }")),
    interleaved,
  );
  // Without validation_tokens the layout moves nothing: the golden ids, whatever it says.
  assert.deepEqual(ids(spec("{ validation_layout: after }")), ids(GOLDEN_SPEC));
});
