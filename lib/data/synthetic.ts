// Synthetic activations with known ground truth: sparse non-negative combinations of random unit
// feature directions plus noise. Pure and deterministic per seed; normalisation is the trainer's.
import type { ActivationSource, GroundTruth } from "./source.ts";
import type { SyntheticData } from "./data_spec.ts";
import { DataError } from "../errors.ts";
import { Rng } from "./rng.ts";

// Shapes: N n_features, D d_model, B batch.

// Stream ids: each purpose draws from its own independent stream of the data seed.
const STREAM_MODEL = 0;
const STREAM_TRAIN = 1;
const STREAM_SAMPLE = 2;
const STREAM_HELDOUT = 3;
/** sample() and heldout() are generated in blocks of this many rows, so shorter calls are prefixes. */
const BLOCK_ROWS = 1024;

/** The generative model behind a synthetic source: everything fixed by `cfg.seed`. */
export interface SyntheticModel {
  dModel: number;
  nFeatures: number;
  /** Unit feature directions, row-major [N, D]. */
  directions: Float32Array;
  /** Independent firing probability of each feature, [N]; follows the power law up to clipping. */
  probs: Float64Array;
  /** log(1 - p_i), for geometric skips; -Infinity where p_i = 1. */
  logQ: Float64Array;
  /** Group index of each feature (-1: none), [N]. */
  groupOf: Int32Array;
  /** Leader (first member) of each group, [groups]. */
  groupLeader: Int32Array;
  /** Expected number of active features per token, groups included (= mean_active unless clipped). */
  expectedActive: number;
  cfg: SyntheticData;
}

/** Expected active features per token for firing scale c (see `buildSyntheticModel`). */
function expectedActiveAt(
  c: number,
  weights: Float64Array,
  groups: Int32Array[],
  groupProb: number,
): number {
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += Math.min(1, c * weights[i]);
  // A non-leader member j also fires (when it would not have) with prob p_leader * group_prob.
  for (const members of groups) {
    const pLead = Math.min(1, c * weights[members[0]]);
    for (let k = 1; k < members.length; k++) {
      total += pLead * groupProb * (1 - Math.min(1, c * weights[members[k]]));
    }
  }
  return total;
}

/**
 * Draws the ground truth from `cfg.seed`: directions, power-law probabilities
 * p_i = min(1, c (i+1)^-exponent) with c chosen (bisection) so the expected number of active
 * features per token, correlated groups included, equals mean_active, and the groups.
 */
export function buildSyntheticModel(cfg: SyntheticData): SyntheticModel {
  const { d_model: D, n_features: N } = cfg;
  const groupCount = cfg.correlated_groups;
  if (groupCount * cfg.group_size > N) {
    throw new DataError(
      `synthetic data: ${groupCount} correlated groups of ${cfg.group_size} features need ` +
        `${groupCount * cfg.group_size} features, but n_features is ${N}`,
      { hint: "lower data.correlated_groups or data.group_size, or raise data.n_features" },
    );
  }
  const rng = new Rng(cfg.seed, STREAM_MODEL);

  const directions = new Float32Array(N * D);
  const row = new Float64Array(D);
  for (let i = 0; i < N; i++) {
    let norm2 = 0;
    do {
      rng.fillNormal(row);
      norm2 = 0;
      for (let j = 0; j < D; j++) norm2 += row[j] * row[j];
    } while (norm2 === 0);
    const inv = 1 / Math.sqrt(norm2);
    for (let j = 0; j < D; j++) directions[i * D + j] = row[j] * inv;
  }

  // Groups: consecutive runs of a random permutation of the features.
  const perm = new Int32Array(N);
  for (let i = 0; i < N; i++) perm[i] = i;
  for (let i = N - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  const groupOf = new Int32Array(N).fill(-1);
  const groups: Int32Array[] = [];
  for (let g = 0; g < groupCount; g++) {
    const members = perm.slice(g * cfg.group_size, (g + 1) * cfg.group_size);
    for (const m of members) groupOf[m] = g;
    groups.push(members);
  }
  const groupLeader = Int32Array.from(groups, (m) => m[0]);

  const weights = new Float64Array(N);
  for (let i = 0; i < N; i++) weights[i] = Math.pow(i + 1, -cfg.firing_exponent);
  const target = cfg.mean_active;
  let lo = 0;
  let hi = 1;
  const maxActive = expectedActiveAt(Infinity, weights, groups, cfg.group_prob);
  if (target >= maxActive) {
    lo = hi = 1 / Math.min(...weights); // every p_i = 1
  } else {
    while (expectedActiveAt(hi, weights, groups, cfg.group_prob) < target) hi *= 2;
    for (let it = 0; it < 200 && hi - lo > 1e-15 * hi; it++) {
      const mid = 0.5 * (lo + hi);
      if (expectedActiveAt(mid, weights, groups, cfg.group_prob) < target) lo = mid;
      else hi = mid;
    }
  }
  const c = 0.5 * (lo + hi);
  const probs = new Float64Array(N);
  const logQ = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    probs[i] = Math.min(1, c * weights[i]);
    logQ[i] = Math.log1p(-probs[i]);
  }
  return {
    dModel: D,
    nFeatures: N,
    directions,
    probs,
    logQ,
    groupOf,
    groupLeader,
    expectedActive: expectedActiveAt(c, weights, groups, cfg.group_prob),
    cfg,
  };
}

