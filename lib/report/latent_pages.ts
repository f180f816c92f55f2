// Writes the latent pages of a report: one feature page per finished run with feature data
// (`features/<run_id>.html`), one blind rating page per target L0 (`rate/l0_<t>.html`, its key in
// `rate/keys/`), and reads saved ratings (`ratings/*.json`) into a per-architecture summary.
import { join } from "node:path";
import { sliceLatents } from "../features/feature_data.ts";
import { readFeatureData } from "../features/store.ts";
import type { ReportModel } from "./build.ts";
import { latentPayload, type LatentRef } from "./_feature_payload.ts";
import { renderFeaturePage, renderRatingPage } from "./feature_page.ts";
import {
  chooseRatingRuns,
  type RatingItem,
  type RatingKey,
  type RatingRun,
  type RatingsFile,
  type RatingSummaryRow,
  sampleRatingItems,
  sessionId,
  summariseRatings,
} from "./rating.ts";

/** Sub-directories of a report directory. */
export const LATENT_DIRS = {
  features: "features",
  rate: "rate",
  keys: "rate/keys",
  ratings: "ratings",
} as const;

/** What was written, and what index.html and report.md link to and summarise. */
export interface LatentPages {
  files: string[];
  /** Feature page of each run with feature data, relative to the report directory. */
  runPages: Record<string, string>;
  ratingPages: { targetL0: number; href: string; items: number; runs: RatingRun[] }[];
  ratings: RatingSummaryRow[];
  ratingFiles: number;
  notes: string[];
}

type Row = Record<string, unknown>;

/** Writes the pages of `model`'s finished runs into `outDir`. */
export async function writeLatentPages(model: ReportModel, outDir: string): Promise<LatentPages> {
  const out: LatentPages = {
    files: [],
    runPages: {},
    ratingPages: [],
    ratings: [],
    ratingFiles: 0,
    notes: [],
  };
  const done = model.runs.filter((r) => r.status === "done" && typeof r.run_dir === "string");
  // Pass 1: a feature page per run; only the firing latents are kept (pages of wide SAEs are big).
  const firingOf = new Map<string, number[]>();
  for (const run of done) {
    const data = await readOrNote(String(run.run_dir), String(run.run_id), out.notes);
    if (!data) continue;
    firingOf.set(
      String(run.run_id),
      [...data.frequency.keys()].filter((i) => data.frequency[i] > 0),
    );
    const href = `${LATENT_DIRS.features}/${run.run_id}.html`;
    const all = Array.from({ length: data.width }, (_, latent) => ({ data, latent }));
    await write(
      out,
      join(outDir, href),
      renderFeaturePage(pageRun(run), latentPayload(all), { back: "../index.html" }),
    );
    out.runPages[String(run.run_id)] = href;
  }

  // Rating pages: choose runs and sample items from the firing lists, then read back only the
  // sampled latents of each run (pass 2).
  const candidates: RatingRun[] = done.filter((r) => firingOf.has(String(r.run_id))).map((r) => ({
    run_id: String(r.run_id),
    architecture: String(r.architecture),
    l0: Number(r.l0),
    l0_target: typeof r.l0_target === "number" ? r.l0_target : null,
    run_dir: String(r.run_dir),
  }));
  const pages: { t: number; runs: RatingRun[]; items: RatingItem[] }[] = [];
  for (const [t, runs] of chooseRatingRuns(candidates, model.settings.targetL0s)) {
    const items = sampleRatingItems(runs, (r) => firingOf.get(r.run_id)!, { targetL0: t });
    if (items.length > 0) pages.push({ t, runs, items });
  }
  const sampled = new Map<string, Map<number, LatentRef>>();
  for (const run of candidates) {
    const latents = [
      ...new Set(
        pages.flatMap((p) => p.items.filter((i) => i.run_id === run.run_id))
          .map((i) => i.latent),
      ),
    ];
    if (latents.length === 0) continue;
    const data = await readOrNote(run.run_dir, run.run_id, out.notes);
    if (!data) continue;
    const slice = sliceLatents(data, latents);
    sampled.set(run.run_id, new Map(latents.map((l, k) => [l, { data: slice, latent: k }])));
  }
  for (const { t, runs, items } of pages) {
    const session = await sessionId(t, items);
    const key: RatingKey = { session, target_l0: t, runs, items };
    await write(
      out,
      join(outDir, LATENT_DIRS.keys, `${session}.json`),
      JSON.stringify(key, null, 2),
    );
    const name = `l0_${t}.html`;
    const payload = latentPayload(
      items.map((i) => sampled.get(i.run_id)!.get(i.latent)!),
      { items: items.map((i) => i.item) },
    );
    const html = renderRatingPage(
      {
        title: `Blind rating at L0 ~ ${t} (${runs.length} SAEs, ${items.length} latents)`,
        session,
        name,
        fileName: `ratings-l0_${t}-${session}.json`,
        ratingsDir: `${join(outDir, LATENT_DIRS.ratings)}/`,
      },
      payload,
      { back: "../index.html" },
    );
    await write(out, join(outDir, LATENT_DIRS.rate, name), html);
    out.ratingPages.push({
      targetL0: t,
      href: `${LATENT_DIRS.rate}/${name}`,
      items: items.length,
      runs,
    });
  }

  const files = await readRatingFiles(join(outDir, LATENT_DIRS.ratings), out.notes);
  const keys = await readKeys(join(outDir, LATENT_DIRS.keys), out.notes);
  const summary = summariseRatings(files, keys);
  out.ratings = summary.rows;
  out.ratingFiles = files.length;
  out.notes.push(...summary.problems);
  return out;
}

