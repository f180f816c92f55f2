// Renders a report model as one self-contained HTML page: inline CSS and SVG, no network; one
// small inline script drives the explorer (explore.ts), and the page reads fully without it.
// Pure: returns the text; the caller writes it.
import type { ReportModel } from "./build.ts";
import type { Figure } from "./figures.ts";
import type { Table } from "./_tables.ts";
import { CSS, esc, renderTable } from "./_html.ts";
import { exploreSection } from "./explore.ts";
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
import { num } from "./_format.ts";
import type { LatentPages } from "./latent_pages.ts";

/** The whole index.html text. */
export function renderHtml(
  model: ReportModel,
  options: { figures: Figure[]; warnings?: string[]; latents?: LatentPages },
): string {
  const color = (s: string) => model.colors.range[model.colors.domain.indexOf(s)] ?? "#999";
  const swatch = (s: string) => `<span class="sw" style="background:${color(s)}"></span>`;
  const tableHtml = (t: Table) => renderTable(t, swatch);
  const b: string[] = [];
  b.push(`<h1>SAE sweep report: ${esc(model.title)}</h1>`);
  if (model.description) b.push(`<p>${esc(model.description)}</p>`);
  for (const w of options.warnings ?? []) b.push(`<p class="warn">${esc(w)}</p>`);
  b.push(`<ul class="meta">${provenanceLines(model).map((l) => `<li>${esc(l)}</li>`).join("")}`);
  b.push(`${model.notes.map((n) => `<li>Note: ${esc(n)}</li>`).join("")}</ul>`);
  b.push(exploreSection(model, { table: tableHtml, swatch }));

  b.push(`<h2>Winner at each target L0</h2>`);
  b.push(glance(model, swatch));
  const comparisons = comparisonTables(model);
  if (comparisons.length === 0) b.push(`<p>No finished runs to compare yet.</p>`);
  for (const t of comparisons) {
    b.push(`<h3>${esc(metricInfo(t.metric).label)}${t.panel ? ` (${esc(t.panel)})` : ""}</h3>`);
    b.push(tableHtml(t));
    if (hasGapColumns(t)) b.push(`<p class="meta">${esc(gapSentence(t.metric))}</p>`);
  }
  b.push(
    `<p class="meta">Values are read off each series' frontier, linearly in log L0; outside the ` +
      `range of L0s a series measured there is no value.</p>`,
  );
  const recipes = recipeTables(model);
  if (recipes.length) b.push(`<h2>Recipes against the baseline</h2>`);
  for (const t of recipes) {
    b.push(`<h3>${esc(metricInfo(t.metric).label)}${t.panel ? ` (${esc(t.panel)})` : ""}</h3>`);
    b.push(tableHtml(t), `<p class="meta">${esc(recipeSentence(t))}</p>`);
  }
  b.push(`<h2>Runs</h2>`, tableHtml(statusTable(model)));

  const figs = (section: Figure["section"]) =>
    options.figures.filter((f) => f.section === section).map((f) =>
      `<figure data-plot="${f.key}">${f.svg}<figcaption>${esc(f.title)}</figcaption></figure>`
    ).join("\n");
  b.push(`<h2>Fidelity vs L0</h2>`, figs("fidelity"));
  for (const m of model.settings.metrics) {
    b.push(`<h3>Frontier: ${esc(metricInfo(m).label)}</h3>`, tableHtml(frontierTable(model, m)));
  }
  b.push(`<h2>Achieved vs target L0</h2>`, figs("l0"));
  const misses = l0MissTable(model);
  b.push(
    misses.rows.length === 0
      ? `<p>Every finished run is within the L0 tolerance.</p>`
      : `<p>${misses.rows.length} finished run(s) outside the L0 tolerance:</p>${
        tableHtml(misses)
      }`,
  );
  b.push(`<h2>Dead and dense latents</h2>`, figs("latents"));
  if (options.latents) b.push(...latentSection(model, options.latents, tableHtml));
  if (model.health) {
    b.push(`<h2>JumpReLU health</h2>`, tableHtml(healthTable(model)));
    b.push(`<p class="meta">${esc(HEALTH_NOTE)}</p>`, figs("health"));
  }
  b.push(`<h2>Training curves</h2>`, figs("training") || `<p>No curves.</p>`);
  const section = (title: string, t: Table, empty: string) =>
    b.push(`<h2>${title}</h2>`, t.rows.length ? tableHtml(t) : `<p>${empty}</p>`);
  section("Failed runs", failedTable(model), "No failed runs.");
  section("Unfinished runs", unfinishedTable(model), "None: every run finished or failed.");
  section("Problems reading run directories", problemsTable(model), "None.");
  section("All runs", runsTable(model), "No runs.");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SAE sweep report: ${esc(model.title)}</title>
<style>${CSS}</style></head>
<body>
${b.join("\n")}
</body></html>
`;
}

/** Latent measures, feature page links, rating pages and rating summary (LM runs only). */
function latentSection(model: ReportModel, pages: LatentPages, html: (t: Table) => string) {
  const runs = latentTable(model, pages);
  if (runs.rows.length === 0) return [];
  const b = [`<h2>Latents</h2>`, html(runs)];
  b.push(
    `<p class="meta">Top-token entropy: bits of the current-token distribution over a latent's ` +
      `top contexts, averaged over firing latents (0 = single-token latents). Same-token: latents ` +
      `whose top contexts all sit on one token. Decoder MMCS: mean over firing latents of the ` +
      `largest cosine with another firing latent's decoder direction (redundancy).</p>`,
  );
  if (pages.ratingPages.length > 0) {
    b.push(`<h3>Blind rating</h3>`, html(ratingPagesTable(pages)));
  }
  if (pages.ratings.length > 0) {
    b.push(`<p>${pages.ratingFiles} ratings file(s):</p>`, html(ratingTable(pages)));
  } else if (pages.ratingPages.length > 0) {
    b.push(`<p class="meta">No ratings saved yet (put rating files in ratings/).</p>`);
  }
  for (const n of pages.notes) b.push(`<p class="warn">${esc(n)}</p>`);
  return b;
}

/** One card per target L0 of the first metric (first panel): the winner, big and coloured. */
function glance(model: ReportModel, swatch: (s: string) => string): string {
  const metric = model.settings.metrics[0];
  if (!metric) return "";
  const rows = model.comparison.filter((r) => r.metric === metric);
  const panels = [...new Set(rows.map((r) => r.panel))];
  const cards: string[] = [];
  for (const panel of panels) {
    for (const t of [...new Set(rows.map((r) => r.target_l0))]) {
      const winners = rows.filter((r) => r.panel === panel && r.target_l0 === t && r.winner);
      const label = winners.length
        ? winners.map((w) => `${swatch(w.series)}${esc(w.series)}`).join(", ")
        : "no data";
      const value = winners.length ? `${metricInfo(metric).label} ${num(winners[0].value)}` : "";
      cards.push(
        `<div class="card"><div class="l0">L0 = ${num(t)}${panel ? ` · ${esc(panel)}` : ""}</div>` +
          `<div class="win">${label}</div><div class="l0">${esc(value)}</div></div>`,
      );
    }
  }
  return `<div class="glance">${cards.join("")}</div>`;
}
