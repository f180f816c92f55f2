// Renders one run's page (reports/<experiment>/runs/<run_id>.html): status, summary metrics, the
// effective config with defaults marked, training curves, the L0 controller trace, JumpReLU health,
// the files it exported and its feature page. Self-contained (inline CSS and SVG, no script). Pure:
// run_pages.ts reads the run's files and writes the page.
import type { MetricsLine } from "../store/records.ts";
import type { SeriesColors } from "./plots.ts";
import { controllerPlot, trainingCurvePlot } from "./plots.ts";
import type { Cell, Table } from "./_tables.ts";
import { CSS, esc, renderTable } from "./_html.ts";
import { num, pctSig } from "./_format.ts";
import { metricInfo } from "./_metrics.ts";

type Row = Record<string, unknown>;

/** One leaf of the effective config: dotted path, value, and where the value came from. */
export interface ConfigEntry {
  path: string;
  value: unknown;
  /** `swept`: a sweep axis set it; `recipe`: the run's recipe; `default`: the schema's default; else `spec`. */
  origin: "swept" | "recipe" | "default" | "spec";
}

/** A file the run wrote, as a link relative to the run page and its absolute path. */
export interface RunFile {
  label: string;
  href: string;
  path: string;
}

/** Everything the page shows. */
export interface RunPageInput {
  /** The run's row of the report model (run_id, status, series, summary columns, ...). */
  run: Row;
  reportTitle: string;
  colors: SeriesColors;
  config: ConfigEntry[];
  /** metrics.jsonl lines (empty before the first log). */
  lines: MetricsLine[];
  /** The run's row of the JumpReLU health table, when it has one. */
  health?: Row;
  files: RunFile[];
  /** Feature page, relative to the run page (LM runs). */
  featureHref?: string;
  /** Recipe name, when the run was trained from one. */
  recipe?: string;
}

/** Summary fields shown first, in this order; other numeric summary fields follow. */
const SUMMARY_FIRST = [
  "l0_target",
  "l0",
  "l0_rel_error",
  "fvu",
  "explained_variance",
  "delta_lm_loss",
  "ce_loss_recovered",
  "recovered_frac",
  "mmcs",
  "dead_frac",
  "dense_frac",
  "shrinkage_gamma",
  "l2_ratio",
  "lambda",
];

