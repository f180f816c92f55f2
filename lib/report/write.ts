// Writes a report directory: index.html, report.md with PNG plots beside it, runs.csv,
// frontier.csv, comparison.csv, a page per run (run_pages.ts) and the latent pages of LM runs
// (latent_pages.ts). Builds the model, draws the figures and renders; prints nothing.
import * as aq from "arquero";
import { join } from "node:path";
import type { LoadedRuns } from "./load_runs.ts";
import { buildReport } from "./build.ts";
import type { ReportModel, ReportProvenance, ReportSettings } from "./build.ts";
import { figuresOf } from "./figures.ts";
import { renderMarkdown } from "./render_markdown.ts";
import { renderHtml } from "./render_html.ts";
import { DEFAULT_FONTS_DIR, loadFonts, svgToPng } from "./png.ts";
import { writeLatentPages } from "./latent_pages.ts";
import { type RecipeSettings, writeRunPages } from "./run_pages.ts";

/** Where to write, with which settings, and how to render PNGs. */
export interface WriteReportOptions extends ReportProvenance {
  outDir: string;
  settings: ReportSettings;
  /** Directory with DejaVuSans.ttf (default: Debian's fonts-dejavu-core location). */
  fontsDir?: string;
  /** Set false to skip PNGs (report.md then says so). Default true. */
  png?: boolean;
  /** The specs' recipes, so run pages can mark the values a recipe set. */
  recipes?: RecipeSettings;
}

/** What was written. */
export interface WrittenReport {
  outDir: string;
  /** Paths of the files written, in order. */
  files: string[];
  /** Things the reader should know (also stated in report.md and index.html). */
  warnings: string[];
  model: ReportModel;
}

/** Builds and writes the report of `loaded` into `options.outDir` (created if needed). */
export async function writeReport(
  loaded: LoadedRuns,
  options: WriteReportOptions,
): Promise<WrittenReport> {
  const model = await buildReport(loaded, { settings: options.settings, provenance: options });
  const figures = figuresOf(model);
  const warnings: string[] = [];
  const files: string[] = [];
  await Deno.mkdir(options.outDir, { recursive: true });
  const write = async (name: string, data: string | Uint8Array) => {
    const path = join(options.outDir, name);
    if (typeof data === "string") await Deno.writeTextFile(path, data);
    else await Deno.writeFile(path, data);
    files.push(path);
  };

  const images: Record<string, string> = {};
  if (options.png !== false && figures.length > 0) {
    const fontsDir = options.fontsDir ?? DEFAULT_FONTS_DIR;
    const fonts = await loadFonts(fontsDir);
    if (fonts === null) {
      warnings.push(
        `PNG plots were not written: no DejaVuSans.ttf in ${fontsDir} ` +
          "(install Debian's fonts-dejavu-core); index.html has every plot",
      );
    } else {
      for (const f of figures) {
        await write(`${f.key}.png`, await svgToPng(f.svg, { fonts }));
        images[f.key] = `${f.key}.png`;
      }
    }
  } else if (options.png === false && figures.length > 0) {
    warnings.push("PNG plots were not written (disabled); index.html has every plot");
  }
  if (model.runs.every((r) => r.status !== "done")) {
    warnings.push("No run has finished yet: there is nothing to plot or compare");
  }

  const latents = await writeLatentPages(model, options.outDir);
  files.push(...latents.files);
  files.push(...await writeRunPages(model, options.outDir, { latents, recipes: options.recipes }));
  await write("index.html", renderHtml(model, { figures, warnings, latents }));
  await write("report.md", renderMarkdown(model, { figures, images, warnings, latents }));
  await write("runs.csv", toCsv(model.runs, loaded.table.columnNames().concat("series", "panel")));
  await write("frontier.csv", toCsv(frontierRows(model)));
  await write("comparison.csv", toCsv(model.comparison as unknown as Record<string, unknown>[]));
  return { outDir: options.outDir, files, warnings, model };
}

function frontierRows(model: ReportModel): Record<string, unknown>[] {
  return model.settings.metrics.flatMap((metric) =>
    model.frontiers[metric].map((r) => ({ metric, ...r }))
  );
}

function toCsv(rows: Record<string, unknown>[], names?: string[]): string {
  if (rows.length === 0) return names ? names.join(",") + "\n" : "";
  const columns = names ?? Object.keys(rows[0]);
  return aq.from(rows, columns).toCSV() + "\n";
}
