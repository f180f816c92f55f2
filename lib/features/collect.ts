// Collects per-latent feature statistics from dense latents [n, F] streamed in row order: firing
// frequency, activation histogram, top-k and banded random contexts with per-token activations.
// Pure compute; the logit lens is logit_lens.ts and the files are store.ts.
//
// Shapes: n held-out rows, F latents, C context slots, W window tokens, B bins.
import { Rng } from "../data/rng.ts";
import { DataError } from "../errors.ts";
import {
  contextSlots,
  type FeatureData,
  type FeatureOptions,
  type HeldoutTokens,
  windowLength,
} from "./feature_data.ts";

/** The statistics part of FeatureData (no vocabulary, no logit lens). */
export type LatentStatistics = Omit<
  FeatureData,
  "vocab" | "promotedIds" | "promotedValues" | "suppressedIds" | "suppressedValues"
>;

/** Stream id of the band samples' Rng (mixed with the seed, the latent and the band). */
const STREAM_BANDS = 0xfea7;

/** Keeps every non-zero latent activation (latent, row, value) as rows stream in. */
export class FeatureAccumulator {
  readonly width: number;
  private rows = 0;
  private n = 0;
  private latent = new Int32Array(1024);
  private row = new Int32Array(1024);
  private value = new Float32Array(1024);

  constructor(width: number) {
    this.width = width;
  }

  /** Adds `rows` rows of dense latents `f` [rows, F] (the next held-out rows, in order). */
  add(f: Float32Array, rows: number): void {
    const w = this.width;
    if (f.length < rows * w) {
      throw new RangeError(`add(): need ${rows} rows of ${w} latents, got ${f.length} values`);
    }
    for (let r = 0; r < rows; r++) {
      const o = r * w;
      for (let i = 0; i < w; i++) {
        const v = f[o + i];
        if (v !== 0) this.push(i, this.rows + r, v);
      }
    }
    this.rows += rows;
  }

  private push(latent: number, row: number, value: number): void {
    if (this.n === this.latent.length) {
      const grow = <T extends Int32Array | Float32Array>(a: T): T => {
        const b = new (a.constructor as { new (n: number): T })(a.length * 2);
        b.set(a);
        return b;
      };
      this.latent = grow(this.latent);
      this.row = grow(this.row);
      this.value = grow(this.value);
    }
    this.latent[this.n] = latent;
    this.row[this.n] = row;
    this.value[this.n] = value;
    this.n++;
  }

