// Opens the fixture report's index.html in headless Chromium: the plots carry one dot per finished
// run, and the page logs nothing to the console; the explorer is driven with the mouse, offline,
// through to a run page. Skipped without Chromium, except under CI=true.
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
    ok(selfContained(html), "not self-contained");
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
    // Without JavaScript (--dump-dom runs it; the served HTML is what a reader without it gets)
    // the explorer stays hidden and every static plot is there.
    ok(/<section id="explore" hidden>/.test(html));
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

/** No external resource: inline scripts only, no src/link, no URL but the SVG namespace. */
function selfContained(html: string): boolean {
  return !/<script[^>]*\bsrc=|<link|\bsrc=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(html);
}

test("the explorer: hover a point, hide a series, switch the metric, follow a point to its run page, offline", async () => {
  const outDir = await Deno.makeTempDir({ prefix: "saesweep_report_" });
  try {
    await writeReport(await loadRuns([TOY]), {
      outDir,
      settings: { targetL0s: [8, 16, 32], metrics: ["fvu"], l0Tolerance: 0.1, groupBy: [] },
      sources: [TOY],
      png: false,
    });
    const html = await Deno.readTextFile(`${outDir}/index.html`);
    ok(selfContained(html), "index.html is not self-contained");
    const TOPK = "topk-l0_16-s0-a009f1c2";
    const visible =
      `[...document.querySelectorAll("#explore .ex-winners")].filter((t) => !t.hidden)`;
    const winners = `${visible}.map((t) => [t.dataset.metric,
      [...t.querySelectorAll("tr")].slice(1).map((r) => r.cells[1].textContent)])`;
    const count = (selector: string) =>
      `document.querySelectorAll(${JSON.stringify(selector)}).length`;
    const { console, requests } = await withChromiumPage(`${outDir}/index.html`, async (page) => {
      await page.waitFor(`!document.getElementById("explore").hidden`);
      // One point per finished run, as in the static plots.
      strictEqual(await page.evaluate(count("#ex-plot circle[data-run]")), 9);

      await page.hover(`#ex-plot circle[data-run="${TOPK}"]`);
      await page.waitFor(`!document.getElementById("ex-tip").hidden`);
      deepStrictEqual(
        await page.evaluate(`[...document.getElementById("ex-tip").children].map((e) =>
          e.textContent)`),
        [TOPK, "series: topk", "target L0 16, achieved L0 16", "FVU: 0.17", "open the run page"],
      );

      await page.click(`#ex-legend button[data-series="topk"]`);
      await page.waitFor(
        `document.querySelector('#ex-legend button[data-series="topk"]')
          .getAttribute("aria-pressed") === "false"`,
      );
      strictEqual(await page.evaluate(count(`#ex-plot [data-series="topk"]`)), 0);
      strictEqual(await page.evaluate(count(`#ex-plot circle[data-series="jumprelu"]`)), 4);
      await page.click(`#ex-legend button[data-series="topk"]`);
      strictEqual(await page.evaluate(count(`#ex-plot circle[data-series="topk"]`)), 3);
      strictEqual(await page.evaluate(count(`#ex-plot polyline[data-series="topk"]`)), 1);

      // FVU: jumprelu wins at 8 and 16, topk at 32 (as the static comparison table says).
      deepStrictEqual(await page.evaluate(winners), [
        ["fvu", ["jumprelu", "jumprelu", "topk"]],
      ]);
      const yOf =
        `document.querySelector('#ex-plot circle[data-run="${TOPK}"]').getAttribute("cy")`;
      const before = await page.evaluate<string>(yOf);
      await page.evaluate(`(() => { const s = document.getElementById("ex-metric");
        s.value = "explained_variance"; s.dispatchEvent(new Event("change")); })()`);
      // Explained variance is 1 - FVU: the same winners, ranked by the highest value.
      deepStrictEqual(await page.evaluate(winners), [
        ["explained_variance", ["jumprelu", "jumprelu", "topk"]],
      ]);
      ok(await page.evaluate<string>(yOf) !== before, "the point did not move with the metric");
      await page.evaluate(`(() => { const s = document.getElementById("ex-metric");
        s.value = "dead_frac"; s.dispatchEvent(new Event("change")); })()`);
      // Dead fraction (lower wins): jumprelu's frontier is its L0 7.9 run alone (its other runs
      // have more dead latents at higher L0); topk's has runs at 8 (6%), 16 (4%) and 32 (3%).
      deepStrictEqual(await page.evaluate(winners), [
        ["dead_frac", ["jumprelu", "topk", "topk"]],
      ]);
      ok(
        (await page.evaluate<string>(`${visible}[0].querySelector("h3").textContent`))
          .includes("Dead fraction"),
      );
      await page.evaluate(`(() => { const s = document.getElementById("ex-y");
        s.value = "log"; s.dispatchEvent(new Event("change")); })()`);
      strictEqual(await page.evaluate(count("#ex-plot circle[data-run]")), 9);

      await page.click(`#ex-plot circle[data-run="${TOPK}"]`);
      await page.waitFor(
        `location.href.endsWith("/runs/${TOPK}.html") && document.readyState === "complete"`,
      );
      strictEqual(await page.evaluate(`document.querySelector("h1").textContent`), `Run ${TOPK}`);
      ok(
        await page.evaluate(`[...document.querySelectorAll("h2")].some((h) =>
        h.textContent === "Effective config")`),
      );
    }, { offline: true });
    deepStrictEqual(console, []);
    // Only the report's own files were requested.
    deepStrictEqual(requests.filter((u) => !u.startsWith("file://")), []);
    ok(requests.some((u) => u.endsWith(`/runs/${TOPK}.html`)), requests.join("\n"));
    ok(selfContained(await Deno.readTextFile(`${outDir}/runs/${TOPK}.html`)));
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
