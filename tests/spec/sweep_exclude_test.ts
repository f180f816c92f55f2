// sweep.exclude: rules that leave grid points out, checked and located like the axes.
import assert from "node:assert/strict";
import { SpecError } from "../../lib/errors.ts";
import { parseExperiment } from "../../lib/spec/load.ts";
import { problems } from "./_problems.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";

const BASE = "name: t\ndata:\n  source: synthetic\nsae:\n  width: 64\n";

function runIds(text: string): string[] {
  const parsed = parseExperiment(text, "x.yaml");
  return expandSweep({ ...parsed, specPath: "x.yaml", specDir: "/tmp", specHash: "h" }, {
    outDir: "/tmp/runs",
  }).map((p) => p.runId);
}

const GRID = BASE + "sweep:\n  sae.architecture: [relu, topk]\n  sae.target_l0: [4, 16, 32]\n";

Deno.test("sweep.exclude leaves out exactly the points a rule matches, and the other runs keep their ids", () => {
  const all = runIds(GRID);
  assert.equal(all.length, 6);
  // relu at 32 and topk at 4 and 16 go: 6 - 3 = 3 runs, the ids of the same points without exclude.
  const kept = runIds(
    GRID + "  exclude:\n    - { sae.architecture: relu, sae.target_l0: 32 }\n" +
      "    - sae.architecture: [topk]\n      sae.target_l0: [4, 16]\n",
  );
  assert.deepEqual(kept, [all[0], all[1], all[5]]);
  assert.match(kept[2], /^topk-l0_32-/);
});

Deno.test("sweep.exclude is applied before the cross-field checks: an excluded invalid point is no error", () => {
  // target_l0 64 is not below width 64: an error for the relu run unless that run is excluded.
  const text = BASE + "sweep:\n  sae.architecture: [relu, topk]\n  sae.target_l0: [4, 64]\n";
  assert.match(problems(text).join("\n"), /target_l0 64 must be < sae.width 64/);
  assert.throws(
    () =>
      parseExperiment(
        text + "  exclude:\n    - { sae.target_l0: 64, sae.architecture: topk }\n",
        "x.yaml",
      ),
    SpecError,
  );
  const parsed = parseExperiment(text + "  exclude:\n    - { sae.target_l0: 64 }\n", "x.yaml");
  assert.deepEqual(parsed.configs.map((c) => c.sae.target_l0), [4, 4]);
});

Deno.test("sweep.exclude refuses an unswept path, an unswept value, a rule that excludes nothing and one that excludes all, located", () => {
  assert.deepEqual(
    problems(GRID + "  exclude:\n    - { train.lr: 0.1 }\n    - { sae.target_l0: [4, 8] }\n"),
    [
      "10:9 sweep.exclude[0].train.lr: `train.lr` is not a swept axis (swept: `sae.architecture`, " +
      "`sae.target_l0`)",
      "11:28 sweep.exclude[1].sae.target_l0[1]: 8 is not a value of `sae.target_l0` (swept: 4, 16, 32)",
    ],
  );
  const zipped = BASE +
    "sweep:\n  zip:\n    - sae.architecture: [relu, topk]\n      sae.target_l0: [4, 16]\n" +
    "  exclude:\n    - { sae.architecture: relu, sae.target_l0: 16 }\n";
  assert.deepEqual(problems(zipped), [
    "11:7 sweep.exclude[0]: excludes no run (no grid point has all these values; zip groups move " +
    "together)",
  ]);
  assert.deepEqual(
    problems(GRID + "  exclude:\n    - { sae.architecture: [relu, topk] }\n"),
    ["10:5 sweep.exclude: excludes every run"],
  );
  assert.deepEqual(problems(GRID + "  exclude: { sae.architecture: relu }\n"), [
    "9:12 sweep.exclude: expected a non-empty list of rules (maps of swept axis -> values), got a map",
  ]);
});

Deno.test("sweep.exclude matches recipe names and the run limit counts the runs left", () => {
  const text = BASE +
    "recipes:\n  a: { sae.jumprelu.bandwidth: 0.01 }\n  b: { sae.jumprelu.bandwidth: 0.1 }\n" +
    "sweep:\n  recipe: [a, b]\n  train.seed: [0, 1, 2]\n  exclude:\n    - { recipe: b, train.seed: [1, 2] }\n";
  const ids = runIds(text);
  assert.deepEqual(ids.map((id) => id.replace(/-[0-9a-f]{8}$/, "")), [
    "a-s0",
    "a-s1",
    "a-s2",
    "b-s0",
  ]);
  // 6 points, 2 excluded: 4 runs fit a limit of 4, not of 3.
  parseExperiment(text, "x.yaml", { maxRuns: 4 });
  assert.match(problems(text, { maxRuns: 3 })[0], /expands to 4 runs \(2 x 3, less 2 excluded\)/);
});
