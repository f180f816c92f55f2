// HTML helpers shared by the report's pages (index.html and the run pages): the stylesheet,
// escaping and table rendering. Private to reports.
import type { Cell, Table } from "./_tables.ts";
import { runPageHref } from "./_paths.ts";

export const CSS = `
body { font: 15px/1.45 system-ui, sans-serif; color: #222; max-width: 1100px; margin: 2em auto;
  padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .6em 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.sw { display: inline-block; width: .8em; height: .8em; border-radius: 50%; margin-right: .35em; }
.glance { display: flex; flex-wrap: wrap; gap: .8em; margin: 1em 0; }
.card { border: 1px solid #ddd; border-radius: 8px; padding: .6em 1em; min-width: 10em; }
.card .l0 { color: #666; font-size: .85em; } .card .win { font-size: 1.3em; font-weight: 600; }
.warn { background: #fff4e5; border-left: 4px solid #f0a020; padding: .5em 1em; }
.meta { color: #555; font-size: .9em; } figure { margin: 1em 0; }
figcaption { color: #555; font-size: .9em; } svg { max-width: 100%; height: auto; }
`;

/** A table's HTML; `swatch` draws a series' colour dot. */
export function renderTable(t: Table, swatch: (s: string) => string): string {
  const head = `<tr>${t.headers.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>`;
  const row = (r: Cell[]) =>
    `<tr>${
      r.map((cell) => {
        const numeric = /^[-+]?[0-9.]+(e[-+]?[0-9]+)?%?$/.test(cell.text);
        let text = esc(cell.text);
        if (cell.strong) text = `<strong>${text}</strong>`;
        if (cell.series) text = swatch(cell.series) + text;
        if (cell.href) text = `<a href="${esc(cell.href)}">${text}</a>`;
        if (cell.runs) {
          text = cell.runs.map((id) => `<a href="${esc(runPageHref(id))}">${esc(id)}</a>`).join(
            ", ",
          );
        }
        return `<td${numeric ? ' class="num"' : ""}>${text}</td>`;
      }).join("")
    }</tr>`;
  return `<table>${head}${t.rows.map(row).join("")}</table>`;
}

/** Text escaped for HTML content and attribute values. */
export function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}
