// Where a report's own pages sit, relative to its index.html (private to reports).

/** The run page of `runId`: `runs/<run_id>.html` beside index.html. */
export function runPageHref(runId: unknown): string {
  return `runs/${encodeURIComponent(String(runId))}.html`;
}
