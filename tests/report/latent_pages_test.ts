// Latent pages of a report of real stories260K runs: index.html links a feature page per run; the
// blind rating page names no run; saved ratings are summarised per architecture; and in headless
// Chromium the feature page renders highlighted cards, finds a typed token and logs nothing, and a
// page of thousands of latents builds only the cards in view.
import assert from "node:assert/strict";
import { join } from "node:path";
import { Rng } from "../../lib/data/rng.ts";
import {
  contextSlots,
  FEATURE_DEFAULTS,
  type FeatureData,
  windowLength,
} from "../../lib/features/feature_data.ts";
import { readFeatureData } from "../../lib/features/store.ts";
import { loadRuns } from "../../lib/report/load_runs.ts";
import { type RatingKey, summariseRatings } from "../../lib/report/rating.ts";
import { latentPayload } from "../../lib/report/_feature_payload.ts";
import { renderFeaturePage } from "../../lib/report/feature_page.ts";
import { writeReport } from "../../lib/report/write.ts";
import type { RunPlan } from "../../lib/sweep/plan.ts";
import { trainTinyLmRuns } from "../features/_lm_runs.ts";
import { chromiumTest, withChromiumPage } from "./_chromium.ts";

/** Trains the two runs once per file and writes their report into `dir/report`. */
let trained: Promise<{ dir: string; plans: RunPlan[]; outDir: string }> | null = null;
let tempDir: string | null = null;
function reportOfTinyRuns() {
  trained ??= (async () => {
    const dir = tempDir = await Deno.makeTempDir({ prefix: "saesweep_latents_" });
    const { plans } = await trainTinyLmRuns(dir);
    const outDir = join(dir, "report");
    await report(plans, outDir);
    return { dir, plans, outDir };
  })();
  return trained;
}

async function report(plans: RunPlan[], outDir: string) {
  return await writeReport(await loadRuns([join(plans[0].runDir, "..")]), {
    outDir,
    settings: { targetL0s: [8], metrics: ["fvu"], l0Tolerance: 0.1, groupBy: [] },
    sources: ["tinylm"],
    png: false,
  });
}

globalThis.addEventListener("unload", () => {
  if (tempDir) Deno.removeSync(tempDir, { recursive: true });
});

Deno.test("index.html links a feature page per run, and the rating page names no run", async () => {
  const { plans, outDir } = await reportOfTinyRuns();
  const index = await Deno.readTextFile(join(outDir, "index.html"));
  for (const plan of plans) {
    assert.ok(index.includes(`<a href="features/${plan.runId}.html">`), plan.runId);
    const page = await Deno.readTextFile(join(outDir, "features", `${plan.runId}.html`));
    assert.ok(!/\bsrc=|<link|https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(page), "not offline");
  }
  assert.ok(index.includes(`<a href="rate/l0_8.html">`));
  const rate = await Deno.readTextFile(join(outDir, "rate", "l0_8.html"));
  for (const word of [...plans.map((p) => p.runId), "jumprelu", "topk", "JumpReLU", "TopK"]) {
    assert.ok(!rate.includes(word), `rating page reveals ${word}`);
  }
  // The latent measures sit in the frontier table beside FVU.
  const md = await Deno.readTextFile(join(outDir, "report.md"));
  assert.match(md, /\| series \| L0 \| FVU \| std \| n \| dead \| dense \| top-token entropy/);
});

Deno.test("saved ratings are summarised per architecture through the page's key", async () => {
  const { plans, outDir } = await reportOfTinyRuns();
  const keys = [...Deno.readDirSync(join(outDir, "rate", "keys"))];
  assert.equal(keys.length, 1);
  const key: RatingKey = JSON.parse(
    await Deno.readTextFile(join(outDir, "rate", "keys", keys[0].name)),
  );
  assert.deepEqual(new Set(key.items.map((i) => i.architecture)), new Set(["jumprelu", "topk"]));
  // A rater says yes to every jumprelu item, no to topk items, except maybe for item 1.
  const ratings: Record<string, string> = {};
  for (const it of key.items) ratings[it.item] = it.architecture === "jumprelu" ? "yes" : "no";
  ratings["1"] = "maybe";
  const n = (arch: string) => key.items.filter((i) => i.architecture === arch).length;
  const first = key.items[0].architecture;
  const ratingsDir = join(outDir, "ratings");
  await Deno.mkdir(ratingsDir, { recursive: true });
  const file = { format: "saesweep-ratings", version: 1, session: key.session, ratings };
  await Deno.writeTextFile(join(ratingsDir, "a.json"), JSON.stringify(file));
  await Deno.writeTextFile(
    join(ratingsDir, "b.json"),
    JSON.stringify({ ...file, session: "000000000000" }),
  );
  await report(plans, outDir);
  const md = await Deno.readTextFile(join(outDir, "report.md"));
  const row = (arch: string, yes: number, maybe: number, no: number) =>
    `| 8 | ${arch} | ${n(arch)} | ${yes} | ${maybe} | ${no} |`;
  const j = first === "jumprelu" ? 1 : 0, t = 1 - j;
  assert.ok(md.includes(row("jumprelu", n("jumprelu") - j, j, 0)), md);
  assert.ok(md.includes(row("topk", 0, t, n("topk") - t)), md);
  assert.match(md, /b\.json: session 000000000000 matches no rating page key/);
});

