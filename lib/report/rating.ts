// Blind rating sessions: which runs a rating page compares at a target L0, which of their latents
// it samples (seeded, shuffled), and the per-architecture summary of saved rating files. Pure.
import { Rng } from "../data/rng.ts";

/** Latents sampled from each run of a rating page (all firing latents when fewer). */
export const RATING_LATENTS_PER_RUN = 16;
/** Without runs swept at target t, runs whose achieved L0 is within this factor of t join. */
export const RATING_L0_FACTOR = 1.5;

export type Rating = "yes" | "maybe" | "no";
export const RATINGS: Rating[] = ["yes", "maybe", "no"];

export interface RatingRun {
  run_id: string;
  architecture: string;
  /** Achieved L0. */
  l0: number;
  /** The sweep's target L0 of the run (null if unknown). */
  l0_target: number | null;
  run_dir: string;
}

/** One rated item: which latent of which run hides behind an opaque label. */
export interface RatingItem {
  item: string;
  run_id: string;
  architecture: string;
  latent: number;
}

/** What a rating page's key file records (`rate/keys/<session>.json`). */
export interface RatingKey {
  session: string;
  target_l0: number;
  runs: RatingRun[];
  items: RatingItem[];
}

/**
 * Per target L0 t, one run per architecture: among the runs swept at target t (or, when fewer than
 * two architectures were, the runs whose achieved L0 is within RATING_L0_FACTOR of t), the one
 * whose achieved L0 is closest to t in log space. Pages need two architectures or more.
 */
export function chooseRatingRuns(
  runs: RatingRun[],
  targetL0s: number[],
): Map<number, RatingRun[]> {
  const out = new Map<number, RatingRun[]>();
  const architectures = (rs: RatingRun[]) => new Set(rs.map((r) => r.architecture)).size;
  for (const t of targetL0s) {
    const best = new Map<string, RatingRun>();
    const dist = (r: RatingRun) => Math.abs(Math.log(r.l0 / t));
    const swept = runs.filter((r) => r.l0_target === t && r.l0 > 0);
    const pool = architectures(swept) >= 2
      ? swept
      : runs.filter((r) => r.l0 > 0 && dist(r) <= Math.log(RATING_L0_FACTOR) + 1e-12);
    for (const r of pool) {
      const held = best.get(r.architecture);
      if (!held || dist(r) < dist(held) || (dist(r) === dist(held) && r.run_id < held.run_id)) {
        best.set(r.architecture, r);
      }
    }
    const chosen = [...best.values()].sort((a, b) => a.architecture.localeCompare(b.architecture));
    if (chosen.length >= 2) out.set(t, chosen);
  }
  return out;
}

/** FNV-1a hash of a string, as a seed. */
function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function shuffle<T>(items: T[], rng: Rng): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/**
 * The items of a rating page: up to `perRun` firing latents of each run (`firing` gives a run's
 * firing latents), all shuffled together and labelled 1..n. Deterministic in its inputs.
 */
export function sampleRatingItems(
  runs: RatingRun[],
  firing: (run: RatingRun) => number[],
  options: { targetL0: number; perRun?: number },
): RatingItem[] {
  const perRun = options.perRun ?? RATING_LATENTS_PER_RUN;
  const picked = runs.flatMap((run) => {
    const rng = new Rng(seedOf(run.run_id), Math.round(options.targetL0 * 1000));
    return shuffle(firing(run), rng).slice(0, perRun).sort((a, b) => a - b)
      .map((latent) => ({ run_id: run.run_id, architecture: run.architecture, latent }));
  });
  const rng = new Rng(seedOf(runs.map((r) => r.run_id).join(",")), 1);
  return shuffle(picked, rng).map((p, k) => ({ item: String(k + 1), ...p }));
}

/** Session id of a page: a hash of its items, so a rating file only joins the page it rated. */
export async function sessionId(targetL0: number, items: RatingItem[]): Promise<string> {
  const text = JSON.stringify({ targetL0, items });
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest).subarray(0, 6), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** One saved ratings file (as the rating page writes it). */
export interface RatingsFile {
  path: string;
  session: string;
  rater?: string;
  ratings: Record<string, string>;
}

/** Counts per target L0 and architecture. */
export interface RatingSummaryRow {
  target_l0: number;
  architecture: string;
  rated: number;
  yes: number;
  maybe: number;
  no: number;
}

/** Joins rating files with their keys; files of unknown sessions are reported, not counted. */
export function summariseRatings(
  files: RatingsFile[],
  keys: Map<string, RatingKey>,
): { rows: RatingSummaryRow[]; problems: string[] } {
  const problems: string[] = [];
  const rows = new Map<string, RatingSummaryRow>();
  for (const file of files) {
    const key = keys.get(file.session);
    if (!key) {
      problems.push(`${file.path}: session ${file.session} matches no rating page key`);
      continue;
    }
    const byItem = new Map(key.items.map((i) => [i.item, i]));
    for (const [item, value] of Object.entries(file.ratings)) {
      const it = byItem.get(item);
      if (!it || !RATINGS.includes(value as Rating)) {
        problems.push(`${file.path}: ignored rating ${JSON.stringify(value)} of item ${item}`);
        continue;
      }
      const id = `${key.target_l0}\u0000${it.architecture}`;
      const row = rows.get(id) ??
        {
          target_l0: key.target_l0,
          architecture: it.architecture,
          rated: 0,
          yes: 0,
          maybe: 0,
          no: 0,
        };
      row.rated++;
      row[value as Rating]++;
      rows.set(id, row);
    }
  }
  const sorted = [...rows.values()].sort((a, b) =>
    a.target_l0 - b.target_l0 || a.architecture.localeCompare(b.architecture)
  );
  return { rows: sorted, problems };
}
