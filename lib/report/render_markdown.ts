// Renders a report model as Markdown (GitHub tables, PNG plots referenced beside the file). Pure:
// the caller writes the text and the images.
import type { ReportModel } from "./build.ts";
import type { Figure } from "./figures.ts";
import type { Cell, Table } from "./_tables.ts";
import {
  comparisonTables,
  failedTable,
  frontierTable,
  gapSentence,
  hasGapColumns,
  HEALTH_NOTE,
  healthTable,
  l0MissTable,
  latentTable,
  problemsTable,
  provenanceLines,
  ratingPagesTable,
  ratingTable,
  recipeSentence,
  recipeTables,
  runsTable,
  statusTable,
  unfinishedTable,
} from "./_tables.ts";
import { metricInfo } from "./_metrics.ts";
import type { LatentPages } from "./latent_pages.ts";

/** What the Markdown shows of the figures: PNG file names, or why there are none. */
export interface MarkdownOptions {
  figures: Figure[];
  /** PNG file name per figure key; missing keys are listed as not rendered. */
  images: Record<string, string>;
  /** Warnings shown at the top (e.g. PNGs skipped because fonts are missing). */
  warnings?: string[];
  /** Feature and rating pages written beside the report (LM runs). */
  latents?: LatentPages;
}

/** The whole report.md text. */
export function renderMarkdown(model: ReportModel, options: MarkdownOptions): string {
  const out: string[] = [`# SAE sweep report: ${model.title}`, ""];
  if (model.description) out.push(`> ${model.description.trim().replace(/\n/g, "\n> ")}`, "");
  for (const w of options.warnings ?? []) out.push(`> **Warning:** ${w}`, "");
  out.push(...provenanceLines(model).map((l) => `- ${l}`), "");
  for (const n of model.notes) out.push(`- Note: ${n}`);
  if (model.notes.length) out.push("");
  out.push("## Runs", "", table(statusTable(model)), "");

  out.push("## Winner at each target L0", "");
  const comparisons = comparisonTables(model);
  if (comparisons.length === 0) out.push("No finished runs to compare yet.", "");
  for (const t of comparisons) {
    out.push(`### ${metricInfo(t.metric).label}${t.panel ? ` (${t.panel})` : ""}`, "");
    out.push(table(t), "");
    if (hasGapColumns(t)) out.push(gapSentence(t.metric), "");
  }
  out.push(
    "Values are read off each series' frontier, linearly in log L0; outside the range of L0s a " +
      "series measured there is no value.",
    "",
  );
  const recipes = recipeTables(model);
  if (recipes.length) out.push("## Recipes against the baseline", "");
  for (const t of recipes) {
    out.push(`### ${metricInfo(t.metric).label}${t.panel ? ` (${t.panel})` : ""}`, "");
    out.push(table(t), "", recipeSentence(t), "");
  }

  const fig = (section: Figure["section"]) => {
    for (const f of options.figures.filter((x) => x.section === section)) {
      const file = options.images[f.key];
      out.push(file ? `![${f.title}](${file})` : `_Plot not rendered as PNG: ${f.title}_`, "");
    }
  };
  out.push("## Fidelity vs L0", "");
  fig("fidelity");
  for (const m of model.settings.metrics) {
    out.push(`### Frontier: ${metricInfo(m).label}`, "", table(frontierTable(model, m)), "");
  }
  out.push("## Achieved vs target L0", "");
  fig("l0");
  const misses = l0MissTable(model);
  out.push(
    misses.rows.length === 0
      ? "Every finished run is within the L0 tolerance."
      : `${misses.rows.length} finished run(s) outside the L0 tolerance:\n\n${table(misses)}`,
    "",
  );
  out.push("## Dead and dense latents", "");
  fig("latents");
  const latents = options.latents ? latentTable(model, options.latents) : null;
  if (options.latents && latents && latents.rows.length > 0) {
    const pages = options.latents;
    out.push("## Latents", "", table(latents), "");
    if (pages.ratingPages.length) {
      out.push("### Blind rating", "", table(ratingPagesTable(pages)), "");
    }
    if (pages.ratings.length) out.push(table(ratingTable(pages)), "");
    for (const n of pages.notes) out.push(`- Note: ${n}`);
    if (pages.notes.length) out.push("");
  }
  if (model.health) {
    out.push("## JumpReLU health", "", table(healthTable(model)), "", HEALTH_NOTE, "");
    fig("health");
  }
  out.push("## Training curves", "");
  fig("training");
  if (!options.figures.some((f) => f.section === "training")) out.push("No curves.", "");

  section(out, "Failed runs", failedTable(model), "No failed runs.");
  section(out, "Unfinished runs", unfinishedTable(model), "None: every run finished or failed.");
  section(out, "Problems reading run directories", problemsTable(model), "None.");
  out.push("## All runs", "", table(runsTable(model)), "");
  return out.join("\n");
}

function section(out: string[], title: string, t: Table, empty: string) {
  out.push(`## ${title}`, "", t.rows.length ? table(t) : empty, "");
}

function table(t: Table): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [
    line(t.headers.map(escape)),
    line(t.headers.map(() => "---")),
    ...t.rows.map((r) => line(r.map(cell))),
  ].join("\n");
}

function cell(c: Cell): string {
  let text = escape(c.text);
  if (c.href) text = `[${text}](${c.href})`;
  return c.strong && text !== "" ? `**${text}**` : text;
}

function escape(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}