chromiumTest(
  "a feature page renders highlighted cards, finds a typed token, logs nothing",
  async () => {
    const { plans, outDir } = await reportOfTinyRuns();
    const plan = plans.find((p) => p.config.sae.architecture === "jumprelu")!;
    const { data } = (await readFeatureData(plan.runDir))!;
    const C = contextSlots(data.options), W = windowLength(data.options);
    const centre = (i: number) =>
      Array.from(
        { length: data.options.topK },
        (_, s) => data.contextTokens[(i * C + s) * W + data.options.before],
      )
        .filter((t) => t >= 0).map((t) => data.vocab[t].trim().toLowerCase());
    const firing = [...data.frequency.keys()].filter((i) => data.frequency[i] > 0);
    // A word that is an activating token of some latents but not of all.
    const counts = new Map<string, number>();
    for (const i of firing) {
      for (const w of new Set(centre(i))) {
        counts.set(w, (counts.get(w) ?? 0) + 1);
      }
    }
    const query = [...counts].filter(([w, c]) => /^[a-z]{3,}$/.test(w) && c < firing.length)
      .sort((a, b) => b[1] - a[1])[0][0];
    const expected = firing.filter((i) => centre(i).some((w) => w.includes(query))).sort((a, b) =>
      a - b
    );
    assert.ok(expected.length > 0 && expected.length < firing.length);

    const { console } = await withChromiumPage(
      join(outDir, "features", `${plan.runId}.html`),
      async (page) => {
        await page.waitFor(`document.querySelectorAll(".fcard").length > 0`);
        const cards = await page.evaluate<{ on: number; peak: number; lines: number }[]>(
          `Array.from(document.querySelectorAll(".fcard")).map((c) => ({
          on: c.querySelectorAll(".tok.on").length,
          peak: c.querySelectorAll(".tok.peak").length,
          lines: c.querySelectorAll(".ctx").length,
        }))`,
        );
        assert.equal(cards.length, Math.min(30, firing.length));
        for (const c of cards) {
          assert.ok(c.on > 0 && c.lines > 0, JSON.stringify(c));
          assert.equal(c.peak, c.lines); // one outlined activating token per context line
        }
        await page.evaluate(`(() => {
        const q = document.getElementById("q");
        q.value = ${JSON.stringify(query)};
        q.dispatchEvent(new Event("input"));
      })()`);
        await page.waitFor(
          `document.getElementById("count").textContent === "${expected.length} of ${data.width} latents"`,
        );
        await page.evaluate(`(() => {
        const s = document.getElementById("sort");
        s.value = "index";
        s.dispatchEvent(new Event("change"));
      })()`);
        const shown = await page.evaluate<number[]>(
          `Array.from(document.querySelectorAll(".fcard")).map((c) => Number(c.dataset.latent))`,
        );
        assert.deepEqual(shown, expected.slice(0, 30));
        const peaks = await page.evaluate<string[][]>(
          `Array.from(document.querySelectorAll(".fcard")).map((c) =>
          Array.from(c.querySelectorAll(".tok.peak")).map((t) => t.textContent.trim().toLowerCase()))`,
        );
        for (const p of peaks) assert.ok(p.some((w) => w.includes(query)), p.join("|"));
        assert.equal(await page.evaluate(`location.hash`), `#q=${query}`);
      },
    );
    assert.deepEqual(console, []);

    // The rating page: a click is kept, and Save writes a ratings file (through the File System
    // Access API, stubbed here to capture what is written) that later clicks keep up to date.
    const keyName = [...Deno.readDirSync(join(outDir, "rate", "keys"))][0].name;
    const key: RatingKey = JSON.parse(
      await Deno.readTextFile(join(outDir, "rate", "keys", keyName)),
    );
    let saved: Record<string, unknown> = {};
    const rate = await withChromiumPage(join(outDir, "rate", "l0_8.html"), async (page) => {
      await page.waitFor(`document.querySelectorAll(".fcard .rate").length > 0`);
      assert.equal(
        await page.evaluate(`document.querySelectorAll(".fcard").length`),
        Math.min(30, key.items.length),
      );
      const click = (card: number, value: string) =>
        page.evaluate(
          `document.querySelectorAll(".fcard")[${card}].querySelector('.rate button[data-value="${value}"]').click()`,
        );
      await click(0, "yes");
      await page.waitFor(`document.getElementById("count").textContent.startsWith("1 of")`);
      const stored = await page.evaluate<string>(
        `JSON.stringify(Object.values(JSON.parse(localStorage.getItem(Object.keys(localStorage)[0]))))`,
      );
      assert.equal(stored, `["yes"]`);
      await page.evaluate(`(() => {
        window.__saved = [];
        window.showSaveFilePicker = async () => ({
          createWritable: async () => ({ write: async (t) => { window.__saved.push(t); }, close: async () => {} }),
        });
        document.getElementById("rater").value = "tester";
        document.getElementById("save").click();
      })()`);
      await page.waitFor(`window.__saved.length === 1`);
      await click(1, "no");
      await page.waitFor(`window.__saved.length === 2`);
      saved = JSON.parse(await page.evaluate<string>(`window.__saved[1]`));
    });
    assert.equal(saved.format, "saesweep-ratings");
    assert.equal(saved.session, key.session);
    assert.equal(saved.rater, "tester");
    assert.deepEqual(saved.ratings, { "1": "yes", "2": "no" });
    const { rows } = summariseRatings(
      [{
        path: "saved.json",
        session: key.session,
        ratings: saved.ratings as Record<string, string>,
      }],
      new Map([[key.session, key]]),
    );
    const [a, b] = [key.items[0].architecture, key.items[1].architecture];
    const count = (arch: string, v: "yes" | "no") => rows.find((r) => r.architecture === arch)![v];
    assert.equal(count(a, "yes"), 1);
    assert.equal(count(b, "no"), 1);
    assert.deepEqual(rate.console, []);
  },
);

