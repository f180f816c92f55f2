import assert from "node:assert/strict";
import { jumpreluOptions } from "../../lib/sae/jumprelu/options.ts";
import { UsageError } from "../../lib/errors.ts";
import { loadExperiment, parseExperiment } from "../../lib/spec/load.ts";
import { problems } from "./_problems.ts";

const BASE = "name: t\ndata:\n  source: synthetic\n";

Deno.test("parseExperiment() applies schema defaults to a minimal spec", () => {
  const { spec, axes } = parseExperiment(BASE, "x.yaml");
  assert.equal(spec.sae.width, 256);
  assert.equal(jumpreluOptions(spec.sae).bandwidth, 0.001);
  assert.equal(spec.train.seed, 0);
  assert.deepEqual(axes, []);
});

Deno.test("parseExperiment() reports a YAML syntax error at its line and column", () => {
  const found = problems("name: t\ndata: {source: synthetic\nsae: [\n");
  assert.ok(found.length >= 1);
  assert.match(found[0], /^3:1 : /);
});

Deno.test("parseExperiment() refuses a duplicate key at the second occurrence", () => {
  assert.deepEqual(problems(BASE + "name: u\n"), [
    "4:1 : duplicate key (each key may appear once per map)",
  ]);
});

Deno.test("parseExperiment() refuses an alias bomb at its first alias", () => {
  const bomb = [
    'a: &a ["x","x","x","x","x","x","x","x","x"]',
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]",
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]",
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]",
  ].join("\n");
  const found = problems(bomb);
  assert.equal(found.length, 1);
  assert.match(found[0], /^2:8 : aliases expand to too many nodes/);
});

Deno.test("parseExperiment() refuses custom tags", () => {
  const found = problems(BASE + "description: !!js/function 'x'\n");
  assert.match(found[0], /^4:14 : unsupported tag/);
});

Deno.test("parseExperiment() points at an unknown key and suggests the closest known one", () => {
  assert.deepEqual(problems(BASE + "sae:\n  jumprelu:\n    bandwith: 0.01\n"), [
    "6:5 sae.jumprelu.bandwith: unknown key; did you mean `bandwidth`?",
  ]);
});

Deno.test("parseExperiment() never coerces a string to a number", () => {
  assert.deepEqual(problems(BASE + 'train:\n  lr: "0.001"\n'), [
    '5:7 train.lr: expected a number > 0, got "0.001" (string)',
  ]);
});

Deno.test("parseExperiment() reports out-of-range and non-integer values with the range", () => {
  assert.deepEqual(problems(BASE + "sae:\n  target_l0: 0\ntrain:\n  seed: 1.5\n"), [
    "5:14 sae.target_l0: expected a number > 0, got 0",
    "7:9 train.seed: expected an integer >= 0, got 1.5",
  ]);
});

Deno.test("parseExperiment() reports a missing required key at the parent map", () => {
  assert.deepEqual(problems("name: t\ndata:\n  d_model: 4\n"), [
    '3:3 data: missing required key `source` (one of "synthetic", "files", "lm")',
  ]);
  assert.match(problems("name: t\n")[0], /^1:1 : missing required key `data`/);
});

Deno.test("parseExperiment() collects every problem of a spec into one error, in file order", () => {
  const found = problems(
    'name: Bad\ndata:\n  source: synthetic\n  d_modl: 3\nsae:\n  width: "16"\n',
  );
  assert.deepEqual(found, [
    '1:7 name: expected lowercase letters, digits, - and _, got "Bad" (string)',
    "4:3 data.d_modl: unknown key; did you mean `d_model`?",
    '6:10 sae.width: expected an integer >= 1, got "16" (string)',
  ]);
});

Deno.test("parseExperiment() refuses a sweep path that is not a config key, with a suggestion", () => {
  assert.deepEqual(problems(BASE + "sweep:\n  sae.target_l: [1, 2]\n"), [
    "5:3 sweep.sae.target_l: no config key `sae.target_l`; did you mean `sae.target_l0`?",
  ]);
  assert.match(
    problems(BASE + "sweep:\n  name: [a, b]\n")[0],
    /^5:3 sweep.name: .*cannot be swept/,
  );
});

Deno.test("parseExperiment() validates each sweep value against its key's schema", () => {
  assert.deepEqual(problems(BASE + 'sweep:\n  sae.target_l0: [8, -1, "16"]\n'), [
    "5:22 sweep.sae.target_l0[1]: expected a number > 0, got -1",
    '5:26 sweep.sae.target_l0[2]: expected a number > 0, got "16" (string)',
  ]);
});

