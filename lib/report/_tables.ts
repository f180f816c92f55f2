// The report's tables as plain cells, shared by the Markdown and HTML renderers (private).
import type { ReportModel } from "./build.ts";
import { metricInfo } from "./_metrics.ts";
import { duration, num, pct, pctSig, signedPct } from "./_format.ts";
import type { LatentPages } from "./latent_pages.ts";
import { FEATURED_ARCHITECTURE, REFERENCE_BASELINE } from "../sae/registry.ts";

/** A cell: text, optionally emphasised (the winner), tied to a series colour, or a link. */
export interface Cell {
  text: string;
  strong?: boolean;
  series?: string;
  /** Relative link target (feature, rating and run pages). */
  href?: string;
  /**
   * Run ids the cell names, linked to their run pages in HTML (the runs of a frontier point:
   * replaces `text` there); Markdown readers get the text.
   */
  runs?: string[];
}

export interface Table {
  headers: string[];
  rows: Cell[][];
}

/** A comparison table of one metric in one panel, with the sentence that explains its gap. */
export interface ComparisonTable extends Table {
  metric: string;
  panel: string;
}

const c = (text: string, extra: Omit<Cell, "text"> = {}): Cell => ({ text, ...extra });
/** A run id, linked to its run page in HTML. */
const runCell = (id: unknown): Cell => c(String(id), { runs: [String(id)] });

/** Runs by status. */
export function statusTable(model: ReportModel): Table {
  return {
    headers: ["status", "runs"],
    rows: [
      ...model.counts.map(({ status, n }) => [c(status), c(String(n))]),
      [c("total", { strong: true }), c(String(model.runs.length), { strong: true })],
    ],
  };
}

/** The comparison rows of each metric and panel, in the report's order. */
function metricPanels(model: ReportModel) {
  return model.settings.metrics.flatMap((metric) => {
    const rows = model.comparison.filter((r) => r.metric === metric);
    return [...new Set(rows.map((r) => r.panel))].map((panel) => ({
      metric,
      panel,
      inPanel: rows.filter((r) => r.panel === panel),
    }));
  });
}

/** One table per metric and panel: value per series at each target L0, winner, JumpReLU gaps. */
export function comparisonTables(model: ReportModel): ComparisonTable[] {
  const out: ComparisonTable[] = [];
  for (const { metric, panel, inPanel } of metricPanels(model)) {
    const series = model.series.filter((s) => inPanel.some((r) => r.series === s));
    const baselines = series.filter((s) =>
      inPanel.some((r) => r.series === s && r.architecture !== FEATURED_ARCHITECTURE)
    );
    // Gap columns for one JumpReLU series; several (recipes) get recipeTables() instead.
    const jumpSeries = new Set(
      inPanel.filter((r) => r.architecture === FEATURED_ARCHITECTURE).map((r) => r.series),
    );
    const hasJump = jumpSeries.size === 1;
    const headers = [
      "target L0",
      "winner",
      ...series,
      ...(hasJump ? baselines.map((b) => `JumpReLU gap vs ${b}`) : []),
    ];
    const targetL0s = [...new Set(inPanel.map((r) => r.target_l0))];
    const table = targetL0s.map((t) => {
      const at = inPanel.filter((r) => r.target_l0 === t);
      const winners = at.filter((r) => r.winner).map((r) => r.series);
      const cell = (s: string) => {
        const r = at.find((x) => x.series === s);
        if (!r) return c("-");
        if (r.value === null) return c(r.note);
        const shown = r.note ? `${num(r.value)} (${r.note})` : num(r.value);
        return c(shown, { strong: r.winner });
      };
      const gap = (s: string) => c(signedPct(at.find((x) => x.series === s)?.jumprelu_gap));
      return [
        c(num(t)),
        winners.length > 0
          ? c(winners.join(", "), { strong: true, series: winners[0] })
          : c("none (no series measured here)"),
        ...series.map(cell),
        ...(hasJump ? baselines.map(gap) : []),
      ];
    });
    out.push({ metric, panel, headers, rows: table });
  }
  return out;
}

/** A recipe table: every series against one baseline at each target L0, per metric and panel. */
export interface RecipeTable extends Table {
  metric: string;
  panel: string;
  baseline: string;
}

