// A corpus sampled from the model itself (`data.train_text: {sample: ...}`): sequences generated
// from BOS in fixed chunks, each chunk cached as soon as it is done, so an interrupted sampling
// resumes where it stopped and ends with the same files. The cache directory is named by a
// sha256 of the checkpoint, the sampling settings but the number of sequences, and the chunk size:
// chunk c always holds sequences c*chunk.. of a full batch (the last one too), so asking for more
// sequences later reuses every chunk already sampled. Decoding is generate.ts's.
import { join } from "node:path";
import type { DataProgress } from "../data/source.ts";
import { DataError } from "../errors.ts";
import { removeTempFiles, writeFileAtomic } from "../store/atomic.ts";
import { sha256Hex } from "./activation_cache.ts";
import { sampleSequences } from "./generate.ts";
import type { LlamaModel } from "./model.ts";
import { BOS_ID } from "./tokenizer.ts";

/** Bump when sampling changes what a chunk contains. */
export const SAMPLE_FORMAT_VERSION = 2;
/** Sequences decoded together and cached as one file (a fixed batch: part of the cache key). */
export const SAMPLE_CHUNK = 512;

/** The `sample` settings of the spec (data.train_text or data.heldout_text). */
export interface SampleSpec {
  /** Sequences to sample. */
  sequences: number;
  /** Tokens per sequence, the leading BOS included. */
  length: number;
  temperature: number;
  top_p: number;
  seed: number;
}

export interface SampledCorpusOptions {
  /** Directory holding sample caches (data.cache_dir). */
  cacheDir: string;
  checkpointSha256: string;
  /** Names the part in progress messages ("train" or "heldout"). */
  part: string;
  /** The tokenizer's BOS id, which every sequence starts from (default: llama2.c's). */
  bos?: number;
  onProgress?: (p: DataProgress) => void;
  /** Sequences per chunk (tests use small ones); default SAMPLE_CHUNK. */
  chunk?: number;
}

/**
 * Key of a sample cache: sha256 of the format, the checkpoint, the settings (all but the number of
 * sequences, which only says how many chunks are used) and the chunk size.
 */
export async function sampleKey(
  spec: SampleSpec,
  options: { checkpointSha256: string; chunk: number },
): Promise<string> {
  const ordered = {
    chunk: options.chunk,
    checkpoint_sha256: options.checkpointSha256,
    format_version: SAMPLE_FORMAT_VERSION,
    length: spec.length,
    seed: spec.seed,
    temperature: spec.temperature,
    top_p: spec.top_p,
  };
  return await sha256Hex(new TextEncoder().encode(JSON.stringify(ordered)));
}

/**
 * The sampled sequences, read from the cache where chunks exist and sampled (then cached) where
 * they do not. Returns the sequences in index order and the cache directory.
 */
export async function sampledCorpus(
  model: LlamaModel,
  spec: SampleSpec,
  options: SampledCorpusOptions,
): Promise<{ sequences: Int32Array[]; dir: string; sampledChunks: number }> {
  const chunk = options.chunk ?? SAMPLE_CHUNK;
  const bos = options.bos ?? BOS_ID;
  const { length, sequences: total } = spec;
  if (length > model.config.seqLen) {
    throw new DataError(
      `sample.length ${length} exceeds the model's seq_len ${model.config.seqLen}`,
      { hint: `set sample.length to at most ${model.config.seqLen}` },
    );
  }
  const key = await sampleKey(spec, { checkpointSha256: options.checkpointSha256, chunk });
  const dir = join(options.cacheDir, "samples", key);
  await Deno.mkdir(dir, { recursive: true });
  await removeTempFiles(dir); // a chunk half-written when an earlier sampling was killed
  const nChunks = Math.ceil(total / chunk);
  const out: Int32Array[] = [];
  const started = performance.now();
  let sampledTokens = 0; // sampled in this call (not read from the cache): the rate of the ETA
  let sampledChunks = 0;
  const totalTokens = nChunks * chunk * length; // whole chunks are sampled
  let doneTokens = 0;
  const report = (done: number) => {
    const elapsed = (performance.now() - started) / 1000;
    const rate = sampledTokens > 0 ? sampledTokens / elapsed : NaN;
    options.onProgress?.({
      what: `sampling ${options.part} text`,
      done,
      total: totalTokens,
      unit: "tokens",
      elapsedSeconds: elapsed,
      etaSeconds: (totalTokens - done) / rate,
    });
  };
  for (let c = 0; c < nChunks; c++) {
    const first = c * chunk;
    const count = chunk;
    const file = join(dir, `chunk-${String(c).padStart(5, "0")}.i32`);
    let seqs = await readChunk(file, { count, length, vocab: model.config.vocabSize, bos });
    if (seqs === null) {
      const before = doneTokens;
      const sampledBefore = sampledTokens;
      seqs = await sampleSequences(model, {
        first,
        count,
        length,
        temperature: spec.temperature,
        topP: spec.top_p,
        seed: spec.seed,
        bos,
        onStep: (tokens) => {
          sampledTokens = sampledBefore + tokens;
          report(before + tokens);
        },
      });
      const bytes = new Uint8Array(count * length * 4);
      const view = new DataView(bytes.buffer);
      seqs.forEach((s, b) => s.forEach((id, t) => view.setInt32((b * length + t) * 4, id, true)));
      await writeChunk(file, bytes);
      sampledChunks++;
    }
    out.push(...seqs.slice(0, Math.min(chunk, total - first)));
    doneTokens += count * length;
    report(doneTokens);
  }
  return { sequences: out, dir, sampledChunks };
}

/** A cached chunk [count, length] of little-endian int32 ids, or null when it is not there yet. */
async function readChunk(
  file: string,
  shape: { count: number; length: number; vocab: number; bos: number },
): Promise<Int32Array[] | null> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
  const { count, length, vocab, bos } = shape;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (what: string) =>
    new DataError(`sample cache ${file} ${what}`, {
      hint: "delete that file; its sequences are sampled again on the next run",
    });
  if (bytes.length !== count * length * 4) {
    throw bad(`has ${bytes.length} bytes, expected ${count * length * 4}`);
  }
  const seqs: Int32Array[] = [];
  for (let b = 0; b < count; b++) {
    const s = new Int32Array(length);
    for (let t = 0; t < length; t++) {
      const id = view.getInt32((b * length + t) * 4, true);
      if (id < 0 || id >= vocab) throw bad(`holds token id ${id}, outside 0..${vocab - 1}`);
      s[t] = id;
    }
    if (s[0] !== bos) throw bad(`holds a sequence that does not start with BOS`);
    seqs.push(s);
  }
  return seqs;
}

/** Writes a chunk atomically; a temp removed by another sampling's clean-up is written again. */
async function writeChunk(file: string, bytes: Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(file, bytes);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    await writeFileAtomic(file, bytes);
  }
}