Deno.test("parseExperiment() reports at the sweep value the problems it causes in other keys", () => {
  // Issue 28 case 8: `data.source: files` over synthetic data left `data.path` missing and the
  // synthetic keys unknown; that passed the check and crashed later with a ZodError.
  assert.deepEqual(
    problems(
      "name: t\ndata: {source: synthetic, d_model: 8}\nsweep:\n  data.source: [synthetic, files]\n",
    ),
    [
      "4:28 sweep.data.source[1]: with this value, data: missing required key `path` (a non-empty string)",
      "4:28 sweep.data.source[1]: with this value, data.d_model: `d_model` is not a key of source " +
      "`files` (it belongs to another variant)",
    ],
  );
});

Deno.test("parseExperiment() reports a bad key of a swept section once, at its own place", () => {
  assert.deepEqual(
    problems(
      "name: t\ndata: {source: synthetic}\nsae: {width: 0}\nsweep:\n  sae: [{target_l0: 4}]\n",
    ),
    ["3:14 sae.width: expected an integer >= 1, got 0"],
  );
});

Deno.test("parseExperiment() refuses empty lists and duplicate values in a sweep axis", () => {
  assert.deepEqual(problems(BASE + "sweep:\n  sae.width: []\n  train.seed: [0, 1, 0]\n"), [
    "5:14 sweep.sae.width: expected a non-empty list of values, got an empty list",
    "6:22 sweep.train.seed[2]: duplicate value (same as [0]); each run would repeat",
  ]);
});

Deno.test("parseExperiment() refuses zip lists of unequal lengths and a path swept twice", () => {
  const text = BASE +
    "sweep:\n  train.lr: [0.1]\n  zip:\n    - sae.width: [64, 128]\n      sae.target_l0: [4]\n" +
    "    - train.lr: [0.2, 0.3]\n";
  assert.deepEqual(problems(text), [
    "8:22 sweep.zip[0].sae.target_l0: zip lists must have equal lengths: `sae.width` has 2, " +
    "`sae.target_l0` has 1",
    "9:7 sweep.zip[1].train.lr: axis already swept at sweep.train.lr",
  ]);
});

Deno.test("parseExperiment() reports target_l0 >= width at the sweep value that causes it", () => {
  const text = BASE + "sae:\n  width: 8\nsweep:\n  sae.target_l0: [2, 8, 16]\n";
  assert.deepEqual(problems(text), [
    "7:22 sweep.sae.target_l0[1]: target_l0 8 must be < sae.width 8",
    "7:25 sweep.sae.target_l0[2]: target_l0 16 must be < sae.width 8",
  ]);
});

Deno.test("parseExperiment() reports target_l0 >= width at the key when nothing is swept", () => {
  assert.deepEqual(problems(BASE + "sae:\n  width: 8\n  target_l0: 9\n"), [
    "6:14 sae.target_l0: target_l0 9 must be < sae.width 8",
  ]);
});

Deno.test("parseExperiment() requires an integer target_l0 for topk and tokens >= batch_size", () => {
  const text = BASE +
    "sae:\n  target_l0: 2.5\ntrain:\n  tokens: 10\n  batch_size: 100\nsweep:\n  sae.architecture: [relu, topk]\n";
  assert.deepEqual(problems(text), [
    "7:11 train.tokens: train.tokens 10 must be >= train.batch_size 100 (at least one step)",
    "10:28 sweep.sae.architecture[1]: topk takes k = target_l0, which must be an integer, got 2.5",
  ]);
});

Deno.test("parseExperiment() requires held-out lm vectors for the controller's reading beyond eval.tokens", () => {
  const lm = "name: t\ndata:\n  source: lm\n  checkpoint: m.bin\n  tokenizer: t.bin\n" +
    "  train_text: [a.txt]\n  heldout_text: [a.txt]\n  heldout_tokens: 10000\n";
  const text = lm + "train:\n  lambda:\n    validation_tokens: 2048\neval:\n  tokens: 8192\n" +
    "sweep:\n  sae.architecture: [relu, topk]\n";
  const refusal = "11:24 train.lambda.validation_tokens: the L0 controller reads 2048 held-out " +
    "vectors beside the eval.tokens 8192 of the final evaluation, so data.heldout_tokens must be " +
    ">= 10240, got 10000";
  // Located at the key. Interleaved (the default): TopK evaluates around the controller's rows too,
  // so both runs are refused, with one message.
  assert.deepEqual(problems(text), [refusal]);
  assert.doesNotThrow(() => parseExperiment(text.replace("2048", "1808"), "x.yaml"));
  const after = text.replace("  lambda:\n", "  lambda:\n    validation_layout: after\n");
  assert.deepEqual(problems(after), [refusal.replace("11:24", "12:24")]);
  // After: the evaluation reads the first eval.tokens rows, so only a controller needs more.
  assert.doesNotThrow(() =>
    parseExperiment(after.replace("  lambda:\n", "  lambda:\n    mode: fixed\n"), "x.yaml")
  );
  assert.deepEqual(
    problems(text.replace("  lambda:\n", "  lambda:\n    mode: fixed\n")),
    [refusal.replace("11:24", "12:24")],
  );
});

