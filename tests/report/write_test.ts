import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadRuns } from "../../lib/report/load_runs.ts";
import { writeReport } from "../../lib/report/write.ts";
import { DEFAULT_FONTS_DIR } from "../../lib/report/png.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TOY = `${ROOT}tests/fixtures/runs/toy`;
const EXPECTED = `${ROOT}tests/fixtures/expected/report.md`;
const SETTINGS = { targetL0s: [8, 16, 32, 64], metrics: ["fvu"], l0Tolerance: 0.1, groupBy: [] };
const HAVE_FONTS = await Deno.stat(`${DEFAULT_FONTS_DIR}/DejaVuSans.ttf`).then(
  () => true,
  () => false,
);

Deno.test({
  name: "writeReport() writes the report.md checked in for the fixture sweep",
  // The expected file links PNGs, which need fonts; CI installs them (fonts-dejavu-core).
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
      if (Deno.env.get("UPDATE_EXPECTED")) await Deno.writeTextFile(EXPECTED, md);
      strictEqual(md, await Deno.readTextFile(EXPECTED));
      const names = written.files.map((f) => f.slice(outDir.length + 1)).sort();
      deepStrictEqual(names, [
        "comparison.csv",
        "dead_frac.png",
        "dense_frac.png",
        "fidelity_fvu.png",
        "frontier.csv",
        "index.html",
        "l0_achieved.png",
        "report.md",
        "runs.csv",
        "training_l0.png",
        "training_loss.png",
      ]);
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
