import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { compareAtTargets } from "../../lib/report/compare.ts";
import { l0Accuracy } from "../../lib/report/l0_misses.ts";

const row = (architecture: string, l0_mean: number, fvu_mean: number) => ({
  experiment: "e",
  architecture,
  series: architecture,
  panel: "",
  l0_mean,
  fvu_mean,
});
const frontier = [
  row("jumprelu", 8, 0.2),
  row("jumprelu", 32, 0.1),
  row("topk", 8, 0.25),
  row("topk", 32, 0.125),
  row("relu", 16, 0.3),
];

Deno.test("compareAtTargets() picks the lowest FVU and signs the gap so JumpReLU ahead is positive", () => {
  const rows = compareAtTargets(frontier, { targetL0s: [16], metric: "fvu" });
  const by = Object.fromEntries(rows.map((r) => [r.series, r]));
  strictEqual(by.jumprelu.winner, true);
  strictEqual(by.topk.winner, false);
  // At L0 16 (geometric midpoint): jumprelu 0.15, topk 0.1875 -> (0.1875 - 0.15) / 0.1875 = 0.2.
  strictEqual(Math.abs(by.topk.jumprelu_gap! - 0.2) < 1e-12, true);
  strictEqual(Math.abs(by.relu.jumprelu_gap! - 0.5) < 1e-12, true);
  strictEqual(by.jumprelu.jumprelu_gap, null);
});

Deno.test("compareAtTargets() says when a target lies outside a series' measured range", () => {
  const rows = compareAtTargets(frontier, { targetL0s: [8, 64], metric: "fvu" });
  const relu8 = rows.find((r) => r.series === "relu" && r.target_l0 === 8)!;
  deepStrictEqual([relu8.value, relu8.note], [null, "outside measured range (L0 16-16)"]);
  const at64 = rows.filter((r) => r.target_l0 === 64);
  deepStrictEqual(at64.map((r) => r.winner), [false, false, false]);
});

Deno.test("l0Accuracy() flags finished runs outside the relative tolerance", () => {
  const runs = [
    { run_id: "a", status: "done", l0_target: 32, l0: 36, architecture: "jumprelu" },
    { run_id: "b", status: "done", l0_target: 32, l0: 33, architecture: "jumprelu" },
    { run_id: "c", status: "failed", l0_target: 32, l0: null, architecture: "relu" },
  ];
  const acc = l0Accuracy(runs, { tolerance: 0.1 });
  deepStrictEqual(acc.map((r) => [r.run_id, r.rel_error, r.outside]), [
    ["a", 0.125, true],
    ["b", 0.03125, false],
  ]);
});

Deno.test("compareAtTargets() reads a target just outside the range off the nearest run, and says so", () => {
  const frontier = [
    { series: "topk", panel: "", architecture: "topk", experiment: "e", l0_mean: 8, fvu_mean: 0.3 },
    {
      series: "topk",
      panel: "",
      architecture: "topk",
      experiment: "e",
      l0_mean: 31.98,
      fvu_mean: 0.05,
    },
  ];
  const strict = compareAtTargets(frontier, { targetL0s: [32], metric: "fvu" });
  strictEqual(strict[0].value, null);
  const snapped = compareAtTargets(frontier, { targetL0s: [32, 40], metric: "fvu", snap: 0.1 });
  strictEqual(snapped[0].value, 0.05);
  strictEqual(snapped[0].note, "nearest run, L0 32");
  // 40 is 20% beyond the last run: still no value.
  strictEqual(snapped[1].value, null);
});