/** The page's HTML text. */
export function renderRunPage(input: RunPageInput, options: { summaryKeys: string[] }): string {
  const { run } = input;
  const id = String(run.run_id);
  const series = String(run.series);
  const color = input.colors.range[input.colors.domain.indexOf(series)] ?? "#999";
  const swatch = (s: string) =>
    `<span class="sw" style="background:${
      input.colors.range[input.colors.domain.indexOf(s)] ?? "#999"
    }"></span>`;
  const table = (t: Table) => renderTable(t, swatch);
  const c = (text: string, extra: Omit<Cell, "text"> = {}): Cell => ({ text, ...extra });
  const b: string[] = [];
  b.push(`<p class="meta"><a href="../index.html">← report: ${esc(input.reportTitle)}</a></p>`);
  b.push(`<h1>Run <code>${esc(id)}</code></h1>`);
  const facts = [
    `status: <strong>${esc(String(run.status))}</strong>`,
    `series: ${swatch(series)}${esc(series)}`,
    input.recipe ? `recipe: <strong>${esc(input.recipe)}</strong>` : "",
    `experiment: ${esc(String(run.experiment))}`,
    `backend: ${esc(String(run.backend ?? "-"))}`,
    run.spec_path ? `spec: ${esc(String(run.spec_path))}` : "",
    run.started_at ? `started ${esc(String(run.started_at))}` : "",
    run.ended_at ? `ended ${esc(String(run.ended_at))}` : "",
  ].filter(Boolean);
  b.push(`<p class="meta">${facts.join(" · ")}</p>`);
  if (run.error) b.push(`<p class="warn">Error: ${esc(String(run.error))}</p>`);

  const keys = [
    ...SUMMARY_FIRST,
    ...options.summaryKeys.filter((k) => !SUMMARY_FIRST.includes(k)),
  ].filter((k) => typeof run[k] === "number");
  b.push(`<h2>Summary</h2>`);
  b.push(
    keys.length
      ? table({
        headers: ["metric", "value"],
        rows: keys.map((
          k,
        ) => [
          c(metricInfo(k).label === k ? k : `${metricInfo(k).label} (${k})`),
          c(num(run[k], 4)),
        ]),
      })
      : `<p>No summary yet (the run has not finished).</p>`,
  );

  b.push(`<h2>Effective config</h2>`);
  b.push(
    `<p class="meta">What the run read (run.json): the data, train and eval sections, the shared ` +
      `sae keys its architecture uses and that architecture's options. <em>default</em>: the ` +
      `schema's default; <strong>swept</strong>: set by a sweep axis${
        input.recipe ? `; <strong>recipe</strong>: set by recipe ${esc(input.recipe)}` : ""
      }; spec: written in the spec (or, without the spec at hand, by the run's recipe).</p>`,
  );
  b.push(
    input.config.length
      ? `<table class="config"><tr><th>key</th><th>value</th><th>from</th></tr>${
        input.config.map((e) =>
          `<tr class="${e.origin}"><td><code>${esc(e.path)}</code></td><td>${
            esc(showValue(e.value))
          }</td><td>${
            e.origin === "default"
              ? "<em>default</em>"
              : e.origin === "swept"
              ? "<strong>swept</strong>"
              : e.origin === "recipe"
              ? `<strong>recipe ${esc(input.recipe ?? "")}</strong>`
              : "spec"
          }</td></tr>`
        ).join("")
      }</table>`
      : `<p>run.json records no config.</p>`,
  );

  const colors = { domain: [series], range: [color] };
  const points = input.lines.map((l) => ({ ...l, run_id: id, series }));
  b.push(`<h2>Training curves</h2>`);
  if (points.length === 0) b.push(`<p>No metrics.jsonl lines yet.</p>`);
  for (const [y, label] of [["loss", "training loss"], ["fvu", "training FVU"]]) {
    if (!points.some((p) => typeof (p as Row)[y] === "number")) continue;
    b.push(figure(
      `run_${y}`,
      trainingCurvePlot(points, { y, label, colors }),
      `${label[0].toUpperCase()}${label.slice(1)} vs step`,
    ));
  }
  b.push(`<h2>L0 controller</h2>`);
  const targetL0 = typeof run.l0_target === "number" ? run.l0_target : undefined;
  if (points.some((p) => typeof p.l0 === "number")) {
    b.push(figure(
      "run_l0",
      controllerPlot(points, { y: "l0", label: "training L0", colors, targetL0 }),
      `Training L0 vs step${targetL0 !== undefined ? ` (dashed: target ${num(targetL0)})` : ""}`,
    ));
  }
  if (points.some((p) => typeof p.lambda === "number" && p.lambda > 0)) {
    b.push(figure(
      "run_lambda",
      controllerPlot(points, { y: "lambda", label: "lambda", colors, logY: true }),
      "Sparsity coefficient lambda vs step (the controller's trace; frozen at the end)",
    ));
  } else b.push(`<p>No lambda trace (k-sparse architecture, or no log lines yet).</p>`);

  if (input.health) {
    const h = input.health;
    const measures: [string, string][] = [
      ["ste_window_frac", "STE window (held-out)"],
      ["ste_window_frac_train", "STE window (last log)"],
      ["dead_frac_train", "dead (end of training)"],
      ["dead_frac", "dead (held-out)"],
      ["thr_unreachable_frac", "unreachable θ"],
      ["thr_stranded_frac", "stranded θ"],
    ];
    b.push(`<h2>JumpReLU health</h2>`);
    b.push(table({
      headers: ["measure", "value"],
      rows: measures.map(([k, label]) => [c(label), c(pctSig(h[k]))]),
    }));
  }

  b.push(`<h2>Files</h2>`);
  b.push(
    input.files.length
      ? `<ul class="files">${
        input.files.map((f) =>
          `<li><a href="${esc(f.href)}">${esc(f.label)}</a> <code>${esc(f.path)}</code></li>`
        ).join("")
      }</ul>`
      : `<p>No files yet.</p>`,
  );
  if (input.featureHref) {
    b.push(
      `<h2>Latents</h2><p><a href="${esc(input.featureHref)}">Feature page</a> ` +
        `(top activating contexts and logit effects of each latent)</p>`,
    );
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Run ${esc(id)}</title>
<style>${CSS}
tr.default td { color: #777; } tr.swept td, tr.recipe td { background: #f3f8ff; }</style></head>
<body>
${b.join("\n")}
</body></html>
`;
}

function figure(key: string, svg: string, caption: string): string {
  return `<figure data-plot="${key}">${svg}<figcaption>${esc(caption)}</figcaption></figure>`;
}

function showValue(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}
