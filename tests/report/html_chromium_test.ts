// Opens the fixture report's index.html in headless Chromium: the plots carry one dot per finished
// run, and the page logs nothing to the console. Skipped without Chromium, except under CI=true.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parseHTML } from "linkedom";
import { loadRuns } from "../../lib/report/load_runs.ts";
import { writeReport } from "../../lib/report/write.ts";
import { chromiumTest, openInChromium, withChromiumPage } from "./_chromium.ts";

const TOY = fileURLToPath(new URL("../fixtures/runs/toy", import.meta.url));
const test = chromiumTest;

test("index.html shows one dot per finished run in each run plot, without console errors", async () => {
  const outDir = await Deno.makeTempDir({ prefix: "saesweep_report_" });
  try {
    const runs = await loadRuns([TOY]);
    const withSummary = (runs.table.objects() as { l0: unknown }[]).filter((r) =>
      typeof r.l0 === "number"
    ).length;
    strictEqual(withSummary, 9);
    await writeReport(runs, {
      outDir,
      settings: { targetL0s: [8, 16, 32], metrics: ["fvu"], l0Tolerance: 0.1, groupBy: [] },
      sources: [TOY],
      png: false,
    });
    const html = await Deno.readTextFile(`${outDir}/index.html`);
    ok(
      !/<script|<link|\bsrc=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(html),
      "not self-contained",
    );
    const { dom, console } = await openInChromium(`${outDir}/index.html`);
    deepStrictEqual(console, []);
    // linkedom is typed against the DOM lib, which Deno does not load.
    const { document } = parseHTML(dom) as unknown as {
      document: { querySelectorAll(selector: string): { length: number } };
    };
    const count = (plot: string, selector: string) =>
      document.querySelectorAll(`figure[data-plot="${plot}"] ${selector}`).length;
    for (const plot of ["fidelity_fvu", "l0_achieved", "dead_frac", "dense_frac"]) {
      strictEqual(count(plot, "circle"), withSummary, `circles in ${plot}`);
    }
    // Frontier lines and direct labels: one per series with finished runs (jumprelu, relu, topk).
    strictEqual(count("fidelity_fvu", 'g[aria-label="line"] path'), 3);
    strictEqual(count("fidelity_fvu", 'g[aria-label="text"] text'), 3);
    // Training curves of the frontier runs: jumprelu 4 (two seeds at L0 16), relu 1, topk 3.
    strictEqual(count("training_loss", 'g[aria-label="line"] path'), 8);
    // The at-a-glance cards: one per target L0.
    strictEqual(document.querySelectorAll(".glance .card").length, 3);
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});

test("the console check sees errors a page logs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "saesweep_report_" });
  try {
    await Deno.writeTextFile(
      `${dir}/bad.html`,
      `<!doctype html><body><script>console.error("deliberate");</script></body>`,
    );
    const { console } = await openInChromium(`${dir}/bad.html`);
    strictEqual(console.length, 1);
    // The DevTools driver sees console calls and uncaught exceptions, at load and later.
    await Deno.writeTextFile(
      `${dir}/worse.html`,
      `<!doctype html><body><script>console.error("at load");
      document.body.onclick = () => { throw new Error("on click"); };</script></body>`,
    );
    const driven = await withChromiumPage(`${dir}/worse.html`, async (page) => {
      // Timers run in order: once `done` is set, the click (and its exception) has happened.
      await page.evaluate(`setTimeout(() => document.body.click(), 0);
        setTimeout(() => { window.done = true; }, 0);`);
      await page.waitFor(`window.done`);
    });
    deepStrictEqual(driven.console.map((m) => m.split("\n")[0]), [
      "console.error: at load",
      "exception: Error: on click",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
