// Harvest throughput of the project's LM forward pass: tokens/s of harvesting one site and four
// sites of one block from the same passes, per model size, with random weights in llama2.c shapes
// (no download), so a user can plan a harvest. Uses the active tfjs backend; printing is the task's.
import { Rng } from "../data/rng.ts";
import type { LlamaCheckpoint, LlamaConfig } from "../lm/checkpoint.ts";
import { harvestSites } from "../lm/harvest.ts";
import { createModel, type HookPoint } from "../lm/model.ts";
import { BOS_ID } from "../lm/tokenizer.ts";

/** A model size to measure (the shapes of Karpathy's tinyllamas). */
export interface HarvestShape {
  name: string;
  config: Omit<LlamaConfig, "sharedClassifier">;
  /** Sequences of 256 tokens (+ BOS) per measured harvest: fewer for larger models. */
  sequences: number;
}

const llama = (
  name: string,
  dim: number,
  hiddenDim: number,
  nLayers: number,
  nHeads: number,
  nKvHeads: number,
  vocabSize: number,
  sequences: number,
): HarvestShape => ({
  name,
  config: { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen: 512 },
  sequences,
});

export const HARVEST_SHAPES: HarvestShape[] = [
  llama("stories260K", 64, 172, 5, 8, 4, 512, 64),
  llama("stories15M", 288, 768, 6, 6, 6, 32000, 32),
  llama("stories42M", 512, 1376, 8, 8, 8, 32000, 16),
  llama("stories110M", 768, 2048, 12, 12, 12, 32000, 8),
];

/** A checkpoint of `shape` with seeded uniform weights of scale 1/sqrt(fan-in). */
export function randomCheckpoint(shape: HarvestShape, seed = 0): LlamaCheckpoint {
  const { dim: D, hiddenDim: H, nLayers: L, nHeads, nKvHeads, vocabSize: V } = shape.config;
  const K = (D * nKvHeads) / nHeads;
  const rng = new Rng(seed);
  const fill = (n: number, fanIn: number) => {
    const a = new Float32Array(n);
    const s = Math.sqrt(3 / fanIn);
    for (let i = 0; i < n; i++) a[i] = (2 * rng.uniform() - 1) * s;
    return a;
  };
  const ones = (n: number) => new Float32Array(n).fill(1);
  const embedding = fill(V * D, 1);
  return {
    config: { ...shape.config, sharedClassifier: true },
    weights: {
      tokenEmbedding: embedding,
      rmsAtt: ones(L * D),
      wq: fill(L * D * D, D),
      wk: fill(L * K * D, D),
      wv: fill(L * K * D, D),
      wo: fill(L * D * D, D),
      rmsFfn: ones(L * D),
      w1: fill(L * H * D, D),
      w2: fill(L * D * H, H),
      w3: fill(L * H * D, D),
      rmsFinal: ones(D),
      classifier: embedding,
    },
  };
}

export interface HarvestThroughput {
  model: string;
  d_model: number;
  layers: number;
  /** Block whose sites are harvested (the middle one). */
  layer: number;
  tokens: number;
  /** Harvested vectors per second, one site (resid_post) and four sites of the block. */
  one_site_tokens_per_s: number;
  four_sites_tokens_per_s: number;
  /** Time of four sites over the time of one (the best of `repeats` each). */
  four_over_one: number;
}

/**
 * Measures harvesting `shape.sequences` random token sequences of `length` at the middle block:
 * one site, then all four, alternately `repeats` times; keeps each one's fastest time.
 */
export async function measureHarvest(
  shape: HarvestShape,
  options: { length: number; repeats: number },
): Promise<HarvestThroughput> {
  const sequences = shape.sequences;
  const model = createModel(randomCheckpoint(shape));
  try {
    const { vocabSize: V, nLayers } = shape.config;
    const layer = Math.floor(nLayers / 2);
    const rng = new Rng(1);
    const seqs = Array.from(
      { length: sequences },
      () =>
        Int32Array.from(
          { length: options.length },
          (_, t) => (t === 0 ? BOS_ID : 3 + rng.int(V - 3)),
        ),
    );
    const one: HookPoint[] = [{ site: "resid_post", layer }];
    const four: HookPoint[] = (["resid_pre", "attn_out", "mlp_out", "resid_post"] as const).map(
      (site) => ({ site, layer }),
    );
    const time = async (points: HookPoint[]) => {
      const t0 = performance.now();
      await harvestSites(model, seqs, { points, excludeBos: true });
      return (performance.now() - t0) / 1000;
    };
    await time(four); // warm-up: kernels compiled, memory grown
    let best1 = Infinity, best4 = Infinity;
    for (let r = 0; r < options.repeats; r++) {
      best1 = Math.min(best1, await time(one));
      best4 = Math.min(best4, await time(four));
    }
    const tokens = sequences * (options.length - 1);
    return {
      model: shape.name,
      d_model: shape.config.dim,
      layers: nLayers,
      layer,
      tokens,
      one_site_tokens_per_s: tokens / best1,
      four_sites_tokens_per_s: tokens / best4,
      four_over_one: best4 / best1,
    };
  } finally {
    model.dispose();
  }
}