chromiumTest(
  "a feature page of 4096 latents builds 30 cards, then more as the reader scrolls",
  async () => {
    // Synthetic feature data: every latent fires, random tokens and activations.
    const F = 4096, o = { ...FEATURE_DEFAULTS }, C = contextSlots(o), W = windowLength(o);
    const rng = new Rng(5);
    const fill = (n: number, f: () => number) => Float32Array.from({ length: n }, f);
    const data: FeatureData = {
      rows: 10_000,
      width: F,
      options: o,
      vocab: Array.from({ length: 512 }, (_, i) => ` t${i}`),
      frequency: fill(F, () => 0.001 + rng.uniform() / 10),
      maxAct: fill(F, () => 1 + rng.uniform()),
      meanAct: fill(F, () => 0.5),
      histogram: fill(F * o.bins, () => rng.int(50)),
      contextTokens: fill(F * C * W, () => rng.int(512)),
      contextActs: fill(F * C * W, () => rng.uniform() < 0.3 ? rng.uniform() : 0),
      contextValue: fill(F * C, () => 1),
      contextRow: fill(F * C, () => rng.int(10_000)),
      promotedIds: fill(F * 10, () => rng.int(512)),
      promotedValues: fill(F * 10, () => rng.uniform()),
      suppressedIds: fill(F * 10, () => rng.int(512)),
      suppressedValues: fill(F * 10, () => -rng.uniform()),
    };
    const dir = await Deno.makeTempDir({ prefix: "saesweep_wide_" });
    try {
      const path = join(dir, "wide.html");
      const latents = Array.from({ length: F }, (_, latent) => ({ data, latent }));
      await Deno.writeTextFile(
        path,
        renderFeaturePage(
          {
            runId: "wide",
            experiment: "wide",
            architecture: "topk",
            l0: 32,
            targetL0: 32,
            measures: {},
          },
          latentPayload(latents),
          { back: "index.html" },
        ),
      );
      const { console } = await withChromiumPage(path, async (page) => {
        await page.waitFor(
          `document.getElementById("count").textContent === "4096 of 4096 latents"`,
        );
        assert.equal(await page.evaluate(`document.querySelectorAll(".fcard").length`), 30);
        await page.evaluate(`window.scrollTo(0, document.body.scrollHeight)`);
        await page.waitFor(`document.querySelectorAll(".fcard").length >= 60`);
        assert.ok(await page.evaluate<number>(`document.querySelectorAll(".fcard").length`) < 4096);
      });
      assert.deepEqual(console, []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
