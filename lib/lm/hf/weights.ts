// Reads the safetensors weights of a Hugging Face llama-family folder (one model.safetensors, or
// shards listed by model.safetensors.index.json) into llama2.c's stacked LlamaWeights, decoded to
// float32. Also moves q/k rows from HF's half-split RoPE layout to llama2.c's interleaved pairs.
import { join } from "node:path";
import { DataError } from "../../errors.ts";
import {
  readSafetensors,
  readSafetensorsHeader,
  type SafetensorsTensor,
} from "../../formats/safetensors.ts";
import type { LlamaWeights } from "../checkpoint.ts";
import type { HfModelConfig } from "./config.ts";
import { pathExists } from "../../store/atomic.ts";

const SINGLE = "model.safetensors";
const INDEX = "model.safetensors.index.json";
const FLOAT_DTYPES = ["F32", "F16", "BF16", "F64"];

/** The safetensors files of `dir`, in the order they hold the weights. */
export async function hfWeightFiles(dir: string): Promise<string[]> {
  const index = join(dir, INDEX);
  let text: string | null = null;
  try {
    text = await Deno.readTextFile(index);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  if (text === null) {
    const single = join(dir, SINGLE);
    if (!(await pathExists(single))) {
      throw new DataError(`${dir}: neither ${SINGLE} nor ${INDEX} found`, {
        hint: "save the model with safetensors (save_pretrained(..., safe_serialization=True)); " +
          "pytorch_model.bin is not read",
        exitCode: 2,
      });
    }
    return [single];
  }
  let map: Record<string, unknown>;
  try {
    map = JSON.parse(text).weight_map;
    if (typeof map !== "object" || map === null) throw new Error("no weight_map object");
  } catch (err) {
    throw new DataError(`${index}: not a safetensors index (${(err as Error).message})`, {
      hint: `${INDEX} must map every tensor name to its shard file ("weight_map")`,
      exitCode: 2,
    });
  }
  const files = [...new Set(Object.values(map).map(String))].sort();
  const missing: string[] = [];
  for (const f of files) if (!(await pathExists(join(dir, f)))) missing.push(join(dir, f));
  if (missing.length > 0) {
    throw new DataError(`missing shard${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`, {
      hint: `${index} lists ${files.length} shards; download every one of them into the folder`,
      exitCode: 2,
    });
  }
  return files.map((f) => join(dir, f));
}

/** Reads every weight the forward pass uses, checking each shape against the config. */
export async function readHfWeights(dir: string, hf: HfModelConfig): Promise<LlamaWeights> {
  const files = await hfWeightFiles(dir);
  const tensors: Record<string, SafetensorsTensor> = {};
  // Only float tensors are weights (a checkpoint may also hold integer buffers).
  for (const f of files) {
    const { tensors: entries } = await readSafetensorsHeader(f);
    const names = Object.keys(entries).filter((n) => FLOAT_DTYPES.includes(entries[n].dtype));
    Object.assign(tensors, await readSafetensors(f, { names }));
  }
  const { dim: D, hiddenDim: H, nLayers: L, nHeads, nKvHeads, vocabSize: V } = hf.config;
  const hs = D / nHeads;
  const K = hs * nKvHeads;
  const problems: string[] = [];

  const get = (name: string, shape: number[]): Float32Array => {
    const t = tensors[name];
    if (!t) {
      problems.push(`tensor ${name} is missing`);
    } else if (t.shape.join(",") !== shape.join(",")) {
      problems.push(`tensor ${name} has shape [${t.shape}], config.json implies [${shape}]`);
    } else return t.data;
    return new Float32Array(shape.reduce((a, b) => a * b, 1));
  };
  // Layer tensors `model.layers.<l>.<suffix>` stacked into one [L, ...shape] array.
  const stack = (suffix: string, shape: number[], permute = false): Float32Array => {
    const n = shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(L * n);
    for (let l = 0; l < L; l++) {
      const data = get(`model.layers.${l}.${suffix}`, shape);
      out.set(permute ? interleaveHeads(data, { rows: shape[0], hs }) : data, l * n);
    }
    return out;
  };

  const tokenEmbedding = get("model.embed_tokens.weight", [V, D]);
  const weights: LlamaWeights = {
    tokenEmbedding,
    rmsAtt: stack("input_layernorm.weight", [D]),
    wq: stack("self_attn.q_proj.weight", [D, D], true),
    wk: stack("self_attn.k_proj.weight", [K, D], true),
    wv: stack("self_attn.v_proj.weight", [K, D]),
    wo: stack("self_attn.o_proj.weight", [D, D]),
    rmsFfn: stack("post_attention_layernorm.weight", [D]),
    w1: stack("mlp.gate_proj.weight", [H, D]),
    w2: stack("mlp.down_proj.weight", [D, H]),
    w3: stack("mlp.up_proj.weight", [H, D]),
    rmsFinal: get("model.norm.weight", [D]),
    classifier: hf.config.sharedClassifier ? tokenEmbedding : get("lm_head.weight", [V, D]),
  };
  if (hf.attentionBias) {
    weights.bq = stack("self_attn.q_proj.bias", [D], true);
    weights.bk = stack("self_attn.k_proj.bias", [K], true);
    weights.bv = stack("self_attn.v_proj.bias", [K]);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 8).join("; ") +
      (problems.length > 8 ? `; and ${problems.length - 8} more` : "");
    throw new DataError(`${dir}: the weights do not match config.json: ${shown}`, {
      hint:
        "expected transformers' llama naming (model.layers.<i>.self_attn.q_proj.weight, ...); " +
        "check that every shard and config.json come from the same model",
      exitCode: 2,
    });
  }
  return weights;
}

/**
 * Rows of a q or k projection [rows, width] (width 1 for a bias) reordered within each head of
 * `hs` rows from HF's layout, where RoPE rotates dimension i with i + hs/2, to llama2.c's, where it
 * rotates 2i with 2i + 1: new row 2i is old row i, new row 2i + 1 is old row i + hs/2. Scores q.k
 * are unchanged because q and k are permuted alike; only the rotation pairs move.
 */
export function interleaveHeads(
  data: Float32Array,
  options: { rows: number; hs: number },
): Float32Array {
  const { rows, hs } = options;
  const width = data.length / rows;
  const out = new Float32Array(data.length);
  for (let head = 0; head < rows; head += hs) {
    for (let i = 0; i < hs / 2; i++) {
      const from = (r: number) => data.subarray((head + r) * width, (head + r + 1) * width);
      out.set(from(i), (head + 2 * i) * width);
      out.set(from(i + hs / 2), (head + 2 * i + 1) * width);
    }
  }
  return out;
}
