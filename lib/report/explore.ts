// The interactive part of index.html: a fidelity-vs-L0 plot the reader can switch between metrics
// (FVU, delta LM loss, explained variance, recovered features, dead fraction: whichever the runs
// report) and axis scales, with a tooltip per run, a legend that hides and shows series, and the
// winner table of the chosen metric. The section is hidden until its inline script runs, so the
// page without JavaScript is the static report. Pure: returns HTML.
import type { ReportModel } from "./build.ts";
import { comparisonTables } from "./_tables.ts";
import type { Table } from "./_tables.ts";
import { metricInfo } from "./_metrics.ts";
import { runPageHref } from "./_paths.ts";
import { esc } from "./_html.ts";
import { EXPLORE_CSS, EXPLORE_SCRIPT } from "./_explore_client.ts";
import { scriptJson } from "./_feature_payload.ts";

/** What the script reads (embedded as JSON). */
export interface ExploreData {
  metrics: { key: string; label: string; better: "lower" | "higher" }[];
  series: { name: string; color: string }[];
  runs: {
    id: string;
    series: string;
    target: number | null;
    l0: number;
    href: string;
    values: Record<string, number | null>;
  }[];
  /** Per metric, each series' frontier points [L0 mean, metric mean], by increasing L0. */
  frontiers: Record<string, { series: string; points: [number, number][] }[]>;
}

/** The explorer's data: finished runs with an L0, and every metric's frontiers. */
export function exploreData(model: ReportModel): ExploreData {
  const { metrics, frontiers } = model.explore;
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  return {
    metrics: metrics.map((key) => ({ key, ...metricInfo(key) })),
    series: model.colors.domain.map((name, i) => ({ name, color: model.colors.range[i] })),
    runs: model.runs.filter((r) => r.status === "done" && num(r.l0) !== null).map((r) => ({
      id: String(r.run_id),
      series: String(r.series),
      target: num(r.l0_target),
      l0: r.l0 as number,
      href: runPageHref(r.run_id),
      values: Object.fromEntries(metrics.map((m) => [m, num(r[m])])),
    })),
    frontiers: Object.fromEntries(metrics.map((m) => {
      const bySeries = new Map<string, [number, number][]>();
      for (const r of frontiers[m]) {
        const x = num(r.l0_mean), y = num(r[`${m}_mean`]);
        if (x === null || y === null) continue;
        const s = String(r.series);
        if (!bySeries.has(s)) bySeries.set(s, []);
        bySeries.get(s)!.push([x, y]);
      }
      return [
        m,
        [...bySeries].map(([series, points]) => ({
          series,
          points: points.sort((a, b) => a[0] - b[0]),
        })),
      ];
    })),
  };
}

/** The explorer section (hidden until its script runs), or "" when no run has finished. */
export function exploreSection(
  model: ReportModel,
  options: { table: (t: Table) => string; swatch: (series: string) => string },
): string {
  const data = exploreData(model);
  if (data.runs.length === 0 || data.metrics.length === 0) return "";
  const first = model.settings.metrics.find((m) => data.metrics.some((d) => d.key === m)) ??
    data.metrics[0].key;
  const option = (value: string, label: string, selected: boolean) =>
    `<option value="${esc(value)}"${selected ? " selected" : ""}>${esc(label)}</option>`;
  // Winners and values only: the JumpReLU gap columns stay in the static tables below.
  const tables = comparisonTables({
    ...model,
    settings: { ...model.settings, metrics: model.explore.metrics },
    comparison: model.explore.comparison,
  }).map((t) => {
    const keep = t.headers.map((h) => !h.startsWith("JumpReLU gap"));
    return {
      ...t,
      headers: t.headers.filter((_, i) => keep[i]),
      rows: t.rows.map((r) => r.filter((_, i) => keep[i])),
    };
  });
  const winners = model.explore.metrics.map((m) => {
    const mine = tables.filter((t) => t.metric === m);
    const body = mine.length
      ? mine.map((t) => (t.panel ? `<h4>${esc(t.panel)}</h4>` : "") + options.table(t)).join("")
      : `<p>No target L0 to compare at.</p>`;
    const better = metricInfo(m).better === "lower" ? "lowest" : "highest";
    return `<div class="ex-winners" data-metric="${esc(m)}"${m === first ? "" : " hidden"}>` +
      `<h3>Winner at each target L0 by ${esc(metricInfo(m).label)} (${better} wins)</h3>${body}` +
      `</div>`;
  }).join("\n");
  const legend = data.series.filter((s) => data.runs.some((r) => r.series === s.name)).map((s) =>
    `<li><button type="button" data-series="${esc(s.name)}" aria-pressed="true">${
      options.swatch(s.name)
    }${esc(s.name)}</button></li>`
  ).join("");
  return `<section id="explore" hidden>
<h2>Explore</h2>
<p class="meta">Hover a point for its run; click it for the run's page. Click a legend entry to hide
or show a series. Lines: Pareto frontiers of seed means.</p>
<div class="controls">
<label>Metric <select id="ex-metric">${
    data.metrics.map((m) => option(m.key, m.label, m.key === first)).join("")
  }</select></label>
<label>L0 axis <select id="ex-x">${option("log", "log", true)}${
    option("linear", "linear", false)
  }</select></label>
<label>Metric axis <select id="ex-y">${option("linear", "linear", true)}${
    option("log", "log", false)
  }</select></label>
</div>
<div class="stage"><svg id="ex-plot" viewBox="0 0 800 460" role="img"
aria-label="Metric vs L0, one point per run"></svg><ul id="ex-legend">${legend}</ul></div>
<p class="meta" id="ex-note"></p>
<div id="ex-tip" role="tooltip" hidden></div>
${winners}
<style>${EXPLORE_CSS}</style>
<script type="application/json" id="explore-data">${scriptJson(data)}</script>
<script>${EXPLORE_SCRIPT}</script>
</section>`;
}
