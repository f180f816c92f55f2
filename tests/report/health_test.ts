// The report's JumpReLU health section (lib/report/health.ts and its table, figures and Markdown):
// built from the toy fixture sweep with health fields added to one JumpReLU run, shown with "-"
// for runs from before the diagnostics, and absent when the report has no JumpReLU run.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { loadRuns } from "../../lib/report/load_runs.ts";
import { buildReport } from "../../lib/report/build.ts";
import { figuresOf } from "../../lib/report/figures.ts";
import { renderMarkdown } from "../../lib/report/render_markdown.ts";
import { histogramBars, parseHistogram } from "../../lib/report/health.ts";

const TOY = fileURLToPath(new URL("../fixtures/runs/toy", import.meta.url));
const SETTINGS = { targetL0s: [], metrics: ["fvu"], l0Tolerance: 0.1, groupBy: [] };
const RUN = "jumprelu-l0_16-s0-a001f1c2";

async function toyCopy(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "saesweep_health_" });
  const cp = await new Deno.Command("cp", { args: ["-r", TOY, join(dir, "toy")] }).output();
  assert.equal(cp.code, 0, new TextDecoder().decode(cp.stderr));
  return join(dir, "toy");
}

async function report(dir: string) {
  const model = await buildReport(await loadRuns([dir]), {
    settings: SETTINGS,
    provenance: { sources: [dir], generatedAt: "2025-01-02T03:04:05Z" },
  });
  const figures = figuresOf(model);
  return { model, figures, md: renderMarkdown(model, { figures, images: {} }) };
}

Deno.test("the report shows JumpReLU health from summary.json and metrics.jsonl, '-' where absent", async () => {
  const dir = await toyCopy();
  try {
    const run = join(dir, RUN);
    const summary = JSON.parse(await Deno.readTextFile(join(run, "summary.json")));
    Object.assign(summary, {
      thr_unreachable_frac: 0.25,
      thr_stranded_frac: 0.125,
      ste_window_frac: 0.0123,
      firing_hist: {
        lo: -7,
        bin: 0.5,
        counts: [0, 0, 0, 0, 0, 0, 0, 0, 2, 4, 6, 0, 0, 0],
        dead: 4,
      },
    });
    await Deno.writeTextFile(join(run, "summary.json"), JSON.stringify(summary));
    const lines = (await Deno.readTextFile(join(run, "metrics.jsonl"))).trim().split("\n");
    const withHealth = lines.map((l, i) =>
      JSON.stringify({ ...JSON.parse(l), ste_window_frac: 0.02 + i / 100, dead_frac: i / 10 })
    );
    await Deno.writeTextFile(join(run, "metrics.jsonl"), withHealth.join("\n") + "\n");

    const { model, figures, md } = await report(dir);
    const rows = model.health!.runs;
    assert.equal(rows.length, 4); // the toy sweep's finished JumpReLU runs
    const row = rows.find((r) => r.run_id === RUN)!;
    assert.equal(row.dead_frac_train, (lines.length - 1) / 10);
    assert.equal(row.ste_window_frac, 0.0123);
    assert.equal(row.thr_unreachable_frac, 0.25);
    const old = rows.find((r) => r.run_id !== RUN)!;
    assert.equal(old.dead_frac_train, null);
    assert.equal(old.thr_unreachable_frac, null);
    assert.deepEqual(figures.filter((f) => f.section === "health").map((f) => f.key), [
      "health_dead_vs_l0",
      "health_dead_training",
      "health_ste_window_vs_l0",
      "health_ste_window_training",
      "health_firing_histogram",
    ]);
    // Histogram of 16 latents: 4 dead, then bins from the first non-empty one ([-3, -2.5)).
    const bars = model.health!.histograms;
    assert.deepEqual(bars.map((b) => [b.x1, b.frac]), [
      [-4, 0.25],
      [-3, 2 / 16],
      [-2.5, 4 / 16],
      [-2, 6 / 16],
      [-1.5, 0],
      [-1, 0],
      [-0.5, 0],
    ]);
    assert.match(md, /## JumpReLU health/);
    assert.match(md, new RegExp(`\\| ${RUN} \\| jumprelu \\| 16 \\| 16\\.4 \\| 1\\.2% \\|`));
    assert.match(md, /\| 1\.2% \| 6% \| 40% \| 3% \| 25% \| 13% \|/);
  } finally {
    await Deno.remove(join(dir, ".."), { recursive: true });
  }
});

Deno.test("the report has no JumpReLU health section without JumpReLU runs", async () => {
  const dir = await toyCopy();
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.name.startsWith("jumprelu")) await Deno.remove(join(dir, e.name), { recursive: true });
    }
    const { model, figures, md } = await report(dir);
    assert.equal(model.health, null);
    assert.equal(figures.some((f) => f.section === "health"), false);
    assert.doesNotMatch(md, /JumpReLU health/);
  } finally {
    await Deno.remove(join(dir, ".."), { recursive: true });
  }
});

Deno.test("parseHistogram() reads the runs table's JSON text and refuses other shapes", () => {
  const h = { lo: -7, bin: 0.5, counts: [1], dead: 0 };
  assert.deepEqual(parseHistogram(JSON.stringify(h)), h);
  assert.deepEqual(parseHistogram(h), h);
  assert.equal(parseHistogram("not json"), null);
  assert.equal(parseHistogram({ lo: -7 }), null);
  assert.deepEqual(
    histogramBars({ lo: -1, bin: 0.5, counts: [0, 0], dead: 0 }, { run: "r", series: "s" }),
    [],
  );
});
