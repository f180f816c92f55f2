// Writes one page per run of a report (reports/<experiment>/runs/<run_id>.html, run_page.ts): reads
// each run's run.json and metrics.jsonl, marks which config values are defaults, swept or set by
// the run's recipe, and lists the files it exported. Prints nothing.
import { join, relative, sep } from "node:path";
import type { ReportModel } from "./build.ts";
import type { LatentPages } from "./latent_pages.ts";
import { readMetrics } from "./read_metrics.ts";
import { type ConfigEntry, renderRunPage, type RunFile } from "./run_page.ts";
import { runPageHref } from "./_paths.ts";
import { SUMMARY_COLUMNS } from "./load_runs.ts";
import { RUN_FILES } from "../store/records.ts";
import { experimentSchema } from "../spec/schema.ts";
import { schemaDefault } from "../spec/schema_info.ts";
import { schemaAtData } from "../spec/zod_issues.ts";
import { RECIPE_AXIS } from "../spec/resolve.ts";

type Row = Record<string, unknown>;

/** Recipes by name (the specs' `recipes`), to mark the values a run's recipe set. */
export type RecipeSettings = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/** Writes every run's page under `<outDir>/runs/`; returns the paths written. */
export async function writeRunPages(
  model: ReportModel,
  outDir: string,
  options: { latents?: LatentPages; recipes?: RecipeSettings } = {},
): Promise<string[]> {
  const pagesDir = join(outDir, "runs");
  await Deno.mkdir(pagesDir, { recursive: true });
  const files: string[] = [];
  for (const run of model.runs) {
    const id = String(run.run_id);
    const runDir = String(run.run_dir);
    const manifest = await readJson(join(runDir, RUN_FILES.manifest));
    const overrides = (manifest?.overrides ?? {}) as Row;
    const recipe = typeof overrides[RECIPE_AXIS] === "string"
      ? overrides[RECIPE_AXIS] as string
      : undefined;
    const { lines } = await readMetrics(runDir);
    const feature = options.latents?.runPages[id];
    const html = renderRunPage({
      run,
      reportTitle: model.title,
      colors: model.colors,
      config: configEntries(manifest?.config, {
        overrides,
        recipe: recipe ? options.recipes?.[recipe] : undefined,
      }),
      lines,
      health: model.health?.runs.find((r) => r.run_id === run.run_id),
      files: await runFiles(runDir, pagesDir),
      featureHref: feature ? `../${feature}` : undefined,
      recipe,
    }, { summaryKeys: [...SUMMARY_COLUMNS] });
    const path = join(outDir, runPageHref(id));
    await Deno.writeTextFile(path, html);
    files.push(path);
  }
  return files;
}

/**
 * The leaves of an effective config (run.json `config`), each with where its value came from:
 * a sweep axis, the run's recipe, the schema's default, or the spec.
 */
export function configEntries(
  config: unknown,
  options: { overrides: Row; recipe?: Readonly<Record<string, unknown>> },
): ConfigEntry[] {
  if (!isRecord(config)) return [];
  const out: ConfigEntry[] = [];
  const under = (prefix: string, paths: Iterable<string>) =>
    [...paths].some((p) => prefix === p || prefix.startsWith(p + "."));
  const walk = (value: unknown, segments: string[]) => {
    if (isRecord(value) && Object.keys(value).length > 0) {
      for (const [k, v] of Object.entries(value)) walk(v, [...segments, k]);
      return;
    }
    const path = segments.join(".");
    const schema = schemaAtData(experimentSchema(), config, segments);
    const fallback = schema ? schemaDefault(schema) : undefined;
    const origin = under(path, Object.keys(options.overrides))
      ? "swept"
      : options.recipe && under(path, Object.keys(options.recipe))
      ? "recipe"
      : fallback !== undefined && JSON.stringify(fallback) === JSON.stringify(value)
      ? "default"
      : "spec";
    out.push({ path, value, origin });
  };
  for (const [k, v] of Object.entries(config)) {
    if (k !== "experiment") walk(v, [k]);
  }
  return out;
}

/** The files a run directory holds that a reader may want: manifest, metrics, weights, checkpoint. */
async function runFiles(runDir: string, pagesDir: string): Promise<RunFile[]> {
  const wanted: [string, string][] = [
    ["run.json (config, versions, backend)", RUN_FILES.manifest],
    ["summary.json (final evaluation)", RUN_FILES.summary],
    ["metrics.jsonl (training log)", RUN_FILES.metrics],
    ["SAELens config", `${RUN_FILES.sae}/cfg.json`],
    ["SAELens weights", `${RUN_FILES.sae}/sae_weights.safetensors`],
    ["checkpoint (resume state)", RUN_FILES.checkpoint],
  ];
  const out: RunFile[] = [];
  for (const [label, name] of wanted) {
    const path = join(runDir, name);
    try {
      await Deno.stat(path);
    } catch {
      continue;
    }
    const href = relative(pagesDir, path).split(sep).map(encodeURIComponent).join("/");
    out.push({ label, href, path });
  }
  return out;
}

async function readJson(path: string): Promise<Row | null> {
  try {
    const value = JSON.parse(await Deno.readTextFile(path));
    return isRecord(value) ? value : null;
  } catch {
    return null;
  }
}

function isRecord(v: unknown): v is Row {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
