import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadRuns } from "../../lib/report/load_runs.ts";
import { writeReport } from "../../lib/report/write.ts";
import { DEFAULT_FONTS_DIR } from "../../lib/report/png.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TOY = `${ROOT}tests/fixtures/runs/toy`;
const SETTINGS = { targetL0s: [8, 16, 32, 64], metrics: ["fvu"], l0Tolerance: 0.1, groupBy: [] };
const HAVE_FONTS = await Deno.stat(`${DEFAULT_FONTS_DIR}/DejaVuSans.ttf`).then(
  () => true,
  () => false,
);

/** The table row of `md` that starts with `| first |`, cells trimmed; undefined when absent. */
function row(md: string, first: string): string[] | undefined {
  const line = md.split("\n").find((l) => l.startsWith(`| ${first} |`));
  return line?.split("|").slice(1, -1).map((c) => c.trim());
}

Deno.test({
  name: "writeReport() writes report.md with the numbers checked by hand for the fixture sweep",
  // report.md links PNGs, which need fonts; CI installs them (fonts-dejavu-core).
  ignore: !HAVE_FONTS && !Deno.env.get("CI"),
  async fn() {
    const outDir = await Deno.makeTempDir({ prefix: "saesweep_report_" });
    try {
      const written = await writeReport(await loadRuns([TOY]), {
        outDir,
        settings: SETTINGS,
        sources: ["tests/fixtures/runs/toy"],
        generatedAt: "2025-01-02T03:04:05Z",
      });
      const md = (await Deno.readTextFile(`${outDir}/report.md`)).replaceAll(ROOT, "");
      // The summaries in tests/fixtures/runs/toy, worked through by hand:
      // 9 finished runs trained 41.3 + 39.8 + 42 + 40.5 + 31 + 30 + 35.5 + 36 + 35 = 331.1 s.
      ok(md.includes("- Compute: 5.5 min of training in 9 finished runs"), md);
      deepStrictEqual(row(md, "done"), ["done", "9"]);
      deepStrictEqual(row(md, "failed"), ["failed", "1"]);
      deepStrictEqual(row(md, "partial"), ["partial", "1"]);
      deepStrictEqual(row(md, "**total**"), ["**total**", "**11**"]);
      // JumpReLU's frontier: (7.9, 0.21), (16.1, 0.153) (seeds 16.4/0.15 and 15.8/0.156; sample
      // std of the FVUs |0.15 - 0.156| / sqrt 2 = 0.00424), (36, 0.1). Linear in log L0:
      // at 8:  t = ln(8/7.9) / ln(16.1/7.9) = 0.01767, FVU = 0.21 - 0.057 t = 0.20899
      // at 16: t = ln(16/7.9) / ln(16.1/7.9) = 0.99125, FVU = 0.15350
      // at 32: t = ln(32/16.1) / ln(36/16.1) = 0.85363, FVU = 0.153 - 0.053 t = 0.10776
      // TopK measured 0.24, 0.17, 0.105 at L0 8, 16, 32; ReLU only L0 7.2 (FVU 0.3).
      // Gaps (baseline - jumprelu) / baseline: (0.3 - 0.20899) / 0.3 = +30.3%,
      // (0.24 - 0.20899) / 0.24 = +12.9%, (0.17 - 0.1535) / 0.17 = +9.7%,
      // (0.105 - 0.10776) / 0.105 = -2.6%.
      deepStrictEqual(row(md, "8"), [
        "8",
        "**jumprelu**",
        "**0.209**",
        "0.3 (nearest run, L0 7.2)",
        "0.24",
        "+30.3%",
        "+12.9%",
      ]);
      deepStrictEqual(row(md, "16"), [
        "16",
        "**jumprelu**",
        "**0.153**",
        "outside measured range (L0 7.2-7.2)",
        "0.17",
        "-",
        "+9.7%",
      ]);
      deepStrictEqual(row(md, "32"), [
        "32",
        "**topk**",
        "0.108",
        "outside measured range (L0 7.2-7.2)",
        "**0.105**",
        "-",
        "-2.6%",
      ]);
      deepStrictEqual(row(md, "64")?.slice(0, 2), ["64", "none (no series measured here)"]);
      const frontier = md.split("\n").filter((l) =>
        /^\| (jumprelu|relu|topk) \| [\d.]+ \|/.test(l)
      );
      deepStrictEqual(frontier.map((l) => l.split("|").slice(1, 6).map((c) => c.trim())), [
        ["jumprelu", "7.9", "0.21", "-", "1"],
        ["jumprelu", "16.1", "0.153", "0.00424", "2"],
        ["jumprelu", "36", "0.1", "-", "1"],
        ["relu", "7.2", "0.3", "-", "1"],
        ["topk", "8", "0.24", "-", "1"],
        ["topk", "16", "0.17", "-", "1"],
        ["topk", "32", "0.105", "-", "1"],
      ]);
      // Achieved 36 for target 32: +12.5%, outside the 10% tolerance; the only such run.
      ok(md.includes("1 finished run(s) outside the L0 tolerance"));
      deepStrictEqual(row(md, "jumprelu-l0_32-s0-a003f1c2")?.slice(0, 5), [
        "jumprelu-l0_32-s0-a003f1c2",
        "jumprelu",
        "32",
        "36",
        "+12.5%",
      ]);
      // Failed, unfinished and unreadable runs are listed, never dropped.
      ok(md.includes(
        "| relu-l0_32-s0-a006f1c2 | relu | 20 | training diverged at step 30: loss is not finite |",
      ));
      ok(md.includes("| gated-l0_16-s0-a007f1c2 | gated | partial | 10 | 12.5 s |"));
      ok(
        md.includes(
          "| tests/fixtures/runs/toy/zz-corrupt-0000/run.json | expected a JSON object |",
        ),
      );
      // Sections in this order (others may come between them) and every PNG it links exists.
      const headings = md.split("\n").filter((l) => l.startsWith("## "));
      const wanted = [
        "## Runs",
        "## Winner at each target L0",
        "## Fidelity vs L0",
        "## Achieved vs target L0",
        "## Dead and dense latents",
        "## Training curves",
        "## Failed runs",
        "## Unfinished runs",
        "## Problems reading run directories",
        "## All runs",
      ];
      deepStrictEqual(headings.filter((h) => wanted.includes(h)), wanted);
      const names = written.files.map((f) => f.slice(outDir.length + 1)).sort();
      for (const [, png] of md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)) ok(names.includes(png), png);
      for (
        const name of ["comparison.csv", "frontier.csv", "index.html", "report.md", "runs.csv"]
      ) {
        ok(names.includes(name), name);
      }
      const png = await Deno.readFile(`${outDir}/fidelity_fvu.png`);
      deepStrictEqual([...png.slice(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
    } finally {
      await Deno.remove(outDir, { recursive: true });
    }
  },
});

Deno.test("writeReport() writes CSVs with one line per run, frontier point and comparison", async () => {
  const outDir = await Deno.makeTempDir({ prefix: "saesweep_report_" });
  try {
    await writeReport(await loadRuns([TOY]), {
      outDir,
      settings: SETTINGS,
      sources: [],
      png: false,
    });
    const lines = async (name: string) =>
      (await Deno.readTextFile(`${outDir}/${name}`)).trimEnd().split("\n");
    strictEqual((await lines("runs.csv")).length, 1 + 11);
    // Frontier: jumprelu 3 configs (2 seeds averaged at L0 16), relu 1 (L0 16 is dominated), topk 3.
    strictEqual((await lines("frontier.csv")).length, 1 + 7);
    const comparison = await lines("comparison.csv");
    strictEqual(comparison.length, 1 + 4 * 3);
    ok(comparison.includes("fvu,,64,topk,topk,toy,,outside measured range (L0 8-32),false,"));
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});

Deno.test("writeReport() skips PNGs with a warning in report.md when fonts are missing", async () => {
  const outDir = await Deno.makeTempDir({ prefix: "saesweep_report_" });
  try {
    const written = await writeReport(await loadRuns([TOY]), {
      outDir,
      settings: SETTINGS,
      sources: [],
      fontsDir: `${outDir}/no-fonts-here`,
    });
    strictEqual(written.files.some((f) => f.endsWith(".png")), false);
    const md = await Deno.readTextFile(`${outDir}/report.md`);
    ok(md.includes("> **Warning:** PNG plots were not written: no DejaVuSans.ttf in"));
    ok(md.includes("_Plot not rendered as PNG: FVU vs L0"));
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});

Deno.test("writeReport() reports a sweep where nothing has finished yet", async () => {
  const outDir = await Deno.makeTempDir({ prefix: "saesweep_report_" });
  try {
    const runs = await loadRuns([TOY]);
    const unfinished = {
      ...runs,
      table: runs.table.params({ d: "done" }).filter((r: { status: string }, $: { d: string }) =>
        r.status !== $.d
      ),
    };
    const written = await writeReport(unfinished, { outDir, settings: SETTINGS, sources: [] });
    const md = await Deno.readTextFile(`${outDir}/report.md`);
    ok(md.includes("No run has finished yet"));
    ok(md.includes("| relu-l0_32-s0-a006f1c2 | relu | 20 | training diverged at step 30"));
    strictEqual(written.files.filter((f) => f.endsWith(".png")).length, 0);
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});