  /** The statistics of everything added, contexts cut from `tokens` (one row per position). */
  finish(tokens: HeldoutTokens, options: FeatureOptions): LatentStatistics {
    const F = this.width, n = this.rows;
    const { bins, topK, bands, perBand, before } = options;
    const C = contextSlots(options), W = windowLength(options);
    const layout = rowLayout(tokens, n);
    // CSR by latent; rows ascend within a latent because rows were added in order.
    const start = new Int32Array(F + 1);
    for (let e = 0; e < this.n; e++) start[this.latent[e] + 1]++;
    for (let i = 0; i < F; i++) start[i + 1] += start[i];
    const fill = start.slice(0, F);
    const rowOf = new Int32Array(this.n), valueOf = new Float32Array(this.n);
    for (let e = 0; e < this.n; e++) {
      const at = fill[this.latent[e]]++;
      rowOf[at] = this.row[e];
      valueOf[at] = this.value[e];
    }

    const out: LatentStatistics = {
      rows: n,
      width: F,
      options,
      frequency: new Float32Array(F),
      maxAct: new Float32Array(F),
      meanAct: new Float32Array(F),
      histogram: new Float32Array(F * bins),
      contextTokens: new Float32Array(F * C * W).fill(-1),
      contextActs: new Float32Array(F * C * W),
      contextValue: new Float32Array(F * C),
      contextRow: new Float32Array(F * C).fill(-1),
    };
    for (let i = 0; i < F; i++) {
      const a = start[i], b = start[i + 1], count = b - a;
      if (count === 0) continue;
      let max = 0, sum = 0;
      for (let e = a; e < b; e++) {
        max = Math.max(max, valueOf[e]);
        sum += valueOf[e];
      }
      out.frequency[i] = count / n;
      out.maxAct[i] = max;
      out.meanAct[i] = sum / count;
      histogramInto(out.histogram.subarray(i * bins, (i + 1) * bins), valueOf.subarray(a, b), max);

      // Entries by value descending, ties by row ascending.
      const order = Array.from({ length: count }, (_, k) => a + k);
      order.sort((x, y) => valueOf[y] - valueOf[x] || rowOf[x] - rowOf[y]);
      const chosen = order.slice(0, topK);
      const rest = order.slice(topK);
      for (let band = 0; band < bands; band++) {
        const lo = Math.floor((band * rest.length) / bands);
        const hi = Math.floor(((band + 1) * rest.length) / bands);
        const rng = new Rng(options.seed, STREAM_BANDS, i, band);
        const picks = sampleWithoutReplacement(hi - lo, perBand, rng);
        const slots = picks.sort((x, y) => x - y).map((k) => rest[lo + k]);
        while (slots.length < perBand) slots.push(-1);
        chosen.push(...slots);
      }
      while (chosen.length < C) chosen.push(-1); // fewer activating tokens than top-k slots
      // Per-token activations of the latent: binary search of its rows.
      const actAt = (row: number) => {
        let l = a, h = b;
        while (l < h) {
          const m = (l + h) >> 1;
          if (rowOf[m] < row) l = m + 1;
          else h = m;
        }
        return l < b && rowOf[l] === row ? valueOf[l] : 0;
      };
      chosen.forEach((e, slot) => {
        if (e < 0) return;
        const s = i * C + slot;
        out.contextValue[s] = valueOf[e];
        out.contextRow[s] = rowOf[e];
        const seq = layout.seq[rowOf[e]], pos = layout.pos[rowOf[e]];
        const tok = tokens.sequences[seq];
        for (let w = 0; w < W; w++) {
          const q = pos - before + w;
          if (q < 0 || q >= tok.length) continue;
          out.contextTokens[s * W + w] = tok[q];
          const r = layout.first[seq] + q - tokens.firstPosition;
          if (q >= tokens.firstPosition && r < n) out.contextActs[s * W + w] = actAt(r);
        }
      });
    }
    return out;
  }
}

/** Sequence and position of every row, and each sequence's first row. */
function rowLayout(tokens: HeldoutTokens, n: number) {
  const seq = new Int32Array(n), pos = new Int32Array(n);
  const first = new Int32Array(tokens.sequences.length);
  let r = 0;
  tokens.sequences.forEach((s, k) => {
    first[k] = r;
    for (let p = tokens.firstPosition; p < s.length && r < n; p++, r++) {
      seq[r] = k;
      pos[r] = p;
    }
  });
  if (r < n) {
    throw new DataError(`held-out tokens give ${r} activation rows, but ${n} rows were encoded`, {
      hint: "the activation cache does not match the held-out text; delete data.cache_dir",
    });
  }
  return { seq, pos, first };
}

/**
 * Counts of `values` (all in [0, max]) in equal-width bins over [0, max], the last bin closed,
 * with numpy.histogram's rule for values on a computed edge.
 */
export function histogramInto(out: Float32Array, values: ArrayLike<number>, max: number): void {
  const B = out.length;
  if (!(max > 0)) {
    out[0] += values.length;
    return;
  }
  const step = max / B;
  const edge = (k: number) => (k === B ? max : k * step);
  for (let e = 0; e < values.length; e++) {
    const v = values[e];
    let k = Math.min(B - 1, Math.max(0, Math.floor((v / max) * B)));
    if (v < edge(k)) k--;
    else if (k !== B - 1 && v >= edge(k + 1)) k++;
    out[k]++;
  }
}

/** `k` distinct indices of [0, n) (all of them when n <= k), by a partial Fisher-Yates shuffle. */
function sampleWithoutReplacement(n: number, k: number, rng: Rng): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  const m = Math.min(n, k);
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(n - i);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, m);
}
