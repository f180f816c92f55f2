// Reads a run's metrics.jsonl into MetricsLines, tolerating a truncated last line of a live run.
// Malformed lines are returned as problems, not thrown; plotting and status are left to callers.
import { join } from "node:path";
import { RUN_FILES } from "../store/records.ts";
import type { MetricsLine } from "../store/records.ts";

/** The parsed lines of one metrics.jsonl and what could not be read. */
/** Something in a run directory that could not be read or made sense of. */
export interface RunProblem {
  path: string;
  message: string;
}

export interface MetricsRead {
  lines: MetricsLine[];
  problems: RunProblem[];
}

/**
 * Parses `<runDir>/metrics.jsonl`; a missing file gives no lines. A malformed final line is
 * tolerated when `live` (the writer may be mid-line); any other malformed line is a problem.
 */
export async function readMetrics(
  runDir: string,
  options: { live?: boolean } = {},
): Promise<MetricsRead> {
  const path = join(runDir, RUN_FILES.metrics);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { lines: [], problems: [] };
    return { lines: [], problems: [{ path, message: `cannot read: ${String(err)}` }] };
  }
  const raw = text.split("\n");
  const lines: MetricsLine[] = [];
  const problems: RunProblem[] = [];
  raw.forEach((line, i) => {
    if (line.trim() === "") return;
    const isLast = raw.slice(i + 1).every((rest) => rest.trim() === "");
    const parsed = parseLine(line);
    if (parsed) lines.push(parsed);
    else if (!(isLast && options.live)) {
      problems.push({ path: `${path}:${i + 1}`, message: "not a metrics line (JSON with step)" });
    }
  });
  return { lines, problems };
}

function parseLine(line: string): MetricsLine | null {
  try {
    const value = JSON.parse(line);
    if (value === null || typeof value !== "object" || typeof value.step !== "number") return null;
    return value as MetricsLine;
  } catch {
    return null;
  }
}
