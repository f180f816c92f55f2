// Tests report.series_by and the recipe table: several JumpReLU series (recipes of an ablation)
// in one panel, each as a multiple of the TopK series at each target with its mean dead fraction,
// against values computed by hand.
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadRuns } from "../../lib/report/load_runs.ts";
import { seriesOf } from "../../lib/report/_series.ts";
import { recipeTables } from "../../lib/report/_tables.ts";
import type { ReportModel } from "../../lib/report/build.ts";
import type { ComparisonRow } from "../../lib/report/compare.ts";

Deno.test("series_by splits an architecture by the axes it reads and leaves the others one series", () => {
  const options = { groupBy: [], seriesBy: ["sae.jumprelu.penalty"], withExperiment: false };
  assert.equal(
    seriesOf({ architecture: "jumprelu", "sae.jumprelu.penalty": "tanh" }, options),
    "jumprelu penalty=tanh",
  );
  // TopK does not read sae.jumprelu: no value, one series.
  assert.equal(seriesOf({ architecture: "topk" }, options), "topk");
});

function row(series: string, architecture: string, target_l0: number, value: number | null) {
  return {
    metric: "fvu",
    panel: "",
    target_l0,
    series,
    architecture,
    experiment: "x",
    value,
    note: "",
    winner: false,
    jumprelu_gap: null,
  } satisfies ComparisonRow;
}

Deno.test("recipeTables() gives each JumpReLU recipe's FVU over TopK's and its dead fraction", () => {
  const [gdm, quantile] = ["jumprelu penalty=l0", "jumprelu threshold_init=quantile"];
  const model = {
    settings: { metrics: ["fvu"], targetL0s: [8, 32], l0Tolerance: 0.1, groupBy: [] },
    series: [gdm, quantile, "topk", "batchtopk"],
    comparison: [
      row(gdm, "jumprelu", 8, 0.3),
      row(quantile, "jumprelu", 8, 0.24),
      row("topk", "topk", 8, 0.2),
      row("batchtopk", "batchtopk", 8, 0.19),
      row(gdm, "jumprelu", 32, 0.15),
      row(quantile, "jumprelu", 32, null),
      row("topk", "topk", 32, 0.1),
      row("batchtopk", "batchtopk", 32, 0.095),
    ],
    runs: [
      { status: "done", series: gdm, panel: "", l0_target: 8, dead_frac: 0.1 },
      { status: "done", series: gdm, panel: "", l0_target: 8, dead_frac: 0.3 },
      { status: "failed", series: gdm, panel: "", l0_target: 8, dead_frac: 0.9 },
      { status: "done", series: quantile, panel: "", l0_target: 8, dead_frac: 0.5 },
    ],
  } as unknown as ReportModel;
  const [t] = recipeTables(model);
  assert.equal(t.baseline, "topk");
  assert.deepEqual(t.headers, ["series", "L0 8", "L0 32"]);
  // By hand: 0.3 / 0.2 = 1.5 with dead (0.1 + 0.3) / 2 = 20% (the failed run left out);
  // 0.24 / 0.2 = 1.2; 0.15 / 0.1 = 1.5; no quantile value at 32; 0.19 / 0.2 = 0.95.
  assert.deepEqual(t.rows.map((r) => r.map((c) => c.text)), [
    [gdm, "1.5x, 20.0% dead", "1.5x"],
    [quantile, "1.2x, 50.0% dead", "-"],
    ["batchtopk", "0.95x", "0.95x"],
  ]);
  // One JumpReLU series: the comparison table's gap columns serve, no recipe table.
  const single = {
    ...model,
    series: [gdm, "topk"],
    comparison: model.comparison.filter((r) => r.series !== quantile),
  };
  assert.deepEqual(recipeTables(single as ReportModel), []);
});

Deno.test("loadRuns() leaves a swept value out where the run does not read it (TopK on a JumpReLU recipe row)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "saesweep_recipes_" });
  try {
    const src = new URL("../fixtures/runs/toy/", import.meta.url).pathname;
    for (const name of ["topk-l0_16-s0-a009f1c2", "jumprelu-l0_16-s0-a001f1c2"]) {
      await Deno.mkdir(join(dir, "toy", name), { recursive: true });
      for await (const f of Deno.readDir(join(src, name))) {
        await Deno.copyFile(join(src, name, f.name), join(dir, "toy", name, f.name));
      }
      const path = join(dir, "toy", name, "run.json");
      const m = JSON.parse(await Deno.readTextFile(path));
      m.overrides["sae.jumprelu.penalty"] = "tanh"; // the sweep's recipe axis
      await Deno.writeTextFile(path, JSON.stringify(m));
    }
    const { table } = await loadRuns([join(dir, "toy")]);
    const rows = table.objects() as Record<string, unknown>[];
    const penalty = (arch: string) =>
      rows.find((r) => r.architecture === arch)?.["sae.jumprelu.penalty"];
    assert.equal(penalty("jumprelu"), "tanh");
    assert.equal(penalty("topk"), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