Deno.test("parseExperiment() refuses a sae.<arch>.lambda that mode normalized (the default) would ignore", () => {
  const text = BASE +
    "sae:\n  jumprelu:\n    lambda: 0.05\nsweep:\n  sae.architecture: [jumprelu, topk]\n";
  // Located at the lambda; TopK reads no lambda, so only the JumpReLU run is refused.
  assert.deepEqual(problems(text), [
    "6:13 sae.jumprelu.lambda: sae.jumprelu.lambda 0.05 is ignored by train.lambda.mode normalized " +
    "(the default since 2026-12-05), which derives the start from the target, width, penalty and " +
    "data; remove it (train.lambda.start scales the derived start), or set train.lambda.mode: " +
    "controller to start from it as before",
  ]);
  for (const mode of ["controller", "controller_v1", "fixed"]) {
    assert.doesNotThrow(() =>
      parseExperiment(text + `train:\n  lambda:\n    mode: ${mode}\n`, "x.yaml")
    );
  }
  assert.doesNotThrow(() => parseExperiment(text.replace("0.05", "0.001"), "x.yaml")); // the default
});

Deno.test("parseExperiment() requires report.group_by to name swept axes", () => {
  assert.deepEqual(problems(BASE + "report:\n  group_by: [sae.width]\n"), [
    "5:14 report.group_by[0]: `sae.width` is not a swept axis (swept: none)",
  ]);
});

Deno.test("parseExperiment() limits the number of runs unless maxRuns raises it", () => {
  const text = BASE +
    "sweep:\n  train.seed: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n  train.lr: [1, 2, 3]\n";
  assert.deepEqual(problems(text, { maxRuns: 20 }), [
    "4:1 sweep: expands to 30 runs (10 x 3), more than the limit of 20; pass --max-runs 30 if you mean it",
  ]);
  assert.equal(parseExperiment(text, "x.yaml", { maxRuns: 30 }).axes.length, 2);
});

Deno.test("parseExperiment() refuses more than 100,000 runs whatever maxRuns says, without suggesting it", () => {
  // Issue 28 case 13: the refusal suggested --max-runs 1000000000000, and following it held
  // gigabytes for minutes. 4 axes of 20 values: 160,000 runs.
  const list = `[${Array.from({ length: 20 }, (_, i) => i + 1).join(", ")}]`;
  const text = BASE + "sweep:\n" +
    ["train.seed", "train.log_every", "train.checkpoint_every", "eval.tokens"]
      .map((k) => `  ${k}: ${list}\n`).join("");
  assert.deepEqual(problems(text, { maxRuns: 1e12 }), [
    "4:1 sweep: expands to 160000 runs (20 x 20 x 20 x 20), more than saesweep can list or " +
    "train (at most 100000); shorten the axes or split the spec",
  ]);
});

Deno.test("loadExperiment() gives a usage error with a hint for a missing file", async () => {
  await assert.rejects(loadExperiment("/nonexistent/spec.yaml"), (err: unknown) => {
    assert.ok(err instanceof UsageError);
    assert.match(err.message, /cannot read spec \/nonexistent\/spec.yaml: no such file/);
    assert.match(err.hint, /experiments\/quickstart.yaml/);
    return true;
  });
});

Deno.test("loadExperiment() hashes the validated spec, not its formatting", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.yaml`, BASE + "sae: {width: 64}\n");
    await Deno.writeTextFile(`${dir}/b.yaml`, "# same spec\nsae:\n  width: 64\n" + BASE);
    await Deno.writeTextFile(`${dir}/c.yaml`, BASE + "sae: {width: 65}\n");
    const [a, b, c] = await Promise.all(
      ["a", "b", "c"].map((n) => loadExperiment(`${dir}/${n}.yaml`)),
    );
    assert.match(a.specHash, /^[0-9a-f]{16}$/);
    assert.equal(a.specHash, b.specHash);
    assert.notEqual(a.specHash, c.specHash);
    assert.equal(a.specDir, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