/** Optional statistics filled by `generateSynthetic` (for tests and diagnostics). */
export interface SyntheticStats {
  /** Per-feature fire counts, [N]; incremented. */
  fireCounts?: Int32Array;
  /** Set to 1 where feature i fires at token t, [n, N] (caller zeroes it). */
  active?: Uint8Array;
}

/**
 * Writes `n` vectors into `out` ([n, D], overwritten) from `rng`. Sparse: for each feature the
 * tokens where it fires are drawn by geometric skips, so the cost is O(N + n * active * D).
 */
export function generateSynthetic(
  model: SyntheticModel,
  rng: Rng,
  options: { n: number; out?: Float32Array; stats?: SyntheticStats },
): Float32Array {
  const { n } = options;
  const { dModel: D, nFeatures: N, directions, probs, logQ, groupOf, groupLeader, cfg } = model;
  const out = options.out ?? new Float32Array(n * D);
  if (out.length < n * D) throw new RangeError(`out holds ${out.length} values, need ${n * D}`);
  if (cfg.noise_std > 0) rng.fillNormal(out.subarray(0, n * D), cfg.noise_std);
  else out.fill(0, 0, n * D);
  const fireCounts = options.stats?.fireCounts;
  const active = options.stats?.active;

  // Tokens where each group leader fires, drawn first so members can copy them.
  const leaderTokens: Int32Array[] = [];
  for (let g = 0; g < groupLeader.length; g++) {
    leaderTokens.push(drawFirings(rng, n, probs[groupLeader[g]], logQ[groupLeader[g]]));
  }
  const stamp = new Int32Array(n).fill(-1); // stamp[t] = last feature that fired at token t
  const mean = cfg.magnitude_mean;
  const std = cfg.magnitude_std;
  for (let i = 0; i < N; i++) {
    const g = groupOf[i];
    const isLeader = g >= 0 && groupLeader[g] === i;
    let tokens = isLeader ? leaderTokens[g] : drawFirings(rng, n, probs[i], logQ[i]);
    if (g >= 0 && !isLeader && leaderTokens[g].length > 0) {
      for (let k = 0; k < tokens.length; k++) stamp[tokens[k]] = i;
      const extra: number[] = [];
      const lead = leaderTokens[g];
      for (let k = 0; k < lead.length; k++) {
        if (rng.uniform() < cfg.group_prob && stamp[lead[k]] !== i) extra.push(lead[k]);
      }
      if (extra.length > 0) {
        const merged = new Int32Array(tokens.length + extra.length);
        merged.set(tokens);
        merged.set(extra, tokens.length);
        tokens = merged;
      }
    }
    if (fireCounts) fireCounts[i] += tokens.length;
    if (active) { for (let k = 0; k < tokens.length; k++) active[tokens[k] * N + i] = 1; }
    const dirOff = i * D;
    for (let k = 0; k < tokens.length; k++) {
      const a = std > 0 ? mean + std * rng.normal() : mean;
      if (a <= 0) continue;
      axpy(out, tokens[k] * D, a, directions, { from: dirOff, length: D });
    }
  }
  return out;
}

