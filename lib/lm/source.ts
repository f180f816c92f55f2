// The `lm` activation source: streams the activations of one hook site of a llama2.c or Hugging
// Face llama-family model, from
// the cache lm_caches.ts prepares (harvested once per set of inputs and shared by every run of a
// sweep), in a seeded shuffled order, and evaluates spliced cross-entropy on held-out text.
import { Rng } from "../data/rng.ts";
import type {
  ActivationSource,
  DataProgress,
  LmEvaluation,
  Reconstructor,
} from "../data/source.ts";
import { DataError } from "../errors.ts";
import type { LmData } from "../data/data_spec.ts";
import { readActivationCache } from "./activation_cache.ts";
import { evaluateSplice } from "./evaluate.ts";
import { prepareLmCaches } from "./lm_caches.ts";
import { createModel } from "./model.ts";
import { displayVocab } from "./vocab.ts";

// Rng stream ids of this source (independent of other sources' streams).
const STREAM_ORDER = 0x4c4d01;
const STREAM_SAMPLE = 0x4c4d02;

export interface LmSourceOptions {
  /** Directory of the spec file: data paths and cache_dir resolve against it. */
  specDir: string;
  /** Seed of the training order and of `sample` (the run's train.seed). */
  streamSeed: number;
  /** Held-out sequences `evaluateLm` uses (eval.lm_sequences). */
  evalSequences: number;
  /** Progress of sampling and harvesting, when the cache has to be made. */
  onProgress?: (p: DataProgress) => void;
}

/** Position in the training stream: pass `epoch` of the permutation, next index within it. */
interface LmCursor {
  epoch: number;
  index: number;
}

/**
 * Opens the source, harvesting into `cache_dir` unless a cache of the same inputs exists. Uses the
 * active tfjs backend and holds no tensors between calls (the model is rebuilt for each use).
 */
export async function openLmSource(
  cfg: LmData,
  options: LmSourceOptions,
): Promise<ActivationSource> {
  const { streamSeed, evalSequences } = options;
  const [prepared] = await prepareLmCaches([cfg], options);
  const { checkpoint, tokenizer, key, dir } = prepared;
  const { config } = checkpoint;
  const heldoutSequences = prepared.heldout;
  const cached = await readActivationCache(dir);
  if (cached === null) {
    throw new DataError(`activation cache ${dir} vanished while it was being opened`, {
      hint: "something else removed it; run again",
    });
  }
  const { train, heldout, manifest } = cached;
  const D = config.dim;
  const nTrain = manifest.train_rows;

  // Training order: a fresh seeded permutation of all rows per pass, so a cursor is two numbers.
  let cursor: LmCursor = { epoch: 0, index: 0 };
  let order: { epoch: number; perm: Uint32Array } | null = null;
  const permutation = (epoch: number) => {
    if (order?.epoch !== epoch) {
      order = { epoch, perm: shuffled(nTrain, new Rng(streamSeed, STREAM_ORDER, epoch)) };
    }
    return order.perm;
  };
  const copyRows = (
    perm: ArrayLike<number>,
    from: number,
    n: number,
    out: Float32Array,
    at: number,
  ) => {
    for (let i = 0; i < n; i++) {
      const r = perm[from + i];
      out.set(train.subarray(r * D, (r + 1) * D), (at + i) * D);
    }
  };

  return {
    dModel: D,
    nextBatch(batchSize: number): Promise<Float32Array> {
      const out = new Float32Array(batchSize * D); // [batchSize, D]
      let filled = 0;
      while (filled < batchSize) {
        const n = Math.min(batchSize - filled, nTrain - cursor.index);
        copyRows(permutation(cursor.epoch), cursor.index, n, out, filled);
        filled += n;
        cursor = cursor.index + n === nTrain
          ? { epoch: cursor.epoch + 1, index: 0 }
          : { epoch: cursor.epoch, index: cursor.index + n };
      }
      return Promise.resolve(out);
    },
    cursor: () => ({ ...cursor }),
    seek(c: unknown): void {
      cursor = parseCursor(c, nTrain);
    },
    sample(n: number): Promise<Float32Array> {
      const perm = shuffled(nTrain, new Rng(streamSeed, STREAM_SAMPLE));
      const out = new Float32Array(n * D);
      for (let i = 0; i < n; i += nTrain) copyRows(perm, 0, Math.min(nTrain, n - i), out, i);
      return Promise.resolve(out);
    },
    heldout: (n: number) =>
      Promise.resolve(heldout.slice(0, Math.min(n, manifest.heldout_rows) * D)),
    async evaluateLm(reconstruct: Reconstructor): Promise<LmEvaluation> {
      const model = createModel(checkpoint);
      try {
        return await evaluateSplice(model, heldoutSequences.slice(0, evalSequences), {
          site: cfg.site,
          layer: cfg.layer,
          excludeBos: cfg.exclude_bos,
          reconstruct,
        });
      } finally {
        model.dispose();
      }
    },
    lmFeatureInputs: () => ({
      sequences: heldoutSequences,
      firstPosition: cfg.exclude_bos ? 1 : 0,
      vocab: displayVocab(tokenizer, { size: config.vocabSize }),
      unembed: checkpoint.weights.classifier,
      finalNorm: checkpoint.weights.rmsFinal,
    }),
    describe: () => ({
      source: "lm",
      d_model: D,
      site: cfg.site,
      layer: cfg.layer,
      checkpoint: cfg.checkpoint,
      model: { ...config },
      ...(Array.isArray(cfg.train_text) ? {} : { train_sample: cfg.train_text.sample }),
      ...(Array.isArray(cfg.heldout_text) ? {} : { heldout_sample: cfg.heldout_text.sample }),
      cache_key: key,
      cache_dir: dir,
      harvested_now: prepared.harvested,
      train_rows: nTrain,
      heldout_rows: manifest.heldout_rows,
      eval_sequences: Math.min(evalSequences, heldoutSequences.length),
      ...manifest.info,
      stream_seed: streamSeed,
    }),
    close(): void {},
  };
}

/** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
function shuffled(n: number, rng: Rng): Uint32Array {
  const perm = new Uint32Array(n).map((_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm;
}

function parseCursor(c: unknown, nTrain: number): LmCursor {
  const { epoch, index } = (c ?? {}) as Partial<LmCursor>;
  if (
    !Number.isSafeInteger(epoch) || !Number.isSafeInteger(index) || epoch! < 0 || index! < 0 ||
    index! >= nTrain
  ) {
    throw new DataError(`bad lm source cursor ${JSON.stringify(c)}`, {
      hint: "the checkpoint does not belong to this data source; start the run afresh",
    });
  }
  return { epoch: epoch!, index: index! };
}
