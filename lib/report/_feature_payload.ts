// Packs the feature data of chosen latents into the compact JSON a feature or rating page embeds:
// typed arrays as base64 (context activations as bytes relative to each latent's maximum), so a
// page decodes only the cards it shows. Private to reports.
import { contextSlots, type FeatureData, windowLength } from "../features/feature_data.ts";
import { tokenEntropy, topContextTokens } from "../features/measures.ts";

/** The page-side shape (see _feature_client.ts, which decodes it). */
export interface LatentPayload {
  /** Latent index shown on each card (or null on a blind rating page). */
  ids: number[] | null;
  /** Opaque item labels (rating pages) or null. */
  items: string[] | null;
  rows: number;
  topK: number;
  bands: number;
  perBand: number;
  before: number;
  bins: number;
  C: number;
  W: number;
  L: number;
  vocab: string[];
  /** base64 little-endian arrays, one entry per packed latent (see `latentPayload`). */
  freq: string;
  max: string;
  mean: string;
  entropy: string;
  hist: string;
  tok: string;
  act: string;
  pid: string;
  pv: string;
  sid: string;
  sv: string;
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

const f32 = (a: number[] | Float32Array) => base64(new Uint8Array(Float32Array.from(a).buffer));
const i32 = (a: number[] | Float32Array) => base64(new Uint8Array(Int32Array.from(a).buffer));

/** One latent of one run's feature data. */
export interface LatentRef {
  data: FeatureData;
  latent: number;
}

/**
 * Packs `latents` (in that order; they may come from several runs of one experiment, which share
 * the feature options and vocabulary). `items` replace latent ids on blind pages.
 */
export function latentPayload(
  latents: LatentRef[],
  options: { items?: string[] } = {},
): LatentPayload {
  const first = latents[0]?.data;
  if (!first) throw new RangeError("latentPayload(): no latents");
  const o = first.options, C = contextSlots(o), W = windowLength(o);
  const L = first.promotedIds.length / Math.max(1, first.width);
  const gather = (pick: (d: FeatureData) => Float32Array, per: number) => {
    const out = new Float32Array(latents.length * per);
    latents.forEach(({ data, latent }, k) => {
      if (JSON.stringify(data.options) !== JSON.stringify(o)) {
        throw new RangeError("latentPayload(): runs with different feature options");
      }
      out.set(pick(data).subarray(latent * per, (latent + 1) * per), k * per);
    });
    return out;
  };
  const each = (f: (d: FeatureData, i: number) => number) =>
    latents.map(({ data, latent }) => f(data, latent));
  // Activations as bytes: round(255 * act / max of the latent), enough for highlighting.
  const acts = gather((d) => d.contextActs, C * W);
  const act = new Uint8Array(acts.length);
  latents.forEach(({ data, latent }, k) => {
    const max = data.maxAct[latent];
    if (!(max > 0)) return;
    for (let j = k * C * W; j < (k + 1) * C * W; j++) {
      act[j] = Math.max(0, Math.min(255, Math.round((255 * acts[j]) / max)));
    }
  });
  return {
    ids: options.items ? null : latents.map((l) => l.latent),
    items: options.items ?? null,
    rows: first.rows,
    topK: o.topK,
    bands: o.bands,
    perBand: o.perBand,
    before: o.before,
    bins: o.bins,
    C,
    W,
    L,
    vocab: first.vocab,
    freq: f32(each((d, i) => d.frequency[i])),
    max: f32(each((d, i) => d.maxAct[i])),
    mean: f32(each((d, i) => d.meanAct[i])),
    entropy: f32(each((d, i) => tokenEntropy(topContextTokens(d, i)))),
    hist: f32(gather((d) => d.histogram, o.bins)),
    tok: i32(gather((d) => d.contextTokens, C * W)),
    act: base64(act),
    pid: i32(gather((d) => d.promotedIds, L)),
    pv: f32(gather((d) => d.promotedValues, L)),
    sid: i32(gather((d) => d.suppressedIds, L)),
    sv: f32(gather((d) => d.suppressedValues, L)),
  };
}

/** JSON safe inside a `<script type="application/json">` element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}
