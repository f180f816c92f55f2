// Prepares the activation caches of `lm` data sections: reads and hashes their inputs, builds the
// corpus (sampling it when the spec says `sample:`), and harvests every missing cache of sections
// that differ only in site/layer from one forward pass, after checking the harvest fits in memory.
// Streaming the cached activations to a trainer is source.ts's.
import { join, resolve } from "node:path";
import canonicalize from "canonicalize";
import type { LmData, SampledText } from "../data/data_spec.ts";
import type { DataProgress } from "../data/source.ts";
import { DataError } from "../errors.ts";
import {
  activationCacheExists,
  type CacheInputs,
  cacheKey,
  sha256Hex,
  writeActivationCache,
} from "./activation_cache.ts";
import type { LlamaCheckpoint, LlamaConfig } from "./checkpoint.ts";
import { loadModelCheckpoint, loadModelTokenizer } from "./load_model.ts";
import { buildCorpus, type CorpusText, type LmCorpus } from "./corpus.ts";
import { harvestSites, MAX_BATCH_TOKENS } from "./harvest.ts";
import { createModel, type LlamaModel } from "./model.ts";
import { sampledCorpus, type SampleSpec } from "./sampled_corpus.ts";
import type { Tokenizer } from "./tokenizer.ts";

export interface LmCacheOptions {
  /** Directory of the spec file: data paths and cache_dir resolve against it. */
  specDir: string;
  /** Held-out sequences LM evaluation uses (eval.lm_sequences). */
  evalSequences: number;
  onProgress?: (p: DataProgress) => void;
  /** Largest harvest allowed, in bytes (default: 80% of the memory available now). */
  memoryLimitBytes?: number;
}

/** One lm data section, ready to use: its model, tokenizer, held-out text and activation cache. */
export interface PreparedLm {
  cfg: LmData;
  checkpoint: LlamaCheckpoint;
  tokenizer: Tokenizer;
  /** Held-out sequences (training sequences are only built when something is harvested). */
  heldout: Int32Array[];
  key: string;
  /** The cache directory, complete on return. */
  dir: string;
  /** Whether this call harvested it. */
  harvested: boolean;
}

/** Where the spec's layer, context and sampling do not fit the model (empty when they do). */
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
  for (const part of ["train_text", "heldout_text"] as const) {
    const text = cfg[part];
    if (!Array.isArray(text) && text.sample.length > config.seqLen) {
      problems.push(
        `data.${part}.sample.length = ${text.sample.length} exceeds the model's seq_len ` +
          `${config.seqLen}`,
      );
    }
  }
  const [train, held] = [cfg.train_text, cfg.heldout_text];
  if (!Array.isArray(train) && !Array.isArray(held) && train.sample.seed === held.sample.seed) {
    problems.push(
      `data.heldout_text.sample.seed = ${held.sample.seed} is the training sample's seed, so ` +
        "held-out and training text would be the same sequences; give the held-out sample " +
        "another seed",
    );
  }
  return problems;
}

/** The inputs of one section, read and hashed (the cache key leaves out nothing it depends on). */
interface LmInputs {
  cfg: LmData;
  checkpoint: LlamaCheckpoint;
  tokenizer: Tokenizer;
  cacheDir: string;
  texts: { train: string[] | SampledText; heldout: string[] | SampledText };
  /** The cache inputs without site and layer: sections equal here share a forward pass. */
  shared: Omit<CacheInputs, "site" | "layer">;
}

