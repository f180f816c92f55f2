// Loads a llama2.c "legacy" checkpoint (7 int32 header values, then float32 weights) into a typed
// config and plain Float32Arrays. No tensors here: lib/lm/model.ts turns the weights into tensors.
import { DataError } from "../errors.ts";

/** Llama 3 RoPE frequency scaling (Hugging Face `rope_scaling` with `rope_type: "llama3"`). */
export interface Llama3RopeScaling {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

/**
 * Model hyperparameters from the checkpoint header. The optional fields are set only by the
 * Hugging Face loader (lib/lm/hf/); absent, they mean llama2.c's fixed choices.
 */
export interface LlamaConfig {
  /** d_model D. */
  dim: number;
  /** FFN hidden width H. */
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  /** Vocabulary size V (always positive here; `sharedClassifier` records the header's sign). */
  vocabSize: number;
  /** Longest sequence the model was trained for. */
  seqLen: number;
  /** True when the output classifier is the token-embedding matrix (positive header vocab_size). */
  sharedClassifier: boolean;
  /** RoPE base theta (absent: 10000, llama2.c). */
  ropeTheta?: number;
  /** RoPE frequency scaling: "linear" divides every frequency by `factor`; absent: none. */
  ropeScaling?: ({ type: "llama3" } & Llama3RopeScaling) | { type: "linear"; factor: number };
  /** RMSNorm epsilon (absent: 1e-5, llama2.c). */
  rmsNormEps?: number;
}

/**
 * Weights of every layer stacked, row-major, each matrix stored [out, in] as in the file.
 * Shapes: L layers, D dim, K kv_dim = D * n_kv_heads / n_heads, H hidden, V vocab.
 */
export interface LlamaWeights {
  tokenEmbedding: Float32Array; // [V, D]
  rmsAtt: Float32Array; // [L, D]
  wq: Float32Array; // [L, D, D]
  wk: Float32Array; // [L, K, D]
  wv: Float32Array; // [L, K, D]
  wo: Float32Array; // [L, D, D]
  rmsFfn: Float32Array; // [L, D]
  w1: Float32Array; // [L, H, D]
  w2: Float32Array; // [L, D, H]
  w3: Float32Array; // [L, H, D]
  rmsFinal: Float32Array; // [D]
  classifier: Float32Array; // [V, D] (the embedding itself when shared)
  /** Query/key/value biases (Qwen2, `attention_bias`); absent: none. */
  bq?: Float32Array; // [L, D]
  bk?: Float32Array; // [L, K]
  bv?: Float32Array; // [L, K]
}

export interface LlamaCheckpoint {
  config: LlamaConfig;
  weights: LlamaWeights;
}

const HEADER_BYTES = 7 * 4;

/** Reads and validates a llama2.c legacy checkpoint file. */
export async function loadCheckpoint(path: string): Promise<LlamaCheckpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (cause) {
    throw new DataError(`cannot read checkpoint ${path}: ${(cause as Error).message}`, {
      hint: "check data.checkpoint (paths are relative to the spec file)",
      cause,
    });
  }
  return parseCheckpoint(bytes, { name: path });
}

/** Parses the bytes of a llama2.c legacy checkpoint; `name` only labels error messages. */
export function parseCheckpoint(
  bytes: Uint8Array,
  options: { name?: string } = {},
): LlamaCheckpoint {
  const name = options.name ?? "checkpoint";
  const hint = "expected a llama2.c legacy export (export.py --version 0, or a tinyllamas .bin)";
  if (bytes.byteLength < HEADER_BYTES) {
    throw new DataError(`${name}: ${bytes.byteLength} bytes is shorter than the 28-byte header`, {
      hint,
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = Array.from({ length: 7 }, (_, i) => view.getInt32(i * 4, true));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = h;
  const config: LlamaConfig = {
    dim,
    hiddenDim,
    nLayers,
    nHeads,
    nKvHeads,
    vocabSize: Math.abs(rawVocab),
    seqLen,
    sharedClassifier: rawVocab > 0,
  };
  const problems: string[] = [];
  for (
    const [key, value] of Object.entries({ dim, hiddenDim, nLayers, nHeads, nKvHeads, seqLen })
  ) {
    if (!(value > 0)) problems.push(`${key} = ${value} is not positive`);
  }
  if (rawVocab === 0) problems.push("vocab_size = 0");
  if (nHeads > 0 && dim % nHeads !== 0) {
    problems.push(`dim ${dim} is not divisible by n_heads ${nHeads}`);
  }
  if (nKvHeads > 0 && nHeads % nKvHeads !== 0) {
    problems.push(`n_heads ${nHeads} is not divisible by n_kv_heads ${nKvHeads}`);
  }
  if (nHeads > 0 && (dim / nHeads) % 2 !== 0) problems.push(`head size ${dim / nHeads} is odd`);
  if (problems.length > 0) {
    throw new DataError(`${name}: bad header (${h.join(", ")}): ${problems.join("; ")}`, { hint });
  }

  const headSize = dim / nHeads;
  const kvDim = (dim * nKvHeads) / nHeads;
  const V = config.vocabSize;
  const sizes: [keyof LlamaWeights | "ropeReal" | "ropeImag", number][] = [
    ["tokenEmbedding", V * dim],
    ["rmsAtt", nLayers * dim],
    ["wq", nLayers * dim * dim],
    ["wk", nLayers * kvDim * dim],
    ["wv", nLayers * kvDim * dim],
    ["wo", nLayers * dim * dim],
    ["rmsFfn", nLayers * dim],
    ["w1", nLayers * hiddenDim * dim],
    ["w2", nLayers * dim * hiddenDim],
    ["w3", nLayers * hiddenDim * dim],
    ["rmsFinal", dim],
    ["ropeReal", (seqLen * headSize) / 2],
    ["ropeImag", (seqLen * headSize) / 2],
  ];
  if (!config.sharedClassifier) sizes.push(["classifier", V * dim]);
  const expected = HEADER_BYTES + 4 * sizes.reduce((sum, [, n]) => sum + n, 0);
  if (bytes.byteLength !== expected) {
    throw new DataError(
      `${name}: ${bytes.byteLength} bytes, but header (${h.join(", ")}) implies ${expected} bytes`,
      { hint: `${hint}; the file may be truncated or in the newer versioned format` },
    );
  }

  // Copy once into an aligned buffer so every array is a zero-copy view of it.
  const floats = new Float32Array(bytes.slice(HEADER_BYTES).buffer);
  const arrays: Record<string, Float32Array> = {};
  let offset = 0;
  for (const [key, n] of sizes) {
    arrays[key] = floats.subarray(offset, offset + n);
    offset += n;
  }
  const weights: LlamaWeights = {
    tokenEmbedding: arrays.tokenEmbedding,
    rmsAtt: arrays.rmsAtt,
    wq: arrays.wq,
    wk: arrays.wk,
    wv: arrays.wv,
    wo: arrays.wo,
    rmsFfn: arrays.rmsFfn,
    w1: arrays.w1,
    w2: arrays.w2,
    w3: arrays.w3,
    rmsFinal: arrays.rmsFinal,
    classifier: config.sharedClassifier ? arrays.tokenEmbedding : arrays.classifier,
  };
  return { config, weights };
}
