// End labels of the report's line plots (lib/report/plots.ts): spread apart so that no two overlap,
// inside the plot, each as close to its line's end as that allows.
import assert from "node:assert/strict";
import { parseHTML } from "linkedom";
import { fidelityPlot, placeLabels, seriesColors } from "../../lib/report/plots.ts";

Deno.test("placeLabels() keeps labels 13 px apart, inside the bounds, in anchor order", () => {
  const placed = placeLabels(
    [300, 104, 100, 103, 101, 102].map((anchor) => ({ anchor })),
    { top: 12, bottom: 390 },
  );
  // Hand-worked: the crowd of five is pushed down from its first anchor; 300 stays.
  assert.deepEqual(placed.map((l) => l.py), [100, 113, 126, 139, 152, 300]);
  assert.deepEqual(placed.map((l) => l.anchor), [100, 101, 102, 103, 104, 300]);
  // At the bottom edge the crowd moves up instead; at the top, down.
  assert.deepEqual(
    placeLabels([388, 390, 389].map((anchor) => ({ anchor })), { top: 12, bottom: 390 })
      .map((l) => l.py),
    [364, 377, 390],
  );
  assert.deepEqual(
    placeLabels([0, 5].map((anchor) => ({ anchor })), { top: 12, bottom: 390 }).map((l) => l.py),
    [12, 25],
  );
  // Labels already apart do not move.
  assert.deepEqual(
    placeLabels([50, 63, 200].map((anchor) => ({ anchor })), { top: 12, bottom: 390 })
      .map((l) => l.py),
    [50, 63, 200],
  );
});

Deno.test("fidelityPlot() labels six series ending at one point without overlap", () => {
  const series = ["jumprelu", "relu", "gated", "topk", "batchtopk", "matryoshka_batchtopk"];
  const frontier = series.flatMap((s, i) => [
    { series: s, l0_mean: 4, fvu_mean: 0.4 + 0.05 * i, n: 1 },
    { series: s, l0_mean: 24, fvu_mean: 0.04 + 0.001 * i, n: 1 },
  ]);
  const svg = fidelityPlot([], frontier, { metric: "fvu", colors: seriesColors(series) });
  // linkedom is typed against the DOM lib, which Deno does not load.
  const { document } = parseHTML(`<body>${svg}</body>`) as unknown as {
    document: {
      querySelectorAll(s: string): { textContent: string; getAttribute(n: string): string }[];
    };
  };
  const labels = [...document.querySelectorAll('g[aria-label="text"] text')];
  assert.deepEqual(labels.map((t) => t.textContent).sort(), [...series].sort());
  const ys = labels.map((t) => Number(t.getAttribute("y"))).sort((a, b) => a - b);
  for (let i = 1; i < ys.length; i++) assert.ok(ys[i] - ys[i - 1] >= 13, `labels at ${ys}`);
  // Each label has a leader back to its line's end.
  assert.equal(document.querySelectorAll('g[aria-label="label leaders"] path').length, 6);
});