/**
 * When a panel has several JumpReLU series (report.series_by over recipes): each series' value as
 * a multiple of the TopK series' (else the first other baseline's) at each target L0, with the
 * mean dead fraction of its runs at that target, as an ablation reports it.
 */
export function recipeTables(model: ReportModel): RecipeTable[] {
  const out: RecipeTable[] = [];
  for (const { metric, panel, inPanel } of metricPanels(model)) {
    const archOf = new Map(inPanel.map((r) => [r.series, r.architecture]));
    const series = model.series.filter((s) => archOf.has(s));
    if (series.filter((s) => archOf.get(s) === FEATURED_ARCHITECTURE).length < 2) continue;
    const others = series.filter((s) => archOf.get(s) !== FEATURED_ARCHITECTURE);
    const baseline = others.find((s) => archOf.get(s) === REFERENCE_BASELINE) ?? others[0];
    if (!baseline) continue;
    const targetL0s = [...new Set(inPanel.map((r) => r.target_l0))];
    const valueAt = (s: string, t: number) =>
      inPanel.find((r) => r.series === s && r.target_l0 === t)?.value ?? null;
    const deadAt = (s: string, t: number) => {
      const dead = model.runs.filter((r) =>
        r.status === "done" && r.series === s && r.panel === panel && r.l0_target === t &&
        typeof r.dead_frac === "number"
      ).map((r) => r.dead_frac as number);
      return dead.length ? dead.reduce((a, b) => a + b, 0) / dead.length : null;
    };
    const table = series.filter((s) => s !== baseline).map((s) => [
      c(s, { series: s }),
      ...targetL0s.map((t) => {
        const v = valueAt(s, t), b = valueAt(baseline, t), dead = deadAt(s, t);
        const ratio = v !== null && b !== null && b !== 0 ? `${num(v / b)}x` : "-";
        return c(dead === null ? ratio : `${ratio}, ${pct(dead)} dead`);
      }),
    ]);
    out.push({
      metric,
      panel,
      baseline,
      headers: ["series", ...targetL0s.map((t) => `L0 ${num(t)}`)],
      rows: table,
    });
  }
  return out;
}

/** How to read a recipe table. */
export function recipeSentence(t: RecipeTable): string {
  const info = metricInfo(t.metric);
  return `${info.label} of each series as a multiple of ${t.baseline}'s at the same L0 (read off ` +
    `the frontiers; ${info.better === "lower" ? "below" : "above"} 1x is better), and the mean ` +
    "dead fraction of its runs at that target.";
}

/** Whether a comparison table has JumpReLU gap columns (one JumpReLU series in its panel). */
export function hasGapColumns(t: ComparisonTable): boolean {
  return t.headers.some((h) => h.startsWith("JumpReLU gap"));
}

/** How to read the gap columns of a metric's comparison. */
export function gapSentence(metric: string): string {
  const info = metricInfo(metric);
  return info.better === "lower"
    ? `Gap = (baseline - JumpReLU) / baseline of ${info.label} (lower is better): positive means JumpReLU is better.`
    : `Gap = (JumpReLU - baseline) / baseline of ${info.label} (higher is better): positive means JumpReLU is better.`;
}

/** Latent measures (lib/features/measures.ts) with their column labels, when runs report them. */
const LATENT_MEASURES: [string, string, (v: unknown) => string][] = [
  ["dead_frac", "dead", pct],
  ["dense_frac", "dense", pct],
  ["top_token_entropy", "top-token entropy (bits)", (v) => num(v)],
  ["same_token_frac", "same-token", pct],
  ["decoder_mmcs", "decoder MMCS", (v) => num(v)],
];

function hasLatentMeasures(model: ReportModel): boolean {
  return model.runs.some((r) => typeof r.top_token_entropy === "number");
}