async function loadInputs(cfg: LmData, options: LmCacheOptions): Promise<LmInputs> {
  const path = (p: string) => resolve(options.specDir, p);
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
  const readPart = async (text: string[] | SampledText, key: string) =>
    Array.isArray(text) ? await Promise.all(text.map((p) => read(p, key))) : null;
  const loaded = await loadModelCheckpoint(path(cfg.checkpoint));
  const trainBytes = await readPart(cfg.train_text, "train_text");
  const heldoutBytes = await readPart(cfg.heldout_text, "heldout_text");

  const { checkpoint } = loaded;
  const problems = lmFitProblems(cfg, checkpoint.config);
  if (problems.length > 0) {
    throw new DataError(
      `lm data source does not fit ${path(cfg.checkpoint)}: ${problems.join("; ")}`,
      { hint: "fix data.layer / data.context / the sample settings in the spec" },
    );
  }
  const tok = await loadModelTokenizer(
    cfg.tokenizer === null ? null : path(cfg.tokenizer),
    loaded,
  );
  const { tokenizer } = tok;
  const utf8 = new TextDecoder();
  const sampleOf = (text: string[] | SampledText) =>
    Array.isArray(text) ? undefined : { ...text.sample };
  const shared: Omit<CacheInputs, "site" | "layer"> = {
    checkpoint_sha256: loaded.sha256,
    tokenizer_sha256: tok.sha256,
    train_text_sha256: await Promise.all((trainBytes ?? []).map(sha256Hex)),
    heldout_text_sha256: await Promise.all((heldoutBytes ?? []).map(sha256Hex)),
    context: cfg.context,
    train_tokens: cfg.train_tokens,
    heldout_tokens: cfg.heldout_tokens,
    exclude_bos: cfg.exclude_bos,
    eval_sequences: options.evalSequences,
  };
  // Only present when sampled, so that the keys of text-file caches stay what they were.
  if (!Array.isArray(cfg.train_text)) shared.train_sample = sampleOf(cfg.train_text);
  if (!Array.isArray(cfg.heldout_text)) shared.heldout_sample = sampleOf(cfg.heldout_text);
  return {
    cfg,
    checkpoint,
    tokenizer,
    cacheDir: path(cfg.cache_dir),
    texts: {
      train: trainBytes ? trainBytes.map((b) => utf8.decode(b)) : cfg.train_text,
      heldout: heldoutBytes ? heldoutBytes.map((b) => utf8.decode(b)) : cfg.heldout_text,
    },
    shared,
  };
}

/** The corpus of a section; its training part only when `withTrain` (it may need sampling). */
async function corpusOf(
  inp: LmInputs,
  model: () => LlamaModel,
  options: LmCacheOptions & { withTrain: boolean },
): Promise<LmCorpus> {
  const part = async (text: string[] | SampledText, name: string): Promise<CorpusText> => {
    if (Array.isArray(text)) return text;
    const { sequences } = await sampledCorpus(model(), text.sample as SampleSpec, {
      cacheDir: inp.cacheDir,
      checkpointSha256: inp.shared.checkpoint_sha256,
      part: name,
      bos: inp.tokenizer.encode("", { bos: true })[0],
      onProgress: options.onProgress,
    });
    return { sampled: sequences };
  };
  const heldout = await part(inp.texts.heldout, "held-out");
  const train = options.withTrain ? await part(inp.texts.train, "train") : [];
  return buildCorpus({ train, heldout }, {
    tokenizer: inp.tokenizer,
    context: inp.cfg.context,
    trainTokens: options.withTrain ? inp.cfg.train_tokens : 0,
    heldoutTokens: inp.cfg.heldout_tokens,
    evalSequences: options.evalSequences,
    excludeBos: inp.cfg.exclude_bos,
  });
}

/**
 * Bytes a harvest of `points` sites holds at its peak: every site's training and held-out rows
 * (float32), the token sequences, and one forward pass's intermediates.
 */
export function harvestMemoryBytes(
  config: LlamaConfig,
  shape: { points: number; trainRows: number; heldoutRows: number },
): number {
  const { dim: D, hiddenDim: H, vocabSize: V } = config;
  const rows = shape.trainRows + shape.heldoutRows;
  const activations = shape.points * rows * D * 4;
  const tokens = rows * 4;
  const pass = MAX_BATCH_TOKENS * (8 * D + 3 * H + V) * 4 * 2;
  return activations + tokens + pass;
}

/** The rows a cache of `cfg` holds at most (the request; text may give fewer). */
function rowsOf(cfg: LmData) {
  return { trainRows: cfg.train_tokens, heldoutRows: cfg.heldout_tokens };
}

function defaultMemoryLimit(): number {
  return 0.8 * Deno.systemMemoryInfo().available;
}

/**
 * Makes sure every section's activation cache exists, harvesting the missing ones; sections that
 * differ only in data.site / data.layer are harvested together from one forward pass over the
 * same text. Throws a DataError (with a hint) before harvesting when a group would not fit in
 * memory. Returns one PreparedLm per section, in order.
 */
