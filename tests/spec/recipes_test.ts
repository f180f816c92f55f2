// Named recipes (lib/spec/recipes.ts, resolve.ts, run_id.ts): a `recipe` axis over the spec's
// `recipes` trains each recipe's settings, names its runs and series, keeps the hash the same
// settings had as separate axes, and every mistake is reported at its line with a hint.
import assert from "node:assert/strict";
import { SpecError } from "../../lib/errors.ts";
import { loadExperiment, parseExperiment } from "../../lib/spec/load.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";
import { seriesOf } from "../../lib/report/_series.ts";
import { filterPlans, parseRunFilters } from "../../lib/sweep/filter.ts";
import { ROOT, runTask } from "../tasks/_spawn.ts";

const HEAD = `name: r
data: { source: synthetic, d_model: 16, n_features: 64, mean_active: 4 }
sae: { width: 64 }
train: { tokens: 20480, batch_size: 1024 }
`;

const NAMED = `${HEAD}recipes:
  gdm:
    sae.jumprelu.penalty: l0
  wide:
    sae.jumprelu.bandwidth_unit: pre_act_std
    sae.jumprelu.bandwidth: 1
sweep:
  sae.architecture: [jumprelu, topk]
  recipe: [gdm, wide]
  sae.target_l0: [8]
`;

// The same runs as a zip of parallel lists, as the example specs were written before recipes.
const ZIPPED = `${HEAD}sweep:
  sae.architecture: [jumprelu, topk]
  zip:
    - sae.jumprelu.penalty: [l0, l0]
      sae.jumprelu.bandwidth_unit: [absolute, pre_act_std]
      sae.jumprelu.bandwidth: [0.001, 1]
  sae.target_l0: [8]
`;

function plans(text: string) {
  const { spec, axes } = parseExperiment(text, "r.yaml");
  return expandSweep(
    { spec, axes, specPath: "r.yaml", specDir: "/tmp", specHash: "0" },
    { outDir: "/tmp/runs" },
  );
}

function problems(text: string): string[] {
  try {
    parseExperiment(text, "r.yaml");
  } catch (err) {
    assert.ok(err instanceof SpecError, String(err));
    assert.equal(err.exitCode, 2);
    return err.issues.map((i) => `${i.file}:${i.line}:${i.col}: ${i.path}: ${i.message}`);
  }
  assert.fail("expected a SpecError");
}

Deno.test("a recipe axis names JumpReLU runs by recipe and keeps the hashes of the same settings zipped", () => {
  const named = plans(NAMED);
  const zipped = plans(ZIPPED);
  const hash = (id: string) => id.slice(-8);
  assert.deepEqual(named.map((p) => p.runId.replace(/-[0-9a-f]{8}$/, "")), [
    "jumprelu-gdm-l0_8",
    "jumprelu-wide-l0_8",
    "topk-l0_8",
  ]);
  assert.deepEqual(named.map((p) => hash(p.runId)), zipped.map((p) => hash(p.runId)));
  // TopK reads no recipe setting: one run, with the id it had before recipes.
  assert.equal(named[2].runId, zipped[2].runId);
  assert.deepEqual(named[1].overrides, {
    "sae.architecture": "jumprelu",
    recipe: "wide",
    "sae.target_l0": 8,
  });
  assert.deepEqual(named[2].overrides, { "sae.architecture": "topk", "sae.target_l0": 8 });
  const jump = (i: number) => named[i].config.sae.jumprelu as Record<string, unknown>;
  assert.equal(jump(1).bandwidth, 1);
  assert.equal(jump(1).bandwidth_unit, "pre_act_std");
  assert.equal(jump(0).bandwidth, 0.001);
});

Deno.test("--filter recipe=<name> keeps the runs of that recipe", () => {
  const { spec, axes } = parseExperiment(NAMED, "r.yaml");
  const all = expandSweep(
    { spec, axes, specPath: "r.yaml", specDir: "/tmp", specHash: "0" },
    { outDir: "/tmp/runs" },
  );
  const kept = filterPlans(all, parseRunFilters(["recipe=wide"], axes));
  assert.deepEqual(kept.map((p) => p.runId.replace(/-[0-9a-f]{8}$/, "")), ["jumprelu-wide-l0_8"]);
});

Deno.test("series labels show a recipe by its name", () => {
  const row = { architecture: "jumprelu", recipe: "ls_qfreq_auxk", "sae.target_l0": 8 };
  const options = { groupBy: [], seriesBy: ["recipe"], withExperiment: false };
  assert.equal(seriesOf(row, options), "jumprelu ls_qfreq_auxk");
  assert.equal(seriesOf({ architecture: "topk" }, options), "topk");
});

