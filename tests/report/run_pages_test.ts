// Run pages (lib/report/run_pages.ts, run_page.ts): one per run of the report, with the effective
// config's values marked as default, swept, recipe or spec, the controller trace where the run has
// a lambda, and links to the files the run wrote that resolve to those files.
import assert from "node:assert/strict";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseHTML } from "linkedom";
import { parseExperiment } from "../../lib/spec/load.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";
import { effectiveConfig } from "../../lib/sweep/effective_config.ts";
import { configEntries } from "../../lib/report/run_pages.ts";
import { renderRunPage } from "../../lib/report/run_page.ts";
import { loadRuns } from "../../lib/report/load_runs.ts";
import { writeReport } from "../../lib/report/write.ts";

const TOY = fileURLToPath(new URL("../fixtures/runs/toy", import.meta.url));

Deno.test("configEntries() marks each value as swept, set by the run's recipe, a default or the spec's", () => {
  const { spec, axes } = parseExperiment(
    `name: r
data: { source: synthetic, d_model: 16, n_features: 64, mean_active: 4 }
sae: { width: 64 }
train: { tokens: 20480, batch_size: 1024, lr: 0.00007 }
recipes:
  wide: { sae.jumprelu.bandwidth_unit: pre_act_std, sae.jumprelu.bandwidth: 1 }
sweep:
  recipe: [wide]
  sae.target_l0: [8]
`,
    "r.yaml",
  );
  const [plan] = expandSweep(
    { spec, axes, specPath: "r.yaml", specDir: "/tmp", specHash: "0" },
    { outDir: "/tmp/runs" },
  );
  const entries = configEntries(effectiveConfig(plan.config), {
    overrides: plan.overrides,
    recipe: spec.recipes?.wide,
  });
  const origin = Object.fromEntries(entries.map((e) => [e.path, e.origin]));
  assert.equal(origin["sae.target_l0"], "swept");
  assert.equal(origin["sae.jumprelu.bandwidth"], "recipe");
  assert.equal(origin["sae.jumprelu.bandwidth_unit"], "recipe");
  assert.equal(origin["sae.jumprelu.penalty"], "default");
  assert.equal(origin["sae.architecture"], "default"); // jumprelu, not swept here
  assert.equal(origin["sae.width"], "spec"); // 64; the default is 256
  assert.equal(origin["train.tokens"], "spec");
  // Written in the spec but equal to the default: the reader learns it is the default.
  assert.equal(origin["train.lr"], "default");
  assert.equal(origin["data.d_model"], "spec");
  assert.equal(entries.find((e) => e.path === "sae.jumprelu.bandwidth")?.value, 1);
  assert.ok(!("experiment" in origin));
});

Deno.test("writeReport() writes a page per run with its summary, controller trace and files", async () => {
  const outDir = await Deno.makeTempDir({ prefix: "saesweep_runpages_" });
  try {
    const loaded = await loadRuns([TOY]);
    const { files, model } = await writeReport(loaded, {
      outDir,
      settings: { targetL0s: [8, 16, 32], metrics: ["fvu"], l0Tolerance: 0.1, groupBy: [] },
      sources: [TOY],
      png: false,
    });
    const pages = files.filter((f) => f.includes("/runs/"));
    assert.deepEqual(
      pages.map((p) => p.split("/").at(-1)).sort(),
      model.runs.map((r) => `${r.run_id}.html`).sort(),
    );
    // linkedom is typed against the DOM lib, which Deno does not load.
    type El = {
      textContent: string;
      getAttribute(name: string): string | null;
      querySelectorAll(s: string): El[];
    };
    const open = async (id: string) => {
      const path = `${outDir}/runs/${id}.html`;
      const { document } = parseHTML(await Deno.readTextFile(path)) as unknown as {
        document: El & { querySelector(s: string): El | null };
      };
      return { document, dir: dirname(path) };
    };

    const jump = await open("jumprelu-l0_16-s0-a001f1c2");
    const cells = (doc: El, h: string) =>
      [...doc.querySelectorAll("tr")].map((r) =>
        [...r.querySelectorAll("td")].map((c) => c.textContent)
      ).filter((r) => r[0] === h)[0];
    assert.deepEqual(cells(jump.document, "FVU (fvu)"), ["FVU (fvu)", "0.15"]);
    assert.deepEqual(cells(jump.document, "sae.target_l0"), ["sae.target_l0", "16", "swept"]);
    assert.ok(jump.document.querySelector('figure[data-plot="run_lambda"]'));
    assert.ok(jump.document.querySelector('figure[data-plot="run_l0"]'));
    assert.ok(jump.document.querySelector('figure[data-plot="run_loss"]'));
    // Every file link resolves to the run's own file.
    const runDir = String(
      model.runs.find((r) => r.run_id === "jumprelu-l0_16-s0-a001f1c2")!.run_dir,
    );
    const links = [...jump.document.querySelectorAll("ul.files a")].map((a) =>
      resolve(jump.dir, decodeURIComponent(a.getAttribute("href")!))
    );
    assert.deepEqual(links, [
      `${runDir}/run.json`,
      `${runDir}/summary.json`,
      `${runDir}/metrics.jsonl`,
    ]);
    assert.equal(
      jump.document.querySelector("p.meta a")!.getAttribute("href"),
      "../index.html",
    );

    const topk = await open("topk-l0_16-s0-a009f1c2");
    assert.equal(topk.document.querySelector('figure[data-plot="run_lambda"]'), null);
    const failed = await open("relu-l0_32-s0-a006f1c2");
    assert.match(failed.document.querySelector("p.warn")!.textContent, /^Error: /);

    // index.html links every run cell and point to these pages.
    const index = await Deno.readTextFile(`${outDir}/index.html`);
    for (const r of model.runs) {
      assert.ok(
        index.includes(`<a href="runs/${r.run_id}.html">${r.run_id}</a>`),
        String(r.run_id),
      );
    }
    const done = model.runs.filter((r) => r.status === "done" && typeof r.l0 === "number");
    for (const r of done) {
      const point = new RegExp(
        `href="runs/${r.run_id}\\.html"[^>]*><circle[^>]*><title>${r.run_id}\n`,
      );
      assert.match(index, point, `point of ${r.run_id}`);
    }
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});

Deno.test("renderRunPage() links an LM run's feature page and says what a run without logs lacks", () => {
  const page = renderRunPage({
    run: { run_id: "r1", status: "running", series: "topk", experiment: "x" },
    reportTitle: "x",
    colors: { domain: ["topk"], range: ["#000"] },
    config: [],
    lines: [],
    files: [],
    featureHref: "../features/r1.html",
  }, { summaryKeys: [] });
  assert.match(page, /<h2>Latents<\/h2><p><a href="\.\.\/features\/r1\.html">Feature page<\/a>/);
  assert.match(page, /No summary yet/);
  assert.match(page, /No metrics\.jsonl lines yet/);
  assert.match(page, /No lambda trace/);
  assert.doesNotMatch(page, /<script/);
});
