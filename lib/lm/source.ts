// The `lm` activation source: harvests one hook site of a llama2.c or Hugging Face llama-family
// model over text files (once per
// set of inputs, cached as safetensors shards shared by every run of a sweep), streams the training
// activations in a seeded shuffled order and evaluates spliced cross-entropy on held-out text.
import { join, resolve } from "node:path";
import { Rng } from "../data/rng.ts";
import type { ActivationSource, LmEvaluation, Reconstructor } from "../data/source.ts";
import { DataError } from "../errors.ts";
import type { LmData } from "../data/data_spec.ts";
import {
  type CachedActivations,
  type CacheInputs,
  cacheKey,
  readActivationCache,
  sha256Hex,
  writeActivationCache,
} from "./activation_cache.ts";
import type { LlamaConfig } from "./checkpoint.ts";
import { buildCorpus } from "./corpus.ts";
import { evaluateSplice } from "./evaluate.ts";
import { harvestActivations } from "./harvest.ts";
import { createModel } from "./model.ts";
import { loadModelCheckpoint, loadModelTokenizer } from "./load_model.ts";
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
}

/** Position in the training stream: pass `epoch` of the permutation, next index within it. */
interface LmCursor {
  epoch: number;
  index: number;
}

/** Where the spec's layer and context do not fit the model (empty when they do). */
export function lmFitProblems(cfg: LmData, config: LlamaConfig): string[] {
  const problems: string[] = [];
  if (cfg.layer >= config.nLayers) {
    problems.push(`data.layer = ${cfg.layer}, but the model has layers 0..${config.nLayers - 1}`);
  }
  if (cfg.context > config.seqLen) {
    problems.push(`data.context = ${cfg.context} exceeds the model's seq_len ${config.seqLen}`);
  }
  if (cfg.context < 2 && cfg.exclude_bos) {
    problems.push("data.context must be at least 2 when BOS positions are excluded");
  }
  return problems;
}

/**
 * Opens the source, harvesting into `cache_dir` unless a cache of the same inputs exists. Uses the
 * active tfjs backend and holds no tensors between calls (the model is rebuilt for each use).
 */
export async function openLmSource(
  cfg: LmData,
  options: LmSourceOptions,
): Promise<ActivationSource> {
  const { specDir, streamSeed, evalSequences } = options;
  const path = (p: string) => resolve(specDir, p);
  const read = async (p: string, key: string) => {
    try {
      return await Deno.readFile(path(p));
    } catch (cause) {
      throw new DataError(`cannot read data.${key} ${path(p)}: ${(cause as Error).message}`, {
        hint: `check data.${key} (paths are relative to the spec file)`,
        cause,
      });
    }
  };
  const loaded = await loadModelCheckpoint(path(cfg.checkpoint));
  const trainBytes = await Promise.all(cfg.train_text.map((p) => read(p, "train_text")));
  const heldoutBytes = await Promise.all(cfg.heldout_text.map((p) => read(p, "heldout_text")));

  const { checkpoint } = loaded;
  const { config } = checkpoint;
  const problems = lmFitProblems(cfg, config);
  if (problems.length > 0) {
    throw new DataError(
      `lm data source does not fit ${path(cfg.checkpoint)}: ${problems.join("; ")}`,
      {
        hint: "fix data.layer / data.context in the spec",
      },
    );
  }
  const tok = await loadModelTokenizer(cfg.tokenizer === null ? null : path(cfg.tokenizer), loaded);
  const { tokenizer } = tok;
  const utf8 = new TextDecoder();
  const corpus = buildCorpus(
    {
      train: trainBytes.map((b) => utf8.decode(b)),
      heldout: heldoutBytes.map((b) => utf8.decode(b)),
    },
    {
      tokenizer,
      context: cfg.context,
      trainTokens: cfg.train_tokens,
      heldoutTokens: cfg.heldout_tokens,
      evalSequences,
      excludeBos: cfg.exclude_bos,
    },
  );

  const inputs: CacheInputs = {
    checkpoint_sha256: loaded.sha256,
    tokenizer_sha256: tok.sha256,
    train_text_sha256: await Promise.all(trainBytes.map(sha256Hex)),
    heldout_text_sha256: await Promise.all(heldoutBytes.map(sha256Hex)),
    site: cfg.site,
    layer: cfg.layer,
    context: cfg.context,
    train_tokens: cfg.train_tokens,
    heldout_tokens: cfg.heldout_tokens,
    exclude_bos: cfg.exclude_bos,
    eval_sequences: evalSequences,
  };
  const key = await cacheKey(inputs);
  const cacheDir = path(cfg.cache_dir);
  const dir = join(cacheDir, key);
  let cached: CachedActivations | null = await readActivationCache(dir);
  const harvested = cached === null;
  if (cached === null) {
    const model = createModel(checkpoint);
    let train: Float32Array, heldout: Float32Array;
    try {
      const site = { site: cfg.site, layer: cfg.layer, excludeBos: cfg.exclude_bos };
      train = await harvestActivations(model, corpus.train, { ...site, maxRows: cfg.train_tokens });
      heldout = await harvestActivations(model, corpus.heldout, {
        ...site,
        maxRows: cfg.heldout_tokens,
      });
    } finally {
      model.dispose();
    }
    await writeActivationCache(cacheDir, {
      key,
      inputs,
      dModel: config.dim,
      train,
      heldout,
      info: {
        train_sequences: corpus.train.length,
        heldout_sequences: corpus.heldout.length,
        skipped_overlapping_documents: corpus.skippedOverlap,
      },
    });
    cached = (await readActivationCache(dir))!;
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
        return await evaluateSplice(model, corpus.heldout.slice(0, evalSequences), {
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
      sequences: corpus.heldout,
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
      cache_key: key,
      cache_dir: dir,
      harvested_now: harvested,
      train_rows: nTrain,
      heldout_rows: manifest.heldout_rows,
      eval_sequences: Math.min(evalSequences, corpus.heldout.length),
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