Deno.test("an unknown recipe name is located in the sweep with the closest defined one", () => {
  const text = NAMED.replace("recipe: [gdm, wide]", "recipe: [gdm, wdie, nothing_like_it]");
  assert.deepEqual(problems(text), [
    "r.yaml:13:17: sweep.recipe[1]: unknown recipe `wdie`; did you mean `wide`? (recipes: gdm, wide)",
    "r.yaml:13:23: sweep.recipe[2]: unknown recipe `nothing_like_it` (recipes: gdm, wide)",
  ]);
  const none = `${HEAD}sweep:\n  recipe: [gdm]\n`;
  assert.deepEqual(problems(none), [
    "r.yaml:6:12: sweep.recipe[0]: unknown recipe `gdm`: the spec defines no `recipes`",
  ]);
});

Deno.test("a recipe may not set a comparison axis, an unknown key, a swept key or a bad value", () => {
  const text = `${HEAD}recipes:
  gdm:
    sae.target_l0: 8
    sae.jumprelu.bandwith: 1
    sae.jumprelu.penalty: l1
  wide:
    train.lr: 0.01
    sae.jumprelu.bandwidth: 1
sweep:
  train.lr: [0.001, 0.003]
  recipe: [gdm, wide]
`;
  const got = problems(text);
  assert.deepEqual(got, [
    "r.yaml:7:5: recipes.gdm.sae.target_l0: a recipe may not set `sae.target_l0`: the report " +
    "compares across it; sweep it beside `recipe`",
    "r.yaml:8:5: recipes.gdm.sae.jumprelu.bandwith: no config key `sae.jumprelu.bandwith`; did " +
    "you mean `sae.jumprelu.bandwidth`?",
    got[2],
    "r.yaml:11:5: recipes.wide.train.lr: the sweep also sets `train.lr`; set it in the recipes " +
    "or sweep it, not both",
  ]);
  assert.match(got[2], /^r\.yaml:9:27: recipes\.gdm\.sae\.jumprelu\.penalty: expected one of .*l0/);
});

Deno.test("a recipe cannot be zipped, must set something, and has a slug-safe name", () => {
  const text = `${HEAD}recipes:
  Big Recipe:
    train.lr: 0.01
  empty: {}
sweep:
  zip:
    - recipe: [a]
      train.lr: [0.1]
`;
  assert.deepEqual(problems(text), [
    "r.yaml:6:3: recipes.Big Recipe: recipe name `Big Recipe`: use lowercase letters, digits, - " +
    "and _ (it appears in run ids)",
    "r.yaml:8:10: recipes.empty: a recipe sets at least one config key, e.g. " +
    "`sae.jumprelu.penalty: tanh`",
    "r.yaml:11:7: sweep.zip[0].recipe: a recipe axis cannot be zipped; sweep `recipe` on its own",
  ]);
});

Deno.test("a cross-field problem of a recipe's value is located at the recipe", () => {
  const text = `${HEAD}recipes:
  huge:
    train.batch_size: 40960
sweep:
  recipe: [huge]
`;
  const got = problems(text);
  assert.equal(got.length, 1);
  assert.match(
    got[0],
    /^r\.yaml:7:23: recipes\.huge\.train\.batch_size: train\.tokens 20480 must be >= /,
  );
});

Deno.test("the example recipe specs name their recipes in --dry-run, run ids and series", async () => {
  const loaded = await loadExperiment(`${ROOT}experiments/jumprelu_recipes_synthetic.yaml`);
  const ids = expandSweep(loaded, { outDir: "/tmp/runs" }).map((p) => p.runId);
  assert.ok(ids.some((id) => id.startsWith("jumprelu-ls_qfreq_auxk-l0_8-s0-")), ids.join(" "));
  assert.deepEqual(loaded.spec.report.series_by, ["recipe"]);
  const dry = await runTask("sweep", [
    "experiments/jumprelu_recipes_synthetic.yaml",
    "--dry-run",
    "--out",
    await Deno.makeTempDir({ prefix: "saesweep_recipes_" }),
  ], { cwd: ROOT });
  assert.equal(dry.code, 0, dry.stderr);
  const [head, ...rows] = dry.stdout.trim().split("\n");
  assert.deepEqual(head.split(/\s{2,}/), [
    "#",
    "run id",
    "status",
    "sae.architecture",
    "recipe",
    "sae.target_l0",
    "train.seed",
  ]);
  const gdm = rows.find((r) => r.includes("jumprelu-gdm-"))!.split(/\s{2,}/);
  assert.deepEqual(gdm.slice(3), ["jumprelu", "gdm", "8", "0"]);
  const topk = rows.find((r) => r.includes("topk-l0_8"))!.split(/\s{2,}/);
  assert.deepEqual(topk.slice(3), ["topk", "-", "8", "0"]);
});