function pageRun(run: Row) {
  const n = (v: unknown) => (typeof v === "number" ? v : null);
  return {
    runId: String(run.run_id),
    experiment: String(run.experiment),
    architecture: String(run.architecture),
    l0: n(run.l0),
    targetL0: n(run.l0_target),
    measures: {
      top_token_entropy: n(run.top_token_entropy),
      same_token_frac: n(run.same_token_frac),
      decoder_mmcs: n(run.decoder_mmcs),
    },
  };
}

async function readOrNote(dir: string, runId: string, notes: string[]) {
  try {
    return (await readFeatureData(dir))?.data ?? null;
  } catch (err) {
    notes.push(`${runId}: feature data not shown (${(err as Error).message})`);
    return null;
  }
}

async function write(out: LatentPages, path: string, text: string): Promise<void> {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await Deno.writeTextFile(path, text);
  out.files.push(path);
}

async function jsonFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(".json")) names.push(e.name);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return names.sort().map((n) => join(dir, n));
}

async function readJson(path: string, notes: string[]): Promise<Row | null> {
  try {
    const v = JSON.parse(await Deno.readTextFile(path));
    if (v && typeof v === "object" && !Array.isArray(v)) return v;
    notes.push(`${path}: expected a JSON object`);
  } catch (err) {
    notes.push(`${path}: ${(err as Error).message}`);
  }
  return null;
}

async function readRatingFiles(dir: string, notes: string[]): Promise<RatingsFile[]> {
  const out: RatingsFile[] = [];
  for (const path of await jsonFiles(dir)) {
    const v = await readJson(path, notes);
    if (!v) continue;
    if (v.format !== "saesweep-ratings" || typeof v.session !== "string" || !isObject(v.ratings)) {
      notes.push(`${path}: not a saesweep ratings file (saved by a rating page)`);
      continue;
    }
    out.push({
      path,
      session: v.session,
      rater: typeof v.rater === "string" ? v.rater : undefined,
      ratings: v.ratings as Record<string, string>,
    });
  }
  return out;
}

async function readKeys(dir: string, notes: string[]): Promise<Map<string, RatingKey>> {
  const keys = new Map<string, RatingKey>();
  for (const path of await jsonFiles(dir)) {
    const v = await readJson(path, notes);
    if (v && typeof v.session === "string" && Array.isArray(v.items)) {
      keys.set(v.session, v as unknown as RatingKey);
    }
  }
  return keys;
}

function isObject(v: unknown): v is Row {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