/** Mean of `key` over the runs `ids` (comma-separated run ids), or null. */
function meanOver(model: ReportModel, ids: unknown, key: string): number | null {
  const wanted = new Set(String(ids).split(", "));
  const v = model.runs.filter((r) => wanted.has(String(r.run_id)) && typeof r[key] === "number")
    .map((r) => r[key] as number);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

/**
 * Frontier points of one metric: series, mean L0, mean metric with spread, n, runs; with LM runs'
 * latent measures (means over the point's runs) beside them.
 */
export function frontierTable(model: ReportModel, metric: string): Table {
  const measures = hasLatentMeasures(model) ? LATENT_MEASURES : [];
  return {
    headers: [
      "series",
      "L0",
      metricInfo(metric).label,
      "std",
      "n",
      ...measures.map(([, label]) => label),
      "runs",
    ],
    rows: model.frontiers[metric].map((r) => [
      c(String(r.series), { series: String(r.series) }),
      c(num(r.l0_mean)),
      c(num(r[`${metric}_mean`])),
      c(num(r[`${metric}_std`])),
      c(String(r.n)),
      ...measures.map(([key, , show]) => c(show(meanOver(model, r.run_ids, key)))),
      c(String(r.run_ids), { runs: String(r.run_ids).split(", ") }),
    ]),
  };
}

/** The first columns of the per-run tables. */
const RUN_HEADERS = ["run", "series", "target L0", "L0"];

/** Finished runs with their latent measures and feature page link (LM runs). */
export function latentTable(model: ReportModel, pages: LatentPages): Table {
  const rows = model.runs.filter((r) =>
    r.status === "done" &&
    (typeof r.top_token_entropy === "number" || pages.runPages[String(r.run_id)])
  );
  return {
    headers: [
      ...RUN_HEADERS,
      ...LATENT_MEASURES.map(([, label]) => label),
      "latents",
    ],
    rows: rows.map((r) => {
      const href = pages.runPages[String(r.run_id)];
      return [
        runCell(r.run_id),
        c(String(r.series), { series: String(r.series) }),
        c(num(r.l0_target)),
        c(num(r.l0)),
        ...LATENT_MEASURES.map(([key, , show]) => c(show(r[key]))),
        href ? c("feature page", { href }) : c("-"),
      ];
    }),
  };
}

/** Blind ratings per target L0 and architecture. */
export function ratingTable(pages: LatentPages): Table {
  return {
    headers: [
      "target L0",
      "architecture",
      "rated",
      "yes",
      "maybe",
      "no",
      "yes share",
      "yes or maybe",
    ],
    rows: pages.ratings.map((r) => [
      c(num(r.target_l0)),
      c(r.architecture),
      c(String(r.rated)),
      c(String(r.yes)),
      c(String(r.maybe)),
      c(String(r.no)),
      c(pct(r.yes / r.rated)),
      c(pct((r.yes + r.maybe) / r.rated)),
    ]),
  };
}

/** The rating pages, one line each. */
export function ratingPagesTable(pages: LatentPages): Table {
  return {
    headers: ["target L0", "page", "SAEs compared (run ids stay hidden on the page)", "latents"],
    rows: pages.ratingPages.map((p) => [
      c(num(p.targetL0)),
      c(p.href, { href: p.href }),
      c(p.runs.map((r) => `${r.architecture} (L0 ${num(r.l0)})`).join(", ")),
      c(String(p.items)),
    ]),
  };
}

/** Finished runs whose achieved L0 misses the target by more than the tolerance. */
export function l0MissTable(model: ReportModel): Table {
  return {
    headers: ["run", "series", "target L0", "achieved L0", "relative error"],
    rows: model.l0.filter((r) => r.outside).map((r) => [
      runCell(r.run_id),
      c(r.series, { series: r.series }),
      c(num(r.l0_target)),
      c(num(r.l0)),
      c(signedPct(r.rel_error)),
    ]),
  };
}

/** JumpReLU health per finished run (empty without JumpReLU runs). */
export function healthTable(model: ReportModel): Table {
  return {
    headers: [
      ...RUN_HEADERS,
      "STE window (held-out)",
      "STE window (last log)",
      "dead (end of training)",
      "dead (held-out)",
      "unreachable θ",
      "stranded θ",
    ],
    rows: (model.health?.runs ?? []).map((r) => [
      runCell(r.run_id),
      c(String(r.series), { series: String(r.series) }),
      c(num(r.l0_target)),
      c(num(r.l0)),
      c(pctSig(r.ste_window_frac)),
      c(pctSig(r.ste_window_frac_train)),
      c(pctSig(r.dead_frac_train)),
      c(pctSig(r.dead_frac)),
      c(pctSig(r.thr_unreachable_frac)),
      c(pctSig(r.thr_stranded_frac)),
    ]),
  };
}

/** What the JumpReLU health columns mean, for the text under the table. */
export const HEALTH_NOTE = "STE window: fraction of pre-activation entries with |pi - theta| < " +
  "eps / 2, the entries that give the thresholds gradient (held-out: the final SAE on the " +
  "evaluation tokens; last log: training batches since the last metrics line). Dead (end of " +
  "training): latents not fired for sae.jumprelu.dead_tokens training tokens at the last log line; " +
  "dead (held-out): never fired on the evaluation tokens. Unreachable θ: threshold at or above " +
  "every held-out pre-activation (for JumpReLU the same latents as dead on held-out); stranded θ: " +
  "more than eps / 2 above all of them, so no held-out token reaches the STE window either. " +
  "Histograms: log10 of each latent's held-out firing frequency in half-decade bins (SAELens " +
  "logs log10(freq + 1e-10)); never-firing latents are the grey bar. - : not recorded (runs " +
  "from before these diagnostics).";

/** Failed runs with their error. */
export function failedTable(model: ReportModel): Table {
  return {
    headers: ["run", "series", "last step", "error"],
    rows: model.runs.filter((r) => r.status === "failed").map((r) => [
      runCell(r.run_id),
      c(String(r.series), { series: String(r.series) }),
      c(num(r.last_step)),
      c(String(r.error ?? "")),
    ]),
  };
}

/** Runs that are running, stopped part way (partial) or not started (pending). */
export function unfinishedTable(model: ReportModel): Table {
  return {
    headers: ["run", "series", "status", "last step", "elapsed"],
    rows: model.runs.filter((r) =>
      ["running", "partial", "pending", "damaged"].includes(String(r.status))
    )
      .map((r) => [
        runCell(r.run_id),
        c(String(r.series), { series: String(r.series) }),
        c(String(r.status)),
        c(num(r.last_step)),
        c(typeof r.elapsed_s === "number" ? duration(r.elapsed_s) : "-"),
      ]),
  };
}

/** Files that could not be read. */
export function problemsTable(model: ReportModel): Table {
  return {
    headers: ["path", "problem"],
    rows: model.problems.map((p) => [c(p.path), c(p.message)]),
  };
}

/** Every run, one line each. */
export function runsTable(model: ReportModel): Table {
  const metrics = model.settings.metrics;
  return {
    headers: [
      "run",
      "status",
      "series",
      "target L0",
      "L0",
      ...metrics.map((m) => metricInfo(m).label),
      "dead",
      "dense",
      "backend",
      "train time",
    ],
    rows: model.runs.map((r) => [
      runCell(r.run_id),
      c(String(r.status)),
      c(String(r.series), { series: String(r.series) }),
      c(num(r.l0_target)),
      c(num(r.l0)),
      ...metrics.map((m) => c(num(r[m]))),
      c(pct(r.dead_frac)),
      c(pct(r.dense_frac)),
      c(String(r.backend ?? "-")),
      c(typeof r.train_seconds === "number" ? duration(r.train_seconds) : "-"),
    ]),
  };
}

/** The one-paragraph record of where the data came from. */
export function provenanceLines(model: ReportModel): string[] {
  const { doneRuns, doneSeconds, otherRuns, otherSeconds } = model.compute;
  const compute =
    `${duration(doneSeconds)} of training in ${doneRuns} finished run${doneRuns === 1 ? "" : "s"}` +
    (otherRuns > 0 ? `, plus ${duration(otherSeconds)} logged by ${otherRuns} unfinished` : "");
  return [
    `Generated: ${model.generatedAt}`,
    `Data source: ${model.sources.join(", ")}`,
    `Spec hash: ${model.specHashes.join(", ") || "unknown"}` +
    (model.specHashes.length > 1 ? " (runs come from more than one spec version)" : ""),
    `Backends used: ${model.backends.join(", ") || "none recorded"}`,
    `Compute: ${compute}`,
    `Target L0s: ${
      model.settings.targetL0s.map((t) => num(t)).join(", ") || "none"
    }; L0 tolerance: ${pct(model.settings.l0Tolerance)}` +
    (model.settings.groupBy.length ? `; split by ${model.settings.groupBy.join(", ")}` : ""),
  ];
}