/** out[at + j] += a * x[from + j] for j < length (a small function V8 optimises well). */
function axpy(
  out: Float32Array,
  at: number,
  a: number,
  x: Float32Array,
  range: { from: number; length: number },
): void {
  const { from, length } = range;
  for (let j = 0; j < length; j++) out[at + j] += a * x[from + j];
}

const scratch = { buf: new Int32Array(1024) };

/** Tokens in [0, n) where an event of probability p fires, by geometric skips (ascending). */
function drawFirings(rng: Rng, n: number, p: number, logQ: number): Int32Array {
  if (p <= 0) return new Int32Array(0);
  if (p >= 1) return Int32Array.from({ length: n }, (_, t) => t);
  let count = 0;
  let buf = scratch.buf;
  let t = -1;
  for (;;) {
    // Skip ~ Geometric(p) on {0, 1, ...}: floor(log U / log(1 - p)), U in (0, 1].
    t += 1 + Math.floor(Math.log(1 - rng.uniform()) / logQ);
    if (t >= n) break;
    if (count === buf.length) {
      const bigger = new Int32Array(buf.length * 2);
      bigger.set(buf);
      buf = scratch.buf = bigger;
    }
    buf[count++] = t;
  }
  return buf.slice(0, count);
}

function parseCursor(cursor: unknown): number {
  const batch = (cursor as { batch?: unknown } | null)?.batch;
  if (typeof batch !== "number" || !Number.isSafeInteger(batch) || batch < 0) {
    throw new DataError(`synthetic data: not a cursor of this source: ${JSON.stringify(cursor)}`, {
      hint: "the checkpoint was written for a different data source; start the run afresh",
    });
  }
  return batch;
}

/** n rows of the fixed block stream `streamIds`: block b comes from Rng(seed, ...streamIds, b). */
function blockRows(model: SyntheticModel, n: number, streamIds: number[]): Float32Array {
  const D = model.dModel;
  const out = new Float32Array(n * D);
  const block = new Float32Array(BLOCK_ROWS * D);
  for (let b = 0; b * BLOCK_ROWS < n; b++) {
    // Always a whole block, so that shorter requests are exact prefixes of longer ones.
    generateSynthetic(model, new Rng(model.cfg.seed, ...streamIds, b), {
      n: BLOCK_ROWS,
      out: block,
    });
    const rows = Math.min(BLOCK_ROWS, n - b * BLOCK_ROWS);
    out.set(block.subarray(0, rows * D), b * BLOCK_ROWS * D);
  }
  return out;
}

/**
 * An infinite synthetic training stream. Batch k is a pure function of (cfg.seed, streamSeed, k,
 * batch size); `sample` and `heldout` come from their own streams, and the held-out set does not
 * depend on `streamSeed`, so every run of a spec evaluates on the same vectors.
 */
export function createSyntheticSource(
  cfg: SyntheticData,
  options: { streamSeed: number },
): ActivationSource {
  const model = buildSyntheticModel(cfg);
  const { streamSeed } = options;
  let batch = 0;
  const groundTruth: GroundTruth = { directions: model.directions, nFeatures: model.nFeatures };
  return {
    dModel: cfg.d_model,
    groundTruth,
    nextBatch(batchSize: number): Promise<Float32Array> {
      const rng = new Rng(cfg.seed, STREAM_TRAIN, streamSeed, batch);
      batch++;
      return Promise.resolve(generateSynthetic(model, rng, { n: batchSize }));
    },
    cursor: () => ({ batch }),
    seek(cursor: unknown): void {
      batch = parseCursor(cursor);
    },
    sample: (n: number) => Promise.resolve(blockRows(model, n, [STREAM_SAMPLE, streamSeed])),
    heldout: (n: number) => Promise.resolve(blockRows(model, n, [STREAM_HELDOUT])),
    describe: () => ({
      source: "synthetic",
      d_model: cfg.d_model,
      n_features: cfg.n_features,
      expected_active: model.expectedActive,
      max_firing_prob: model.probs[0],
      min_firing_prob: model.probs[model.nFeatures - 1],
      seed: cfg.seed,
      stream_seed: streamSeed,
    }),
    close(): void {},
  };
}
