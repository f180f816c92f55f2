// Text generation with a LlamaModel through the key/value cache (kv_decode.ts): greedy decoding of
// one prompt, and batches of sequences sampled from BOS, deterministic per seed and sequence index.
import { Rng } from "../data/rng.ts";
import { createKvDecoder } from "./kv_decode.ts";
import type { LlamaModel } from "./model.ts";
import { drawToken, type SamplingOptions, tokenDistribution } from "./sample.ts";
import { BOS_ID } from "./tokenizer.ts";

/** Rng stream of sampled sequences: sequence i draws from Rng(seed, STREAM_SAMPLING, i). */
const STREAM_SAMPLING = 0x53414d50;

/**
 * Extends `prompt` by up to `maxTokens` argmax tokens, stopping early (without appending it) at BOS,
 * which llama2.c's run.c treats as the end of a story. Returns only the new tokens.
 */
export async function greedyDecode(
  model: LlamaModel,
  prompt: number[],
  options: { maxTokens: number },
): Promise<number[]> {
  const decoder = createKvDecoder(model, { batch: 1 });
  const greedy = { temperature: 0, topP: 1 };
  const out: number[] = [];
  try {
    const limit = Math.min(options.maxTokens, model.config.seqLen - prompt.length);
    let logits: Float32Array = new Float32Array();
    for (const id of prompt) logits = await decoder.step(Int32Array.of(id));
    for (let step = 0; step < limit; step++) {
      const id = drawToken(tokenDistribution(logits, greedy), 0);
      if (id === BOS_ID) break;
      out.push(id);
      if (step + 1 < limit) logits = await decoder.step(Int32Array.of(id));
    }
  } finally {
    decoder.dispose();
  }
  return out;
}

export interface SampleBatchOptions extends SamplingOptions {
  /** Index of the first sequence (its random stream); the batch is sequences first..first+count-1. */
  first: number;
  count: number;
  /** Tokens per sequence, the leading BOS included. */
  length: number;
  seed: number;
  /** The BOS id every sequence starts from (default: llama2.c's). */
  bos?: number;
  /** Called after every decoding step with the tokens sampled so far in this batch. */
  onStep?: (tokens: number) => void;
}

/**
 * Samples `count` sequences from BOS in one batch. A sampled BOS is kept (the model then starts a
 * new story, as in its training text). Sequence i depends only on the model, the sampling options,
 * the seed and i, given the batch it is decoded in.
 */
export async function sampleSequences(
  model: LlamaModel,
  options: SampleBatchOptions,
): Promise<Int32Array[]> {
  const { count: B, length } = options;
  const V = model.config.vocabSize;
  const seqs = Array.from({ length: B }, () => new Int32Array(length));
  const rngs = Array.from(
    { length: B },
    (_, b) => new Rng(options.seed, STREAM_SAMPLING, options.first + b),
  );
  const decoder = createKvDecoder(model, { batch: B });
  try {
    const ids = new Int32Array(B).fill(options.bos ?? BOS_ID);
    for (let t = 0; t + 1 < length; t++) {
      for (let b = 0; b < B; b++) seqs[b][t] = ids[b];
      const logits = await decoder.step(ids); // [B, V]
      for (let b = 0; b < B; b++) {
        const probs = tokenDistribution(logits.subarray(b * V, (b + 1) * V), options);
        ids[b] = drawToken(probs, rngs[b].uniform());
      }
      options.onStep?.(B * (t + 2));
    }
    for (let b = 0; b < B; b++) seqs[b][length - 1] = ids[b];
  } finally {
    decoder.dispose();
  }
  return seqs;
}