export async function prepareLmCaches(
  cfgs: readonly LmData[],
  options: LmCacheOptions,
): Promise<PreparedLm[]> {
  const inputs = await Promise.all(cfgs.map((cfg) => loadInputs(cfg, options)));
  const keys = await Promise.all(
    inputs.map((inp) => cacheKey({ ...inp.shared, site: inp.cfg.site, layer: inp.cfg.layer })),
  );
  const dirs = inputs.map((inp, i) => join(inp.cacheDir, keys[i]));
  const missing = await Promise.all(
    dirs.map(async (dir) => !(await activationCacheExists(dir))),
  );
  // Groups of missing caches sharing a forward pass: same inputs but site/layer, same cache_dir.
  const groups = new Map<string, number[]>();
  inputs.forEach((inp, i) => {
    if (!missing[i]) return;
    const id = canonicalize({ shared: inp.shared, dir: inp.cacheDir })!;
    const sameKey = groups.get(id)?.some((j) => keys[j] === keys[i]);
    if (!sameKey) groups.set(id, [...(groups.get(id) ?? []), i]);
  });
  const limit = options.memoryLimitBytes ?? defaultMemoryLimit();
  for (const members of groups.values()) {
    const first = inputs[members[0]];
    const need = harvestMemoryBytes(first.checkpoint.config, {
      points: members.length,
      ...rowsOf(first.cfg),
    });
    if (need > limit) {
      const sites = members.map((i) => `${inputs[i].cfg.site}.${inputs[i].cfg.layer}`).join(", ");
      throw new DataError(
        `harvesting ${members.length} sites (${sites}) from one pass needs about ` +
          `${gib(need)} GiB of memory, more than the ${gib(limit)} GiB available`,
        {
          hint: "lower data.train_tokens, or sweep fewer data.site / data.layer values at once " +
            "(run the sweep with --filter on one site first: its cache is then reused)",
          exitCode: 2,
        },
      );
    }
  }

  const harvestedNow = new Set<number>();
  const models = new Map<string, LlamaModel>(); // by checkpoint sha256, built when first needed
  const modelOf = (inp: LmInputs) => () => {
    const sha = inp.shared.checkpoint_sha256;
    if (!models.has(sha)) models.set(sha, createModel(inp.checkpoint));
    return models.get(sha)!;
  };
  try {
    for (const members of groups.values()) {
      const first = inputs[members[0]];
      const corpus = await corpusOf(first, modelOf(first), { ...options, withTrain: true });
      const m = modelOf(first)();
      const points = members.map((i) => ({ site: inputs[i].cfg.site, layer: inputs[i].cfg.layer }));
      const excludeBos = first.cfg.exclude_bos;
      const progress = (what: string) => {
        const started = performance.now();
        return (done: number, total: number) => {
          const elapsed = (performance.now() - started) / 1000;
          options.onProgress?.({
            what,
            done,
            total,
            unit: "vectors",
            elapsedSeconds: elapsed,
            etaSeconds: done > 0 ? (elapsed * (total - done)) / done : NaN,
          });
        };
      };
      const sites = points.map((p) => `${p.site}.${p.layer}`).join(", ");
      const train = await harvestSites(m, corpus.train, {
        points,
        excludeBos,
        maxRows: first.cfg.train_tokens,
        onRows: progress(`harvesting ${sites} (train)`),
      });
      const heldout = await harvestSites(m, corpus.heldout, {
        points,
        excludeBos,
        maxRows: first.cfg.heldout_tokens,
        onRows: progress(`harvesting ${sites} (held-out)`),
      });
      for (const [n, i] of members.entries()) {
        await writeActivationCache(inputs[i].cacheDir, {
          key: keys[i],
          inputs: { ...inputs[i].shared, site: inputs[i].cfg.site, layer: inputs[i].cfg.layer },
          dModel: m.config.dim,
          train: train[n],
          heldout: heldout[n],
          info: {
            train_sequences: corpus.train.length,
            heldout_sequences: corpus.heldout.length,
            skipped_overlapping_documents: corpus.skippedOverlap,
          },
        });
        harvestedNow.add(i);
      }
      train.length = 0;
      heldout.length = 0;
    }
    const prepared: PreparedLm[] = [];
    for (const [i, inp] of inputs.entries()) {
      const corpus = await corpusOf(inp, modelOf(inp), { ...options, withTrain: false });
      prepared.push({
        cfg: inp.cfg,
        checkpoint: inp.checkpoint,
        tokenizer: inp.tokenizer,
        heldout: corpus.heldout,
        key: keys[i],
        dir: dirs[i],
        harvested: harvestedNow.has(i),
      });
    }
    return prepared;
  } finally {
    for (const m of models.values()) m.dispose();
  }
}

function gib(bytes: number): string {
  return (bytes / 2 ** 30).toFixed(2);
}
